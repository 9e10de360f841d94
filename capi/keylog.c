/* Key log: OpenSSL's NSS key log lines to the application's callback. */
#include "engine_internal.h"

/* SSL_CTX_set_keylog_callback: runs inside the engine call that derived
 * the secret. The conn's current context decides (after a ClientHello
 * switch, the chosen one). */
static void keylog_line(const SSL *ssl, const char *line) {
  sslbio_conn *conn = sslbio__conn_of(ssl);
  if (conn != NULL && conn->ctx->keylog_fn != NULL)
    conn->ctx->keylog_fn(conn->ctx->keylog_user, line);
}

int sslbio_ctx_set_keylog(sslbio_ctx *ctx, sslbio_keylog_fn fn, void *user) {
  int st = sslbio__setter_begin(ctx, "key log", 1);
  if (st != SSLBIO_OK)
    return st;
  ctx->keylog_fn = fn;
  ctx->keylog_user = user;
  SSL_CTX_set_keylog_callback(ctx->ssl_ctx, fn ? keylog_line : NULL);
  return SSLBIO_OK;
}
