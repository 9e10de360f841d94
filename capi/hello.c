/* The ClientHello (server): what the client asked for (SNI, ALPN), the
 * pause that lets the application choose a context or refuse, and the
 * engine's link from an SSL back to its conn for OpenSSL's callbacks. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/tls1.h>

#include "engine_internal.h"

/* ---- conn <-> SSL ---- */

static int conn_index = -1;
static pthread_once_t conn_index_once = PTHREAD_ONCE_INIT;

static void make_conn_index(void) {
  conn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

int sslbio__conn_attach(sslbio_conn *conn) {
  pthread_once(&conn_index_once, make_conn_index);
  return conn_index >= 0 && SSL_set_ex_data(conn->ssl, conn_index, conn) == 1;
}

sslbio_conn *sslbio__conn_of(const SSL *ssl) {
  if (conn_index < 0 || ssl == NULL)
    return NULL;
  sslbio_conn *conn = SSL_get_ex_data(ssl, conn_index);
  return sslbio__conn_ok(conn) ? conn : NULL;
}

/* ---- what the client asked for ---- */

static uint16_t be16(const unsigned char *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* The host name of a server_name extension (RFC 6066 3), NULL if absent,
 * malformed or not a host name. The caller frees it. */
static char *parse_sni(SSL *ssl) {
  const unsigned char *p; /* borrowed from the ClientHello */
  size_t len;
  if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len) || len < 5)
    return NULL;
  size_t list = be16(p), name = be16(p + 3);
  if (list + 2 != len || p[2] != TLSEXT_NAMETYPE_host_name || name == 0 || name + 5 > len ||
      memchr(p + 5, '\0', name) != NULL)
    return NULL;
  char *out = malloc(name + 1);
  if (out != NULL) {
    memcpy(out, p + 5, name);
    out[name] = '\0';
  }
  return out;
}

/* The ALPN offer (RFC 7301 3.1) as "h2,http/1.1", NULL if absent or
 * malformed. The caller frees it. */
static char *parse_alpn(SSL *ssl) {
  const unsigned char *p; /* borrowed from the ClientHello */
  size_t len;
  if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &p,
                                 &len) ||
      len < 3 || be16(p) + 2u != len)
    return NULL;
  char *out = malloc(len); /* each length byte becomes a comma or the NUL */
  if (out == NULL)
    return NULL;
  size_t w = 0;
  for (size_t i = 2; i < len;) {
    size_t n = p[i++];
    if (n == 0 || i + n > len || memchr(p + i, '\0', n) != NULL || memchr(p + i, ',', n)) {
      free(out);
      return NULL;
    }
    if (w > 0)
      out[w++] = ',';
    memcpy(out + w, p + i, n);
    w += n;
    i += n;
  }
  out[w] = '\0';
  return out;
}

void sslbio__hello_reset(sslbio_conn *conn) {
  free(conn->hello_sni);
  free(conn->client_alpn);
  conn->hello_sni = conn->client_alpn = NULL;
  conn->hello_state = SSLBIO__HELLO_NONE;
  conn->hello_reject = 0;
}

/* OpenSSL's ClientHello callback, on every server context the engine made.
 * It runs again when a paused handshake goes on (and for a TLS 1.3 retried
 * ClientHello): the first run records the offer and pauses if asked, later
 * runs carry out the application's choice. */
static int on_client_hello(SSL *ssl, int *alert, void *arg) {
  (void)arg;
  sslbio_conn *conn = sslbio__conn_of(ssl);
  if (conn == NULL)
    return SSL_CLIENT_HELLO_SUCCESS;
  if (conn->hello_state == SSLBIO__HELLO_RESUMED) {
    if (conn->hello_reject) {
      *alert = conn->hello_reject - 1;
      return SSL_CLIENT_HELLO_ERROR;
    }
    return SSL_CLIENT_HELLO_SUCCESS;
  }
  free(conn->hello_sni);
  free(conn->client_alpn);
  conn->hello_sni = parse_sni(ssl);
  conn->client_alpn = parse_alpn(ssl);
  if (conn->ctx->client_hello_pause) {
    conn->hello_state = SSLBIO__HELLO_PAUSED;
    return SSL_CLIENT_HELLO_RETRY;
  }
  conn->hello_state = SSLBIO__HELLO_RESUMED;
  return SSL_CLIENT_HELLO_SUCCESS;
}

void sslbio__hello_install(sslbio_ctx *ctx) {
  SSL_CTX_set_client_hello_cb(ctx->ssl_ctx, on_client_hello, NULL);
}

/* ---- public ---- */

int sslbio_ctx_set_client_hello_pause(sslbio_ctx *ctx, int on) {
  int st = sslbio__setter_begin(ctx, "ClientHello pause", 1);
  if (st != SSLBIO_OK)
    return st;
  if (ctx->role != SSLBIO_SERVER || ctx->wrapped) {
    sslbio__ctx_set_error(ctx, "sslbio: ClientHello pause: %s",
                          ctx->wrapped ? "not for a wrapped SSL_CTX (its ClientHello callback "
                                         "is its owner's)"
                                       : "a server setting");
    return SSLBIO_EINVAL;
  }
  ctx->client_hello_pause = on != 0;
  return SSLBIO_OK;
}

long sslbio_conn_client_alpn(const sslbio_conn *conn, char *buf, size_t cap) {
  if (!sslbio__conn_ok(conn) || (buf == NULL && cap > 0))
    return SSLBIO_EINVAL;
  if (cap > 0)
    buf[0] = '\0';
  if (conn->client_alpn == NULL)
    return 0;
  size_t len = strlen(conn->client_alpn);
  if (len < cap)
    memcpy(buf, conn->client_alpn, len + 1);
  return (long)len;
}

static int paused(const sslbio_conn *conn) {
  return sslbio__conn_ok(conn) && conn->role == SSLBIO_SERVER && !conn->dead &&
         conn->hello_state == SSLBIO__HELLO_PAUSED;
}

/* Move conn's SSL onto ctx's SSL_CTX; 0 if OpenSSL refused. */
static int apply_context(sslbio_conn *conn, sslbio_ctx *ctx) {
  sslbio__clear_queue();
  if (SSL_set_SSL_CTX(conn->ssl, ctx->ssl_ctx) == NULL) {
    sslbio__clear_queue();
    return 0;
  }
  /* SSL_set_SSL_CTX moves the certificate, key and session id context;
   * what SSL_new copied from the old context is set here. ALPN, the CA
   * list, the trust store, the key log and ticket keys are read through
   * the SSL's context (or conn->ctx) when they are used. */
  SSL_set_verify(conn->ssl, SSL_CTX_get_verify_mode(ctx->ssl_ctx),
                 SSL_CTX_get_verify_callback(ctx->ssl_ctx));
  SSL_set_verify_depth(conn->ssl, SSL_CTX_get_verify_depth(ctx->ssl_ctx));
  SSL_clear_options(conn->ssl, SSL_get_options(conn->ssl) & ~SSL_CTX_get_options(ctx->ssl_ctx));
  SSL_set_options(conn->ssl, SSL_CTX_get_options(ctx->ssl_ctx));
  sslbio__clear_queue();
  return 1;
}

int sslbio_conn_use_context(sslbio_conn *conn, sslbio_ctx *ctx) {
  if (!paused(conn))
    return sslbio__invalid(conn, "use context", "only while paused at the ClientHello");
  if (!sslbio__ctx_ok(ctx) || ctx->role != SSLBIO_SERVER)
    return sslbio__invalid(conn, "use context", "needs a server context");
  if (ctx == conn->ctx)
    return SSLBIO_OK;
  int st = sslbio__ctx_freeze(ctx);
  if (st != SSLBIO_OK)
    return sslbio__fail(conn, "use context", st, SSLBIO_KIND_SSL, "%s", ctx->error);
  if (!apply_context(conn, ctx))
    return sslbio__fail(conn, "use context", SSLBIO_ERROR, SSLBIO_KIND_SSL,
                        "OpenSSL refused the context");
  /* The engine's own context stays referenced as home, for a reset. */
  sslbio_ctx *old = conn->ctx;
  conn->ctx = sslbio_ctx_ref(ctx);
  if (conn->home == NULL)
    conn->home = old;
  else
    sslbio_ctx_free(old);
  sslbio__verify_configure(conn);
  return SSLBIO_OK;
}

int sslbio__hello_go_home(sslbio_conn *conn) {
  if (conn->home == NULL)
    return 1;
  if (!apply_context(conn, conn->home))
    return 0;
  sslbio_ctx_free(conn->ctx);
  conn->ctx = conn->home;
  conn->home = NULL;
  return 1;
}

int sslbio_conn_reject_client_hello(sslbio_conn *conn, int alert) {
  if (!paused(conn))
    return sslbio__invalid(conn, "reject ClientHello", "only while paused at the ClientHello");
  if (alert < 0 || alert > 255)
    return sslbio__invalid(conn, "reject ClientHello", "alert outside 0..255");
  conn->hello_reject = alert + 1;
  return SSLBIO_OK;
}
