/* Corners of the engine no other suite reached (make coverage found them):
 * NULL handles and refused arguments of every kind, OpenSSL refusing an
 * exporter length or a version, broken PEM after a good certificate, the
 * BIO's pending counts, a key update on a dead engine, a callback
 * transport's shutdown with plaintext still buffered. Each says what the
 * header promises for it. */
#include "t.h"

#include <errno.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>

static int is_want(int st) { return st == SSLBIO_WANT_READ || st == SSLBIO_WANT_WRITE; }

static int open_pair(t_link *l, sslbio_ctx *c, sslbio_ctx *s) {
  if (!t_link_init(l, c, s, "localhost"))
    return 0;
  return t_handshake(l) == SSLBIO_OK;
}

static void test_null_handles(void) {
  sslbio_ctx *s = t_server_ctx();
  REQUIRE(s);
  char buf[8];
  CHECK_EQ(sslbio_conn_export_keying_material(NULL, buf, 8, "x", NULL, 0), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_client_alpn(NULL, buf, sizeof(buf)), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_use_context(NULL, s), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_reject_client_hello(NULL, 40), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_verify_done(NULL, 1), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_feed_commit(NULL, 1), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_tls_unique(NULL, buf, sizeof(buf)), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_set_ticket_keys(NULL, buf, 32), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_set_ticket_keys(s, NULL, 32), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_set_ticket_keys(s, buf, 31), SSLBIO_EINVAL);
  sslbio_ctx_free(s);
}

static void test_refused_arguments(void) {
  sslbio_ctx *s = t_server_ctx(), *c = t_client_ctx("ca.pem");
  REQUIRE(s && c);
  /* An empty server name is no name: fine for a server. */
  sslbio_conn *srv = sslbio_conn_new(s, "");
  CHECK(srv != NULL);
  CHECK_EQ(sslbio_conn_feed_commit(srv, 0), 0);
  CHECK_EQ(sslbio_conn_reject_client_hello(srv, 40), SSLBIO_EINVAL); /* not paused */
  sslbio_conn_free(srv);
  /* A verifying client cannot be reset without a name; the engine stays usable. */
  sslbio_conn *cli = sslbio_conn_new(c, "localhost");
  REQUIRE(cli);
  CHECK_EQ(sslbio_conn_reset(cli, NULL), SSLBIO_EINVAL);
  char msg[256];
  CHECK(sslbio_conn_error(cli, msg, sizeof(msg)) > 0 && strstr(msg, "server name") != NULL);
  CHECK_EQ(sslbio_conn_reset(cli, "localhost"), SSLBIO_OK);
  CHECK_ST(cli, sslbio_conn_handshake(cli), SSLBIO_WANT_READ);
  sslbio_conn_free(cli);
  /* Versions OpenSSL does not know. */
  sslbio_ctx *v = sslbio_ctx_new(SSLBIO_CLIENT);
  REQUIRE(v);
  CHECK_EQ(sslbio_ctx_set_versions(v, 0x0303, 0x7f99), SSLBIO_ERROR);
  CHECK(strstr(sslbio_ctx_error(v), "versions") != NULL);
  sslbio_ctx_free(v);
  sslbio_ctx_free(s), sslbio_ctx_free(c);
}

/* A good certificate, then a broken one: the whole call fails. */
static void test_broken_pem_after_a_good_one(void) {
  size_t n;
  char *good = t_read_file(t_cert("ca.pem"), &n);
  REQUIRE(good);
  const char *bad = "-----BEGIN CERTIFICATE-----\nMIIBAAAAAAAAAAAAAAAA\n-----END CERTIFICATE-----\n";
  size_t bn = strlen(bad);
  char *both = malloc(n + bn);
  REQUIRE(both);
  memcpy(both, good, n), memcpy(both + n, bad, bn);
  sslbio_ctx *c = sslbio_ctx_new(SSLBIO_CLIENT), *s = sslbio_ctx_new(SSLBIO_SERVER);
  REQUIRE(c && s);
  CHECK_EQ(sslbio_ctx_load_verify_pem(c, both, n + bn), SSLBIO_ERROR);
  CHECK(sslbio_ctx_error(c)[0] != '\0');
  char *leaf = t_read_file(t_cert("server.pem"), &n);
  REQUIRE(leaf);
  char *chain = malloc(n + bn);
  REQUIRE(chain);
  memcpy(chain, leaf, n), memcpy(chain + n, bad, bn);
  CHECK_EQ(sslbio_ctx_use_certificate_chain_pem(s, chain, n + bn), SSLBIO_ERROR);
  CHECK(sslbio_ctx_error(s)[0] != '\0');
  sslbio_ctx_free(c), sslbio_ctx_free(s);
  free(good), free(both), free(leaf), free(chain);
}

static void test_established_corners(void) {
  sslbio_ctx *s = t_server_ctx(), *c = t_client_ctx("ca.pem");
  REQUIRE(s && c);
  t_link l;
  REQUIRE(open_pair(&l, c, s));
  /* HKDF cannot give this much: OpenSSL refuses, the connection lives on. */
  static unsigned char km[20000]; /* HKDF gives at most 255 hash lengths (12240 bytes with SHA-384) */
  CHECK_ST(l.c, sslbio_conn_export_keying_material(l.c, km, sizeof(km), "EXPORTER-big", NULL, 0),
           SSLBIO_ERROR);
  char msg[256];
  CHECK(sslbio_conn_error(l.c, msg, sizeof(msg)) > 0 && strstr(msg, "OpenSSL refused") != NULL);
  CHECK_ST(l.c, sslbio_conn_export_keying_material(l.c, km, 32, "EXPORTER-small", NULL, 0), SSLBIO_OK);
  CHECK(t_transfer(&l, l.c, l.s, 100, 100));
  /* The BIO reports what the queues hold. */
  CHECK_EQ(sslbio_conn_write(l.c, "ping", 4), 4);
  BIO *wbio = SSL_get_wbio(sslbio_conn_openssl(l.c));
  CHECK_EQ((long)BIO_ctrl_wpending(wbio), sslbio_conn_pending_out(l.c));
  t_move(l.c, &l.c2s, l.s);
  BIO *rbio = SSL_get_rbio(sslbio_conn_openssl(l.s));
  CHECK(BIO_ctrl_pending(rbio) > 0);
  /* A key update on a dead engine returns its error. */
  CHECK_EQ(sslbio_conn_feed(l.s, "\x17\x03\x03\x00\x05xxxxx", 10), 10);
  unsigned char buf[64];
  long r;
  while ((r = sslbio_conn_read(l.s, buf, sizeof(buf))) > 0) {
  }
  CHECK_ST(l.s, r, SSLBIO_ERROR);
  CHECK_ST(l.s, sslbio_conn_key_update(l.s, 1), SSLBIO_ERROR);
  t_link_free(&l);
  sslbio_ctx_free(s), sslbio_ctx_free(c);
}

/* ---- callback transport: shutdown while plaintext waits to be read ---- */

typedef struct wire {
  t_buf in; /* what recv gives */
  t_buf out; /* what send took */
} wire;

static long w_recv(void *user, void *buf, size_t cap) {
  wire *w = user;
  if (w->in.len == 0)
    return SSLBIO_WANT_READ;
  size_t n = w->in.len < cap ? w->in.len : cap;
  memcpy(buf, w->in.data, n);
  t_buf_consume(&w->in, n);
  return (long)n;
}

static long w_send(void *user, const void *buf, size_t len) {
  wire *w = user;
  t_buf_append(&w->out, buf, len);
  return (long)len;
}

static void test_transport_shutdown_with_plaintext_buffered(void) {
  sslbio_ctx *s = t_server_ctx(), *c = t_client_ctx("ca.pem");
  REQUIRE(s && c);
  t_link l;
  REQUIRE(open_pair(&l, c, s));
  CHECK_EQ(sslbio_conn_write(l.s, "0123456789", 10), 10);
  wire w = {0};
  t_drain(l.s, &w.in);
  CHECK_EQ(sslbio_conn_set_transport(l.c, w_recv, w_send, &w), SSLBIO_OK);
  unsigned char buf[4];
  CHECK_EQ(sslbio_conn_read(l.c, buf, 1), 1); /* 9 bytes stay buffered */
  CHECK(sslbio_conn_pending_plaintext(l.c) > 0);
  CHECK_ST(l.c, sslbio_conn_shutdown(l.c), SSLBIO_WANT_READ);
  CHECK(w.out.len > 0); /* close_notify went out */
  CHECK_EQ(sslbio_conn_read(l.c, buf, 4), 4);
  t_buf_free(&w.in), t_buf_free(&w.out);
  t_link_free(&l);
  sslbio_ctx_free(s), sslbio_ctx_free(c);
  (void)is_want;
}

int main(int argc, char **argv) {
  (void)argc;
  t_init(argv[0]);
  T_RUN(test_null_handles);
  T_RUN(test_refused_arguments);
  T_RUN(test_broken_pem_after_a_good_one);
  T_RUN(test_established_corners);
  T_RUN(test_transport_shutdown_with_plaintext_buffered);
  return t_done();
}
