/* Connection facts: version, cipher, group, ALPN, server name, resumption,
 * the peer's certificates. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "engine_internal.h"

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

/* ---- negotiated facts ---- */

/* The SSL when its handshake completed, else NULL. */
static const SSL *done_ssl(const sslbio_conn *conn) {
  return sslbio__conn_ok(conn) && conn->handshake_done ? conn->ssl : NULL;
}

int sslbio_conn_protocol_version(const sslbio_conn *conn) {
  const SSL *ssl = done_ssl(conn);
  return ssl ? SSL_version(ssl) : 0;
}

long sslbio_conn_cipher_id(const sslbio_conn *conn) {
  const SSL *ssl = done_ssl(conn);
  const SSL_CIPHER *cipher = ssl ? SSL_get_current_cipher(ssl) : NULL; /* static */
  return cipher ? (long)SSL_CIPHER_get_protocol_id(cipher) : 0;
}

int sslbio_conn_cipher_bits(const sslbio_conn *conn) {
  const SSL *ssl = done_ssl(conn);
  const SSL_CIPHER *cipher = ssl ? SSL_get_current_cipher(ssl) : NULL; /* static */
  return cipher ? SSL_CIPHER_get_bits(cipher, NULL) : 0;
}

const char *sslbio_conn_group(const sslbio_conn *conn) {
  const SSL *ssl = done_ssl(conn);
  if (ssl == NULL)
    return NULL;
  /* SSL_get_negotiated_group and SSL_group_to_name take a non-const SSL
   * in OpenSSL 3.0 but only read it. The name is static. */
  SSL *s = (SSL *)ssl;
  int group = SSL_get_negotiated_group(s);
  return group ? SSL_group_to_name(s, group) : NULL;
}

int sslbio_conn_session_reused(const sslbio_conn *conn) {
  const SSL *ssl = done_ssl(conn);
  return ssl ? SSL_session_reused(ssl) : 0;
}

const char *sslbio_conn_server_name(const sslbio_conn *conn) {
  if (!sslbio__conn_ok(conn))
    return NULL;
  if (conn->role == SSLBIO_CLIENT)
    return conn->server_name;
  if (conn->hello_sni != NULL) /* from the ClientHello (hello.c) */
    return conn->hello_sni;
  /* Owned by the SSL's session: valid while the conn lives. */
  return conn->handshake_done ? SSL_get_servername(conn->ssl, TLSEXT_NAMETYPE_host_name) : NULL;
}

long sslbio_conn_pending_plaintext(const sslbio_conn *conn) {
  return sslbio__conn_ok(conn) ? SSL_pending(conn->ssl) : SSLBIO_EINVAL;
}

/* ---- the peer's certificates ---- */

/* The peer's certificates, leaf first. Until the handshake completes they
 * are the chain the verify callback saw (verify.c). A client's chain starts with the
 * leaf, a server's omits it, and a resumed session carries the leaf alone;
 * index 0 is always the leaf. Borrowed; NULL past the end. */
static X509 *peer_cert_at(const sslbio_conn *conn, size_t index) {
  if (conn->verify_chain != NULL && !conn->handshake_done) /* verify.c: the chain as sent */
    return index < (size_t)sk_X509_num(conn->verify_chain)
               ? sk_X509_value(conn->verify_chain, (int)index)
               : NULL;
  X509 *leaf = SSL_get0_peer_certificate(conn->ssl);
  if (leaf == NULL)
    return NULL;
  if (index == 0)
    return leaf;
  STACK_OF(X509) *chain = SSL_get_peer_cert_chain(conn->ssl);
  /* A client's chain holds the leaf at [0]; a server's starts after it. */
  size_t i = conn->role == SSLBIO_CLIENT ? index : index - 1;
  return chain != NULL && i < (size_t)sk_X509_num(chain) ? sk_X509_value(chain, (int)i) : NULL;
}

long sslbio_conn_peer_cert_count(const sslbio_conn *conn) {
  if (!sslbio__conn_ok(conn))
    return SSLBIO_EINVAL;
  long n = 0;
  while (peer_cert_at(conn, (size_t)n) != NULL)
    n++;
  return n;
}

long sslbio_conn_peer_cert_der(const sslbio_conn *conn, size_t index, void *buf, size_t cap) {
  if (!sslbio__conn_ok(conn) || (buf == NULL && cap > 0))
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
  return len > 0 ? len : SSLBIO_ENOMEM;
}
