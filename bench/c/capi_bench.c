/* capi_bench.c — the benchmark scenarios through the sslbio C API
 * (include/sslbio.h, linked to build/libsslbio.so). Same loops as
 * ceiling.c (scenarios.h); only the backend differs. Ciphertext moves with
 * the zero-copy drain side: sslbio_conn_drain_buffer -> sslbio_conn_feed ->
 * sslbio_conn_drain_commit, one copy like the ceiling's BIO_nread0 ->
 * BIO_write. Sessions travel as DER, the way the API hands them out. */
#include <openssl/ssl.h> /* SSL_session_reused, SSL_is_server: outside the timed path */

#include "sslbio.h"

typedef struct be_env {
  sslbio_ctx *client, *server;
} be_env;

typedef struct be_conn be_conn; /* an sslbio_conn */

typedef struct be_sess {
  size_t len;
  unsigned char der[];
} be_sess;

static const char *be_subject = "capi";

static void api_die(sslbio_ctx *ctx, const char *what) {
  fprintf(stderr, "capi: %s: %s\n", what, ctx ? sslbio_ctx_error(ctx) : "");
  exit(1);
}

static be_env *be_env_new(const char *certs, int default_suite) {
  char ca[512], cert[512], key[512];
  snprintf(ca, sizeof(ca), "%s/ca.pem", certs);
  snprintf(cert, sizeof(cert), "%s/server.pem", certs);
  snprintf(key, sizeof(key), "%s/server.key", certs);
  be_env *env = calloc(1, sizeof(*env));
  env->client = sslbio_ctx_new(SSLBIO_CLIENT);
  env->server = sslbio_ctx_new(SSLBIO_SERVER);
  if (env->client == NULL || env->server == NULL)
    api_die(NULL, "sslbio_ctx_new");
  if (sslbio_ctx_load_verify_file(env->client, ca) != SSLBIO_OK)
    api_die(env->client, ca);
  if (sslbio_ctx_use_certificate_chain_file(env->server, cert) != SSLBIO_OK ||
      sslbio_ctx_use_private_key_file(env->server, key) != SSLBIO_OK)
    api_die(env->server, cert);
  if (!default_suite &&
      (sslbio_ctx_set_ciphers(env->client, NULL, "TLS_AES_128_GCM_SHA256") != SSLBIO_OK ||
       sslbio_ctx_set_ciphers(env->server, NULL, "TLS_AES_128_GCM_SHA256") != SSLBIO_OK))
    api_die(env->client, "ciphers");
  return env;
}

static void be_env_free(be_env *env) {
  sslbio_ctx_free(env->client);
  sslbio_ctx_free(env->server);
  free(env);
}

static be_conn *be_new(be_env *env, int server) {
  sslbio_conn *c = server ? sslbio_conn_new(env->server, NULL) : sslbio_conn_new(env->client, "localhost");
  if (c == NULL)
    api_die(server ? env->server : env->client, "sslbio_conn_new");
  return (be_conn *)c;
}

static void be_free(be_conn *c) { sslbio_conn_free((sslbio_conn *)c); }
static int be_reset(be_conn *c) {
  sslbio_conn *conn = (sslbio_conn *)c;
  int server = SSL_is_server(sslbio_conn_openssl(conn));
  return sslbio_conn_reset(conn, server ? NULL : "localhost") == SSLBIO_OK ? 0 : -1;
}

static int failed(be_conn *c, long st) {
  char msg[512];
  sslbio_conn_error((sslbio_conn *)c, msg, sizeof(msg));
  fprintf(stderr, "capi: %s: %s\n", sslbio_strstatus((int)st), msg);
  return -1;
}

static int be_handshake(be_conn *c) {
  int st = sslbio_conn_handshake((sslbio_conn *)c);
  if (st == SSLBIO_OK)
    return 1;
  if (st == SSLBIO_WANT_READ || st == SSLBIO_WANT_WRITE)
    return 0;
  return failed(c, st);
}

static long be_read(be_conn *c, void *buf, size_t cap) {
  long n = sslbio_conn_read((sslbio_conn *)c, buf, cap);
  if (n > 0)
    return n;
  if (n == SSLBIO_WANT_READ || n == SSLBIO_WANT_WRITE)
    return 0;
  return failed(c, n);
}

static long be_write(be_conn *c, const void *buf, size_t len) {
  long n = sslbio_conn_write((sslbio_conn *)c, buf, len);
  if (n > 0)
    return n;
  if (n == SSLBIO_WANT_READ || n == SSLBIO_WANT_WRITE)
    return 0;
  return failed(c, n);
}

/* Not the test harnesses' mover (tests/c/pair.h): the bench needs exact
 * control of the work per move, one copy straight from the sender's
 * buffer into the receiver (drain_buffer -> feed -> drain_commit), no queue
 * in between, as ceiling.c does with OpenSSL's BIO pairs; an extra copy or
 * call would be counted against sslbio. */
static long be_move(be_conn *from, be_conn *to) {
  long total = 0;
  for (;;) {
    const void *p = NULL;
    long n = sslbio_conn_drain_buffer((sslbio_conn *)from, &p);
    if (n <= 0)
      return n < 0 ? -1 : total;
    long w = sslbio_conn_feed((sslbio_conn *)to, p, (size_t)n);
    if (w <= 0)
      return w < 0 ? -1 : total; /* peer full: the rest waits */
    if (sslbio_conn_drain_commit((sslbio_conn *)from, (size_t)w) != w)
      return -1;
    total += w;
  }
}

static be_sess *be_session(be_conn *c) {
  long n = sslbio_conn_session((sslbio_conn *)c, NULL, 0);
  if (n <= 0)
    return NULL;
  be_sess *s = malloc(sizeof(*s) + (size_t)n);
  s->len = (size_t)n;
  if (sslbio_conn_session((sslbio_conn *)c, s->der, s->len) != n) {
    free(s);
    return NULL;
  }
  return s;
}

static int be_set_session(be_conn *c, be_sess *s) {
  return sslbio_conn_set_session((sslbio_conn *)c, s->der, s->len) == SSLBIO_OK ? 0 : failed(c, -1);
}

static void be_sess_free(be_sess *s) { free(s); }
static int be_resumed(be_conn *c) { return SSL_session_reused(sslbio_conn_openssl((sslbio_conn *)c)); }
static const char *be_cipher(be_conn *c) { return sslbio_conn_cipher((sslbio_conn *)c); }

#include "scenarios.h"

int main(int argc, char **argv) { return bench_main(argc, argv); }
