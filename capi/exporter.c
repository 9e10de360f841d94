/* Keying material exporters (RFC 5705, RFC 8446 7.5) and the tls-unique
 * channel binding (RFC 5929). */
#include <string.h>

#include <openssl/err.h>

#include "engine_internal.h"

int sslbio_conn_export_keying_material(sslbio_conn *conn, void *out, size_t len,
                                       const char *label, const void *context,
                                       size_t context_len) {
  const char *op = "export keying material";
  if (!sslbio__conn_ok(conn))
    return SSLBIO_EINVAL;
  if (out == NULL || label == NULL || len == 0)
    return sslbio__invalid(conn, op, "NULL output or label, or a length of 0");
  if (!conn->handshake_done || conn->dead)
    return sslbio__invalid(conn, op, "needs a completed handshake");
  sslbio__clear_queue();
  if (SSL_export_keying_material(conn->ssl, out, len, label, strlen(label), context,
                                 context != NULL ? context_len : 0, context != NULL) != 1) {
    unsigned long code = ERR_peek_error();
    const char *why = code ? ERR_reason_error_string(code) : NULL;
    sslbio__clear_queue();
    /* Not fatal for the connection: only this export was refused. */
    return sslbio__fail(conn, op, SSLBIO_ERROR, SSLBIO_KIND_SSL, "OpenSSL refused: %s",
                        why ? why : "no reason given");
  }
  return SSLBIO_OK;
}

long sslbio_conn_tls_unique(const sslbio_conn *conn, void *buf, size_t cap) {
  if (!sslbio__conn_ok(conn) || (buf == NULL && cap > 0) || !conn->handshake_done)
    return SSLBIO_EINVAL;
  if (SSL_version(conn->ssl) >= TLS1_3_VERSION)
    return 0;
  /* The first Finished of the handshake: the client's in a full handshake,
   * the server's in a resumed one. SSL_get_finished is ours, the peer's
   * SSL_get_peer_finished. */
  int ours_first = (conn->role == SSLBIO_CLIENT) != (SSL_session_reused(conn->ssl) != 0);
  unsigned char tmp[64];
  size_t len = ours_first ? SSL_get_finished(conn->ssl, tmp, sizeof(tmp))
                          : SSL_get_peer_finished(conn->ssl, tmp, sizeof(tmp));
  if (len > sizeof(tmp))
    return SSLBIO_ERROR;
  if (buf != NULL && len <= cap)
    memcpy(buf, tmp, len);
  return (long)len;
}
