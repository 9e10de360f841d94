/* sslbio_conn: one TLS connection as an SSL object over a BIO pair. The
 * network side (feed/drain) moves bytes in and out of the pair; the
 * application side (handshake/read/write/shutdown) calls OpenSSL with the
 * error discipline of rule 1. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "engine_internal.h"

int sslbio__conn_ok(const sslbio_conn *conn) {
  return conn != NULL && conn->magic == SSLBIO__CONN_MAGIC;
}

/* Client identity: SNI and the name (or address) the certificate must
 * match. Clears what a previous connection of a reset engine set. */
static int set_peer_name(sslbio_conn *conn, const char *name, int verify) {
  X509_VERIFY_PARAM *param = SSL_get0_param(conn->ssl); /* borrowed */
  if (SSL_set1_host(conn->ssl, NULL) != 1 || X509_VERIFY_PARAM_set1_ip(param, NULL, 0) != 1 ||
      SSL_set_tlsext_host_name(conn->ssl, NULL) != 1)
    return 0;
  free(conn->server_name);
  conn->server_name = NULL;
  if (name == NULL)
    return 1;
  conn->server_name = strdup(name);
  if (conn->server_name == NULL)
    return 0;
  ASN1_OCTET_STRING *ip = a2i_IPADDRESS(name);
  if (ip != NULL) { /* IP literal: no SNI (RFC 6066), match the address */
    ASN1_OCTET_STRING_free(ip);
    return !verify || X509_VERIFY_PARAM_set1_ip_asc(param, name) == 1;
  }
  sslbio__clear_queue(); /* a2i_IPADDRESS leaves an entry for non-addresses */
  if (SSL_set_tlsext_host_name(conn->ssl, name) != 1)
    return 0;
  return !verify || SSL_set1_host(conn->ssl, name) == 1;
}

/* The server name to use, or NULL with ctx->error set when a verifying
 * client has none. *ok tells the two NULLs apart. */
static const char *checked_name(sslbio_ctx *ctx, const char *server_name, int *ok) {
  if (server_name != NULL && server_name[0] == '\0')
    server_name = NULL;
  int verify = ctx->role == SSLBIO_CLIENT && ctx->verify_mode != SSLBIO_VERIFY_NONE;
  /* Chain verification without the name check would accept any certificate
   * the CA ever issued (rule 7). A wrapped SSL_CTX is configured by its owner. */
  *ok = !(verify && server_name == NULL && !ctx->wrapped && !ctx->no_check_hostname);
  if (!*ok) {
    pthread_mutex_lock(&ctx->lock);
    sslbio__ctx_set_error(ctx, "sslbio: new engine: a verifying client needs a server name "
                               "(or SSLBIO_VERIFY_NONE)");
    pthread_mutex_unlock(&ctx->lock);
  }
  return server_name;
}

/* Role state and identity of a new or reset engine. */
static int configure(sslbio_conn *conn, const char *server_name) {
  /* Partial writes (rule 4). Not SSL_MODE_RELEASE_BUFFERS: it frees and
   * reallocates the record buffers on every record (+10% instructions per
   * 64-byte round trip); release_record_buffers() frees them once the engine
   * goes idle instead, which keeps idle memory just as low. */
  SSL_set_mode(conn->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  sslbio__hello_reset(conn);
  sslbio__verify_configure(conn);
  if (conn->role == SSLBIO_SERVER) {
    SSL_set_accept_state(conn->ssl);
    return 1;
  }
  SSL_set_connect_state(conn->ssl);
  return set_peer_name(conn, server_name,
                       conn->ctx->verify_mode != SSLBIO_VERIFY_NONE && !conn->ctx->no_check_hostname);
}

sslbio_conn *sslbio_conn_new(sslbio_ctx *ctx, const char *server_name) {
  if (!sslbio__ctx_ok(ctx))
    return NULL;
  int ok;
  server_name = checked_name(ctx, server_name, &ok);
  if (!ok || sslbio__ctx_freeze(ctx) != SSLBIO_OK)
    return NULL;
  sslbio_conn *conn = calloc(1, sizeof(*conn));
  if (conn == NULL) { /* the contract: NULL comes with a message */
    pthread_mutex_lock(&ctx->lock);
    sslbio__ctx_set_error(ctx, "sslbio: new engine: out of memory");
    pthread_mutex_unlock(&ctx->lock);
    return NULL;
  }
  conn->magic = SSLBIO__CONN_MAGIC;
  conn->role = ctx->role;
  conn->ctx = sslbio_ctx_ref(ctx);
  sslbio__clear_queue();
  conn->ssl = SSL_new(ctx->ssl_ctx);
  if (conn->ssl == NULL || !sslbio__conn_attach(conn) || !sslbio__queues_attach(conn) ||
      !configure(conn, server_name)) {
    pthread_mutex_lock(&ctx->lock);
    unsigned long code = ERR_peek_last_error();
    sslbio__ctx_set_error(ctx, "sslbio: new engine: %s",
                          code ? ERR_reason_error_string(code) : "out of memory");
    pthread_mutex_unlock(&ctx->lock);
    sslbio__clear_queue();
    conn->magic = 0;
    SSL_free(conn->ssl);
    sslbio_ctx_free(conn->ctx);
    free(conn->server_name);
    free(conn);
    return NULL;
  }
  sslbio__clear_queue();
  return conn;
}

int sslbio_conn_reset(sslbio_conn *conn, const char *server_name) {
  if (!sslbio__conn_ok(conn))
    return SSLBIO_EINVAL;
  int ok;
  server_name = checked_name(conn->ctx, server_name, &ok);
  if (!ok) {
    conn->dead = 0;
    return sslbio__fail(conn, "reset", SSLBIO_EINVAL, SSLBIO_KIND_INVALID,
                        "a verifying client needs a server name");
  }
  sslbio__clear_queue();
  if (conn->hello_state == SSLBIO__HELLO_PAUSED) {
    /* OpenSSL keeps the parsed ClientHello of a paused handshake until the
     * handshake goes on, and SSL_clear does not free it (the next
     * handshake would leak it): end the handshake as a refusal first. Its
     * alert goes with the queues. */
    conn->hello_state = SSLBIO__HELLO_RESUMED;
    conn->hello_reject = SSL_AD_INTERNAL_ERROR + 1;
    SSL_do_handshake(conn->ssl);
    sslbio__clear_queue();
  }
  sslbio__queues_reset(conn);
  if (!sslbio__hello_go_home(conn) || SSL_clear(conn->ssl) != 1 ||
      SSL_set_session(conn->ssl, NULL) != 1 ||
      !configure(conn, server_name)) {
    sslbio__clear_queue();
    return SSLBIO_ENOMEM;
  }
  sslbio__clear_queue();
  conn->dead = conn->closed = conn->handshake_done = conn->shutdown_sent = conn->starved = 0;
  free(conn->alpn);
  conn->alpn = NULL;
  free(conn->err);
  conn->err = NULL;
  return SSLBIO_OK;
}

void sslbio_conn_free(sslbio_conn *conn) {
  if (!sslbio__conn_ok(conn))
    return;
  conn->magic = 0;
  SSL_free(conn->ssl); /* frees its BIO */
  sslbio__queues_reset(conn);
  sslbio_ctx_free(conn->ctx);
  sslbio_ctx_free(conn->home);
  free(conn->server_name);
  free(conn->alpn);
  free(conn->err);
  sslbio__hello_reset(conn);
  sslbio__verify_forget(conn);
  free(conn);
}

/* ---- network side ---- */

long sslbio_conn_feed(sslbio_conn *conn, const void *buf, size_t len) {
  if (!sslbio__conn_ok(conn))
    return SSLBIO_EINVAL;
  if (buf == NULL && len > 0)
    return sslbio__fail(conn, "feed", SSLBIO_EINVAL, SSLBIO_KIND_INVALID, "NULL buffer");
  if (conn->in.eof)
    return sslbio__fail(conn, "feed", SSLBIO_EINVAL, SSLBIO_KIND_INVALID, "feed after feed_eof");
  if (len == 0)
    return 0;
  unsigned char *at;
  long room = sslbio__in_room(conn, &at);
  if (room < 0)
    return sslbio__fail(conn, "feed", SSLBIO_ENOMEM, SSLBIO_KIND_NOMEM, "out of memory");
  if (room == 0)
    return 0; /* full: at is NULL, keep the rest (backpressure) */
  size_t n = len < (size_t)room ? len : (size_t)room;
  memcpy(at, buf, n);
  sslbio__in_commit(conn, n);
  return (long)n;
}

long sslbio_conn_drain(sslbio_conn *conn, void *buf, size_t cap) {
  if (!sslbio__conn_ok(conn))
    return SSLBIO_EINVAL;
  if (buf == NULL && cap > 0)
    return sslbio__fail(conn, "drain", SSLBIO_EINVAL, SSLBIO_KIND_INVALID, "NULL buffer");
  const unsigned char *at;
  size_t avail = sslbio__out_data(conn, &at);
  size_t n = cap < avail ? cap : avail;
  if (n == 0)
    return 0;
  memcpy(buf, at, n);
  sslbio__out_consume(conn, n);
  return (long)n;
}

long sslbio_conn_pending_out(const sslbio_conn *conn) {
  if (!sslbio__conn_ok(conn))
    return SSLBIO_EINVAL;
  return (long)sslbio__out_ready(conn);
}

int sslbio_conn_feed_eof(sslbio_conn *conn) {
  if (!sslbio__conn_ok(conn))
    return SSLBIO_EINVAL;
  conn->in.eof = 1;
  return SSLBIO_OK;
}

/* ---- application side ---- */

/* Status of a dead engine: the error that killed it, again. */
static int dead_status(const sslbio_conn *conn) {
  return conn->err != NULL ? conn->err->status : SSLBIO_ERROR;
}

/* An engine waiting for the peer gives OpenSSL's record buffers back (they
 * are allocated again with the next record), so idle connections — and
 * handshakes a peer abandoned — cost little memory. SSL_free_buffers itself
 * refuses while a record is partly read or written. */
static void release_record_buffers(sslbio_conn *conn) {
  if (!SSL_has_pending(conn->ssl))
    SSL_free_buffers(conn->ssl);
}

int sslbio__do_handshake(sslbio_conn *conn) {
  sslbio__release_idle(conn); /* a feed_buffer offer that was not used */
  if (conn->dead)
    return dead_status(conn);
  if (conn->handshake_done)
    return SSLBIO_OK;
  if (conn->hello_state == SSLBIO__HELLO_PAUSED)
    conn->hello_state = SSLBIO__HELLO_RESUMED; /* the application chose (hello.c) */
  if (conn->verify_state == SSLBIO__VERIFY_PENDING)
    return SSLBIO_WANT_VERIFY; /* until verify_done (verify.c) */
  sslbio__clear_queue();
  conn->starved = 0;
  int ret = SSL_do_handshake(conn->ssl);
  if (ret == 1) {
    int st = sslbio__verify_completed(conn);
    if (st != SSLBIO_OK)
      return st;
    conn->handshake_done = 1;
    release_record_buffers(conn);
    return SSLBIO_OK;
  }
  int st = sslbio__translate(conn, "handshake", ret);
  /* The pause comes from the very call that deferred, not a WANT_READ. */
  if (st == SSLBIO_WANT_READ && conn->verify_state == SSLBIO__VERIFY_PENDING)
    return SSLBIO_WANT_VERIFY;
  if (st == SSLBIO_WANT_READ) {
    release_record_buffers(conn);
    conn->starved = 1; /* the queue is empty: OpenSSL's read found nothing more */
  }
  return st;
}

/* Result of SSL_read_ex/SSL_write_ex (ret, n bytes moved) as a count or a
 * status. Reads and writes drive an unfinished handshake through
 * sslbio__do_handshake first, so its pauses and the verification hold
 * apply to them too (OpenSSL's implicit handshake would read on past them). */
static long io_result(sslbio_conn *conn, const char *op, int ret, size_t n) {
  if (ret > 0)
    return (long)(n > LONG_MAX ? LONG_MAX : n);
  return sslbio__translate(conn, op, ret);
}

long sslbio__do_read(sslbio_conn *conn, void *buf, size_t cap) {
  sslbio__release_idle(conn); /* a feed_buffer offer that was not used */
  if (conn->dead)
    return dead_status(conn);
  if (!conn->handshake_done) {
    int st = sslbio__do_handshake(conn);
    if (st != SSLBIO_OK)
      return st;
  }
  sslbio__clear_queue();
  size_t n = 0;
  int ret = SSL_read_ex(conn->ssl, buf, cap, &n); /* before io_result reads n */
  long st = io_result(conn, "read", ret, n);
  if (st == SSLBIO_WANT_READ)
    release_record_buffers(conn);
  return st;
}

long sslbio__do_write(sslbio_conn *conn, const void *buf, size_t len) {
  sslbio__release_idle(conn); /* a feed_buffer offer that was not used */
  if (conn->dead)
    return dead_status(conn);
  if (SSL_get_shutdown(conn->ssl) & SSL_SENT_SHUTDOWN)
    return sslbio__fail(conn, "write", SSLBIO_EINVAL, SSLBIO_KIND_INVALID,
                        "write after shutdown sent close_notify");
  if (!conn->handshake_done) {
    int st = sslbio__do_handshake(conn);
    if (st != SSLBIO_OK)
      return st;
  }
  if (conn->out.len >= SSLBIO__OUT_CAP)
    return SSLBIO_WANT_WRITE; /* drain first; nothing was taken (see queue.c) */
  sslbio__clear_queue();
  size_t n = 0;
  int ret = SSL_write_ex(conn->ssl, buf, len, &n); /* before io_result reads n */
  return io_result(conn, "write", ret, n);
}

/* Process records already fed without consuming application data; returns
 * 1 if plaintext is ready, else the status a read would return. */
static int peek_status(sslbio_conn *conn) {
  char c;
  size_t n = 0;
  sslbio__clear_queue();
  int ret = SSL_peek_ex(conn->ssl, &c, 1, &n);
  if (ret > 0)
    return 1;
  return sslbio__translate(conn, "read", ret);
}

int sslbio__do_shutdown(sslbio_conn *conn) {
  if (conn->dead)
    return dead_status(conn);
  if (!conn->handshake_done)
    return sslbio__fail(conn, "shutdown", SSLBIO_EINVAL, SSLBIO_KIND_INVALID,
                        "shutdown before the handshake completed");
  if (conn->shutdown_sent) {
    /* Never call SSL_shutdown again: it would discard application data
     * still on its way. Let the records already fed reveal close_notify. */
    if (!(SSL_get_shutdown(conn->ssl) & SSL_RECEIVED_SHUTDOWN) && !SSL_has_pending(conn->ssl)) {
      int st = peek_status(conn);
      if (st != SSLBIO_CLOSED)
        return st == 1 || st == SSLBIO_WANT_READ ? SSLBIO_WANT_READ : st;
    }
    return SSL_get_shutdown(conn->ssl) & SSL_RECEIVED_SHUTDOWN ? SSLBIO_OK : SSLBIO_WANT_READ;
  }
  sslbio__clear_queue();
  int ret = SSL_shutdown(conn->ssl);
  if (ret >= 0) {
    sslbio__clear_queue();
    conn->shutdown_sent = 1;
    return ret == 1 ? SSLBIO_OK : SSLBIO_WANT_READ;
  }
  return sslbio__translate(conn, "shutdown", ret);
}

/* Public entry points: check arguments, then run on the pair directly or
 * through the callback transport. */

static long handshake_op(sslbio_conn *conn, void *buf, size_t len) {
  (void)buf, (void)len;
  return sslbio__do_handshake(conn);
}
static long read_op(sslbio_conn *conn, void *buf, size_t len) {
  return sslbio__do_read(conn, buf, len);
}
static long write_op(sslbio_conn *conn, void *buf, size_t len) {
  return sslbio__do_write(conn, buf, len);
}
static long shutdown_op(sslbio_conn *conn, void *buf, size_t len) {
  (void)buf, (void)len;
  return sslbio__do_shutdown(conn);
}

int sslbio_conn_handshake(sslbio_conn *conn) {
  if (!sslbio__conn_ok(conn))
    return SSLBIO_EINVAL;
  if (conn->recv_fn != NULL)
    return (int)sslbio__pump(conn, "handshake", handshake_op, NULL, 0);
  return sslbio__do_handshake(conn);
}

long sslbio_conn_read(sslbio_conn *conn, void *buf, size_t cap) {
  if (!sslbio__conn_ok(conn))
    return SSLBIO_EINVAL;
  if (buf == NULL || cap == 0)
    return sslbio__fail(conn, "read", SSLBIO_EINVAL, SSLBIO_KIND_INVALID,
                        "NULL or empty buffer");
  if (conn->recv_fn != NULL)
    return sslbio__pump(conn, "read", read_op, buf, cap);
  return sslbio__do_read(conn, buf, cap);
}

long sslbio_conn_write(sslbio_conn *conn, const void *buf, size_t len) {
  if (!sslbio__conn_ok(conn))
    return SSLBIO_EINVAL;
  if (buf == NULL || len == 0)
    return sslbio__fail(conn, "write", SSLBIO_EINVAL, SSLBIO_KIND_INVALID,
                        "NULL or empty buffer");
  if (conn->recv_fn != NULL)
    return sslbio__pump(conn, "write", write_op, (void *)buf, len);
  return sslbio__do_write(conn, buf, len);
}

int sslbio_conn_shutdown(sslbio_conn *conn) {
  if (!sslbio__conn_ok(conn))
    return SSLBIO_EINVAL;
  if (conn->recv_fn != NULL)
    return (int)sslbio__pump(conn, "shutdown", shutdown_op, NULL, 0);
  return sslbio__do_shutdown(conn);
}

int sslbio_conn_wants(sslbio_conn *conn) {
  if (!sslbio__conn_ok(conn))
    return 0;
  int mask = 0;
  if (conn->verify_state == SSLBIO__VERIFY_PENDING || conn->hello_state == SSLBIO__HELLO_PAUSED) {
    /* Paused for the application: no call makes progress until it answers. */
  } else if (conn->dead || conn->closed || conn->in.eof) {
    mask = SSLBIO_HAS_PLAINTEXT; /* a read returns the close or error now */
  } else if (SSL_pending(conn->ssl) > 0) {
    mask = SSLBIO_HAS_PLAINTEXT;
  } else if (conn->in.len == 0 && !SSL_has_pending(conn->ssl)) {
    /* Nothing buffered: the engine waits for the peer, unless a client has
     * yet to send its first flight. */
    if (conn->handshake_done || conn->role == SSLBIO_SERVER || !SSL_in_before(conn->ssl))
      mask = SSLBIO_WANTS_READ;
  } else if (!conn->handshake_done) {
    /* Buffered handshake records: call into the engine; but once a call
     * took them all and asked for more (a partial record in OpenSSL's
     * buffer), saying so again would make an event loop spin. */
    mask = conn->starved ? SSLBIO_WANTS_READ : SSLBIO_HAS_PLAINTEXT;
  } else {
    int st = peek_status(conn);
    mask = st == SSLBIO_WANT_READ ? SSLBIO_WANTS_READ : SSLBIO_HAS_PLAINTEXT;
  }
  if (sslbio__out_ready(conn) > 0)
    mask |= SSLBIO_WANTS_WRITE;
  return mask;
}

int sslbio_conn_key_update(sslbio_conn *conn, int update_peer) {
  if (!sslbio__conn_ok(conn))
    return SSLBIO_EINVAL;
  if (conn->dead)
    return dead_status(conn);
  if (!conn->handshake_done || SSL_version(conn->ssl) != TLS1_3_VERSION)
    return sslbio__fail(conn, "key update", SSLBIO_EINVAL, SSLBIO_KIND_INVALID,
                        "key update needs a completed TLS 1.3 handshake");
  sslbio__clear_queue();
  if (SSL_key_update(conn->ssl, update_peer ? SSL_KEY_UPDATE_REQUESTED
                                            : SSL_KEY_UPDATE_NOT_REQUESTED) != 1)
    return sslbio__translate(conn, "key update", 0);
  /* SSL_key_update only queues the message; a handshake call writes it. */
  int ret = SSL_do_handshake(conn->ssl);
  if (ret == 1) {
    sslbio__clear_queue();
    return SSLBIO_OK;
  }
  return sslbio__translate(conn, "key update", ret);
}
