/* Rule 7 (secure defaults; bad input gets a clear error, never a crash) and
 * rule 8's first half (a context freezes with its first engine). */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "t.h"

static sslbio_ctx *cctx, *sctx;

/* Handshake a fresh pair; returns the client's status, the verify result in
 * *verify. */
static int try_name(sslbio_ctx *c, const char *name, long *verify) {
  t_link l;
  if (!t_link_init(&l, c, sctx, name))
    return SSLBIO_ENOMEM;
  int st = t_handshake(&l);
  *verify = sslbio_conn_verify_result(l.c);
  if (st != SSLBIO_OK && l.cst != SSLBIO_OK)
    st = l.cst;
  t_link_free(&l);
  return st;
}

static void test_verify_chain(void) {
  sslbio_ctx *other = t_client_ctx("other-ca.pem"); /* trusts an unrelated CA */
  REQUIRE(other);
  t_link l;
  REQUIRE(t_link_init(&l, other, sctx, "localhost"));
  CHECK_EQ(t_handshake(&l), SSLBIO_ERROR);
  CHECK_ST(l.c, l.cst, SSLBIO_ERROR);
  long vr = sslbio_conn_verify_result(l.c); /* 19 when the server sends its CA along */
  CHECK(vr == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
        vr == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN);
  CHECK_EQ(ERR_GET_REASON(sslbio_conn_error_code(l.c)), SSL_R_CERTIFICATE_VERIFY_FAILED);
  const char *msg = t_errmsg(l.c);
  CHECK_STR_HAS(msg, "handshake");
  CHECK_STR_HAS(msg, "certificate verify failed");
  CHECK_STR_HAS(msg, X509_verify_cert_error_string(vr));
  char verify_n[32];
  snprintf(verify_n, sizeof(verify_n), "verify %ld", vr);
  CHECK_STR_HAS(msg, verify_n);
  /* the client's alert reaches the server, which fails with its own reason */
  t_pump(&l);
  CHECK_ST(l.s, sslbio_conn_handshake(l.s), SSLBIO_ERROR);
  CHECK_STR_HAS(t_errmsg(l.s), "unknown ca");
  CHECK(!sslbio_conn_is_handshake_done(l.c));
  char buf[8];
  CHECK_ST(l.c, sslbio_conn_write(l.c, "x", 1), SSLBIO_ERROR); /* dead stays dead */
  CHECK_ST(l.c, sslbio_conn_read(l.c, buf, sizeof(buf)), SSLBIO_ERROR);
  t_link_free(&l);
  sslbio_ctx_free(other);

  /* a client context with no CA loaded uses the system store, which does not
   * know the test CA: verification is on by default */
  sslbio_ctx *sys = sslbio_ctx_new(SSLBIO_CLIENT);
  REQUIRE(sys);
  long v;
  CHECK_EQ(try_name(sys, "localhost", &v), SSLBIO_ERROR);
  CHECK(v != X509_V_OK);
  /* ... and a verifying client with nothing to check against is refused */
  sslbio_ctx *sys2 = sslbio_ctx_new(SSLBIO_CLIENT);
  CHECK(sslbio_conn_new(sys2, NULL) == NULL);
  CHECK_STR_HAS(sslbio_ctx_error(sys2), "server name");
  sslbio_ctx_free(sys2);
  sslbio_ctx_free(sys);

  /* opting out is explicit */
  sslbio_ctx *none = sslbio_ctx_new(SSLBIO_CLIENT);
  CHECK_EQ(sslbio_ctx_set_verify(none, SSLBIO_VERIFY_NONE), SSLBIO_OK);
  CHECK_EQ(try_name(none, NULL, &v), SSLBIO_OK);
  sslbio_ctx_free(none);
}

static void test_verify_host_name(void) {
  static const struct {
    const char *name;
    int status;
    long verify;
  } cases[] = {
      {"localhost", SSLBIO_OK, X509_V_OK},
      {"LocalHost", SSLBIO_OK, X509_V_OK},
      {"127.0.0.1", SSLBIO_OK, X509_V_OK},
      {"::1", SSLBIO_OK, X509_V_OK},
      {"wrong.example", SSLBIO_ERROR, X509_V_ERR_HOSTNAME_MISMATCH},
      {"localhost.evil.example", SSLBIO_ERROR, X509_V_ERR_HOSTNAME_MISMATCH},
      {"127.0.0.2", SSLBIO_ERROR, X509_V_ERR_IP_ADDRESS_MISMATCH},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    long v = -1;
    int st = try_name(cctx, cases[i].name, &v);
    if (st != cases[i].status || v != cases[i].verify)
      t_failf(__FILE__, __LINE__, "name %s: %s verify %ld, want %s verify %ld", cases[i].name,
              sslbio_strstatus(st), v, sslbio_strstatus(cases[i].status), cases[i].verify);
  }
  /* the mismatch message names the verify failure */
  t_link l;
  REQUIRE(t_link_init(&l, cctx, sctx, "wrong.example"));
  t_handshake(&l);
  CHECK_STR_HAS(t_errmsg(l.c), "hostname mismatch");
  t_link_free(&l);
}

/* A client made with plain OpenSSL that only speaks TLS 1.1 or below; the
 * caller owns the returned SSL_CTX. */
static SSL_CTX *old_client(void) {
  SSL_CTX *o = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_security_level(o, 0);
  SSL_CTX_set_min_proto_version(o, TLS1_VERSION);
  SSL_CTX_set_max_proto_version(o, TLS1_1_VERSION);
  SSL_CTX_set_cipher_list(o, "DEFAULT:@SECLEVEL=0");
  SSL_CTX_set_verify(o, SSL_VERIFY_NONE, NULL);
  return o;
}

static void test_tls12_minimum(void) {
  sslbio_ctx *c = sslbio_ctx_new(SSLBIO_CLIENT);
  CHECK_EQ(sslbio_ctx_set_versions(c, TLS1_1_VERSION, 0), SSLBIO_EINVAL);
  CHECK_STR_HAS(sslbio_ctx_error(c), "TLS 1.2");
  CHECK_EQ(sslbio_ctx_set_versions(c, 0, TLS1_1_VERSION), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_set_versions(c, TLS1_3_VERSION, TLS1_2_VERSION), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_set_versions(c, 0, 0), SSLBIO_OK);
  CHECK_EQ(sslbio_ctx_set_versions(c, TLS1_3_VERSION, 0), SSLBIO_OK);
  sslbio_ctx_free(c);
  CHECK_EQ(SSL_CTX_get_min_proto_version(sslbio_ctx_openssl(sctx)), TLS1_2_VERSION);

  /* an old client against the default server: refused */
  SSL_CTX *o = old_client();
  sslbio_ctx *oc = sslbio_ctx_wrap_openssl(o, SSLBIO_CLIENT);
  SSL_CTX_free(o);
  REQUIRE(oc);
  t_link l;
  REQUIRE(t_link_init(&l, oc, sctx, NULL));
  CHECK_EQ(t_handshake(&l), SSLBIO_ERROR);
  CHECK_ST(l.s, l.sst, SSLBIO_ERROR);
  CHECK_STR_HAS(t_errmsg(l.s), "unsupported protocol");
  t_link_free(&l);
  sslbio_ctx_free(oc);
}

/* Renegotiation is refused in both directions. */
static void test_no_renegotiation(void) {
  sslbio_ctx *c12 = t_client_ctx("ca.pem");
  sslbio_ctx_set_versions(c12, TLS1_2_VERSION, TLS1_2_VERSION);
  CHECK(SSL_CTX_get_options(sslbio_ctx_openssl(c12)) & SSL_OP_NO_RENEGOTIATION);
  CHECK(SSL_CTX_get_options(sslbio_ctx_openssl(sctx)) & SSL_OP_NO_RENEGOTIATION);

  /* client asks (through the expert handle): our server refuses */
  t_link l;
  REQUIRE(t_link_init(&l, c12, sctx, "localhost"));
  REQUIRE(t_handshake(&l) == SSLBIO_OK);
  SSL *cs = sslbio_conn_openssl(l.c);
  ERR_clear_error();
  if (SSL_renegotiate(cs) == 1)
    SSL_do_handshake(cs);
  ERR_clear_error();
  t_pump(&l);
  char buf[16];
  sslbio_conn_read(l.s, buf, sizeof(buf));
  t_pump(&l);
  sslbio_conn_read(l.c, buf, sizeof(buf));
  CHECK_EQ(SSL_total_renegotiations(sslbio_conn_openssl(l.s)), 0);
  CHECK(!SSL_renegotiate_pending(sslbio_conn_openssl(l.s)));
  CHECK_EQ(ERR_peek_error(), 0);
  t_link_free(&l);

  /* a plain OpenSSL server that renegotiates: our client does not follow */
  SSL_CTX *ps = SSL_CTX_new(TLS_server_method());
  SSL_CTX_use_certificate_chain_file(ps, t_cert("server.pem"));
  SSL_CTX_use_PrivateKey_file(ps, t_cert("server.key"), SSL_FILETYPE_PEM);
  SSL_CTX_clear_options(ps, SSL_OP_NO_RENEGOTIATION);
  sslbio_ctx *ws = sslbio_ctx_wrap_openssl(ps, SSLBIO_SERVER);
  SSL_CTX_free(ps);
  REQUIRE(t_link_init(&l, c12, ws, "localhost"));
  REQUIRE(t_handshake(&l) == SSLBIO_OK);
  SSL *ss = sslbio_conn_openssl(l.s);
  CHECK_EQ(SSL_renegotiate(ss), 1);
  SSL_do_handshake(ss); /* HelloRequest */
  ERR_clear_error();
  t_pump(&l);
  CHECK_ST(l.c, sslbio_conn_read(l.c, buf, sizeof(buf)), SSLBIO_WANT_READ); /* ignored */
  CHECK_EQ(SSL_total_renegotiations(sslbio_conn_openssl(l.c)), 0);
  CHECK_EQ(sslbio_conn_error(l.c, NULL, 0), 0);
  t_link_free(&l);
  sslbio_ctx_free(ws);
  sslbio_ctx_free(c12);
}

static void test_client_certificate(void) {
  sslbio_ctx *rs = t_server_ctx();
  CHECK_EQ(sslbio_ctx_load_verify_file(rs, t_cert("ca.pem")), SSLBIO_OK);
  CHECK_EQ(sslbio_ctx_set_verify(rs, SSLBIO_VERIFY_REQUIRE_PEER), SSLBIO_OK);
  t_link l;
  /* no client certificate: refused */
  REQUIRE(t_link_init(&l, cctx, rs, "localhost"));
  int st = t_handshake(&l);
  char buf[8];
  if (st == SSLBIO_OK) /* TLS 1.3: the client learns on its next read */
    st = (int)sslbio_conn_read(l.c, buf, sizeof(buf));
  CHECK_ST(l.s, l.sst, SSLBIO_ERROR);
  CHECK_STR_HAS(t_errmsg(l.s), "certificate");
  t_link_free(&l);
  /* with one: accepted, visible to the server */
  sslbio_ctx *cc = t_client_ctx("ca.pem");
  CHECK_EQ(sslbio_ctx_use_certificate_chain_file(cc, t_cert("client.pem")), SSLBIO_OK);
  CHECK_EQ(sslbio_ctx_use_private_key_file(cc, t_cert("client.key")), SSLBIO_OK);
  REQUIRE(t_link_init(&l, cc, rs, "localhost"));
  CHECK_EQ(t_handshake(&l), SSLBIO_OK);
  CHECK(sslbio_conn_peer_certificate_pem(l.s, NULL, 0) > 0);
  CHECK_EQ(sslbio_conn_verify_result(l.s), X509_V_OK);
  t_link_free(&l);
  sslbio_ctx_free(cc);
  sslbio_ctx_free(rs);
}

/* Context setters: OpenSSL's refusals become SSLBIO_ERROR with a message. */
static void test_setter_errors(void) {
  sslbio_ctx *c = sslbio_ctx_new(SSLBIO_SERVER);
  REQUIRE(c);
  CHECK_EQ(sslbio_ctx_use_certificate_chain_file(c, "/nonexistent/cert.pem"), SSLBIO_ERROR);
  CHECK(strlen(sslbio_ctx_error(c)) > 0);
  CHECK_STR_HAS(sslbio_ctx_error(c), "certificate chain file");
  CHECK_EQ(sslbio_ctx_use_certificate_chain_file(c, t_cert("server.pem")), SSLBIO_OK);
  CHECK_EQ(sslbio_ctx_use_private_key_file(c, t_cert("client.key")), SSLBIO_ERROR); /* mismatch */
  CHECK_STR_HAS(sslbio_ctx_error(c), "private key");
  CHECK_EQ(sslbio_ctx_use_certificate_chain_pem(c, "garbage", 7), SSLBIO_ERROR);
  CHECK_EQ(sslbio_ctx_use_private_key_pem(c, "garbage", 7), SSLBIO_ERROR);
  CHECK_EQ(sslbio_ctx_load_verify_pem(c, "garbage", 7), SSLBIO_ERROR);
  CHECK_EQ(sslbio_ctx_load_verify_file(c, "/nonexistent/ca.pem"), SSLBIO_ERROR);
  CHECK_EQ(sslbio_ctx_set_alpn(c, ""), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_set_alpn(c, "h2,,http/1.1"), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_set_ciphers(c, "NO-SUCH-CIPHER", NULL), SSLBIO_ERROR);
  CHECK_EQ(sslbio_ctx_set_ciphers(c, NULL, "TLS_NO_SUCH_SUITE"), SSLBIO_ERROR);
  CHECK_EQ(sslbio_ctx_set_verify(c, 42), SSLBIO_EINVAL);
  CHECK_EQ(ERR_peek_error(), 0); /* failures leave the thread's queue empty */
  /* PEM variants configure a working context */
  size_t clen, klen, alen;
  char *cert = t_read_file(t_cert("server.pem"), &clen);
  char *key = t_read_file(t_cert("server.key"), &klen);
  char *ca = t_read_file(t_cert("ca.pem"), &alen);
  REQUIRE(cert && key && ca);
  sslbio_ctx *ps = sslbio_ctx_new(SSLBIO_SERVER), *pc = sslbio_ctx_new(SSLBIO_CLIENT);
  CHECK_EQ(sslbio_ctx_use_certificate_chain_pem(ps, cert, clen), SSLBIO_OK);
  CHECK_EQ(sslbio_ctx_use_private_key_pem(ps, key, klen), SSLBIO_OK);
  CHECK_EQ(sslbio_ctx_load_verify_pem(pc, ca, alen), SSLBIO_OK);
  CHECK_EQ(sslbio_ctx_set_ciphers(pc, "ECDHE-ECDSA-AES128-GCM-SHA256", "TLS_AES_256_GCM_SHA384"),
           SSLBIO_OK);
  t_link l;
  REQUIRE(t_link_init(&l, pc, ps, "localhost"));
  CHECK_EQ(t_handshake(&l), SSLBIO_OK);
  CHECK_STR_HAS(sslbio_conn_cipher(l.c), "TLS_AES_256_GCM_SHA384");
  t_link_free(&l);
  free(cert);
  free(key);
  free(ca);
  sslbio_ctx_free(ps);
  sslbio_ctx_free(pc);
  sslbio_ctx_free(c);
}

/* Rule 8: the first engine freezes its context. */
static void test_frozen(void) {
  sslbio_ctx *c = t_client_ctx("ca.pem");
  REQUIRE(c);
  CHECK_EQ(sslbio_ctx_set_alpn(c, "h2"), SSLBIO_OK);
  sslbio_conn *e = sslbio_conn_new(c, "localhost");
  REQUIRE(e);
  CHECK_EQ(sslbio_ctx_set_alpn(c, "http/1.1"), SSLBIO_EINVAL);
  CHECK_STR_HAS(sslbio_ctx_error(c), "frozen");
  CHECK_EQ(sslbio_ctx_load_verify_file(c, t_cert("other-ca.pem")), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_use_certificate_chain_file(c, t_cert("client.pem")), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_use_private_key_file(c, t_cert("client.key")), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_use_certificate_chain_pem(c, "x", 1), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_use_private_key_pem(c, "x", 1), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_load_verify_pem(c, "x", 1), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_set_verify(c, SSLBIO_VERIFY_NONE), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_set_versions(c, TLS1_2_VERSION, TLS1_2_VERSION), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_set_ciphers(c, "DEFAULT", NULL), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_set_ragged_eof(c, 1), SSLBIO_EINVAL);
  CHECK_STR_HAS(sslbio_ctx_error(c), "frozen");
  /* still frozen after its engines are gone; engines keep working */
  sslbio_conn_free(e);
  CHECK_EQ(sslbio_ctx_set_verify(c, SSLBIO_VERIFY_NONE), SSLBIO_EINVAL);
  t_link l;
  REQUIRE(t_link_init(&l, c, sctx, "localhost"));
  CHECK_EQ(t_handshake(&l), SSLBIO_OK); /* verification still on */
  t_link_free(&l);
  sslbio_ctx_free(c);
}

static long dummy_recv(void *user, void *buf, size_t cap) {
  (void)user, (void)buf, (void)cap;
  return SSLBIO_WANT_READ;
}

/* NULL handles, NULL buffers, wrong handles, calls in the wrong state. */
static void test_bad_input(void) {
  char buf[16];
  const void *cp;
  void *p;
  CHECK(sslbio_ctx_new(0) == NULL);
  CHECK(sslbio_ctx_new(3) == NULL);
  CHECK(sslbio_ctx_new(-1) == NULL);
  CHECK(sslbio_ctx_wrap_openssl(NULL, SSLBIO_CLIENT) == NULL);
  CHECK(sslbio_ctx_openssl(NULL) == NULL);
  CHECK(sslbio_ctx_ref(NULL) == NULL);
  sslbio_ctx_free(NULL);
  sslbio_conn_free(NULL);
  CHECK_EQ(sslbio_ctx_use_certificate_chain_file(NULL, "x"), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_use_private_key_file(NULL, "x"), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_use_certificate_chain_pem(NULL, "x", 1), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_use_private_key_pem(NULL, "x", 1), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_load_verify_file(NULL, "x"), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_load_verify_pem(NULL, "x", 1), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_set_verify(NULL, 0), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_set_alpn(NULL, "h2"), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_set_versions(NULL, 0, 0), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_set_ciphers(NULL, NULL, NULL), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_set_ragged_eof(NULL, 1), SSLBIO_EINVAL);
  CHECK(sslbio_ctx_error(NULL) != NULL);
  CHECK(sslbio_conn_new(NULL, "localhost") == NULL);
  CHECK_EQ(sslbio_conn_feed(NULL, "x", 1), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_drain(NULL, buf, sizeof(buf)), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_pending_out(NULL), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_feed_eof(NULL), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_feed_buffer(NULL, &p), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_feed_commit(NULL, 1), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_drain_buffer(NULL, &cp), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_drain_commit(NULL, 1), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_reset(NULL, NULL), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_handshake(NULL), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_read(NULL, buf, sizeof(buf)), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_write(NULL, "x", 1), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_shutdown(NULL), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_wants(NULL), 0);
  CHECK_EQ(sslbio_conn_key_update(NULL, 0), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_error(NULL, buf, sizeof(buf)), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_error_code(NULL), 0);
  CHECK_EQ(sslbio_conn_verify_result(NULL), SSLBIO_EINVAL);
  CHECK(sslbio_conn_version(NULL) == NULL);
  CHECK(sslbio_conn_cipher(NULL) == NULL);
  CHECK(sslbio_conn_alpn(NULL) == NULL);
  CHECK_EQ(sslbio_conn_is_handshake_done(NULL), 0);
  CHECK_EQ(sslbio_conn_peer_certificate_pem(NULL, buf, sizeof(buf)), SSLBIO_EINVAL);
  CHECK(sslbio_conn_openssl(NULL) == NULL);
  CHECK_EQ(sslbio_conn_session(NULL, buf, sizeof(buf)), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_set_session(NULL, "x", 1), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_set_transport(NULL, NULL, NULL, NULL), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_flush(NULL), SSLBIO_EINVAL);
  CHECK_STR_HAS(sslbio_strstatus(12345), "unknown");
  CHECK_STR_HAS(sslbio_strstatus(SSLBIO_TRUNCATED), "SSLBIO_TRUNCATED");
  CHECK_STR_HAS(sslbio_version(), SSLBIO_VERSION_STRING);

  /* NULL setter arguments */
  sslbio_ctx *c = sslbio_ctx_new(SSLBIO_CLIENT);
  CHECK_EQ(sslbio_ctx_use_certificate_chain_file(c, NULL), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_use_private_key_file(c, NULL), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_load_verify_file(c, NULL), SSLBIO_EINVAL);
  CHECK(sslbio_ctx_use_certificate_chain_pem(c, NULL, 10) < 0);
  CHECK(sslbio_ctx_use_private_key_pem(c, NULL, 10) < 0);
  CHECK(sslbio_ctx_load_verify_pem(c, NULL, 10) < 0);
  CHECK_EQ(sslbio_ctx_set_alpn(c, NULL), SSLBIO_EINVAL);
  sslbio_ctx_free(c);

  /* NULL buffers with a length, empty buffers, on a live engine */
  sslbio_conn *e = sslbio_conn_new(cctx, "localhost");
  REQUIRE(e);
  CHECK_EQ(sslbio_conn_feed(e, NULL, 5), SSLBIO_EINVAL);
  CHECK_STR_HAS(t_errmsg(e), "feed");
  CHECK_EQ(sslbio_conn_feed(e, NULL, 0), 0);
  CHECK_EQ(sslbio_conn_drain(e, NULL, 5), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_drain(e, buf, 0), 0);
  CHECK_EQ(sslbio_conn_read(e, NULL, 5), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_read(e, buf, 0), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_write(e, NULL, 5), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_write(e, "x", 0), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_error(e, NULL, 5), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_peer_certificate_pem(e, NULL, 5), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_session(e, NULL, 5), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_set_session(e, NULL, 5), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_feed_buffer(e, NULL), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_drain_buffer(e, NULL), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_set_transport(e, dummy_recv, NULL, NULL), SSLBIO_EINVAL); /* half set */
  CHECK_EQ(sslbio_conn_set_transport(e, NULL, NULL, NULL), SSLBIO_OK);
  CHECK_EQ(sslbio_conn_flush(e), SSLBIO_EINVAL); /* no transport */
  /* wrong state */
  CHECK_EQ(sslbio_conn_shutdown(e), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_key_update(e, 1), SSLBIO_EINVAL);
  /* the engine still works after all that */
  t_link l;
  REQUIRE(t_link_init(&l, cctx, sctx, "localhost"));
  sslbio_conn_free(l.c);
  l.c = e;
  CHECK_EQ(t_handshake(&l), SSLBIO_OK);
  CHECK(t_transfer(&l, l.c, l.s, 1000, 100));
  /* feed after feed_eof */
  CHECK_EQ(sslbio_conn_feed_eof(l.s), SSLBIO_OK);
  CHECK_ST(l.s, sslbio_conn_feed(l.s, "x", 1), SSLBIO_EINVAL);
  CHECK_STR_HAS(t_errmsg(l.s), "feed after feed_eof");
  /* a handle of the wrong kind is rejected by its magic number */
  CHECK_EQ(sslbio_conn_read((sslbio_conn *)cctx, buf, sizeof(buf)), SSLBIO_EINVAL);
  CHECK(sslbio_conn_new((sslbio_ctx *)l.c, NULL) == NULL);
  sslbio_ctx_free((sslbio_ctx *)l.c); /* ignored */
  t_link_free(&l);
}

/* Undefined by the header, but detected while the memory is not reused:
 * skipped under ASan/valgrind, which rightly report the read of freed
 * memory. */
static void test_double_free(void) {
  if (t_checked()) {
    printf("     (skipped under a memory checker: reads freed memory on purpose)\n");
    return;
  }
  sslbio_ctx *c = t_client_ctx("ca.pem");
  sslbio_conn *e = sslbio_conn_new(c, "localhost");
  sslbio_conn_free(e);
  sslbio_conn_free(e); /* detected, ignored */
  sslbio_ctx_free(c);
  sslbio_ctx_free(c); /* detected, ignored */
}

/* A ctx reference dropped too often by one holder does not free the
 * context under the engines that hold their own references. */
static void test_references(void) {
  sslbio_ctx *c = t_client_ctx("ca.pem");
  CHECK(sslbio_ctx_ref(c) == c);
  sslbio_conn *e1 = sslbio_conn_new(c, "localhost"); /* +1 */
  sslbio_ctx_free(c);
  sslbio_ctx_free(c); /* both of the caller's references gone */
  sslbio_conn *e2 = sslbio_conn_new(sctx, NULL);
  t_link l = {.c = e1, .s = e2, .cst = SSLBIO_WANT_READ, .sst = SSLBIO_WANT_READ};
  CHECK_EQ(t_handshake(&l), SSLBIO_OK); /* the engine's own reference keeps c alive */
  t_link_free(&l);                     /* last reference: c freed here */
}

int main(void) {
  t_init("test_secure");
  cctx = t_client_ctx("ca.pem");
  sctx = t_server_ctx();
  if (!cctx || !sctx)
    return 2;
  T_RUN(test_verify_chain);
  T_RUN(test_verify_host_name);
  T_RUN(test_tls12_minimum);
  T_RUN(test_no_renegotiation);
  T_RUN(test_client_certificate);
  T_RUN(test_setter_errors);
  T_RUN(test_frozen);
  T_RUN(test_bad_input);
  T_RUN(test_double_free);
  T_RUN(test_references);
  sslbio_ctx_free(cctx);
  sslbio_ctx_free(sctx);
  return t_done();
}
