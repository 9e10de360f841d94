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
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

static int is_want(int st) { return st == SSLBIO_WANT_READ || st == SSLBIO_WANT_WRITE; }

static int open_pair(t_link *l, sslbio_ctx *c, sslbio_ctx *s) {
  if (!t_link_init(l, c, s, "localhost"))
    return 0;
  return t_handshake(l) == SSLBIO_OK;
}

/* A handshaken TLS 1.3 pair over the test contexts. */
typedef struct fixture {
  sslbio_ctx *s, *c;
  t_link l;
} fixture;

static int fixture_open(fixture *f) {
  f->s = t_server_ctx(), f->c = t_client_ctx("ca.pem");
  return f->s && f->c && open_pair(&f->l, f->c, f->s);
}

static void fixture_close(fixture *f) {
  t_link_free(&f->l);
  sslbio_ctx_free(f->s), sslbio_ctx_free(f->c);
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
  fixture f;
  REQUIRE(fixture_open(&f));
  /* HKDF cannot give this much: OpenSSL refuses, the connection lives on. */
  static unsigned char km[20000]; /* HKDF gives at most 255 hash lengths (12240 bytes with SHA-384) */
  CHECK_ST(f.l.c, sslbio_conn_export_keying_material(f.l.c, km, sizeof(km), "EXPORTER-big", NULL, 0),
           SSLBIO_ERROR);
  char msg[256];
  CHECK(sslbio_conn_error(f.l.c, msg, sizeof(msg)) > 0 && strstr(msg, "OpenSSL refused") != NULL);
  CHECK_ST(f.l.c, sslbio_conn_export_keying_material(f.l.c, km, 32, "EXPORTER-small", NULL, 0), SSLBIO_OK);
  CHECK(t_transfer(&f.l, f.l.c, f.l.s, 100, 100));
  /* The BIO reports what the queues hold. */
  CHECK_EQ(sslbio_conn_write(f.l.c, "ping", 4), 4);
  BIO *wbio = SSL_get_wbio(sslbio_conn_openssl(f.l.c));
  CHECK_EQ((long)BIO_ctrl_wpending(wbio), sslbio_conn_pending_out(f.l.c));
  t_move(f.l.c, &f.l.c2s, f.l.s);
  BIO *rbio = SSL_get_rbio(sslbio_conn_openssl(f.l.s));
  CHECK(BIO_ctrl_pending(rbio) > 0);
  /* A key update on a dead engine returns its error. */
  CHECK_EQ(sslbio_conn_feed(f.l.s, "\x17\x03\x03\x00\x05xxxxx", 10), 10);
  unsigned char buf[64];
  long r;
  while ((r = sslbio_conn_read(f.l.s, buf, sizeof(buf))) > 0) {
  }
  CHECK_ST(f.l.s, r, SSLBIO_ERROR);
  CHECK_ST(f.l.s, sslbio_conn_key_update(f.l.s, 1), SSLBIO_ERROR);
  fixture_close(&f);
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
  fixture f;
  REQUIRE(fixture_open(&f));
  CHECK_EQ(sslbio_conn_write(f.l.s, "0123456789", 10), 10);
  wire w = {0};
  t_drain(f.l.s, &w.in);
  CHECK_EQ(sslbio_conn_set_transport(f.l.c, w_recv, w_send, &w), SSLBIO_OK);
  unsigned char buf[4];
  CHECK_EQ(sslbio_conn_read(f.l.c, buf, 1), 1); /* 9 bytes stay buffered */
  CHECK(sslbio_conn_pending_plaintext(f.l.c) > 0);
  CHECK_ST(f.l.c, sslbio_conn_shutdown(f.l.c), SSLBIO_WANT_READ);
  CHECK(w.out.len > 0); /* close_notify went out */
  CHECK_EQ(sslbio_conn_read(f.l.c, buf, 4), 4);
  t_buf_free(&w.in), t_buf_free(&w.out);
  fixture_close(&f);
  (void)is_want;
}

/* Paused at the ClientHello: switching to the context in use is a no-op. */
static void test_use_context_same(void) {
  sslbio_ctx *s = t_server_ctx(), *c = t_client_ctx("ca.pem");
  REQUIRE(s && c);
  CHECK_EQ(sslbio_ctx_set_client_hello_pause(s, 1), SSLBIO_OK);
  t_link l;
  REQUIRE(t_link_init(&l, c, s, "localhost"));
  CHECK_ST(l.s, t_handshake(&l), SSLBIO_WANT_CLIENT_HELLO);
  CHECK_EQ(sslbio_conn_use_context(l.s, s), SSLBIO_OK);
  /* A frozen context refuses a setter (here: the verify callback). */
  CHECK_EQ(sslbio_ctx_set_verify_callback(s, NULL, NULL), SSLBIO_EINVAL);
  l.sst = SSLBIO_WANT_READ;
  CHECK_EQ(t_handshake(&l), SSLBIO_OK);
  t_link_free(&l);
  sslbio_ctx_free(s), sslbio_ctx_free(c);
}

static int defer(void *user, sslbio_conn *conn, long result) {
  (void)user, (void)conn, (void)result;
  return SSLBIO_WANT_VERIFY;
}

/* Mutual TLS contexts whose server defers its verify decision. */
static int mtls_deferring(sslbio_ctx **s, sslbio_ctx **c) {
  *s = t_server_ctx(), *c = t_client_ctx("ca.pem");
  return *s && *c && sslbio_ctx_load_verify_file(*s, t_cert("ca.pem")) == SSLBIO_OK &&
         sslbio_ctx_set_verify(*s, SSLBIO_VERIFY_REQUIRE_PEER) == SSLBIO_OK &&
         sslbio_ctx_set_verify_callback(*s, defer, NULL) == SSLBIO_OK &&
         sslbio_ctx_use_certificate_chain_file(*c, t_cert("client.pem")) == SSLBIO_OK &&
         sslbio_ctx_use_private_key_file(*c, t_cert("client.key")) == SSLBIO_OK;
}

/* A server deferring its decision while the client's flight arrives in
 * pieces: the handshake says WANT_VERIFY, not WANT_READ, as soon as the
 * certificate was seen, even though the rest of the flight is missing. */
static void test_deferred_server_verify_partial_flight(void) {
  sslbio_ctx *s, *c;
  REQUIRE(mtls_deferring(&s, &c));
  t_link l;
  REQUIRE(t_link_init(&l, c, s, "localhost"));
  CHECK_ST(l.c, sslbio_conn_handshake(l.c), SSLBIO_WANT_READ);
  t_move(l.c, &l.c2s, l.s);
  CHECK_ST(l.s, sslbio_conn_handshake(l.s), SSLBIO_WANT_READ);
  t_move(l.s, &l.s2c, l.c);
  CHECK_ST(l.c, sslbio_conn_handshake(l.c), SSLBIO_OK);
  t_buf flight = {0};
  t_drain(l.c, &flight);
  int st = SSLBIO_WANT_READ;
  size_t at = 0;
  while (st == SSLBIO_WANT_READ && at < flight.len) { /* 64 bytes at a time */
    size_t k = flight.len - at < 64 ? flight.len - at : 64;
    CHECK_EQ(sslbio_conn_feed(l.s, flight.data + at, k), (long)k);
    at += k;
    st = sslbio_conn_handshake(l.s);
  }
  CHECK_ST(l.s, st, SSLBIO_WANT_VERIFY);
  CHECK(at < flight.len); /* paused before the whole flight was there */
  CHECK_EQ(sslbio_conn_verify_done(l.s, 1), SSLBIO_OK);
  CHECK_EQ(sslbio_conn_feed(l.s, flight.data + at, flight.len - at), (long)(flight.len - at));
  CHECK_ST(l.s, sslbio_conn_handshake(l.s), SSLBIO_OK);
  t_buf_free(&flight);
  t_link_free(&l);
  sslbio_ctx_free(s), sslbio_ctx_free(c);
}

/* ---- callback transport: send blocks, then takes ---- */

typedef struct script {
  int calls, block_until; /* send blocks for calls 1..block_until */
  int fail;               /* send fails */
  t_buf out;
} script;

static long s_recv(void *user, void *buf, size_t cap) {
  (void)user, (void)buf, (void)cap;
  return SSLBIO_WANT_READ;
}

static long s_send(void *user, const void *buf, size_t len) {
  script *sc = user;
  sc->calls++;
  if (sc->fail) {
    errno = EPIPE;
    return SSLBIO_ERROR;
  }
  if (sc->calls <= sc->block_until)
    return SSLBIO_WANT_WRITE;
  t_buf_append(&sc->out, buf, len);
  return (long)len;
}

static void test_transport_write_blocked_then_flushed(void) {
  fixture f;
  REQUIRE(fixture_open(&f));
  static unsigned char big[40000];
  memset(big, 'x', sizeof(big));
  script sc = {.block_until = 4}; /* the flushes of two writes and the next one's first */
  CHECK_EQ(sslbio_conn_set_transport(f.l.c, s_recv, s_send, &sc), SSLBIO_OK);
  CHECK_EQ(sslbio_conn_write(f.l.c, big, sizeof(big)), 16384); /* a record a call */
  CHECK_EQ(sslbio_conn_write(f.l.c, big, sizeof(big)), 16384);
  CHECK(sslbio_conn_pending_out(f.l.c) >= 17 * 1024);
  /* The queue is full: the write waits for a flush, which goes through. */
  CHECK_EQ(sslbio_conn_write(f.l.c, big, 100), 100);
  CHECK_EQ(sslbio_conn_pending_out(f.l.c), 0);
  CHECK(sc.out.len > 2 * 16384);
  t_buf_free(&sc.out);
  /* A send that fails on the flush before the operation kills the engine. */
  sslbio_conn_set_transport(f.l.c, NULL, NULL, NULL);
  CHECK_EQ(sslbio_conn_write(f.l.c, big, 100), 100); /* pending: nobody drained */
  script bad = {.fail = 1};
  CHECK_EQ(sslbio_conn_set_transport(f.l.c, s_recv, s_send, &bad), SSLBIO_OK);
  unsigned char buf[16];
  CHECK_ST(f.l.c, sslbio_conn_read(f.l.c, buf, sizeof(buf)), SSLBIO_ERROR);
  sslbio_error_info info;
  CHECK_EQ(sslbio_conn_error_info(f.l.c, &info), SSLBIO_OK);
  CHECK_EQ(info.kind, SSLBIO_KIND_TRANSPORT);
  CHECK_EQ(info.sys_errno, EPIPE);
  fixture_close(&f);
}

/* A key update after our close_notify: OpenSSL refuses to write it. */
static void test_key_update_after_shutdown(void) {
  fixture f;
  REQUIRE(fixture_open(&f));
  CHECK_ST(f.l.c, sslbio_conn_shutdown(f.l.c), SSLBIO_WANT_READ);
  int st = sslbio_conn_key_update(f.l.c, 0);
  CHECK(st == SSLBIO_ERROR || st == SSLBIO_OK);
  if (st == SSLBIO_ERROR) {
    char msg[256];
    CHECK(sslbio_conn_error(f.l.c, msg, sizeof(msg)) > 0);
  }
  fixture_close(&f);
}

/* A ClientHello whose SNI holds a NUL and whose ALPN offer holds a comma:
 * the engine's own parse (for sslbio_conn_server_name / client_alpn) gives
 * up on them, and OpenSSL decides about the handshake. */
static void replace(t_buf *b, const char *from, const char *to) {
  size_t n = strlen(from);
  for (size_t i = 0; i + n <= b->len; i++)
    if (memcmp(b->data + i, from, n) == 0) {
      memcpy(b->data + i, to, n);
      return;
    }
}

static void test_malformed_sni_and_alpn_offer(void) {
  for (int which = 0; which < 2; which++) {
    sslbio_ctx *s = t_server_ctx(), *c = t_client_ctx("ca.pem");
    REQUIRE(s && c);
    CHECK_EQ(sslbio_ctx_set_client_hello_pause(s, 1), SSLBIO_OK);
    CHECK_EQ(sslbio_ctx_set_alpn(c, "h2,http/1.1"), SSLBIO_OK);
    t_link l;
    REQUIRE(t_link_init(&l, c, s, "localhost"));
    CHECK_EQ(sslbio_ctx_set_client_hello_pause(s, 0), SSLBIO_EINVAL); /* frozen */
    CHECK_ST(l.c, sslbio_conn_handshake(l.c), SSLBIO_WANT_READ);
    t_drain(l.c, &l.c2s);
    if (which == 0)
      replace(&l.c2s, "localhost", "local\0ost");
    else
      replace(&l.c2s, "http/1.1", "http,1.1");
    t_feed(&l.c2s, l.s);
    int st = sslbio_conn_handshake(l.s);
    CHECK(st == SSLBIO_WANT_CLIENT_HELLO || st == SSLBIO_ERROR);
    if (which == 0)
      CHECK(sslbio_conn_server_name(l.s) == NULL);
    char alpn[32];
    if (which == 1 && st == SSLBIO_WANT_CLIENT_HELLO)
      CHECK_EQ(sslbio_conn_client_alpn(l.s, alpn, sizeof(alpn)), 0);
    t_link_free(&l);
    sslbio_ctx_free(s), sslbio_ctx_free(c);
  }
}

/* An SSL made directly from an engine's SSL_CTX (expert use) is not an
 * engine: the ClientHello and verify callbacks leave it to OpenSSL, and
 * its tickets are sealed with the context's keys. */
static void test_raw_ssl_on_engine_context(void) {
  sslbio_ctx *s, *c;
  REQUIRE(mtls_deferring(&s, &c));
  sslbio_conn *freeze = sslbio_conn_new(s, NULL); /* the engine's setup of the context */
  REQUIRE(freeze);
  sslbio_conn_free(freeze);
  SSL *raw = SSL_new(sslbio_ctx_openssl(s));
  REQUIRE(raw);
  BIO *rin = BIO_new(BIO_s_mem()), *rout = BIO_new(BIO_s_mem());
  REQUIRE(rin && rout);
  SSL_set_bio(raw, rin, rout);
  SSL_set_accept_state(raw);
  sslbio_conn *cli = sslbio_conn_new(c, "localhost");
  REQUIRE(cli);
  t_buf w = {0};
  int cst = SSLBIO_WANT_READ, sret = 0;
  for (int round = 0; round < 10 && (cst != SSLBIO_OK || sret != 1); round++) {
    cst = sslbio_conn_handshake(cli);
    t_drain(cli, &w); /* the client's flight into the raw server's BIO */
    BIO_write(rin, w.data, (int)w.len);
    w.len = 0;
    sret = SSL_do_handshake(raw);
    unsigned char buf[4096];
    int n;
    while ((n = BIO_read(rout, buf, sizeof(buf))) > 0)
      t_buf_append(&w, buf, (size_t)n);
    t_feed(&w, cli);
  }
  CHECK_EQ(sret, 1);
  CHECK_ST(cli, cst, SSLBIO_OK);
  char byte;
  CHECK_ST(cli, sslbio_conn_read(cli, &byte, 1), SSLBIO_WANT_READ); /* reads the ticket */
  CHECK(sslbio_conn_session(cli, NULL, 0) > 0);
  ERR_clear_error();
  t_buf_free(&w);
  SSL_free(raw);
  sslbio_conn_free(cli);
  sslbio_ctx_free(s), sslbio_ctx_free(c);
}

/* An encrypted key with no password set fails at once, in this process
 * (test_info checks the same in a forked child, which gcov does not see). */
static void test_encrypted_key_without_password(void) {
  EVP_PKEY *key = EVP_EC_gen("P-256");
  REQUIRE(key);
  BIO *mem = BIO_new(BIO_s_mem());
  REQUIRE(mem);
  REQUIRE(PEM_write_bio_PrivateKey(mem, key, EVP_aes_128_cbc(), NULL, 0, NULL, (void *)"secret") == 1);
  char *pem;
  long n = BIO_get_mem_data(mem, &pem);
  sslbio_ctx *s = sslbio_ctx_new(SSLBIO_SERVER);
  REQUIRE(s);
  CHECK_EQ(sslbio_ctx_use_private_key_pem(s, pem, (size_t)n), SSLBIO_ERROR);
  CHECK(sslbio_ctx_error(s)[0] != '\0');
  CHECK_EQ(sslbio_ctx_set_key_password(s, "secret", 6), SSLBIO_OK);
  CHECK_EQ(sslbio_ctx_use_private_key_pem(s, pem, (size_t)n), SSLBIO_OK);
  sslbio_ctx_free(s);
  BIO_free(mem);
  EVP_PKEY_free(key);
  ERR_clear_error();
}

int main(int argc, char **argv) {
  (void)argc;
  t_init(argv[0]);
  T_RUN(test_null_handles);
  T_RUN(test_refused_arguments);
  T_RUN(test_broken_pem_after_a_good_one);
  T_RUN(test_established_corners);
  T_RUN(test_transport_shutdown_with_plaintext_buffered);
  T_RUN(test_use_context_same);
  T_RUN(test_deferred_server_verify_partial_flight);
  T_RUN(test_transport_write_blocked_then_flushed);
  T_RUN(test_key_update_after_shutdown);
  T_RUN(test_malformed_sni_and_alpn_offer);
  T_RUN(test_raw_ssl_on_engine_context);
  T_RUN(test_encrypted_key_without_password);
  return t_done();
}
