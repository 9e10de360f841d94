/* Connection facts after the handshake: version, cipher, ALPN, peer
 * certificates; and the accessors the Go package reads them through. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "engine_internal.h"
#include "info_internal.h"

const char *sslbio_conn_version(const sslbio_conn *conn) {
  if (!sslbio__conn_ok(conn) || !conn->handshake_done)
    return NULL;
  return SSL_get_version(conn->ssl); /* static string */
}

const char *sslbio_conn_cipher(const sslbio_conn *conn) {
  if (!sslbio__conn_ok(conn) || !conn->handshake_done)
    return NULL;
  return SSL_CIPHER_get_name(SSL_get_current_cipher(conn->ssl)); /* static */
}

const char *sslbio_conn_alpn(sslbio_conn *conn) {
  if (!sslbio__conn_ok(conn) || !conn->handshake_done)
    return NULL;
  if (conn->alpn == NULL) {
    const unsigned char *proto = NULL; /* borrowed from the SSL */
    unsigned int len = 0;
    SSL_get0_alpn_selected(conn->ssl, &proto, &len);
    if (proto == NULL || len == 0)
      return NULL;
    conn->alpn = malloc(len + 1);
    if (conn->alpn == NULL)
      return NULL;
    memcpy(conn->alpn, proto, len);
    conn->alpn[len] = '\0';
  }
  return conn->alpn;
}

int sslbio_conn_is_handshake_done(const sslbio_conn *conn) {
  return sslbio__conn_ok(conn) && conn->handshake_done;
}

struct ssl_st *sslbio_conn_openssl(const sslbio_conn *conn) {
  return sslbio__conn_ok(conn) ? conn->ssl : NULL;
}

/* Copy a memory BIO's contents into buf (NUL-terminated when it fits) and
 * return the length needed. */
static long copy_out_bio(BIO *mem, char *buf, size_t cap) {
  char *data = NULL;
  long len = BIO_get_mem_data(mem, &data); /* borrowed from mem */
  if (buf != NULL && cap > (size_t)len) {
    memcpy(buf, data, (size_t)len);
    buf[len] = '\0';
  }
  return len;
}

long sslbio_conn_peer_certificate_pem(const sslbio_conn *conn, char *buf, size_t cap) {
  if (!sslbio__conn_ok(conn) || (buf == NULL && cap > 0))
    return SSLBIO_EINVAL;
  X509 *peer = SSL_get0_peer_certificate(conn->ssl); /* borrowed */
  if (peer == NULL)
    return 0;
  BIO *mem = BIO_new(BIO_s_mem());
  if (mem == NULL || !PEM_write_bio_X509(mem, peer)) {
    BIO_free(mem);
    sslbio__clear_queue();
    return SSLBIO_ENOMEM;
  }
  long len = copy_out_bio(mem, buf, cap);
  BIO_free(mem);
  return len;
}

/* ---- accessors for the Go package (hidden) ---- */

/* The peer's certificates, leaf first. A client's chain starts with the
 * leaf, a server's omits it, and a resumed session carries the leaf alone;
 * index 0 is always the leaf. Borrowed; NULL past the end. */
static X509 *peer_cert_at(const sslbio_conn *conn, int index) {
  X509 *leaf = SSL_get0_peer_certificate(conn->ssl);
  if (leaf == NULL)
    return NULL;
  if (index == 0)
    return leaf;
  STACK_OF(X509) *chain = SSL_get_peer_cert_chain(conn->ssl);
  /* A client's chain holds the leaf at [0]; a server's starts after it. */
  int offset = conn->role == SSLBIO_CLIENT ? 0 : 1;
  int i = index - offset;
  return chain != NULL && i < sk_X509_num(chain) ? sk_X509_value(chain, i) : NULL;
}

static int peer_cert_count(const sslbio_conn *conn) {
  int n = 0;
  while (peer_cert_at(conn, n) != NULL)
    n++;
  return n;
}

void sslbio__conn_state(const sslbio_conn *conn, sslbio__state *out) {
  memset(out, 0, sizeof(*out));
  if (!sslbio__conn_ok(conn))
    return;
  out->handshake_done = conn->handshake_done;
  out->shutdown_sent = conn->shutdown_sent;
  out->closed = conn->closed;
  if (!conn->handshake_done)
    return;
  out->version = SSL_version(conn->ssl);
  const SSL_CIPHER *cipher = SSL_get_current_cipher(conn->ssl); /* static */
  if (cipher != NULL)
    out->cipher_id = SSL_CIPHER_get_protocol_id(cipher);
  out->did_resume = SSL_session_reused(conn->ssl);
  out->peer_certs = peer_cert_count(conn);
}

long sslbio__conn_peer_cert_der(const sslbio_conn *conn, int index, void *buf, size_t cap) {
  if (!sslbio__conn_ok(conn) || index < 0)
    return SSLBIO_EINVAL;
  X509 *cert = peer_cert_at(conn, index); /* borrowed */
  if (cert == NULL)
    return SSLBIO_EINVAL;
  int len = i2d_X509(cert, NULL);
  if (len > 0 && (size_t)len <= cap) {
    unsigned char *p = buf;
    i2d_X509(cert, &p);
  }
  sslbio__clear_queue();
  return len;
}

const sslbio__err_record *sslbio__conn_err(const sslbio_conn *conn) {
  return sslbio__conn_ok(conn) ? conn->err : NULL;
}

const char *sslbio__lib_string(unsigned long code) { return ERR_lib_error_string(code); }
const char *sslbio__reason_string(unsigned long code) { return ERR_reason_error_string(code); }
const char *sslbio__verify_string(long result) { return X509_verify_cert_error_string(result); }

const char *sslbio__conn_server_name(const sslbio_conn *conn) {
  return sslbio__conn_ok(conn) ? conn->server_name : NULL;
}

int sslbio__ctx_role(const sslbio_ctx *ctx) { return sslbio__ctx_ok(ctx) ? ctx->role : 0; }
