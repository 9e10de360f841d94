/* Regression tests for what the operation-sequence fuzzer (fuzz/c/fuzz_ops.h)
 * found in the engine, one test per finding; the input that found it is in
 * fuzz/c/ops-regressions/ (replayed by `make test` too). */
#include "t.h"

#include <string.h>

/* wants() during the handshake with a partial record fed: the first call
 * may say "call into the engine" (HAS_PLAINTEXT), but once a call took the
 * bytes and asked for more, wants() must say WANTS_READ: saying
 * HAS_PLAINTEXT again made an event loop spin instead of waiting for the
 * peer (ops-regressions/wants-spin-partial-record). */
static void test_wants_partial_handshake_record(void) {
  sslbio_ctx *s = t_server_ctx(), *c = t_client_ctx("ca.pem");
  REQUIRE(s && c);
  t_link l;
  REQUIRE(t_link_init(&l, c, s, "localhost"));
  CHECK_ST(l.c, sslbio_conn_handshake(l.c), SSLBIO_WANT_READ);
  t_buf hello = {0};
  REQUIRE(t_drain(l.c, &hello) > 60);
  CHECK_EQ(sslbio_conn_feed(l.s, hello.data, 50), 50); /* the record is longer */
  CHECK(sslbio_conn_wants(l.s) & SSLBIO_HAS_PLAINTEXT); /* call into the engine */
  CHECK_ST(l.s, sslbio_conn_handshake(l.s), SSLBIO_WANT_READ);
  CHECK_EQ(sslbio_conn_wants(l.s), SSLBIO_WANTS_READ); /* not HAS_PLAINTEXT again */
  unsigned char buf[64];
  CHECK_ST(l.s, sslbio_conn_read(l.s, buf, sizeof(buf)), SSLBIO_WANT_READ);
  CHECK_EQ(sslbio_conn_wants(l.s), SSLBIO_WANTS_READ);
  /* The rest arrives: the handshake goes on. */
  CHECK_EQ(sslbio_conn_feed(l.s, hello.data + 50, hello.len - 50), (long)hello.len - 50);
  CHECK(sslbio_conn_wants(l.s) & SSLBIO_HAS_PLAINTEXT);
  CHECK_ST(l.s, sslbio_conn_handshake(l.s), SSLBIO_WANT_READ);
  CHECK(sslbio_conn_wants(l.s) & SSLBIO_WANTS_WRITE);
  l.cst = SSLBIO_WANT_READ, l.sst = SSLBIO_WANT_READ;
  CHECK_EQ(t_handshake(&l), SSLBIO_OK);
  t_buf_free(&hello);
  t_link_free(&l);
  sslbio_ctx_free(s), sslbio_ctx_free(c);
}

/* A server paused at the ClientHello, then reset (or freed): OpenSSL keeps
 * the parsed ClientHello until the handshake goes on, and SSL_clear does
 * not free it, so the next handshake leaked it (LeakSanitizer: 656 + 1040
 * bytes; ops-regressions/leak-reset-paused-hello). */
static void test_reset_while_paused_at_client_hello(void) {
  sslbio_ctx *s = t_server_ctx(), *c = t_client_ctx("ca.pem");
  REQUIRE(s && c);
  CHECK_EQ(sslbio_ctx_set_client_hello_pause(s, 1), SSLBIO_OK);
  for (int round = 0; round < 2; round++) {
    t_link l;
    REQUIRE(t_link_init(&l, c, s, "localhost"));
    CHECK_ST(l.c, sslbio_conn_handshake(l.c), SSLBIO_WANT_READ);
    t_pump(&l);
    CHECK_ST(l.s, sslbio_conn_handshake(l.s), SSLBIO_WANT_CLIENT_HELLO);
    if (round == 1) { /* freed while paused */
      t_link_free(&l);
      continue;
    }
    CHECK_EQ(sslbio_conn_reset(l.s, NULL), SSLBIO_OK);
    CHECK_EQ(sslbio_conn_reset(l.c, "localhost"), SSLBIO_OK);
    CHECK_EQ(sslbio_conn_pending_out(l.s), 0);
    char msg[64];
    CHECK_EQ(sslbio_conn_error(l.s, msg, sizeof(msg)), 0); /* a new connection, no error */
    t_buf_free(&l.c2s), t_buf_free(&l.s2c);
    l.cst = l.sst = SSLBIO_WANT_READ;
    for (int i = 0; i < 8; i++) { /* a new handshake, paused and resumed */
      l.cst = sslbio_conn_handshake(l.c);
      l.sst = sslbio_conn_handshake(l.s);
      t_pump(&l);
    }
    CHECK_ST(l.s, sslbio_conn_handshake(l.s), SSLBIO_OK);
    CHECK_ST(l.c, sslbio_conn_handshake(l.c), SSLBIO_OK);
    CHECK(t_transfer(&l, l.c, l.s, 1000, 333));
    t_link_free(&l);
  }
  sslbio_ctx_free(s), sslbio_ctx_free(c);
}

int main(int argc, char **argv) {
  (void)argc;
  t_init(argv[0]);
  T_RUN(test_wants_partial_handshake_record);
  T_RUN(test_reset_while_paused_at_client_hello);
  return t_done();
}
