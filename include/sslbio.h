/*
 * sslbio.h — real OpenSSL TLS over a transport the application owns.
 *
 * An sslbio_conn is a sans-IO TLS engine: an OpenSSL SSL object whose I/O
 * goes through a BIO pair. The application feeds ciphertext that arrived
 * (sslbio_conn_feed), drains ciphertext to send (sslbio_conn_drain), and
 * reads/writes plaintext (sslbio_conn_read / sslbio_conn_write).
 *
 * Threads: an sslbio_ctx may be shared by any number of threads once it is
 * configured (its first engine freezes it). An sslbio_conn is used by one
 * thread at a time; different conns may be used by different threads at once.
 * Every OpenSSL call is made with the thread's error queue cleared first and
 * drained into the conn before the function returns, so errors never leak
 * between conns or threads.
 *
 * Return values: functions returning a status return SSLBIO_OK (0) or one of
 * the negative SSLBIO_* codes below; functions returning a count return it as a
 * long >= 0 or a negative status. Every such function returns SSLBIO_EINVAL for
 * a NULL handle. Free functions accept NULL.
 *
 * The header needs no OpenSSL header: the hand-off functions use the OpenSSL
 * structure tags (struct ssl_ctx_st is SSL_CTX, struct ssl_st is SSL).
 */
#ifndef SSLBIO_H_INCLUDED_8F3A2C
#define SSLBIO_H_INCLUDED_8F3A2C

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define SSLBIO_API __attribute__((visibility("default")))
#else
#define SSLBIO_API
#endif

/* Compile-time version; sslbio_version() gives the run-time one. */
#define SSLBIO_VERSION_MAJOR 0
#define SSLBIO_VERSION_MINOR 1
#define SSLBIO_VERSION_PATCH 0
#define SSLBIO_VERSION_STRING "0.1.0"
/* Bumped whenever sslbio_api_v1 or a signature changes incompatibly. */
#define SSLBIO_ABI_VERSION 1

/* Status codes: one row each (name, value, meaning). Counts are >= 0, so
 * every status but OK is negative. sslbio_strstatus and the Go and Python
 * faces derive their constants from this table (a test checks they agree). */
#define SSLBIO_STATUS_TABLE(X)                                                  \
  X(OK, 0, "success")                                                           \
  X(WANT_READ, -1, "feed ciphertext, then call again")                          \
  X(WANT_WRITE, -2, "drain ciphertext, then call again")                        \
  X(CLOSED, -3, "the peer's close_notify arrived")                              \
  X(TRUNCATED, -4, "transport EOF without close_notify")                        \
  X(ERROR, -5, "TLS, verify or transport error; see sslbio_conn_error")         \
  X(EINVAL, -6, "bad argument or call in the wrong state")                      \
  X(ENOMEM, -7, "allocation failed")                                            \
  X(WANT_CLIENT_HELLO, -8, "paused at the ClientHello: choose, then call again") \
  X(WANT_VERIFY, -9, "verification deferred: sslbio_conn_verify_done, then call again")

/* Kinds of failure, finer than the status (sslbio_error_info.kind). */
#define SSLBIO_KIND_TABLE(X)                                                    \
  X(NONE, 0, "none")                                                            \
  X(SSL, 1, "ssl")                 /* SSL_ERROR_SSL: protocol or library */     \
  X(SYSCALL, 2, "syscall")         /* SSL_ERROR_SYSCALL: I/O below TLS */       \
  X(VERIFY, 3, "verify")           /* the peer's certificate did not verify */  \
  X(TRUNCATED, 4, "truncated")     /* transport EOF without close_notify */     \
  X(TRANSPORT, 5, "transport")     /* a transport callback failed */            \
  X(INVALID, 6, "invalid")         /* bad argument or wrong state */            \
  X(NOMEM, 7, "no memory")                                                      \
  X(WANT_READ, 8, "want read")     /* not failures: a face's WANT_* errors */   \
  X(WANT_WRITE, 9, "want write")                                                \
  X(CLOSED, 10, "closed")

#define SSLBIO_STATUS_ENUM_ROW_(name, value, text) SSLBIO_##name = (value),
#define SSLBIO_KIND_ENUM_ROW_(name, value, text) SSLBIO_KIND_##name = (value),
enum sslbio_status { SSLBIO_STATUS_TABLE(SSLBIO_STATUS_ENUM_ROW_) };
enum sslbio_kind { SSLBIO_KIND_TABLE(SSLBIO_KIND_ENUM_ROW_) };

/* Roles. */
#define SSLBIO_CLIENT 1
#define SSLBIO_SERVER 2

/* Verify modes (sslbio_ctx_set_verify). */
#define SSLBIO_VERIFY_NONE 0
#define SSLBIO_VERIFY_PEER 1         /* client default; server: ask for a cert, verify if sent */
#define SSLBIO_VERIFY_REQUIRE_PEER 2 /* server: client certificate mandatory */

/* Bits of sslbio_conn_wants(). */
#define SSLBIO_WANTS_READ 1     /* the engine needs ciphertext from the peer */
#define SSLBIO_WANTS_WRITE 2    /* ciphertext is pending: drain it */
#define SSLBIO_HAS_PLAINTEXT 4  /* a read returns now: data, close or error */

typedef struct sslbio_ctx sslbio_ctx;
typedef struct sslbio_conn sslbio_conn;
struct ssl_ctx_st; /* OpenSSL's SSL_CTX */
struct ssl_st;     /* OpenSSL's SSL */

/* Transport callbacks for sslbio_conn_set_transport.
 * recv: copy up to cap bytes of ciphertext into buf; return the count (>0),
 *       0 at EOF, SSLBIO_WANT_READ if it would block, SSLBIO_ERROR on error
 *       (leave errno set: it is quoted in the conn's error message).
 * send: take up to len bytes from buf; return the count taken (>0),
 *       SSLBIO_WANT_WRITE if it would block, SSLBIO_ERROR on error (errno set).
 * Both are called only from inside sslbio_conn_* calls on the calling thread. */
typedef long (*sslbio_recv_fn)(void *user, void *buf, size_t cap);
typedef long (*sslbio_send_fn)(void *user, const void *buf, size_t len);

/* Key log callback (sslbio_ctx_set_keylog): one NSS key log line (what
 * Wireshark reads), without the newline; called on the thread that called
 * into the engine, during that call. line is valid during the call only. */
typedef void (*sslbio_keylog_fn)(void *user, const char *line);
/* Verify callback (sslbio_ctx_set_verify_callback): verify_result is
 * OpenSSL's own result (X509_V_OK = 0 when the chain, and on a client the
 * host name, passed). Return 1 to accept, 0 to reject, SSLBIO_WANT_VERIFY
 * to decide later with sslbio_conn_verify_done. Anything else rejects. The
 * peer chain (sslbio_conn_peer_cert_*) is readable during the call. Called
 * during an engine call, on its thread; must not call into conn except the
 * peer chain and info functions. */
typedef int (*sslbio_verify_fn)(void *user, sslbio_conn *conn, long verify_result);

/* ---- Library ---------------------------------------------------------- */

/* Run-time version string ("0.1.0"); static, never freed. Any thread. */
SSLBIO_API const char *sslbio_version(void);

/* A static, human-readable name for a status code ("SSLBIO_WANT_READ");
 * "unknown status" for anything else. Any thread. */
SSLBIO_API const char *sslbio_strstatus(int status);

/* A static name for a kind of failure (SSLBIO_KIND_VERIFY: "verify");
 * "unknown kind" for anything else. Any thread. */
SSLBIO_API const char *sslbio_strkind(int kind);

/* ---- Context ---------------------------------------------------------- */

/* New context for role SSLBIO_CLIENT or SSLBIO_SERVER with secure defaults:
 * TLS 1.2 minimum, no renegotiation, client verifies the peer (system CA
 * store unless a CA is loaded). Returns a context holding one reference
 * (release with sslbio_ctx_free), or NULL for a bad role or no memory. */
SSLBIO_API sslbio_ctx *sslbio_ctx_new(int role);

/* Adopt an SSL_CTX the caller configured with plain OpenSSL. The context takes
 * its own reference on ssl_ctx (SSL_CTX_up_ref): the caller still owns and
 * frees its own. The SSL_CTX's settings are used as they are. Returns a new
 * context holding one reference, or NULL if ssl_ctx is NULL, role is bad or
 * memory runs out. */
SSLBIO_API sslbio_ctx *sslbio_ctx_wrap_openssl(struct ssl_ctx_st *ssl_ctx, int role);

/* The underlying SSL_CTX, borrowed: valid while the context lives; do not
 * free it (SSL_CTX_up_ref it to keep it longer). NULL for a NULL ctx. */
SSLBIO_API struct ssl_ctx_st *sslbio_ctx_openssl(const sslbio_ctx *ctx);

/* Take one more reference; returns ctx (NULL for NULL). Any thread. */
SSLBIO_API sslbio_ctx *sslbio_ctx_ref(sslbio_ctx *ctx);

/* Drop one reference; the context is freed when the last reference (its
 * owners' and its engines') is gone. NULL is fine. Any thread. */
SSLBIO_API void sslbio_ctx_free(sslbio_ctx *ctx);

/* Setters: SSLBIO_OK, SSLBIO_EINVAL (NULL ctx/argument, or the context is
 * frozen because an engine was created from it), SSLBIO_ERROR (OpenSSL refused:
 * read sslbio_ctx_error) or SSLBIO_ENOMEM. Call them from one thread, before
 * the context is shared. Paths and PEM buffers are only read during the call. */
SSLBIO_API int sslbio_ctx_use_certificate_chain_file(sslbio_ctx *ctx, const char *path);
SSLBIO_API int sslbio_ctx_use_private_key_file(sslbio_ctx *ctx, const char *path);
SSLBIO_API int sslbio_ctx_use_certificate_chain_pem(sslbio_ctx *ctx, const char *pem, size_t len);
SSLBIO_API int sslbio_ctx_use_private_key_pem(sslbio_ctx *ctx, const char *pem, size_t len);
SSLBIO_API int sslbio_ctx_load_verify_file(sslbio_ctx *ctx, const char *path);
SSLBIO_API int sslbio_ctx_load_verify_pem(sslbio_ctx *ctx, const char *pem, size_t len);
/* mode: SSLBIO_VERIFY_NONE / _PEER / _REQUIRE_PEER. */
SSLBIO_API int sslbio_ctx_set_verify(sslbio_ctx *ctx, int mode);
/* Comma-separated protocol list, e.g. "h2,http/1.1". Client: offered;
 * server: chosen in the server's order among the client's offers. */
SSLBIO_API int sslbio_ctx_set_alpn(sslbio_ctx *ctx, const char *protocols);
/* Versions as OpenSSL numbers (TLS1_2_VERSION = 0x0303, TLS1_3_VERSION = 0x0304);
 * 0 keeps the default (min TLS 1.2, max the highest supported). Below TLS 1.2
 * is refused. */
SSLBIO_API int sslbio_ctx_set_versions(sslbio_ctx *ctx, int min_version, int max_version);
/* OpenSSL cipher strings; NULL leaves that list as it is. */
SSLBIO_API int sslbio_ctx_set_ciphers(sslbio_ctx *ctx, const char *tls12_list, const char *tls13_suites);
/* Opt in to treat transport EOF without close_notify as a clean close
 * (like Python's suppress_ragged_eofs). Off by default. */
SSLBIO_API int sslbio_ctx_set_ragged_eof(sslbio_ctx *ctx, int allow);
/* Client: check the peer certificate against the name given to
 * sslbio_conn_new (on by default). Off, a verifying client still verifies
 * the chain, sends the name as SNI when one is given, and may be created
 * with a NULL name (like Python's check_hostname = False). */
SSLBIO_API int sslbio_ctx_set_check_hostname(sslbio_ctx *ctx, int on);
/* Password of the encrypted private keys loaded after this call (file or
 * PEM); len bytes, copied; NULL clears it. The copy is wiped when cleared
 * and when the context is freed. Without one an encrypted key fails to
 * load (SSLBIO_ERROR), never a prompt on the terminal. */
SSLBIO_API int sslbio_ctx_set_key_password(sslbio_ctx *ctx, const void *password, size_t len);
/* SSLBIO_CLIENT or SSLBIO_SERVER; SSLBIO_EINVAL for NULL. Any thread. */
SSLBIO_API int sslbio_ctx_role(const sslbio_ctx *ctx);
/* The verify mode (SSLBIO_VERIFY_*) in force, also for a wrapped SSL_CTX
 * (read from it); SSLBIO_EINVAL for NULL. Any thread. */
SSLBIO_API int sslbio_ctx_get_verify(const sslbio_ctx *ctx);
/* Message of the last failed setter or sslbio_conn_new on this context, ""
 * if none. Borrowed: valid until the next call on ctx that fails. */
SSLBIO_API const char *sslbio_ctx_error(const sslbio_ctx *ctx);

/* ---- Engine ----------------------------------------------------------- */

/* New engine (one TLS connection) from ctx; freezes ctx and holds a reference
 * to it. server_name: client: SNI and the host name (or IP address) the
 * certificate must match — required when the client verifies; server: NULL
 * or ignored. Copied. Returns an engine owned by the caller (free with
 * sslbio_conn_free), or NULL (read sslbio_ctx_error). */
SSLBIO_API sslbio_conn *sslbio_conn_new(sslbio_ctx *ctx, const char *server_name);

/* Free the engine and drop its context reference. NULL is fine; a second
 * free of the same pointer is undefined (it is detected when the memory was
 * not reused, and ignored). */
SSLBIO_API void sslbio_conn_free(sslbio_conn *conn);

/* Network side. */
/* Copy up to len bytes of received ciphertext into the engine. Returns the
 * count accepted (may be less than len: keep the rest and feed it after the
 * next read/handshake), or SSLBIO_EINVAL (NULL conn, NULL buf with len>0,
 * feed after feed_eof). */
SSLBIO_API long sslbio_conn_feed(sslbio_conn *conn, const void *buf, size_t len);
/* Copy up to cap bytes of ciphertext to send into buf; returns the count
 * (0 when none is pending) or SSLBIO_EINVAL. */
SSLBIO_API long sslbio_conn_drain(sslbio_conn *conn, void *buf, size_t cap);
/* Bytes of ciphertext waiting to be drained, or SSLBIO_EINVAL. */
SSLBIO_API long sslbio_conn_pending_out(const sslbio_conn *conn);
/* The transport reached EOF: no more ciphertext will come. Returns SSLBIO_OK
 * or SSLBIO_EINVAL. */
SSLBIO_API int sslbio_conn_feed_eof(sslbio_conn *conn);

/* Zero-copy network side: recv() straight into, send() straight from the
 * engine's buffers. The pointer is borrowed and valid until the next call on
 * conn. A region may be shorter than what is free/pending (the buffer wraps):
 * loop until the call returns 0. */
/* Where to put received ciphertext: sets *buf and returns its size (0 when
 * full), or SSLBIO_EINVAL (NULL arguments, after feed_eof). */
SSLBIO_API long sslbio_conn_feed_buffer(sslbio_conn *conn, void **buf);
/* Commit n bytes written into the region from sslbio_conn_feed_buffer.
 * Returns n, or SSLBIO_EINVAL if n exceeds that region. */
SSLBIO_API long sslbio_conn_feed_commit(sslbio_conn *conn, size_t n);
/* Ciphertext to send: sets *buf and returns its size (0 when none). */
SSLBIO_API long sslbio_conn_drain_buffer(sslbio_conn *conn, const void **buf);
/* Consume n bytes of the region from sslbio_conn_drain_buffer (the count
 * send() took). Returns n, or SSLBIO_EINVAL if n exceeds that region. */
SSLBIO_API long sslbio_conn_drain_commit(sslbio_conn *conn, size_t n);

/* Reuse the engine for a new connection (SSL_clear instead of SSL_free +
 * SSL_new): buffers emptied, error and session forgotten, callbacks kept.
 * server_name as for sslbio_conn_new. SSLBIO_OK, SSLBIO_EINVAL or
 * SSLBIO_ENOMEM. */
SSLBIO_API int sslbio_conn_reset(sslbio_conn *conn, const char *server_name);

/* Application side. Each may produce ciphertext: drain until
 * sslbio_conn_pending_out is 0 after every call. */
/* Returns SSLBIO_OK when the handshake is complete, SSLBIO_WANT_READ /
 * SSLBIO_WANT_WRITE to be called again after feeding / draining, or
 * SSLBIO_ERROR / SSLBIO_TRUNCATED / SSLBIO_CLOSED. */
SSLBIO_API int sslbio_conn_handshake(sslbio_conn *conn);
/* Plaintext into buf: bytes (>0), or SSLBIO_WANT_READ, SSLBIO_WANT_WRITE,
 * SSLBIO_CLOSED (close_notify), SSLBIO_TRUNCATED, SSLBIO_ERROR, SSLBIO_EINVAL.
 * Drives the handshake first if it is not complete. */
SSLBIO_API long sslbio_conn_read(sslbio_conn *conn, void *buf, size_t cap);
/* Plaintext from buf: bytes accepted (>0, may be less than len), or a status
 * as for read. A len of 0 returns SSLBIO_EINVAL. */
SSLBIO_API long sslbio_conn_write(sslbio_conn *conn, const void *buf, size_t len);
/* Batched calls, for bindings that pay per call (one cgo transition, one
 * ctypes conversion): each is the two calls it names, in one.
 * write_drain: sslbio_conn_write(buf, len), then sslbio_conn_drain(out, cap)
 * unless the write failed with an error other than WANT_READ/WANT_WRITE (its
 * alert stays queued for sslbio_conn_drain). Returns what the write returned;
 * *drained receives the ciphertext count put in out (0 when none, and after
 * any status but WANT_READ/WANT_WRITE, SSLBIO_EINVAL included). More may be
 * pending when cap was too small: drain until sslbio_conn_pending_out is 0.
 * out may be NULL only with cap 0 (a write alone); a NULL drained or out is
 * refused with SSLBIO_EINVAL before anything is written. */
SSLBIO_API long sslbio_conn_write_drain(sslbio_conn *conn, const void *buf, size_t len,
                                        void *out, size_t cap, size_t *drained);
/* feed_read: sslbio_conn_feed(in, len) (skipped when len is 0, so it also
 * reads after sslbio_conn_feed_eof), then
 * sslbio_conn_read(buf, cap) unless the feed failed. Returns what the read
 * returned (or the feed's status); *fed receives the ciphertext count
 * accepted: keep the rest, as after sslbio_conn_feed. Drain afterwards.
 * A NULL fed or buf, or a cap of 0, is refused with SSLBIO_EINVAL before
 * anything is fed. */
SSLBIO_API long sslbio_conn_feed_read(sslbio_conn *conn, const void *in, size_t len,
                                      size_t *fed, void *buf, size_t cap);
/* Send close_notify. Returns SSLBIO_WANT_READ once it is queued (drain it)
 * and the peer's has not arrived yet; SSLBIO_OK once both were exchanged.
 * Reading still works after it (half-close). With a callback transport,
 * SSLBIO_WANT_WRITE while our close_notify could not be sent yet (send would
 * block): call again when the transport is writable. */
SSLBIO_API int sslbio_conn_shutdown(sslbio_conn *conn);

/* One call tells an event loop what to do: a mask of SSLBIO_WANTS_READ,
 * SSLBIO_WANTS_WRITE and SSLBIO_HAS_PLAINTEXT (0 for NULL). May process
 * buffered records (never produces plaintext loss: data stays readable). */
SSLBIO_API int sslbio_conn_wants(sslbio_conn *conn);

/* TLS 1.3 key update (update_peer != 0 asks the peer to update too). Queues
 * the message; drain afterwards. SSLBIO_OK, SSLBIO_EINVAL (not TLS 1.3 or
 * handshake not done) or SSLBIO_ERROR. */
SSLBIO_API int sslbio_conn_key_update(sslbio_conn *conn, int update_peer);

/* Errors of the last failed call on conn (sticky once the engine is dead). */
/* One-line message naming the operation, OpenSSL reasons and verify result,
 * NUL-terminated and truncated to cap. Returns the length the full message
 * needs (excluding the NUL), 0 if there was no error, or SSLBIO_EINVAL. */
SSLBIO_API long sslbio_conn_error(const sslbio_conn *conn, char *buf, size_t cap);
/* First ERR queue entry of the last error, as ERR_get_error packs it (0 if
 * none), so ERR_reason_error_string works on it. 0 for NULL. */
SSLBIO_API unsigned long sslbio_conn_error_code(const sslbio_conn *conn);
/* X509 verify result of the handshake (X509_V_OK = 0), or SSLBIO_EINVAL. */
SSLBIO_API long sslbio_conn_verify_result(const sslbio_conn *conn);

/* The parts of the last error, for bindings that build their own error
 * values. Strings are static (OpenSSL's) or owned by conn, valid until the
 * next call on conn. */
typedef struct sslbio_error_info {
  int status;                /* SSLBIO_* of the failed call; SSLBIO_OK: no error */
  int kind;                  /* SSLBIO_KIND_* */
  const char *op;            /* "handshake", "read", ...; NULL when no error */
  int ssl_error;             /* SSL_get_error value, 0 if none */
  int sys_errno;             /* errno at the failure, 0 if none */
  long verify_result;        /* X509_V_OK (0) or an X509_V_ERR_* code */
  const char *verify_string; /* text of verify_result; NULL when it is 0 */
  const char *detail;        /* sslbio's own words when OpenSSL has none, or "" */
  size_t entries;            /* ERR queue entries kept (sslbio_conn_error_entry) */
  size_t dropped;            /* entries beyond those kept */
} sslbio_error_info;
/* One ERR queue entry of the last error, oldest first. */
typedef struct sslbio_error_entry {
  unsigned long code;        /* packed as ERR_get_error returns it */
  const char *lib;           /* library mnemonic ("SSL", "X509", "SYS"), NULL if unknown */
  const char *lib_string;    /* "SSL routines", NULL if unknown */
  const char *reason_string; /* "certificate verify failed", NULL if unknown */
  char reason[64];           /* reason mnemonic ("CERTIFICATE_VERIFY_FAILED"), "" if unknown */
  const char *file;          /* OpenSSL source file, line and function, or NULL */
  int line;
  const char *function;
  const char *data;          /* text OpenSSL attached (a path, an alert), or "" */
} sslbio_error_entry;
/* Fill *out (zeroed with status SSLBIO_OK when there was no error).
 * SSLBIO_OK or SSLBIO_EINVAL (NULL arguments). */
SSLBIO_API int sslbio_conn_error_info(const sslbio_conn *conn, sslbio_error_info *out);
/* Fill *out with entry index (< info.entries). SSLBIO_OK or SSLBIO_EINVAL
 * (NULL arguments, index out of range). */
SSLBIO_API int sslbio_conn_error_entry(const sslbio_conn *conn, size_t index,
                                       sslbio_error_entry *out);

/* Info. Strings are static or owned by conn (valid until sslbio_conn_free);
 * NULL before the handshake or for a NULL conn. */
SSLBIO_API const char *sslbio_conn_version(const sslbio_conn *conn); /* "TLSv1.3" */
SSLBIO_API const char *sslbio_conn_cipher(const sslbio_conn *conn);  /* OpenSSL name */
/* Negotiated ALPN protocol, NULL if none. Owned by conn. */
SSLBIO_API const char *sslbio_conn_alpn(sslbio_conn *conn);
/* 1 once the handshake completed, 0 otherwise (and for NULL). */
SSLBIO_API int sslbio_conn_is_handshake_done(const sslbio_conn *conn);
/* Peer's leaf certificate in PEM into buf (NUL-terminated when it fits).
 * Returns the length needed (excluding NUL), 0 if there is no peer
 * certificate, or SSLBIO_EINVAL / SSLBIO_ENOMEM. */
SSLBIO_API long sslbio_conn_peer_certificate_pem(const sslbio_conn *conn, char *buf, size_t cap);
/* Negotiated facts, 0 (or NULL) before the handshake completes and for NULL. */
/* Protocol version as OpenSSL numbers it (TLS1_3_VERSION = 0x0304). */
SSLBIO_API int sslbio_conn_protocol_version(const sslbio_conn *conn);
/* IANA number of the cipher suite (0x1301: TLS_AES_128_GCM_SHA256). */
SSLBIO_API long sslbio_conn_cipher_id(const sslbio_conn *conn);
/* Secret bits of the cipher (128, 256). */
SSLBIO_API int sslbio_conn_cipher_bits(const sslbio_conn *conn);
/* Name of the key exchange group as OpenSSL names it ("x25519",
 * "secp256r1"; OpenSSL 3.5 may say "X25519MLKEM768"); static. */
SSLBIO_API const char *sslbio_conn_group(const sslbio_conn *conn);
/* 1 when the handshake resumed a session, 0 otherwise. */
SSLBIO_API int sslbio_conn_session_reused(const sslbio_conn *conn);
/* Server: the SNI the client sent (NULL if none), from
 * SSLBIO_WANT_CLIENT_HELLO on and after the handshake (with or without the
 * pause); client: the name given at creation (NULL if none). Owned by conn. */
SSLBIO_API const char *sslbio_conn_server_name(const sslbio_conn *conn);
/* Certificates the peer sent, leaf first (0 if none; after a resumption at
 * least the leaf); from the verify callback on and after the handshake.
 * SSLBIO_EINVAL for NULL. */
SSLBIO_API long sslbio_conn_peer_cert_count(const sslbio_conn *conn);
/* DER of peer certificate index (0 = leaf) into buf: returns the length
 * needed (copied only when cap is enough), SSLBIO_EINVAL for NULL or an
 * index out of range. */
SSLBIO_API long sslbio_conn_peer_cert_der(const sslbio_conn *conn, size_t index, void *buf,
                                          size_t cap);
/* Bytes of decrypted plaintext buffered, readable without feeding (a read
 * may still return more: a record not yet decrypted). SSLBIO_EINVAL for NULL. */
SSLBIO_API long sslbio_conn_pending_plaintext(const sslbio_conn *conn);
/* The underlying SSL, borrowed (valid until sslbio_conn_free). Driving it
 * directly bypasses the engine's bookkeeping: expert use. */
SSLBIO_API struct ssl_st *sslbio_conn_openssl(const sslbio_conn *conn);

/* Sessions. */
/* DER of the session for resumption into buf. Returns the length needed
 * (copy made only when cap is enough), 0 while not resumable (before the
 * handshake completed, after a failure, TLS 1.3: until the ticket was read),
 * or SSLBIO_EINVAL / SSLBIO_ENOMEM. */
SSLBIO_API long sslbio_conn_session(const sslbio_conn *conn, void *der, size_t cap);
/* Client, before the handshake: resume the DER session (copied). Refuses
 * (SSLBIO_EINVAL, message in sslbio_conn_error) a session issued for another
 * server name, a server engine, or after the handshake started. */
SSLBIO_API int sslbio_conn_set_session(sslbio_conn *conn, const void *der, size_t len);

/* Callback transport ("PyBIO" mode). After this, handshake/read/write/
 * shutdown pump ciphertext through recv/send themselves and return WANT_*
 * only when a callback would block. user is passed back untouched. recv and
 * send must both be set (or both NULL to go back to feed/drain). */
SSLBIO_API int sslbio_conn_set_transport(sslbio_conn *conn, sslbio_recv_fn recv_fn,
                                         sslbio_send_fn send_fn, void *user);
/* Callback mode: push pending ciphertext to send_fn. SSLBIO_OK when all was
 * taken, SSLBIO_WANT_WRITE if it would block, SSLBIO_ERROR, SSLBIO_EINVAL.
 * A failed engine never calls recv_fn again, but what its failure queued
 * (a fatal alert) still goes to send_fn, with the call that failed and, what
 * send_fn did not take then, with each later call or flush, which return
 * the stored error; nothing once send_fn or recv_fn itself failed. */
SSLBIO_API int sslbio_conn_flush(sslbio_conn *conn);

/* ---- Hooks for servers and protocols -------------------------------- */

/* Server: pause every handshake at the ClientHello (a setter). The
 * handshake (or a read/write driving it) then returns
 * SSLBIO_WANT_CLIENT_HELLO once: look at sslbio_conn_server_name and
 * sslbio_conn_client_alpn, optionally sslbio_conn_use_context or
 * sslbio_conn_reject_client_hello, and call sslbio_conn_handshake again. */
SSLBIO_API int sslbio_ctx_set_client_hello_pause(sslbio_ctx *ctx, int on);
/* Server: the ALPN protocols the client offered, comma-separated, into buf
 * (NUL-terminated when it fits); returns the length needed without the NUL,
 * 0 if none, SSLBIO_EINVAL for NULL. From SSLBIO_WANT_CLIENT_HELLO on and
 * after the handshake. */
SSLBIO_API long sslbio_conn_client_alpn(const sslbio_conn *conn, char *buf, size_t cap);
/* Server, only while paused at the ClientHello: go on with ctx's
 * certificate and key, CA list, verify mode, ALPN protocols, ticket keys and
 * callbacks. Takes a reference on ctx (freezing it), drops the old one.
 * SSLBIO_OK, SSLBIO_EINVAL (not paused, a client context), or SSLBIO_ERROR
 * (OpenSSL refused, or memory ran out): then nothing changed, the engine is
 * still paused on its current context, and the handshake can go on or be
 * rejected. */
SSLBIO_API int sslbio_conn_use_context(sslbio_conn *conn, sslbio_ctx *ctx);
/* Server, only while paused at the ClientHello: fail the handshake with
 * the TLS alert (0..255, e.g. 112 unrecognized_name); the next handshake
 * call returns SSLBIO_ERROR with the alert queued to drain. SSLBIO_OK or
 * SSLBIO_EINVAL. */
SSLBIO_API int sslbio_conn_reject_client_hello(sslbio_conn *conn, int alert);

/* Key log (a setter; fn NULL: off, the default). The library never turns it
 * on from the environment. */
SSLBIO_API int sslbio_ctx_set_keylog(sslbio_ctx *ctx, sslbio_keylog_fn fn, void *user);

/* Exporter (RFC 5705, RFC 8446 7.5): len bytes of keying material for label
 * into out; context NULL means no context (distinct from an empty one in
 * TLS 1.2). SSLBIO_OK; SSLBIO_EINVAL before the handshake completed, for NULL
 * conn/out/label or len 0; SSLBIO_ERROR if OpenSSL refuses. */
SSLBIO_API int sslbio_conn_export_keying_material(sslbio_conn *conn, void *out, size_t len,
                                                  const char *label, const void *context,
                                                  size_t context_len);
/* tls-unique channel binding (RFC 5929: the first Finished message of the
 * handshake) into buf: the length needed (copied only when cap is enough),
 * 0 on TLS 1.3 (RFC 9266: use the exporter, label "EXPORTER-Channel-Binding",
 * 32 bytes, empty context), SSLBIO_EINVAL before the handshake completed. */
SSLBIO_API long sslbio_conn_tls_unique(const sslbio_conn *conn, void *buf, size_t cap);

/* Custom verification (a setter; fn NULL: OpenSSL's checks alone). Called
 * once per handshake in which the peer sent certificates to check (a client
 * always, also with SSLBIO_VERIFY_NONE; a server when it asked for a client
 * certificate and got one), after OpenSSL's own checks; it alone decides.
 * A rejection where OpenSSL had passed reads verify result 50
 * (X509_V_ERR_APPLICATION_VERIFICATION). */
SSLBIO_API int sslbio_ctx_set_verify_callback(sslbio_ctx *ctx, sslbio_verify_fn fn, void *user);
/* Answer a deferred decision (accept != 0 accepts), then call
 * sslbio_conn_handshake again. SSLBIO_OK, or SSLBIO_EINVAL when no decision
 * is pending. Same thread rules as every conn call: a worker thread that
 * decides hands the answer to the thread driving the engine. A server
 * holds the handshake's completion back meanwhile: no application data is
 * released and no TLS 1.3 ticket issued before the answer; a TLS 1.2 server
 * issues none at all then (its ticket would be sealed before the answer),
 * and no ciphertext drains (pending_out 0, no SSLBIO_WANTS_WRITE): on TLS
 * 1.2 the server's last flight waits for the answer. A refusal drops that
 * flight and the session; a TLS 1.2 client gets a bad_certificate alert
 * in its place. (A TLS 1.3 client has finished before the server decides;
 * a refused one sees the connection end.) */
SSLBIO_API int sslbio_conn_verify_done(sslbio_conn *conn, int accept);

/* Session ticket keys (server): len/32 keys of 32 random bytes, len a
 * positive multiple of 32 (else SSLBIO_EINVAL). The first seals new
 * tickets, every one opens them (a ticket opened by another is renewed);
 * contexts given the same keys, in any process, accept each other's
 * tickets; a ticket no key opens gives a full handshake. Copied. Unlike the
 * other setters it may be called at any time from any thread, also on a
 * context in use (rotation). */
SSLBIO_API int sslbio_ctx_set_ticket_keys(sslbio_ctx *ctx, const void *keys, size_t len);

/* ---- Run-time loading ------------------------------------------------- */

/* Every public function, for programs that dlopen the library. dlclose
 * leaves the library loaded (it is linked -z nodelete): OpenSSL and the
 * thread library keep pointers into it for the rest of the process. */
typedef struct sslbio_api_v1 {
  size_t size; /* sizeof(sslbio_api_v1) */
  int abi;     /* SSLBIO_ABI_VERSION */
  const char *(*version)(void);
  const char *(*strstatus)(int);
  sslbio_ctx *(*ctx_new)(int);
  sslbio_ctx *(*ctx_wrap_openssl)(struct ssl_ctx_st *, int);
  struct ssl_ctx_st *(*ctx_openssl)(const sslbio_ctx *);
  sslbio_ctx *(*ctx_ref)(sslbio_ctx *);
  void (*ctx_free)(sslbio_ctx *);
  int (*ctx_use_certificate_chain_file)(sslbio_ctx *, const char *);
  int (*ctx_use_private_key_file)(sslbio_ctx *, const char *);
  int (*ctx_use_certificate_chain_pem)(sslbio_ctx *, const char *, size_t);
  int (*ctx_use_private_key_pem)(sslbio_ctx *, const char *, size_t);
  int (*ctx_load_verify_file)(sslbio_ctx *, const char *);
  int (*ctx_load_verify_pem)(sslbio_ctx *, const char *, size_t);
  int (*ctx_set_verify)(sslbio_ctx *, int);
  int (*ctx_set_alpn)(sslbio_ctx *, const char *);
  int (*ctx_set_versions)(sslbio_ctx *, int, int);
  int (*ctx_set_ciphers)(sslbio_ctx *, const char *, const char *);
  int (*ctx_set_ragged_eof)(sslbio_ctx *, int);
  const char *(*ctx_error)(const sslbio_ctx *);
  sslbio_conn *(*conn_new)(sslbio_ctx *, const char *);
  void (*conn_free)(sslbio_conn *);
  long (*conn_feed)(sslbio_conn *, const void *, size_t);
  long (*conn_drain)(sslbio_conn *, void *, size_t);
  long (*conn_pending_out)(const sslbio_conn *);
  int (*conn_feed_eof)(sslbio_conn *);
  int (*conn_handshake)(sslbio_conn *);
  long (*conn_read)(sslbio_conn *, void *, size_t);
  long (*conn_write)(sslbio_conn *, const void *, size_t);
  int (*conn_shutdown)(sslbio_conn *);
  int (*conn_wants)(sslbio_conn *);
  int (*conn_key_update)(sslbio_conn *, int);
  long (*conn_error)(const sslbio_conn *, char *, size_t);
  unsigned long (*conn_error_code)(const sslbio_conn *);
  long (*conn_verify_result)(const sslbio_conn *);
  const char *(*conn_version)(const sslbio_conn *);
  const char *(*conn_cipher)(const sslbio_conn *);
  const char *(*conn_alpn)(sslbio_conn *);
  int (*conn_is_handshake_done)(const sslbio_conn *);
  long (*conn_peer_certificate_pem)(const sslbio_conn *, char *, size_t);
  struct ssl_st *(*conn_openssl)(const sslbio_conn *);
  long (*conn_session)(const sslbio_conn *, void *, size_t);
  int (*conn_set_session)(sslbio_conn *, const void *, size_t);
  int (*conn_set_transport)(sslbio_conn *, sslbio_recv_fn, sslbio_send_fn, void *);
  int (*conn_flush)(sslbio_conn *);
  long (*conn_feed_buffer)(sslbio_conn *, void **);
  long (*conn_feed_commit)(sslbio_conn *, size_t);
  long (*conn_drain_buffer)(sslbio_conn *, const void **);
  long (*conn_drain_commit)(sslbio_conn *, size_t);
  int (*conn_reset)(sslbio_conn *, const char *);
  long (*conn_write_drain)(sslbio_conn *, const void *, size_t, void *, size_t, size_t *);
  long (*conn_feed_read)(sslbio_conn *, const void *, size_t, size_t *, void *, size_t);
  const char *(*strkind)(int);
  int (*ctx_set_check_hostname)(sslbio_ctx *, int);
  int (*ctx_set_key_password)(sslbio_ctx *, const void *, size_t);
  int (*ctx_role)(const sslbio_ctx *);
  int (*ctx_get_verify)(const sslbio_ctx *);
  int (*conn_error_info)(const sslbio_conn *, sslbio_error_info *);
  int (*conn_error_entry)(const sslbio_conn *, size_t, sslbio_error_entry *);
  int (*conn_protocol_version)(const sslbio_conn *);
  long (*conn_cipher_id)(const sslbio_conn *);
  int (*conn_cipher_bits)(const sslbio_conn *);
  const char *(*conn_group)(const sslbio_conn *);
  long (*conn_pending_plaintext)(const sslbio_conn *);
  /* hooks for servers and protocols */
  int (*ctx_set_client_hello_pause)(sslbio_ctx *, int);
  const char *(*conn_server_name)(const sslbio_conn *);
  long (*conn_client_alpn)(const sslbio_conn *, char *, size_t);
  int (*conn_use_context)(sslbio_conn *, sslbio_ctx *);
  int (*conn_reject_client_hello)(sslbio_conn *, int);
  int (*ctx_set_keylog)(sslbio_ctx *, sslbio_keylog_fn, void *);
  int (*conn_export_keying_material)(sslbio_conn *, void *, size_t, const char *, const void *,
                                     size_t);
  long (*conn_tls_unique)(const sslbio_conn *, void *, size_t);
  int (*ctx_set_verify_callback)(sslbio_ctx *, sslbio_verify_fn, void *);
  int (*conn_verify_done)(sslbio_conn *, int);
  long (*conn_peer_cert_count)(const sslbio_conn *);
  long (*conn_peer_cert_der)(const sslbio_conn *, size_t, void *, size_t);
  int (*conn_session_reused)(const sslbio_conn *);
  int (*ctx_set_ticket_keys)(sslbio_ctx *, const void *, size_t);
} sslbio_api_v1;

/* The table for ABI version abi (static, never freed), or NULL if this
 * library does not provide that ABI. Any thread. */
SSLBIO_API const sslbio_api_v1 *sslbio_api(int abi);

#ifdef __cplusplus
}
#endif
#endif /* SSLBIO_H_INCLUDED_8F3A2C */
