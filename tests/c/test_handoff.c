/* Context hand-off between plain OpenSSL and sslbio (rule 8's second half):
 * sslbio_ctx_wrap_openssl, sslbio_ctx_openssl, sslbio_conn_openssl, and
 * reference counting that frees ctx, conn and SSL_CTX in every order (run
 * under ASan and valgrind, which report any leak or use after free). */
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "t.h"

/* Plain OpenSSL server SSL_CTX; the caller owns the returned reference. */
static SSL_CTX *plain_server(void) {
  SSL_CTX *s = SSL_CTX_new(TLS_server_method());
  if (s == NULL || SSL_CTX_use_certificate_chain_file(s, t_cert("server.pem")) != 1 ||
      SSL_CTX_use_PrivateKey_file(s, t_cert("server.key"), SSL_FILETYPE_PEM) != 1) {
    SSL_CTX_free(s);
    return NULL;
  }
  return s;
}

/* Plain OpenSSL client SSL_CTX that verifies against the test CA; the
 * caller owns the returned reference. */
static SSL_CTX *plain_client(void) {
  SSL_CTX *c = SSL_CTX_new(TLS_client_method());
  if (c == NULL || SSL_CTX_load_verify_locations(c, t_cert("ca.pem"), NULL) != 1) {
    SSL_CTX_free(c);
    return NULL;
  }
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
  SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
  return c;
}

static void test_wrap_openssl(void) {
  SSL_CTX *ps = plain_server(), *pc = plain_client();
  REQUIRE(ps && pc);
  sslbio_ctx *s = sslbio_ctx_wrap_openssl(ps, SSLBIO_SERVER);
  sslbio_ctx *c = sslbio_ctx_wrap_openssl(pc, SSLBIO_CLIENT);
  REQUIRE(s && c);
  CHECK(sslbio_ctx_openssl(s) == ps); /* the same object, borrowed */
  CHECK(sslbio_ctx_openssl(c) == pc);
  CHECK(sslbio_ctx_wrap_openssl(pc, 0) == NULL);
  CHECK(sslbio_ctx_wrap_openssl(pc, 99) == NULL);
  t_link l;
  REQUIRE(t_link_init(&l, c, s, "localhost"));
  CHECK_EQ(t_handshake(&l), SSLBIO_OK);
  SSL *cs = sslbio_conn_openssl(l.c);
  REQUIRE(cs != NULL);
  CHECK(SSL_get_SSL_CTX(cs) == pc);
  CHECK_STR_HAS(SSL_get_version(cs), sslbio_conn_version(l.c));
  CHECK_EQ(SSL_get_verify_result(cs), X509_V_OK);
  CHECK(t_transfer(&l, l.c, l.s, 200000, 16384));
  t_link_free(&l);
  /* the wrapped client verifies the host name given to the engine */
  REQUIRE(t_link_init(&l, c, s, "wrong.example"));
  CHECK_EQ(t_handshake(&l), SSLBIO_ERROR);
  CHECK_EQ(sslbio_conn_verify_result(l.c), X509_V_ERR_HOSTNAME_MISMATCH);
  t_link_free(&l);
  /* the wrapper is frozen like any context; the SSL_CTX is the caller's */
  CHECK_EQ(sslbio_ctx_set_alpn(c, "h2"), SSLBIO_EINVAL);
  sslbio_ctx_free(s);
  sslbio_ctx_free(c);
  /* our references are gone; the caller's still work */
  SSL *x = SSL_new(pc);
  CHECK(x != NULL);
  SSL_free(x);
  SSL_CTX_free(ps);
  SSL_CTX_free(pc);
}

/* The three owners of a wrapped context: the caller's SSL_CTX reference,
 * the sslbio_ctx reference, the conn's. Drop them in every order, using
 * what is left after each drop. */
static void test_refcount_every_order(void) {
  static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  sslbio_ctx *srv = sslbio_ctx_new(SSLBIO_SERVER);
  sslbio_ctx_use_certificate_chain_file(srv, t_cert("server.pem"));
  sslbio_ctx_use_private_key_file(srv, t_cert("server.key"));
  for (int o = 0; o < 6; o++) {
    SSL_CTX *pc = plain_client();
    REQUIRE(pc);
    sslbio_ctx *c = sslbio_ctx_wrap_openssl(pc, SSLBIO_CLIENT);
    REQUIRE(c);
    t_link l;
    REQUIRE(t_link_init(&l, c, srv, "localhost"));
    int alive[3] = {1, 1, 1}; /* SSL_CTX, sslbio_ctx, conn */
    for (int k = 0; k < 3; k++) {
      switch (orders[o][k]) {
      case 0: SSL_CTX_free(pc); break;
      case 1: sslbio_ctx_free(c); break;
      case 2:
        sslbio_conn_free(l.c);
        l.c = NULL;
        break;
      }
      alive[orders[o][k]] = 0;
      if (alive[2] && k == 0) { /* the engine still works */
        CHECK_EQ(t_handshake(&l), SSLBIO_OK);
        CHECK(t_transfer(&l, l.c, l.s, 5000, 5000));
      }
      if (alive[1]) { /* the wrapper still hands out its SSL_CTX */
        SSL_CTX *raw = sslbio_ctx_openssl(c);
        CHECK(raw != NULL);
        SSL *x = SSL_new(raw);
        CHECK(x != NULL);
        SSL_free(x);
      }
      if (alive[0] && !alive[1]) { /* the caller's SSL_CTX outlives the wrapper */
        SSL *x = SSL_new(pc);
        CHECK(x != NULL);
        SSL_free(x);
      }
    }
    t_link_free(&l);
  }

  /* sslbio_ctx_new contexts: ctx, two conns and an extra reference, freed
   * ctx-first and conn-first */
  for (int first = 0; first < 2; first++) {
    sslbio_ctx *c = t_client_ctx("ca.pem");
    sslbio_ctx *extra = sslbio_ctx_ref(c);
    sslbio_conn *a = sslbio_conn_new(c, "localhost"), *b = sslbio_conn_new(c, "localhost");
    REQUIRE(a && b);
    SSL_CTX *raw = sslbio_ctx_openssl(c);
    CHECK(SSL_CTX_up_ref(raw) == 1); /* keep the SSL_CTX past the sslbio_ctx */
    if (first == 0) {
      sslbio_ctx_free(c);
      sslbio_ctx_free(extra);
      sslbio_conn_free(a);
      t_link l = {.c = b, .s = sslbio_conn_new(srv, NULL), .cst = SSLBIO_WANT_READ, .sst = SSLBIO_WANT_READ};
      CHECK_EQ(t_handshake(&l), SSLBIO_OK);
      t_link_free(&l);
    } else {
      sslbio_conn_free(a);
      sslbio_conn_free(b);
      sslbio_ctx_free(extra);
      CHECK(sslbio_ctx_openssl(c) == raw);
      sslbio_ctx_free(c);
    }
    SSL *x = SSL_new(raw);
    CHECK(x != NULL);
    SSL_free(x);
    SSL_CTX_free(raw);
  }
  sslbio_ctx_free(srv);
}

/* The borrowed SSL* and SSL_CTX* are the live objects: settings made through
 * them are seen by the engine (expert use). */
static void test_expert_handles(void) {
  sslbio_ctx *c = t_client_ctx("ca.pem"), *s = t_server_ctx();
  REQUIRE(c && s);
  /* plain OpenSSL call on the borrowed SSL_CTX before the first engine */
  CHECK_EQ(SSL_CTX_set_max_proto_version(sslbio_ctx_openssl(c), TLS1_2_VERSION), 1);
  t_link l;
  REQUIRE(t_link_init(&l, c, s, "localhost"));
  SSL *ss = sslbio_conn_openssl(l.s);
  CHECK(SSL_get_SSL_CTX(ss) == sslbio_ctx_openssl(s));
  CHECK_EQ(t_handshake(&l), SSLBIO_OK);
  CHECK_STR_HAS(sslbio_conn_version(l.c), "TLSv1.2");
  CHECK(SSL_get0_peer_certificate(sslbio_conn_openssl(l.c)) != NULL);
  t_link_free(&l);
  sslbio_ctx_free(c);
  sslbio_ctx_free(s);
}

int main(void) {
  t_init("test_handoff");
  T_RUN(test_wrap_openssl);
  T_RUN(test_refcount_every_order);
  T_RUN(test_expert_handles);
  return t_done();
}
