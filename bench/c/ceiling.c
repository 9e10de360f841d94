/* ceiling.c — the plain-C ceiling: the benchmark scenarios written directly
 * on OpenSSL, each SSL object over a BIO pair of 17 KiB halves, no sslbio.
 * It is what a careful C programmer gets from OpenSSL alone, and the figure
 * every sslbio face is compared with.
 *
 * Configured exactly like sslbio's defaults, so both do the same work: TLS
 * 1.2 minimum, client verifies the chain and the host name, server sends one
 * session ticket and keeps no session cache, partial writes on, and sends
 * its leaf certificate alone (sslbio drops the self-signed root that
 * server.pem carries: the client must trust it already). */
#include <openssl/err.h>
#include <openssl/ssl.h>

typedef struct be_env {
  SSL_CTX *client, *server;
} be_env;

typedef struct be_conn {
  SSL *ssl;
  BIO *net; /* our side of the pair */
} be_conn;

typedef struct be_sess be_sess; /* an SSL_SESSION */

static const char *be_subject = "ceiling";

#define PAIR_SIZE (17 * 1024)

static void ossl_die(const char *what) {
  fprintf(stderr, "ceiling: %s\n", what);
  ERR_print_errors_fp(stderr);
  exit(1);
}

static be_env *be_env_new(const char *certs, int default_suite) {
  char ca[512], cert[512], key[512];
  snprintf(ca, sizeof(ca), "%s/ca.pem", certs);
  snprintf(cert, sizeof(cert), "%s/server.pem", certs);
  snprintf(key, sizeof(key), "%s/server.key", certs);
  be_env *env = calloc(1, sizeof(*env));
  env->client = SSL_CTX_new(TLS_client_method());
  env->server = SSL_CTX_new(TLS_server_method());
  if (env->client == NULL || env->server == NULL)
    ossl_die("SSL_CTX_new");
  SSL_CTX *both[] = {env->client, env->server};
  for (int i = 0; i < 2; i++) {
    SSL_CTX_set_min_proto_version(both[i], TLS1_2_VERSION);
    SSL_CTX_set_options(both[i], SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    if (!default_suite && SSL_CTX_set_ciphersuites(both[i], "TLS_AES_128_GCM_SHA256") != 1)
      ossl_die("SSL_CTX_set_ciphersuites");
  }
  SSL_CTX_set_verify(env->client, SSL_VERIFY_PEER, NULL);
  if (SSL_CTX_load_verify_locations(env->client, ca, NULL) != 1)
    ossl_die(ca);
  if (SSL_CTX_use_certificate_file(env->server, cert, SSL_FILETYPE_PEM) != 1 || /* leaf only */
      SSL_CTX_use_PrivateKey_file(env->server, key, SSL_FILETYPE_PEM) != 1)
    ossl_die(cert);
  SSL_CTX_set_session_cache_mode(env->server, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(env->server, 1);
  return env;
}

static void be_env_free(be_env *env) {
  SSL_CTX_free(env->client);
  SSL_CTX_free(env->server);
  free(env);
}

static be_conn *be_new(be_env *env, int server) {
  be_conn *c = calloc(1, sizeof(*c));
  BIO *inner = NULL;
  c->ssl = SSL_new(server ? env->server : env->client);
  if (c->ssl == NULL || BIO_new_bio_pair(&inner, PAIR_SIZE, &c->net, PAIR_SIZE) != 1)
    ossl_die("SSL_new / BIO_new_bio_pair");
  SSL_set_bio(c->ssl, inner, inner);
  SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (server) {
    SSL_set_accept_state(c->ssl);
  } else {
    SSL_set_connect_state(c->ssl);
    if (SSL_set_tlsext_host_name(c->ssl, "localhost") != 1 || SSL_set1_host(c->ssl, "localhost") != 1)
      ossl_die("server name");
  }
  return c;
}

/* Naive reuse: SSL_clear, both halves of the pair emptied, the client's
 * names set again. */
static int be_reset(be_conn *c) {
  BIO *inner = SSL_get_rbio(c->ssl);
  if (BIO_reset(inner) < 0 || BIO_reset(c->net) < 0 || SSL_clear(c->ssl) != 1)
    return -1;
  if (!SSL_is_server(c->ssl) &&
      (SSL_set_tlsext_host_name(c->ssl, "localhost") != 1 || SSL_set1_host(c->ssl, "localhost") != 1))
    return -1;
  return 0;
}

static void be_free(be_conn *c) {
  SSL_free(c->ssl);
  BIO_free(c->net);
  free(c);
}

/* 1/0/-1 from an SSL call's result: done, wants I/O, failed. */
static int status_of(be_conn *c, int ret) {
  if (ret > 0)
    return 1;
  int e = SSL_get_error(c->ssl, ret);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
    return 0;
  ERR_print_errors_fp(stderr);
  return -1;
}

static int be_handshake(be_conn *c) { return status_of(c, SSL_do_handshake(c->ssl)); }

static long be_read(be_conn *c, void *buf, size_t cap) {
  size_t n = 0;
  int st = status_of(c, SSL_read_ex(c->ssl, buf, cap, &n));
  return st > 0 ? (long)n : st;
}

static long be_write(be_conn *c, const void *buf, size_t len) {
  size_t n = 0;
  int st = status_of(c, SSL_write_ex(c->ssl, buf, len, &n));
  return st > 0 ? (long)n : st;
}

/* Straight from one pair's buffer into the other's: one copy. */
static long be_move(be_conn *from, be_conn *to) {
  long total = 0;
  for (;;) {
    char *p = NULL;
    int n = BIO_nread0(from->net, &p);
    if (n <= 0)
      return total;
    int w = BIO_write(to->net, p, n);
    if (w <= 0)
      return total; /* peer full: the rest waits */
    BIO_nread(from->net, &p, w);
    total += w;
  }
}

static be_sess *be_session(be_conn *c) {
  SSL_SESSION *s = SSL_get1_session(c->ssl);
  if (s != NULL && !SSL_SESSION_is_resumable(s)) {
    SSL_SESSION_free(s);
    s = NULL;
  }
  return (be_sess *)s;
}

static int be_set_session(be_conn *c, be_sess *s) {
  return SSL_set_session(c->ssl, (SSL_SESSION *)s) == 1 ? 0 : -1;
}

static void be_sess_free(be_sess *s) { SSL_SESSION_free((SSL_SESSION *)s); }
static int be_resumed(be_conn *c) { return SSL_session_reused(c->ssl); }
static const char *be_cipher(be_conn *c) { return SSL_get_cipher_name(c->ssl); }

#include "scenarios.h"

int main(int argc, char **argv) { return bench_main(argc, argv); }
