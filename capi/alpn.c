/* ALPN: "h2,http/1.1" to the wire format; server-side choice in the
 * server's order of preference. */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "engine_internal.h"

/* Wire format of a comma-separated list into *out, a new buffer the caller
 * frees: SSLBIO_OK, SSLBIO_EINVAL if a name is empty or longer than 255
 * bytes, SSLBIO_ENOMEM. */
static int alpn_wire(const char *list, unsigned char **out, size_t *out_len) {
  size_t n = strlen(list);
  unsigned char *wire = malloc(n + 1);
  if (wire == NULL)
    return SSLBIO_ENOMEM;
  size_t w = 0;
  const char *p = list;
  for (;;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (len == 0 || len > 255) {
      free(wire);
      return SSLBIO_EINVAL;
    }
    wire[w++] = (unsigned char)len;
    memcpy(wire + w, p, len);
    w += len;
    if (comma == NULL)
      break;
    p = comma + 1;
  }
  *out = wire;
  *out_len = w;
  return SSLBIO_OK;
}

/* Server callback: first of the server's protocols that the client offered;
 * no overlap means no ALPN (the application may still refuse). */
static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg) {
  (void)ssl;
  const sslbio_ctx *ctx = arg;
  unsigned char *chosen = NULL;
  if (SSL_select_next_proto(&chosen, outlen, ctx->alpn_wire, (unsigned int)ctx->alpn_len, in,
                            inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

int sslbio_ctx_set_alpn(sslbio_ctx *ctx, const char *protocols) {
  int st = sslbio__setter_begin(ctx, "ALPN", protocols != NULL);
  if (st != SSLBIO_OK)
    return st;
  size_t len = 0;
  unsigned char *wire = NULL; /* ours */
  st = alpn_wire(protocols, &wire, &len);
  if (st == SSLBIO_OK && ctx->role == SSLBIO_CLIENT) {
    /* OpenSSL keeps its own copy. */
    st = SSL_CTX_set_alpn_protos(ctx->ssl_ctx, wire, (unsigned int)len) == 0 ? SSLBIO_OK : SSLBIO_ENOMEM;
    ERR_clear_error();
    free(wire);
    wire = NULL;
  }
  if (st == SSLBIO_EINVAL)
    sslbio__ctx_set_error(ctx, "sslbio: ALPN: bad protocol list \"%.64s\"", protocols);
  else if (st == SSLBIO_ENOMEM)
    sslbio__ctx_set_error(ctx, "sslbio: ALPN: out of memory");
  if (st != SSLBIO_OK || wire == NULL)
    return st;
  /* Servers choose in select_alpn, from the context's own copy. */
  free(ctx->alpn_wire);
  ctx->alpn_wire = wire;
  ctx->alpn_len = len;
  SSL_CTX_set_alpn_select_cb(ctx->ssl_ctx, select_alpn, ctx);
  return SSLBIO_OK;
}
