/* Internal declarations of the sslbio C engine. Not installed; every symbol
 * here is hidden from the shared library's dynamic table (SSLBIO_INTERNAL),
 * so `nm -D build/libsslbio.so` shows the public API alone. The faces (Go,
 * Python) use include/sslbio.h only, never this file. */
#ifndef SSLBIO_ENGINE_INTERNAL_H
#define SSLBIO_ENGINE_INTERNAL_H

#include <stdatomic.h>
#include <pthread.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "sslbio.h"

#define SSLBIO_INTERNAL __attribute__((visibility("hidden")))

/* ERR queue entries kept per error; deeper ones are counted, not stored. */
#define SSLBIO__MAX_ERR_ENTRIES 8
#define SSLBIO__ERR_DATA_LEN 128

/* One ERR queue entry, copied out of the thread's queue. */
typedef struct sslbio__err_entry {
  unsigned long code; /* ERR_get_error form */
  const char *file;   /* static strings inside libcrypto/libssl */
  const char *function;
  int line;
  char data[SSLBIO__ERR_DATA_LEN]; /* copied: the queue reuses its buffer */
} sslbio__err_entry;

/* Everything known about one failed call; allocated on the first failure
 * and reused, so a healthy engine carries no error storage. */
typedef struct sslbio__err_record {
  const char *op; /* static: "handshake", "read", ... */
  int status;     /* SSLBIO_* */
  int kind;       /* SSLBIO_KIND_* */
  int ssl_error;  /* SSL_get_error value */
  int sys_errno;
  long verify_result;
  int n_entries;     /* stored entries */
  int n_dropped;     /* entries beyond SSLBIO__MAX_ERR_ENTRIES */
  char detail[128];  /* our own words when OpenSSL has none */
  sslbio__err_entry entries[SSLBIO__MAX_ERR_ENTRIES];
} sslbio__err_record;

/* Capacity of each queue of the engine's BIO pair (queue.c). It must hold
 * a full TLS record so a whole record can be fed or drained in one call;
 * 17 KiB covers TLS 1.3's 16384 + 256 + 5 byte maximum and every TLS 1.2
 * record OpenSSL writes. Buffers exist only while they hold bytes. */
#define SSLBIO__IN_CAP (17 * 1024)
#define SSLBIO__OUT_CAP (17 * 1024)
#define SSLBIO__CONN_MAGIC 0x53534c42u /* "SSLB" */
#define SSLBIO__CTX_MAGIC 0x53534c43u  /* "SSLC" */

struct sslbio_ctx {
  unsigned magic;
  SSL_CTX *ssl_ctx; /* owned: one reference */
  int role;
  int verify_mode;
  int allow_ragged_eof;
  int have_ca;  /* a CA was loaded; otherwise the client uses the system store */
  int no_check_hostname; /* client: verify the chain but not the name */
  char *key_password;    /* owned, wiped on free: for encrypted private keys */
  size_t key_password_len;
  int wrapped;  /* adopted with sslbio_ctx_wrap_openssl: settings are the caller's */
  unsigned char *alpn_wire; /* owned: server's ALPN preference, wire format */
  struct sslbio__session_cache *sessions; /* owned, lazily; guarded by lock */
  size_t alpn_len;
  /* hooks (hello.c, keylog.c, verify.c, tickets.c) */
  int client_hello_pause;
  sslbio_keylog_fn keylog_fn;
  void *keylog_user;
  sslbio_verify_fn verify_fn;
  void *verify_user;
  struct sslbio__ticket_keys *tickets; /* borrowed from ssl_ctx's ex_data; server contexts */
  atomic_int refs;
  atomic_int frozen;
  pthread_mutex_t lock; /* guards freeze-time setup and error */
  char error[256];
};

/* One direction of the BIO pair: a linear buffer, NULL while empty. */
typedef struct sslbio__queue {
  unsigned char *buf; /* owned */
  size_t cap;         /* size of buf: the standard capacity, or more for `out` */
  size_t start, len;
  int eof; /* in only: the transport ended (feed_eof) */
} sslbio__queue;

struct sslbio_conn {
  unsigned magic;
  sslbio_ctx *ctx; /* one reference: the context in use */
  sslbio_ctx *home; /* one reference, or NULL: the engine's own context
                       while a ClientHello choice switched to another */
  SSL *ssl;        /* owned; owns its BIO, which reads `in` and writes `out` */
  sslbio__queue in;  /* ciphertext fed, not yet read by the SSL */
  sslbio__queue out; /* ciphertext written by the SSL, not yet drained */
  int role;
  int dead;            /* a fatal error happened: calls return the stored error */
  int closed;          /* peer's close_notify was seen */
  int handshake_done;
  int shutdown_sent;   /* SSL_shutdown queued our close_notify */
  int starved;         /* the handshake took every byte fed and wants more (nothing fed since) */
  char *server_name;   /* owned copy, NULL for servers */
  char *alpn;          /* owned, cached on first sslbio_conn_alpn */
  sslbio__err_record *err; /* owned, NULL until the first failure */
  /* ClientHello pause (hello.c) */
  int hello_state;   /* SSLBIO__HELLO_* */
  int hello_reject;  /* 0, or the alert to reject with, plus one */
  char *hello_sni;   /* owned: the client's SNI, NULL if none */
  char *client_alpn; /* owned: the client's ALPN offer, comma-separated */
  /* verification (verify.c) */
  int verify_state;     /* SSLBIO__VERIFY_* */
  long verify_openssl;  /* OpenSSL's own result, before the callback */
  struct stack_st_X509 *verify_chain; /* owned: the chain the callback saw */
  char verify_note[96]; /* why the callback's answer was a rejection */
  int tickets_held;     /* server: TLS 1.3 tickets wait for the decision */
  /* callback transport */
  sslbio_recv_fn recv_fn;
  sslbio_send_fn send_fn;
  void *user;
};

enum { SSLBIO__HELLO_NONE, SSLBIO__HELLO_PAUSED, SSLBIO__HELLO_RESUMED };
enum {
  SSLBIO__VERIFY_NONE,
  SSLBIO__VERIFY_PENDING,  /* the callback deferred: waiting for verify_done */
  SSLBIO__VERIFY_ACCEPTED, /* decided (client: OpenSSL asks the callback again) */
  SSLBIO__VERIFY_REJECTED,
};

/* Bytes of `out` drain may hand out now: none while a server waits for its
 * deferred verify decision (verify.c), because what OpenSSL queued by then
 * (TLS 1.2: the last flight) would tell the client its handshake succeeded
 * before the application said so. A refusal drops it and sends an alert;
 * an acceptance releases it. Inline: every drain, pending_out and wants. */
static inline size_t sslbio__out_ready(const sslbio_conn *conn) {
  if (conn->verify_state == SSLBIO__VERIFY_PENDING && conn->role == SSLBIO_SERVER)
    return 0;
  return conn->out.len;
}

/* Empty the thread's ERR queue (rule 1). Peeking first is equivalent — an
 * empty queue needs no clearing, and SSL_get_error itself only peeks — and
 * far cheaper than OpenSSL 3's ERR_clear_error, which wipes all 16 slots. */
static inline void sslbio__clear_queue(void) {
  if (ERR_peek_error() != 0)
    ERR_clear_error();
}

/* ---- errors.c ---- */
/* Record a failure of our own making (no OpenSSL entries). Returns status. */
SSLBIO_INTERNAL int sslbio__fail(sslbio_conn *conn, const char *op, int status,
                                 int kind, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* SSLBIO_EINVAL, with detail recorded as the conn's error when conn is
 * valid (a call in the wrong state). */
SSLBIO_INTERNAL int sslbio__invalid(sslbio_conn *conn, const char *op, const char *detail);
/* Translate the result of an SSL I/O call made right before, on this thread,
 * with a cleared queue: reads SSL_get_error and moves the ERR queue into the
 * conn. Returns the SSLBIO_* status. */
SSLBIO_INTERNAL int sslbio__translate(sslbio_conn *conn, const char *op, int ret);
/* Write the one-line message of rec into buf (snprintf semantics). */
SSLBIO_INTERNAL long sslbio__format(const sslbio__err_record *rec, char *buf, size_t cap);

/* ---- conn.c ---- */
SSLBIO_INTERNAL int sslbio__conn_ok(const sslbio_conn *conn);
/* The engine operations on the pair, without the callback transport. */
SSLBIO_INTERNAL int sslbio__do_handshake(sslbio_conn *conn);
SSLBIO_INTERNAL long sslbio__do_read(sslbio_conn *conn, void *buf, size_t cap);
SSLBIO_INTERNAL long sslbio__do_write(sslbio_conn *conn, const void *buf, size_t len);
SSLBIO_INTERNAL int sslbio__do_shutdown(sslbio_conn *conn);

/* ---- queue.c ---- */
/* Give conn->ssl its BIO over conn's queues; 0 when memory ran out. */
SSLBIO_INTERNAL int sslbio__queues_attach(sslbio_conn *conn);
/* Contiguous room at the end of `in` (*at set), 0 when full, -1 on ENOMEM. */
SSLBIO_INTERNAL long sslbio__in_room(sslbio_conn *conn, unsigned char **at);
SSLBIO_INTERNAL void sslbio__in_commit(sslbio_conn *conn, size_t n);
/* The bytes of `out` sslbio__out_ready counts (*at set; contiguous). */
SSLBIO_INTERNAL size_t sslbio__out_data(const sslbio_conn *conn, const unsigned char **at);
SSLBIO_INTERNAL void sslbio__out_consume(sslbio_conn *conn, size_t n);
/* Append bytes the engine writes itself (not through OpenSSL) to `out`;
 * 0 when memory ran out. */
SSLBIO_INTERNAL int sslbio__out_put(sslbio_conn *conn, const void *p, size_t n);
/* Free the buffers of empty queues (an idle engine holds none). */
SSLBIO_INTERNAL void sslbio__release_idle(sslbio_conn *conn);
/* Empty both queues, forget EOF, free their buffers. */
SSLBIO_INTERNAL void sslbio__queues_reset(sslbio_conn *conn);

/* ---- ctx.c ---- */
SSLBIO_INTERNAL int sslbio__ctx_ok(const sslbio_ctx *ctx);
/* Freeze ctx and finish its defaults; 0 on success, or a status with the
 * message in ctx->error. */
SSLBIO_INTERNAL int sslbio__ctx_freeze(sslbio_ctx *ctx);
/* Common entry check of every setter (args_ok: its pointer arguments are
 * not NULL): SSLBIO_OK, or SSLBIO_EINVAL with the message in ctx->error.
 * Clears the thread's ERR queue. */
SSLBIO_INTERNAL int sslbio__setter_begin(sslbio_ctx *ctx, const char *what, int args_ok);
/* Encrypted keys read the context's password (never a terminal prompt). */
SSLBIO_INTERNAL void sslbio__ctx_passwords(sslbio_ctx *ctx);
SSLBIO_INTERNAL void sslbio__ctx_set_error(sslbio_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- hello.c ---- */
/* The conn that owns ssl (NULL for an SSL the engine did not make). */
SSLBIO_INTERNAL sslbio_conn *sslbio__conn_of(const SSL *ssl);
/* Tie ssl to conn so callbacks find it; 0 when memory ran out. */
SSLBIO_INTERNAL int sslbio__conn_attach(sslbio_conn *conn);
/* Server contexts: the ClientHello callback (captures SNI and ALPN). */
SSLBIO_INTERNAL void sslbio__hello_install(sslbio_ctx *ctx);
/* A reset engine goes back to its own context after a ClientHello switch;
 * 0 if OpenSSL refused. */
SSLBIO_INTERNAL int sslbio__hello_go_home(sslbio_conn *conn);
/* Forget the previous connection's ClientHello (new or reset engine). */
SSLBIO_INTERNAL void sslbio__hello_reset(sslbio_conn *conn);

/* ---- verify.c ---- */
/* Per engine at creation and reset: a server whose context has a verify
 * callback holds its TLS 1.3 tickets until the decision. */
SSLBIO_INTERNAL void sslbio__verify_configure(sslbio_conn *conn);
/* Free what verification kept (the chain). */
SSLBIO_INTERNAL void sslbio__verify_forget(sslbio_conn *conn);
/* At freeze: a client with a verify callback always asks for the peer's
 * certificates, so the callback alone decides. */
SSLBIO_INTERNAL void sslbio__verify_freeze(sslbio_ctx *ctx);
/* The handshake completed in OpenSSL: SSLBIO_OK, or SSLBIO_WANT_VERIFY while
 * a server's deferred decision is pending. Issues held tickets. */
SSLBIO_INTERNAL int sslbio__verify_completed(sslbio_conn *conn);

/* ---- tickets.c ---- */
/* Server contexts: one random ticket key (what OpenSSL does by default),
 * through the engine's ticket callback; 0 when memory ran out. */
SSLBIO_INTERNAL int sslbio__tickets_init(sslbio_ctx *ctx);
SSLBIO_INTERNAL void sslbio__tickets_free(sslbio_ctx *ctx);

/* ---- session.c ---- */
/* Free ctx's cache of exported sessions (at the context's end). */
SSLBIO_INTERNAL void sslbio__session_cache_free(sslbio_ctx *ctx);

/* ---- transport.c ---- */
/* Run op through the callback transport: pump until it completes or a
 * callback would block. */
typedef long (*sslbio__op_fn)(sslbio_conn *conn, void *buf, size_t len);
SSLBIO_INTERNAL long sslbio__pump(sslbio_conn *conn, const char *op,
                                  sslbio__op_fn fn, void *buf, size_t len);

#endif
