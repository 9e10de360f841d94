/* The hooks of servers and protocols, engine to engine in memory: the
 * ClientHello pause (SNI and ALPN seen, context switched, refused), key
 * log, exporters and tls-unique, custom and deferred verification, shared
 * ticket keys. Real peers are in the Go and Python suites. */
#include "t.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

static int is_want(int st) { return st == SSLBIO_WANT_READ || st == SSLBIO_WANT_WRITE; }

/* Step the handshake until both sides stop wanting I/O; a side that
 * pauses (WANT_CLIENT_HELLO, WANT_VERIFY) stops there. */
static void step(t_link *l) {
  for (int round = 0; round < 64; round++) {
    if (is_want(l->cst))
      l->cst = sslbio_conn_handshake(l->c);
    if (is_want(l->sst))
      l->sst = sslbio_conn_handshake(l->s);
    if (t_pump(l) == 0)
      break;
  }
}

static sslbio_ctx *server_with_alpn(const char *alpn) {
  sslbio_ctx *ctx = t_server_ctx();
  if (ctx != NULL && alpn != NULL)
    sslbio_ctx_set_alpn(ctx, alpn);
  return ctx;
}

static void test_client_hello_pause_switches_context(void) {
  sslbio_ctx *a = server_with_alpn("a"), *b = server_with_alpn("b"), *c = t_client_ctx("ca.pem");
  REQUIRE(a && b && c);
  CHECK_EQ(sslbio_ctx_set_client_hello_pause(a, 1), SSLBIO_OK);
  CHECK_EQ(sslbio_ctx_set_alpn(c, "b,a"), SSLBIO_OK);
  t_link l;
  REQUIRE(t_link_init(&l, c, a, "localhost"));
  CHECK_EQ(sslbio_conn_use_context(l.s, b), SSLBIO_EINVAL); /* not paused yet */
  step(&l);
  CHECK_ST(l.s, l.sst, SSLBIO_WANT_CLIENT_HELLO);
  CHECK(sslbio_conn_server_name(l.s) && strcmp(sslbio_conn_server_name(l.s), "localhost") == 0);
  char alpn[32];
  CHECK_EQ(sslbio_conn_client_alpn(l.s, alpn, sizeof(alpn)), 3);
  CHECK(strcmp(alpn, "b,a") == 0);
  CHECK_EQ(sslbio_conn_client_alpn(l.s, alpn, 2), 3); /* length needed */
  CHECK_EQ(sslbio_conn_use_context(l.s, c), SSLBIO_EINVAL); /* a client context */
  CHECK_EQ(sslbio_conn_use_context(l.s, b), SSLBIO_OK);
  l.sst = SSLBIO_WANT_READ;
  step(&l);
  CHECK_ST(l.s, l.sst, SSLBIO_OK);
  CHECK_ST(l.c, l.cst, SSLBIO_OK);
  CHECK(sslbio_conn_alpn(l.c) && strcmp(sslbio_conn_alpn(l.c), "b") == 0);
  CHECK(sslbio_conn_alpn(l.s) && strcmp(sslbio_conn_alpn(l.s), "b") == 0);
  CHECK(t_transfer(&l, l.c, l.s, 3000, 700));
  /* A reset engine is back on its own context: it pauses again, and
   * without a switch serves a's ALPN. */
  CHECK_EQ(sslbio_conn_reset(l.c, "localhost"), SSLBIO_OK);
  CHECK_EQ(sslbio_conn_reset(l.s, NULL), SSLBIO_OK);
  t_buf_free(&l.c2s), t_buf_free(&l.s2c);
  l.cst = l.sst = SSLBIO_WANT_READ;
  step(&l);
  CHECK_ST(l.s, l.sst, SSLBIO_WANT_CLIENT_HELLO);
  l.sst = SSLBIO_WANT_READ;
  step(&l);
  CHECK_ST(l.s, l.sst, SSLBIO_OK);
  CHECK(sslbio_conn_alpn(l.s) && strcmp(sslbio_conn_alpn(l.s), "a") == 0);
  t_link_free(&l);
  sslbio_ctx_free(a), sslbio_ctx_free(b), sslbio_ctx_free(c);
}

/* A second choice while still paused replaces the first; a wrapped
 * SSL_CTX (configured with plain OpenSSL) can be chosen too: it has no
 * ticket keys of the engine, so it issues no resumable ticket, and the
 * handshake goes on. */
static void test_use_context_twice_then_wrapped(void) {
  sslbio_ctx *a = server_with_alpn("a"), *b = server_with_alpn("b"), *c = t_client_ctx("ca.pem");
  SSL_CTX *raw = SSL_CTX_new(TLS_server_method());
  REQUIRE(a && b && c && raw);
  CHECK_EQ(SSL_CTX_use_certificate_chain_file(raw, t_cert("server.pem")), 1);
  CHECK_EQ(SSL_CTX_use_PrivateKey_file(raw, t_cert("server.key"), SSL_FILETYPE_PEM), 1);
  sslbio_ctx *w = sslbio_ctx_wrap_openssl(raw, SSLBIO_SERVER);
  SSL_CTX_free(raw); /* w holds its own reference */
  REQUIRE(w);
  CHECK_EQ(sslbio_ctx_set_client_hello_pause(a, 1), SSLBIO_OK);
  sslbio_ctx_set_alpn(c, "a,b");
  t_link l;
  REQUIRE(t_link_init(&l, c, a, "localhost"));
  step(&l);
  CHECK_ST(l.s, l.sst, SSLBIO_WANT_CLIENT_HELLO);
  CHECK_EQ(sslbio_conn_use_context(l.s, b), SSLBIO_OK);
  CHECK_EQ(sslbio_conn_use_context(l.s, w), SSLBIO_OK);
  l.sst = SSLBIO_WANT_READ;
  step(&l);
  CHECK_ST(l.s, l.sst, SSLBIO_OK);
  CHECK_ST(l.c, l.cst, SSLBIO_OK);
  CHECK(sslbio_conn_alpn(l.s) == NULL); /* w offers no ALPN */
  CHECK(t_transfer(&l, l.s, l.c, 2000, 500));
  t_link_free(&l);
  sslbio_ctx_free(a), sslbio_ctx_free(b), sslbio_ctx_free(c), sslbio_ctx_free(w);
}

static void test_server_name_without_pause(void) {
  sslbio_ctx *s = server_with_alpn("x"), *c = t_client_ctx("ca.pem");
  REQUIRE(s && c);
  sslbio_ctx_set_alpn(c, "x,y");
  t_link l;
  REQUIRE(t_link_init(&l, c, s, "localhost"));
  CHECK_ST(l.s, t_handshake(&l), SSLBIO_OK);
  CHECK(sslbio_conn_server_name(l.s) && strcmp(sslbio_conn_server_name(l.s), "localhost") == 0);
  char alpn[32];
  CHECK_EQ(sslbio_conn_client_alpn(l.s, alpn, sizeof(alpn)), 3);
  CHECK(strcmp(alpn, "x,y") == 0);
  t_link_free(&l);
  sslbio_ctx_free(s), sslbio_ctx_free(c);
}

static void test_reject_client_hello(void) {
  sslbio_ctx *s = t_server_ctx(), *c = t_client_ctx("ca.pem");
  REQUIRE(s && c);
  CHECK_EQ(sslbio_ctx_set_client_hello_pause(s, 1), SSLBIO_OK);
  CHECK_EQ(sslbio_ctx_set_client_hello_pause(c, 1), SSLBIO_EINVAL);
  t_link l;
  REQUIRE(t_link_init(&l, c, s, "localhost"));
  step(&l);
  CHECK_ST(l.s, l.sst, SSLBIO_WANT_CLIENT_HELLO);
  CHECK_EQ(sslbio_conn_reject_client_hello(l.s, 256), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_reject_client_hello(l.s, 112), SSLBIO_OK);
  CHECK_ST(l.s, sslbio_conn_handshake(l.s), SSLBIO_ERROR);
  CHECK(sslbio_conn_pending_out(l.s) > 0); /* the alert, to drain */
  t_pump(&l);
  CHECK_ST(l.c, sslbio_conn_handshake(l.c), SSLBIO_ERROR);
  CHECK_STR_HAS(t_errmsg(l.c), "unrecognized name");
  t_link_free(&l);
  sslbio_ctx_free(s), sslbio_ctx_free(c);
}

/* ---- key log ---- */

typedef struct lines {
  char text[4096];
  int n;
} lines;

static void keep_line(void *user, const char *line) {
  lines *ls = user;
  size_t used = strlen(ls->text);
  snprintf(ls->text + used, sizeof(ls->text) - used, "%s\n", line);
  ls->n++;
}

static void keylog_for(int version) {
  sslbio_ctx *s = t_server_ctx(), *c = t_client_ctx("ca.pem");
  REQUIRE(s && c);
  lines ls = {{0}, 0}, lc = {{0}, 0};
  CHECK_EQ(sslbio_ctx_set_keylog(s, keep_line, &ls), SSLBIO_OK);
  CHECK_EQ(sslbio_ctx_set_keylog(c, keep_line, &lc), SSLBIO_OK);
  sslbio_ctx_set_versions(c, version, version);
  t_link l;
  REQUIRE(t_link_init(&l, c, s, "localhost"));
  CHECK_ST(l.s, t_handshake(&l), SSLBIO_OK);
  CHECK(ls.n == (version == TLS1_3_VERSION ? 5 : 1));
  CHECK_EQ(ls.n, lc.n);
  CHECK_STR_HAS(lc.text, version == TLS1_3_VERSION ? "CLIENT_HANDSHAKE_TRAFFIC_SECRET "
                                                   : "CLIENT_RANDOM ");
  char *line = strtok(lc.text, "\n");
  for (; line != NULL; line = strtok(NULL, "\n"))
    CHECK_STR_HAS(ls.text, line);
  CHECK_EQ(sslbio_ctx_set_keylog(s, NULL, NULL), SSLBIO_EINVAL); /* frozen */
  t_link_free(&l);
  sslbio_ctx_free(s), sslbio_ctx_free(c);
}

static void test_keylog_tls13(void) { keylog_for(TLS1_3_VERSION); }
static void test_keylog_tls12(void) { keylog_for(TLS1_2_VERSION); }

/* ---- exporters ---- */

static void exporters_for(int version) {
  sslbio_ctx *s = t_server_ctx(), *c = t_client_ctx("ca.pem");
  REQUIRE(s && c);
  sslbio_ctx_set_versions(c, version, version);
  t_link l;
  REQUIRE(t_link_init(&l, c, s, "localhost"));
  unsigned char a[40], b[40], e[40];
  CHECK_EQ(sslbio_conn_export_keying_material(l.c, a, sizeof(a), "EXPERIMENTAL x", NULL, 0),
           SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_tls_unique(l.c, a, sizeof(a)), SSLBIO_EINVAL);
  CHECK_ST(l.s, t_handshake(&l), SSLBIO_OK);
  CHECK_EQ(sslbio_conn_export_keying_material(l.c, a, sizeof(a), "EXPERIMENTAL x", NULL, 0),
           SSLBIO_OK);
  CHECK_EQ(sslbio_conn_export_keying_material(l.s, b, sizeof(b), "EXPERIMENTAL x", NULL, 0),
           SSLBIO_OK);
  CHECK(memcmp(a, b, sizeof(a)) == 0);
  CHECK_EQ(sslbio_conn_export_keying_material(l.s, e, sizeof(e), "EXPERIMENTAL x", "", 0),
           SSLBIO_OK);
  if (version == TLS1_2_VERSION)
    CHECK(memcmp(a, e, sizeof(a)) != 0); /* no context differs from an empty one */
  CHECK_EQ(sslbio_conn_export_keying_material(l.c, a, sizeof(a), "EXPERIMENTAL x", "ctx", 3),
           SSLBIO_OK);
  CHECK_EQ(sslbio_conn_export_keying_material(l.s, b, sizeof(b), "EXPERIMENTAL x", "ctx", 3),
           SSLBIO_OK);
  CHECK(memcmp(a, b, sizeof(a)) == 0);
  CHECK_EQ(sslbio_conn_export_keying_material(l.s, b, 0, "x", NULL, 0), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_export_keying_material(l.s, b, 8, NULL, NULL, 0), SSLBIO_EINVAL);
  long n = sslbio_conn_tls_unique(l.c, NULL, 0);
  if (version == TLS1_3_VERSION) {
    CHECK_EQ(n, 0);
  } else {
    CHECK_EQ(n, 12);
    CHECK_EQ(sslbio_conn_tls_unique(l.c, a, sizeof(a)), 12);
    CHECK_EQ(sslbio_conn_tls_unique(l.s, b, sizeof(b)), 12);
    CHECK(memcmp(a, b, 12) == 0);
  }
  t_link_free(&l);
  sslbio_ctx_free(s), sslbio_ctx_free(c);
}

static void test_exporters_tls13(void) { exporters_for(TLS1_3_VERSION); }
static void test_exporters_tls12(void) { exporters_for(TLS1_2_VERSION); }

/* ---- verification ---- */

typedef struct verdict {
  int answer;
  long seen_result;
  long chain;
  int calls;
} verdict;

static int answer_with(void *user, sslbio_conn *conn, long result) {
  verdict *v = user;
  v->seen_result = result;
  v->chain = sslbio_conn_peer_cert_count(conn);
  v->calls++;
  return v->answer;
}

/* A client with the callback, trusting ca_name, against the test server. */
static void client_verify(const char *ca_name, int answer, int want_status, long want_result,
                          const char *want_msg) {
  sslbio_ctx *s = t_server_ctx(), *c = t_client_ctx(ca_name);
  REQUIRE(s && c);
  verdict v = {answer, -1, 0, 0};
  CHECK_EQ(sslbio_ctx_set_verify_callback(c, answer_with, &v), SSLBIO_OK);
  t_link l;
  REQUIRE(t_link_init(&l, c, s, "localhost"));
  step(&l);
  CHECK_ST(l.c, l.cst, want_status);
  CHECK_EQ(v.calls, 1);
  CHECK(v.chain >= 1);
  CHECK_EQ(v.seen_result, strcmp(ca_name, "ca.pem") == 0 ? 0 : 20);
  if (want_status == SSLBIO_ERROR) {
    CHECK_EQ(sslbio_conn_verify_result(l.c), want_result);
    CHECK_STR_HAS(t_errmsg(l.c), want_msg);
  }
  t_link_free(&l);
  sslbio_ctx_free(s), sslbio_ctx_free(c);
}

static void test_verify_accepts_unknown_ca(void) {
  client_verify("other-ca.pem", 1, SSLBIO_OK, 0, "");
}
static void test_verify_rejects_valid_chain(void) {
  client_verify("ca.pem", 0, SSLBIO_ERROR, 50, "rejected by the verify callback");
}
static void test_verify_garbage_answer_rejects(void) {
  client_verify("ca.pem", 2, SSLBIO_ERROR, 50, "returned 2");
  client_verify("ca.pem", -100, SSLBIO_ERROR, 50, "returned -100");
}
static void test_verify_rejects_keeps_openssl_result(void) {
  client_verify("other-ca.pem", 0, SSLBIO_ERROR, 20, "rejected");
}

static void test_verify_deferred_client(void) {
  sslbio_ctx *s = t_server_ctx(), *c = t_client_ctx("ca.pem");
  REQUIRE(s && c);
  verdict v = {SSLBIO_WANT_VERIFY, -1, 0, 0};
  CHECK_EQ(sslbio_ctx_set_verify_callback(c, answer_with, &v), SSLBIO_OK);
  t_link l;
  REQUIRE(t_link_init(&l, c, s, "localhost"));
  CHECK_EQ(sslbio_conn_verify_done(l.c, 1), SSLBIO_EINVAL); /* nothing pending */
  step(&l);
  CHECK_ST(l.c, l.cst, SSLBIO_WANT_VERIFY);
  CHECK_EQ(sslbio_conn_peer_cert_count(l.c), v.chain);
  CHECK_ST(l.c, sslbio_conn_handshake(l.c), SSLBIO_WANT_VERIFY); /* still waiting */
  CHECK_EQ(sslbio_conn_verify_done(l.c, 1), SSLBIO_OK);
  l.cst = SSLBIO_WANT_READ;
  step(&l);
  CHECK_ST(l.c, l.cst, SSLBIO_OK);
  CHECK_ST(l.s, l.sst, SSLBIO_OK);
  CHECK_EQ(v.calls, 1);
  CHECK(t_transfer(&l, l.s, l.c, 5000, 1000));
  t_link_free(&l);
  sslbio_ctx_free(s), sslbio_ctx_free(c);
}

/* A server that verifies client certificates and defers: nothing of the
 * client's data is released before the answer, tickets come after it. */
static void server_deferred(int version, int accept) {
  sslbio_ctx *s = t_server_ctx(), *c = t_client_ctx("ca.pem");
  REQUIRE(s && c);
  sslbio_ctx_load_verify_file(s, t_cert("ca.pem"));
  sslbio_ctx_set_verify(s, SSLBIO_VERIFY_REQUIRE_PEER);
  sslbio_ctx_use_certificate_chain_file(c, t_cert("client.pem"));
  sslbio_ctx_use_private_key_file(c, t_cert("client.key"));
  sslbio_ctx_set_versions(c, version, version);
  verdict v = {SSLBIO_WANT_VERIFY, -1, 0, 0};
  CHECK_EQ(sslbio_ctx_set_verify_callback(s, answer_with, &v), SSLBIO_OK);
  t_link l;
  REQUIRE(t_link_init(&l, c, s, "localhost"));
  step(&l); /* pumps whatever drains, as an event loop does */
  CHECK_ST(l.s, l.sst, SSLBIO_WANT_VERIFY);
  /* TLS 1.2: the last flight is queued, and held for the answer */
  CHECK_EQ(sslbio_conn_pending_out(l.s), 0);
  CHECK_EQ(sslbio_conn_wants(l.s), 0);
  const void *region;
  CHECK_EQ(sslbio_conn_drain_buffer(l.s, &region), 0);
  CHECK_EQ(sslbio_conn_drain_commit(l.s, 1), SSLBIO_EINVAL);
  if (version == TLS1_2_VERSION)
    CHECK_ST(l.c, l.cst, SSLBIO_WANT_READ); /* a TLS 1.2 client waits for it */
  CHECK_EQ(v.calls, 1);
  CHECK_EQ(v.seen_result, 0);
  CHECK(v.chain >= 1);
  if (version == TLS1_3_VERSION) {
    CHECK_ST(l.c, l.cst, SSLBIO_OK); /* a TLS 1.3 client is done and may write */
    CHECK_EQ(sslbio_conn_write(l.c, "early", 5), 5);
    t_pump(&l);
  }
  char buf[64];
  CHECK_ST(l.s, sslbio_conn_read(l.s, buf, sizeof(buf)), SSLBIO_WANT_VERIFY);
  CHECK_ST(l.s, sslbio_conn_write(l.s, "x", 1), SSLBIO_WANT_VERIFY);
  CHECK_EQ(sslbio_conn_verify_done(l.s, accept), SSLBIO_OK);
  if (!accept) {
    /* Nothing OpenSSL queued after its handshake (TLS 1.2: its last
     * flight) goes out, and the refused client has no session to resume. */
    CHECK_EQ(sslbio_conn_pending_out(l.s), version == TLS1_2_VERSION ? 7 : 0); /* 1.2: an alert instead */
    t_pump(&l);
    if (version == TLS1_2_VERSION) {
      CHECK_ST(l.c, sslbio_conn_handshake(l.c), SSLBIO_ERROR);
      CHECK_STR_HAS(t_errmsg(l.c), "bad certificate");
    } else {
      CHECK(sslbio_conn_is_handshake_done(l.c)); /* 1.3 clients finish first */
    }
    CHECK_EQ(sslbio_conn_session(l.c, NULL, 0), 0);
    CHECK_ST(l.s, sslbio_conn_handshake(l.s), SSLBIO_ERROR);
    CHECK_EQ(sslbio_conn_verify_result(l.s), 50);
    CHECK_STR_HAS(t_errmsg(l.s), "rejected");
  } else {
    l.sst = SSLBIO_WANT_READ;
    step(&l);
    CHECK_ST(l.s, l.sst, SSLBIO_OK);
    CHECK_ST(l.c, l.cst, SSLBIO_OK);
    if (version == TLS1_3_VERSION) {
      CHECK_EQ(sslbio_conn_read(l.s, buf, sizeof(buf)), 5);
      CHECK(memcmp(buf, "early", 5) == 0);
      /* The ticket held for the decision arrives now. */
      CHECK_ST(l.c, sslbio_conn_read(l.c, buf, sizeof(buf)), SSLBIO_WANT_READ);
      CHECK(sslbio_conn_session(l.c, NULL, 0) > 0);
    } else { /* a TLS 1.2 ticket would have been sealed before the answer: none */
      CHECK_EQ(sslbio_conn_session(l.c, NULL, 0), 0);
    }
    CHECK(t_transfer(&l, l.c, l.s, 4000, 900));
  }
  t_link_free(&l);
  sslbio_ctx_free(s), sslbio_ctx_free(c);
}

static void test_verify_deferred_server_tls13(void) { server_deferred(TLS1_3_VERSION, 1); }
static void test_verify_deferred_server_tls12(void) { server_deferred(TLS1_2_VERSION, 1); }
static void test_verify_deferred_server_reject(void) { server_deferred(TLS1_3_VERSION, 0); }
static void test_verify_deferred_server_reject_tls12(void) { server_deferred(TLS1_2_VERSION, 0); }

/* ---- ticket keys ---- */

/* A full handshake on first, then a resumption attempt on second with the
 * session it issued; returns whether it resumed (-1 on failure). */
static int resumes(sslbio_ctx *c, sslbio_ctx *first, sslbio_ctx *second) {
  t_link l;
  if (!t_link_init(&l, c, first, "localhost") || t_handshake(&l) != SSLBIO_OK)
    return -1;
  char buf[8];
  sslbio_conn_read(l.c, buf, sizeof(buf)); /* the TLS 1.3 ticket */
  unsigned char der[4096];
  long n = sslbio_conn_session(l.c, der, sizeof(der));
  t_link_free(&l);
  if (n <= 0 || n > (long)sizeof(der))
    return -1;
  if (!t_link_init(&l, c, second, "localhost") ||
      sslbio_conn_set_session(l.c, der, (size_t)n) != SSLBIO_OK || t_handshake(&l) != SSLBIO_OK)
    return -1;
  int reused = sslbio_conn_session_reused(l.c);
  CHECK_EQ(sslbio_conn_session_reused(l.s), reused);
  t_link_free(&l);
  return reused;
}

static void test_ticket_keys_shared_and_rotated(void) {
  sslbio_ctx *s1 = t_server_ctx(), *s2 = t_server_ctx(), *s3 = t_server_ctx();
  sslbio_ctx *c = t_client_ctx("ca.pem");
  REQUIRE(s1 && s2 && s3 && c);
  unsigned char k[64];
  for (size_t i = 0; i < sizeof(k); i++)
    k[i] = (unsigned char)(i * 7 + 1);
  CHECK_EQ(sslbio_ctx_set_ticket_keys(s1, k, 32), SSLBIO_OK);
  CHECK_EQ(sslbio_ctx_set_ticket_keys(s2, k, 32), SSLBIO_OK);
  CHECK_EQ(sslbio_ctx_set_ticket_keys(s2, k, 31), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_set_ticket_keys(c, k, 32), SSLBIO_EINVAL);
  CHECK_EQ(resumes(c, s1, s2), 1);  /* same key, another context */
  CHECK_EQ(resumes(c, s1, s3), 0);  /* s3's own random key: a full handshake */
  /* Rotation on a context in use: s2 seals with a new key, still opens the old. */
  CHECK_EQ(sslbio_ctx_set_ticket_keys(s2, k + 32, 32), SSLBIO_OK);
  unsigned char rotated[64];
  memcpy(rotated, k + 32, 32);
  memcpy(rotated + 32, k, 32);
  CHECK_EQ(sslbio_ctx_set_ticket_keys(s2, rotated, 64), SSLBIO_OK);
  CHECK_EQ(resumes(c, s1, s2), 1);
  sslbio_ctx_free(s1), sslbio_ctx_free(s2), sslbio_ctx_free(s3), sslbio_ctx_free(c);
}

int main(int argc, char **argv) {
  (void)argc;
  t_init(argv[0]);
  T_RUN(test_client_hello_pause_switches_context);
  T_RUN(test_use_context_twice_then_wrapped);
  T_RUN(test_server_name_without_pause);
  T_RUN(test_reject_client_hello);
  T_RUN(test_keylog_tls13);
  T_RUN(test_keylog_tls12);
  T_RUN(test_exporters_tls13);
  T_RUN(test_exporters_tls12);
  T_RUN(test_verify_accepts_unknown_ca);
  T_RUN(test_verify_rejects_valid_chain);
  T_RUN(test_verify_garbage_answer_rejects);
  T_RUN(test_verify_rejects_keeps_openssl_result);
  T_RUN(test_verify_deferred_client);
  T_RUN(test_verify_deferred_server_tls13);
  T_RUN(test_verify_deferred_server_tls12);
  T_RUN(test_verify_deferred_server_reject);
  T_RUN(test_verify_deferred_server_reject_tls12);
  T_RUN(test_ticket_keys_shared_and_rotated);
  return t_done();
}
