/* Engine <-> engine in memory through the C API: rules 2-6 of DESIGN.md
 * (clean close vs truncation, nothing lost, partial writes, edge-triggered
 * friendliness, shutdown/half-close) and the extras (wants, key update,
 * zero-copy, reset, sessions). */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "t.h"

static sslbio_ctx *cctx, *sctx;

static int open_link(t_link *l) {
  if (!t_link_init(l, cctx, sctx, "localhost"))
    return 0;
  int st = t_handshake(l);
  if (st != SSLBIO_OK) {
    t_failf(__FILE__, __LINE__, "handshake: %s (client %s, server %s)", sslbio_strstatus(st),
            t_errmsg(l->c), t_errmsg(l->s));
    return 0;
  }
  return 1;
}

/* Read everything currently readable into out (up to cap); returns the
 * count, and the final status in *last. */
static size_t read_avail(sslbio_conn *c, char *out, size_t cap, long *last) {
  size_t got = 0;
  for (;;) {
    long r = sslbio_conn_read(c, out + got, cap - got);
    if (r <= 0 || got + (size_t)r >= cap) {
      if (r > 0)
        got += (size_t)r;
      *last = r;
      return got;
    }
    got += (size_t)r;
  }
}

static void test_handshake_and_info(void) {
  sslbio_ctx *ac = t_client_ctx("ca.pem"), *as = t_server_ctx();
  REQUIRE(ac && as);
  CHECK_EQ(sslbio_ctx_set_alpn(ac, "h2,http/1.1"), SSLBIO_OK);
  CHECK_EQ(sslbio_ctx_set_alpn(as, "http/1.1,h2"), SSLBIO_OK);
  t_link l;
  REQUIRE(t_link_init(&l, ac, as, "localhost"));
  CHECK(sslbio_conn_version(l.c) == NULL); /* NULL before the handshake */
  CHECK(!sslbio_conn_is_handshake_done(l.c));
  CHECK_EQ(t_handshake(&l), SSLBIO_OK);
  CHECK(sslbio_conn_is_handshake_done(l.c) && sslbio_conn_is_handshake_done(l.s));
  CHECK_STR_HAS(sslbio_conn_version(l.c), "TLSv1.3");
  CHECK_STR_HAS(sslbio_conn_version(l.s), "TLSv1.3");
  CHECK(sslbio_conn_cipher(l.c) != NULL && strcmp(sslbio_conn_cipher(l.c), sslbio_conn_cipher(l.s)) == 0);
  CHECK_STR_HAS(sslbio_conn_alpn(l.c), "http/1.1"); /* server's order wins */
  CHECK_STR_HAS(sslbio_conn_alpn(l.s), "http/1.1");
  CHECK_EQ(sslbio_conn_verify_result(l.c), X509_V_OK);
  long need = sslbio_conn_peer_certificate_pem(l.c, NULL, 0);
  CHECK(need > 100);
  char *pem = malloc((size_t)need + 1);
  CHECK_EQ(sslbio_conn_peer_certificate_pem(l.c, pem, (size_t)need + 1), need);
  CHECK_STR_HAS(pem, "-----BEGIN CERTIFICATE-----");
  char small[8] = "xxxxxxx";
  CHECK_EQ(sslbio_conn_peer_certificate_pem(l.c, small, sizeof(small)), need); /* too small: size only */
  free(pem);
  CHECK_EQ(sslbio_conn_peer_certificate_pem(l.s, NULL, 0), 0); /* no client certificate */
  CHECK_EQ(sslbio_conn_error(l.c, NULL, 0), 0);
  CHECK(t_transfer(&l, l.c, l.s, 1 << 20, 65536));
  CHECK(t_transfer(&l, l.s, l.c, 1 << 20, 3000));
  t_link_free(&l);
  sslbio_ctx_free(ac);
  sslbio_ctx_free(as);
}

static void test_tls12(void) {
  sslbio_ctx *c12 = t_client_ctx("ca.pem");
  REQUIRE(c12);
  CHECK_EQ(sslbio_ctx_set_versions(c12, TLS1_2_VERSION, TLS1_2_VERSION), SSLBIO_OK);
  t_link l;
  REQUIRE(t_link_init(&l, c12, sctx, "localhost"));
  CHECK_EQ(t_handshake(&l), SSLBIO_OK);
  CHECK_STR_HAS(sslbio_conn_version(l.c), "TLSv1.2");
  CHECK_STR_HAS(sslbio_conn_version(l.s), "TLSv1.2");
  CHECK(t_transfer(&l, l.c, l.s, 100000, 4096));
  /* key update is TLS 1.3 only */
  CHECK_ST(l.c, sslbio_conn_key_update(l.c, 0), SSLBIO_EINVAL);
  t_link_free(&l);
  sslbio_ctx_free(c12);
}

/* Rule 2: close_notify is CLOSED, transport EOF without it TRUNCATED. */
static void test_clean_close(void) {
  t_link l;
  REQUIRE(open_link(&l));
  CHECK_EQ(sslbio_conn_write(l.c, "bye", 3), 3);
  CHECK_ST(l.c, sslbio_conn_shutdown(l.c), SSLBIO_WANT_READ);
  CHECK(sslbio_conn_pending_out(l.c) > 0); /* close_notify queued */
  t_pump(&l);
  char buf[64];
  long last;
  size_t n = read_avail(l.s, buf, sizeof(buf), &last);
  CHECK_EQ(n, 3);
  CHECK(memcmp(buf, "bye", 3) == 0);
  CHECK_ST(l.s, last, SSLBIO_CLOSED);
  CHECK_ST(l.s, sslbio_conn_read(l.s, buf, sizeof(buf)), SSLBIO_CLOSED); /* stays closed */
  CHECK_EQ(sslbio_conn_error(l.s, NULL, 0), 0); /* a clean close is no error */
  CHECK_ST(l.s, sslbio_conn_shutdown(l.s), SSLBIO_OK); /* both close_notify exchanged */
  t_pump(&l);
  CHECK_ST(l.c, sslbio_conn_shutdown(l.c), SSLBIO_OK);
  CHECK_ST(l.c, sslbio_conn_read(l.c, buf, sizeof(buf)), SSLBIO_CLOSED);
  t_link_free(&l);
}

static void test_truncation(void) {
  t_link l;
  REQUIRE(open_link(&l));
  CHECK_EQ(sslbio_conn_write(l.c, "partial", 7), 7);
  t_pump(&l);
  CHECK_EQ(sslbio_conn_feed_eof(l.s), SSLBIO_OK); /* transport EOF, no close_notify */
  CHECK_EQ(sslbio_conn_feed_eof(l.s), SSLBIO_OK); /* idempotent */
  char buf[64];
  long last;
  size_t n = read_avail(l.s, buf, sizeof(buf), &last);
  CHECK_EQ(n, 7); /* data that arrived before the EOF is delivered first */
  CHECK_ST(l.s, last, SSLBIO_TRUNCATED);
  CHECK_ST(l.s, sslbio_conn_read(l.s, buf, sizeof(buf)), SSLBIO_TRUNCATED); /* sticky */
  CHECK(sslbio_conn_error(l.s, NULL, 0) > 0);
  CHECK_STR_HAS(t_errmsg(l.s), "read");
  CHECK_STR_HAS(t_errmsg(l.s), "unexpected eof");
  CHECK(sslbio_conn_wants(l.s) & SSLBIO_HAS_PLAINTEXT); /* readable, like a socket at EOF */
  t_link_free(&l);

  /* EOF during the handshake is a truncation too */
  REQUIRE(t_link_init(&l, cctx, sctx, "localhost"));
  CHECK_ST(l.c, sslbio_conn_handshake(l.c), SSLBIO_WANT_READ);
  CHECK_EQ(sslbio_conn_feed_eof(l.c), SSLBIO_OK);
  CHECK_ST(l.c, sslbio_conn_handshake(l.c), SSLBIO_TRUNCATED);
  t_link_free(&l);
}

static void test_ragged_eof_opt_in(void) {
  sslbio_ctx *rs = t_server_ctx();
  REQUIRE(rs);
  CHECK_EQ(sslbio_ctx_set_ragged_eof(rs, 1), SSLBIO_OK);
  t_link l;
  REQUIRE(t_link_init(&l, cctx, rs, "localhost"));
  CHECK_EQ(t_handshake(&l), SSLBIO_OK);
  CHECK_EQ(sslbio_conn_write(l.c, "data", 4), 4);
  t_pump(&l);
  sslbio_conn_feed_eof(l.s);
  char buf[64];
  long last;
  CHECK_EQ(read_avail(l.s, buf, sizeof(buf), &last), 4);
  CHECK_ST(l.s, last, SSLBIO_CLOSED); /* opted in: EOF reads as a close */
  t_link_free(&l);

  /* ... but never during the handshake */
  REQUIRE(t_link_init(&l, cctx, rs, "localhost"));
  CHECK_ST(l.c, sslbio_conn_handshake(l.c), SSLBIO_WANT_READ);
  t_pump(&l);
  sslbio_conn_feed_eof(l.s);
  CHECK_ST(l.s, sslbio_conn_handshake(l.s), SSLBIO_TRUNCATED);
  t_link_free(&l);
  sslbio_ctx_free(rs);
}

/* Rule 3: feed takes what fits and says so; the rest is the caller's. */
static void test_feed_backpressure(void) {
  t_link l;
  REQUIRE(open_link(&l));
  enum { TOTAL = 300000 };
  unsigned char *data = malloc(TOTAL);
  for (size_t i = 0; i < TOTAL; i++)
    data[i] = t_pattern(i);
  /* client writes everything; we drain all the ciphertext aside */
  t_buf wire = {0};
  size_t sent = 0;
  while (sent < TOTAL) {
    long w = sslbio_conn_write(l.c, data + sent, TOTAL - sent);
    if (w > 0)
      sent += (size_t)w;
    else
      CHECK_ST(l.c, w, SSLBIO_WANT_WRITE);
    CHECK(t_drain(l.c, &wire) >= 0);
  }
  CHECK(wire.len > TOTAL);
  /* one big feed: accepted partly, never dropped */
  long k = sslbio_conn_feed(l.s, wire.data, wire.len);
  CHECK(k > 0 && (size_t)k < wire.len);
  t_buf_consume(&wire, (size_t)k);
  /* without reading, the engine stays full: feed returns 0, nothing lost */
  long k2 = sslbio_conn_feed(l.s, wire.data, wire.len);
  CHECK(k2 >= 0);
  t_buf_consume(&wire, (size_t)k2);
  CHECK_EQ(sslbio_conn_feed(l.s, wire.data, wire.len), 0);
  /* pausing reads loses nothing: read and feed the rest, check every byte */
  unsigned char *got = malloc(TOTAL);
  size_t have = 0;
  int idle = 0;
  while (have < TOTAL && idle < 4) {
    long r = sslbio_conn_read(l.s, got + have, TOTAL - have);
    if (r > 0) {
      have += (size_t)r;
      idle = 0;
      continue;
    }
    CHECK_ST(l.s, r, SSLBIO_WANT_READ);
    long f = t_feed(&wire, l.s); /* as far as it takes; the rest stays on the wire */
    CHECK(f >= 0);
    if (f <= 0)
      idle++;
  }
  CHECK_EQ(have, TOTAL);
  CHECK(memcmp(got, data, TOTAL) == 0);
  CHECK_EQ(wire.len, 0);
  free(got);
  free(data);
  t_buf_free(&wire);
  t_link_free(&l);
}

/* Rule 3: bytes fed before the handshake starts are kept (STARTTLS), and
 * ciphertext fed one byte at a time works. */
static void test_fed_before_handshake(void) {
  t_link l;
  REQUIRE(t_link_init(&l, cctx, sctx, "localhost"));
  CHECK_ST(l.c, sslbio_conn_handshake(l.c), SSLBIO_WANT_READ);
  unsigned char hello[4096];
  long n = sslbio_conn_drain(l.c, hello, sizeof(hello));
  CHECK(n > 0);
  CHECK_EQ(sslbio_conn_pending_out(l.c), 0);
  /* the server engine gets the ClientHello before anyone calls it */
  CHECK_EQ(sslbio_conn_feed(l.s, hello, (size_t)n), n);
  CHECK(sslbio_conn_wants(l.s) & SSLBIO_HAS_PLAINTEXT); /* records buffered: call in */
  CHECK_ST(l.s, sslbio_conn_handshake(l.s), SSLBIO_WANT_READ);
  CHECK(sslbio_conn_pending_out(l.s) > 0);
  CHECK_EQ(t_handshake(&l), SSLBIO_OK);
  t_link_free(&l);

  /* byte-at-a-time delivery in both directions: each byte is accepted */
  REQUIRE(t_link_init(&l, cctx, sctx, "localhost"));
  const t_move_cfg one_byte = {.max_drain = 1};
  int cst = SSLBIO_WANT_READ, sst = SSLBIO_WANT_READ;
  for (int i = 0; i < 200000 && (cst != SSLBIO_OK || sst != SSLBIO_OK); i++) {
    if (cst != SSLBIO_OK)
      cst = sslbio_conn_handshake(l.c);
    if (sst != SSLBIO_OK)
      sst = sslbio_conn_handshake(l.s);
    if ((cst != SSLBIO_OK && cst != SSLBIO_WANT_READ) || (sst != SSLBIO_OK && sst != SSLBIO_WANT_READ))
      break;
    CHECK(t_move_with(l.c, &l.c2s, l.s, &one_byte) >= 0);
    CHECK_EQ(l.c2s.len, 0);
    CHECK(t_move_with(l.s, &l.s2c, l.c, &one_byte) >= 0);
    CHECK_EQ(l.s2c.len, 0);
  }
  CHECK_ST(l.c, cst, SSLBIO_OK);
  CHECK_ST(l.s, sst, SSLBIO_OK);
  t_link_free(&l);
}

/* Rule 4: write takes what fits, like a non-blocking socket. */
static void test_partial_write(void) {
  t_link l;
  REQUIRE(open_link(&l));
  size_t big = 1 << 20;
  unsigned char *data = malloc(big);
  for (size_t i = 0; i < big; i++)
    data[i] = t_pattern(i);
  long w = sslbio_conn_write(l.c, data, big);
  CHECK(w > 0 && (size_t)w < big); /* partial */
  size_t total = w > 0 ? (size_t)w : 0;
  long w2;
  int rounds = 0;
  while ((w2 = sslbio_conn_write(l.c, data + total, big - total)) > 0 && rounds++ < 100)
    total += (size_t)w2;
  CHECK_ST(l.c, w2, SSLBIO_WANT_WRITE); /* nothing drained: blocked, not failed */
  /* moving write buffer: retry the same bytes from another address after
   * draining (OpenSSL may hold a record it could not hand over: the retry
   * must carry the same bytes, wherever they are) */
  unsigned char *copy = malloc(big - total);
  memcpy(copy, data + total, big - total);
  unsigned char sink[65536];
  size_t got = 0;
  int tries = 0;
  do {
    t_move(l.c, &l.c2s, l.s);
    long r;
    while ((r = sslbio_conn_read(l.s, sink, sizeof(sink))) > 0) {
      CHECK(memcmp(sink, data + got, (size_t)r) == 0);
      got += (size_t)r;
    }
    w2 = sslbio_conn_write(l.c, copy, big - total);
  } while (w2 == SSLBIO_WANT_WRITE && tries++ < 200);
  CHECK_ST(l.c, w2 > 0 ? 1 : w2, 1);
  total += w2 > 0 ? (size_t)w2 : 0;
  for (int i = 0; i < 200 && got < total; i++) { /* everything taken arrives intact */
    t_move(l.c, &l.c2s, l.s);
    long r;
    while ((r = sslbio_conn_read(l.s, sink, sizeof(sink))) > 0) {
      CHECK(memcmp(sink, data + got, (size_t)r) == 0);
      got += (size_t)r;
    }
  }
  CHECK_EQ(got, total);
  free(copy);
  free(data);
  t_link_free(&l);
  /* and a whole 1 MiB transfer with 1 MiB writes */
  REQUIRE(open_link(&l));
  CHECK(t_transfer(&l, l.c, l.s, big, big));
  t_link_free(&l);
}

/* Rule 5: application data in the same flight as the last handshake
 * message is readable at once (an edge-triggered loop gets no new event). */
static void test_et_same_flight(void) {
  for (int v = 0; v < 2; v++) {
    sslbio_ctx *c = t_client_ctx("ca.pem");
    REQUIRE(c);
    if (v == 1)
      sslbio_ctx_set_versions(c, TLS1_2_VERSION, TLS1_2_VERSION);
    t_link l;
    REQUIRE(t_link_init(&l, c, sctx, "localhost"));
    /* client: drive until it completes, but hold its last flight */
    CHECK_ST(l.c, sslbio_conn_handshake(l.c), SSLBIO_WANT_READ);
    t_move(l.c, &l.c2s, l.s);
    CHECK_ST(l.s, sslbio_conn_handshake(l.s), SSLBIO_WANT_READ);
    t_move(l.s, &l.s2c, l.c);
    int st = sslbio_conn_handshake(l.c);
    if (v == 1) { /* TLS 1.2: one more round trip */
      CHECK_ST(l.c, st, SSLBIO_WANT_READ);
      t_move(l.c, &l.c2s, l.s);
      /* server completes and answers with its Finished + data in one flight */
      CHECK_ST(l.s, sslbio_conn_handshake(l.s), SSLBIO_OK);
      CHECK_EQ(sslbio_conn_write(l.s, "server-first", 12), 12);
      t_move(l.s, &l.s2c, l.c);
      CHECK_ST(l.c, sslbio_conn_handshake(l.c), SSLBIO_OK);
      CHECK(sslbio_conn_wants(l.c) & SSLBIO_HAS_PLAINTEXT);
      char buf[64];
      CHECK_EQ(sslbio_conn_read(l.c, buf, sizeof(buf)), 12);
      CHECK(memcmp(buf, "server-first", 12) == 0);
    } else {
      CHECK_ST(l.c, st, SSLBIO_OK);
      /* client Finished and its first data leave together */
      CHECK_EQ(sslbio_conn_write(l.c, "hello in the same flight", 24), 24);
      unsigned char flight[8192];
      long n = sslbio_conn_drain(l.c, flight, sizeof(flight));
      CHECK(n > 24);
      CHECK_EQ(sslbio_conn_feed(l.s, flight, (size_t)n), n); /* one event */
      CHECK_ST(l.s, sslbio_conn_handshake(l.s), SSLBIO_OK);
      CHECK(sslbio_conn_wants(l.s) & SSLBIO_HAS_PLAINTEXT);
      char buf[64];
      CHECK_EQ(sslbio_conn_read(l.s, buf, sizeof(buf)), 24); /* no WANT_READ first */
      CHECK(memcmp(buf, "hello in the same flight", 24) == 0);
      CHECK_ST(l.s, sslbio_conn_read(l.s, buf, sizeof(buf)), SSLBIO_WANT_READ);
      /* server: ticket and data in one flight; the client reads data at once */
      CHECK_EQ(sslbio_conn_write(l.s, "reply", 5), 5);
      t_move(l.s, &l.s2c, l.c);
      CHECK_EQ(sslbio_conn_read(l.c, buf, sizeof(buf)), 5);
    }
    t_link_free(&l);
    sslbio_ctx_free(c);
  }
  /* a server that only ever calls read (the handshake is driven implicitly) */
  t_link l;
  REQUIRE(t_link_init(&l, cctx, sctx, "localhost"));
  char buf[64];
  for (int i = 0; i < 10 && sslbio_conn_handshake(l.c) != SSLBIO_OK; i++) {
    t_move(l.c, &l.c2s, l.s);
    CHECK_ST(l.s, sslbio_conn_read(l.s, buf, sizeof(buf)), SSLBIO_WANT_READ);
    t_move(l.s, &l.s2c, l.c);
  }
  CHECK_EQ(sslbio_conn_write(l.c, "implicit", 8), 8);
  t_move(l.c, &l.c2s, l.s);
  CHECK_EQ(sslbio_conn_read(l.s, buf, sizeof(buf)), 8);
  CHECK(sslbio_conn_is_handshake_done(l.s));
  t_link_free(&l);
}

/* Rule 6: shutdown sends close_notify; reading afterwards still works. */
static void test_half_close(void) {
  t_link l;
  char buf[64];
  REQUIRE(t_link_init(&l, cctx, sctx, "localhost"));
  CHECK_ST(l.c, sslbio_conn_shutdown(l.c), SSLBIO_EINVAL); /* before the handshake */
  CHECK_STR_HAS(t_errmsg(l.c), "shutdown");
  CHECK_EQ(t_handshake(&l), SSLBIO_OK);
  CHECK_ST(l.c, sslbio_conn_shutdown(l.c), SSLBIO_WANT_READ);
  CHECK_ST(l.c, sslbio_conn_shutdown(l.c), SSLBIO_WANT_READ); /* again: still waiting */
  CHECK_ST(l.c, sslbio_conn_write(l.c, "x", 1), SSLBIO_EINVAL); /* write after close_notify */
  CHECK_EQ(sslbio_conn_write(l.s, "after", 5), 5);                /* crosses our close_notify */
  t_pump(&l);
  long last;
  CHECK_EQ(read_avail(l.c, buf, sizeof(buf), &last), 5); /* half-close: still reading */
  CHECK(memcmp(buf, "after", 5) == 0);
  CHECK_ST(l.c, last, SSLBIO_WANT_READ);
  CHECK_ST(l.s, sslbio_conn_read(l.s, buf, sizeof(buf)), SSLBIO_CLOSED);
  /* the server may keep sending after it saw our close_notify */
  CHECK_EQ(sslbio_conn_write(l.s, "more", 4), 4);
  CHECK_ST(l.s, sslbio_conn_shutdown(l.s), SSLBIO_OK);
  t_pump(&l);
  CHECK_ST(l.c, sslbio_conn_shutdown(l.c), SSLBIO_WANT_READ); /* "more" is not read yet */
  CHECK_EQ(read_avail(l.c, buf, sizeof(buf), &last), 4);
  CHECK(memcmp(buf, "more", 4) == 0);
  CHECK_ST(l.c, last, SSLBIO_CLOSED);
  CHECK_ST(l.c, sslbio_conn_shutdown(l.c), SSLBIO_OK);
  t_link_free(&l);
}

static void test_wants(void) {
  t_link l;
  REQUIRE(t_link_init(&l, cctx, sctx, "localhost"));
  CHECK_EQ(sslbio_conn_wants(NULL), 0);
  CHECK_EQ(sslbio_conn_wants(l.c), 0); /* client: call handshake first */
  CHECK_EQ(sslbio_conn_wants(l.s), SSLBIO_WANTS_READ);
  sslbio_conn_handshake(l.c);
  CHECK_EQ(sslbio_conn_wants(l.c), SSLBIO_WANTS_READ | SSLBIO_WANTS_WRITE);
  CHECK_EQ(t_handshake(&l), SSLBIO_OK);
  t_pump(&l);
  CHECK_EQ(sslbio_conn_wants(l.s), SSLBIO_WANTS_READ);
  CHECK_EQ(sslbio_conn_write(l.s, "ping", 4), 4);
  CHECK_EQ(sslbio_conn_wants(l.s), SSLBIO_WANTS_READ | SSLBIO_WANTS_WRITE);
  t_pump(&l);
  /* the client has the ticket and the data buffered: readable */
  CHECK_EQ(sslbio_conn_wants(l.c), SSLBIO_HAS_PLAINTEXT);
  CHECK_EQ(sslbio_conn_wants(l.c), SSLBIO_HAS_PLAINTEXT); /* asking twice changes nothing */
  char buf[16];
  CHECK_EQ(sslbio_conn_read(l.c, buf, 2), 2);
  CHECK_EQ(sslbio_conn_wants(l.c), SSLBIO_HAS_PLAINTEXT); /* 2 bytes left */
  CHECK_EQ(sslbio_conn_read(l.c, buf, sizeof(buf)), 2);
  CHECK_EQ(sslbio_conn_wants(l.c), SSLBIO_WANTS_READ);
  sslbio_conn_feed_eof(l.c);
  CHECK(sslbio_conn_wants(l.c) & SSLBIO_HAS_PLAINTEXT);
  t_link_free(&l);
}

static void test_key_update(void) {
  t_link l;
  REQUIRE(t_link_init(&l, cctx, sctx, "localhost"));
  CHECK_ST(l.c, sslbio_conn_key_update(l.c, 1), SSLBIO_EINVAL); /* before the handshake */
  CHECK_EQ(t_handshake(&l), SSLBIO_OK);
  for (int peer = 0; peer < 2; peer++) {
    CHECK_ST(l.c, sslbio_conn_key_update(l.c, peer), SSLBIO_OK);
    CHECK(sslbio_conn_pending_out(l.c) > 0);
    t_pump(&l);
    char buf[16];
    CHECK_ST(l.s, sslbio_conn_read(l.s, buf, sizeof(buf)), SSLBIO_WANT_READ);
    if (peer) { /* the server answers with its own KeyUpdate on its next write */
      CHECK_EQ(sslbio_conn_write(l.s, "k", 1), 1);
      t_pump(&l);
      CHECK_EQ(sslbio_conn_read(l.c, buf, sizeof(buf)), 1);
    }
    CHECK(t_transfer(&l, l.c, l.s, 50000, 7000));
    CHECK(t_transfer(&l, l.s, l.c, 50000, 7000));
  }
  CHECK_ST(l.s, sslbio_conn_key_update(l.s, 1), SSLBIO_OK); /* server side too */
  CHECK(t_transfer(&l, l.s, l.c, 1000, 1000));
  t_link_free(&l);
}

/* Zero-copy feed_buffer/commit and drain_buffer/commit for a whole
 * connection: the mover's zero-copy mode (every commit checked there). */
static void zc_move(t_link *l, sslbio_conn *from) {
  static const t_move_cfg zc = {.zero_copy = 1};
  int c2s = from == l->c;
  long n = t_move_with(from, c2s ? &l->c2s : &l->s2c, c2s ? l->s : l->c, &zc);
  CHECK(n >= 0);
}

static void test_zero_copy(void) {
  t_link l;
  REQUIRE(t_link_init(&l, cctx, sctx, "localhost"));
  void *p = (void *)1;
  const void *cp = (const void *)1;
  CHECK_EQ(sslbio_conn_drain_buffer(l.c, &cp), 0); /* nothing yet */
  CHECK(cp == NULL);
  CHECK_EQ(sslbio_conn_drain_commit(l.c, 0), 0);
  CHECK_ST(l.c, sslbio_conn_drain_commit(l.c, 1), SSLBIO_EINVAL);
  long room = sslbio_conn_feed_buffer(l.c, &p);
  CHECK(room > 0 && p != NULL);
  CHECK_ST(l.c, sslbio_conn_feed_commit(l.c, (size_t)room + 1), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_feed_buffer(l.c, NULL), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_drain_buffer(l.c, NULL), SSLBIO_EINVAL);
  int cst = SSLBIO_WANT_READ, sst = SSLBIO_WANT_READ;
  for (int i = 0; i < 20 && (cst != SSLBIO_OK || sst != SSLBIO_OK); i++) {
    if (cst != SSLBIO_OK)
      cst = sslbio_conn_handshake(l.c);
    if (sst != SSLBIO_OK)
      sst = sslbio_conn_handshake(l.s);
    zc_move(&l, l.c);
    zc_move(&l, l.s);
  }
  CHECK_ST(l.c, cst, SSLBIO_OK);
  CHECK_ST(l.s, sst, SSLBIO_OK);
  /* 512 KiB through the zero-copy path, with ring-buffer wrap-around */
  size_t total = 512 * 1024, sent = 0, got = 0;
  unsigned char *out = malloc(total), in[5000];
  for (size_t i = 0; i < total; i++)
    out[i] = t_pattern(i);
  for (int idle = 0; got < total && idle < 5;) {
    size_t before = got;
    if (sent < total) {
      long w = sslbio_conn_write(l.c, out + sent, total - sent < 7777 ? total - sent : 7777);
      if (w > 0)
        sent += (size_t)w;
    }
    zc_move(&l, l.c);
    long r;
    while ((r = sslbio_conn_read(l.s, in, sizeof(in))) > 0) {
      CHECK(memcmp(in, out + got, (size_t)r) == 0);
      got += (size_t)r;
    }
    idle = got == before && sent == total ? idle + 1 : 0;
  }
  CHECK_EQ(got, total);
  free(out);
  /* after feed_eof there is nowhere to put ciphertext */
  sslbio_conn_feed_eof(l.s);
  CHECK_ST(l.s, sslbio_conn_feed_buffer(l.s, &p), SSLBIO_EINVAL);
  t_link_free(&l);
}

static void test_reset(void) {
  t_link l;
  REQUIRE(open_link(&l));
  CHECK(t_transfer(&l, l.c, l.s, 20000, 20000));
  /* second connection on the same engines */
  t_buf_free(&l.c2s);
  t_buf_free(&l.s2c);
  CHECK_EQ(sslbio_conn_reset(l.c, "localhost"), SSLBIO_OK);
  CHECK_EQ(sslbio_conn_reset(l.s, NULL), SSLBIO_OK);
  CHECK(!sslbio_conn_is_handshake_done(l.c));
  CHECK_EQ(sslbio_conn_pending_out(l.c), 0);
  l.cst = l.sst = SSLBIO_WANT_READ;
  CHECK_EQ(t_handshake(&l), SSLBIO_OK);
  CHECK(t_transfer(&l, l.s, l.c, 20000, 999));
  /* a dead engine (truncated) comes back too */
  sslbio_conn_feed_eof(l.s);
  char buf[16];
  CHECK_ST(l.s, sslbio_conn_read(l.s, buf, sizeof(buf)), SSLBIO_TRUNCATED);
  CHECK_EQ(sslbio_conn_reset(l.s, NULL), SSLBIO_OK);
  CHECK_EQ(sslbio_conn_error(l.s, NULL, 0), 0); /* error forgotten */
  CHECK_EQ(sslbio_conn_reset(l.c, "127.0.0.1"), SSLBIO_OK); /* a new name: IP address */
  t_buf_free(&l.c2s);
  t_buf_free(&l.s2c);
  l.cst = l.sst = SSLBIO_WANT_READ;
  CHECK_EQ(t_handshake(&l), SSLBIO_OK);
  CHECK(t_transfer(&l, l.c, l.s, 1000, 1000));
  /* reset to a name the certificate does not have: verification fails */
  t_buf_free(&l.c2s);
  t_buf_free(&l.s2c);
  CHECK_EQ(sslbio_conn_reset(l.c, "wrong.example"), SSLBIO_OK);
  CHECK_EQ(sslbio_conn_reset(l.s, NULL), SSLBIO_OK);
  l.cst = l.sst = SSLBIO_WANT_READ;
  CHECK_EQ(t_handshake(&l), SSLBIO_ERROR);
  CHECK_EQ(sslbio_conn_verify_result(l.c), X509_V_ERR_HOSTNAME_MISMATCH);
  CHECK_EQ(sslbio_conn_reset(NULL, NULL), SSLBIO_EINVAL);
  t_link_free(&l);
}

static long get_session(sslbio_conn *c, unsigned char **der) {
  long n = sslbio_conn_session(c, NULL, 0);
  if (n <= 0)
    return n;
  *der = malloc((size_t)n);
  CHECK_EQ(sslbio_conn_session(c, *der, (size_t)n), n);
  return n;
}

static void test_session(void) {
  for (int v = 0; v < 2; v++) {
    sslbio_ctx *c = t_client_ctx("ca.pem");
    REQUIRE(c);
    if (v == 1)
      sslbio_ctx_set_versions(c, TLS1_2_VERSION, TLS1_2_VERSION);
    t_link l;
    REQUIRE(t_link_init(&l, c, sctx, "localhost"));
    CHECK_EQ(sslbio_conn_session(l.c, NULL, 0), 0); /* nothing before the handshake */
    CHECK_EQ(t_handshake(&l), SSLBIO_OK);
    char buf[16];
    if (v == 0) {
      CHECK_EQ(sslbio_conn_session(l.c, NULL, 0), 0); /* TLS 1.3: ticket not read yet */
      CHECK_ST(l.c, sslbio_conn_read(l.c, buf, sizeof(buf)), SSLBIO_WANT_READ);
    }
    unsigned char *der = NULL;
    long n = get_session(l.c, &der);
    REQUIRE(n > 0);
    unsigned char tiny[4];
    CHECK_EQ(sslbio_conn_session(l.c, tiny, sizeof(tiny)), n); /* size only */
    CHECK_ST(l.s, sslbio_conn_set_session(l.s, der, (size_t)n), SSLBIO_EINVAL); /* server */
    CHECK_ST(l.c, sslbio_conn_set_session(l.c, der, (size_t)n), SSLBIO_EINVAL); /* too late */
    t_link_free(&l);

    /* resume in a fresh engine of a fresh context (a session moves freely) */
    sslbio_ctx *c2 = t_client_ctx("ca.pem");
    REQUIRE(c2);
    if (v == 1) /* a TLS 1.2 session resumes only in a TLS 1.2 handshake */
      sslbio_ctx_set_versions(c2, TLS1_2_VERSION, TLS1_2_VERSION);
    t_link r;
    REQUIRE(t_link_init(&r, c2, sctx, "localhost")); /* host names are case-insensitive */
    CHECK_EQ(sslbio_conn_set_session(r.c, der, (size_t)n), SSLBIO_OK);
    CHECK_EQ(t_handshake(&r), SSLBIO_OK);
    CHECK_EQ(SSL_session_reused(sslbio_conn_openssl(r.c)), 1);
    CHECK(t_transfer(&r, r.c, r.s, 1000, 1000));
    t_link_free(&r);

    /* refused for another server name: resumption would skip its check */
    sslbio_conn *other = sslbio_conn_new(c2, "127.0.0.1");
    REQUIRE(other);
    CHECK_ST(other, sslbio_conn_set_session(other, der, (size_t)n), SSLBIO_EINVAL);
    CHECK_STR_HAS(t_errmsg(other), "localhost");
    CHECK_ST(other, sslbio_conn_set_session(other, "garbage", 7), SSLBIO_EINVAL);
    CHECK_ST(other, sslbio_conn_set_session(other, NULL, 5), SSLBIO_EINVAL);
    CHECK_EQ(sslbio_conn_set_session(NULL, der, (size_t)n), SSLBIO_EINVAL);
    sslbio_conn_free(other);
    free(der);
    sslbio_ctx_free(c2);
    sslbio_ctx_free(c);
  }
}

/* Garbage ciphertext: a clear error, sticky, never a crash. */
static void test_garbage(void) {
  t_link l;
  REQUIRE(t_link_init(&l, cctx, sctx, "localhost"));
  const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  CHECK_EQ(sslbio_conn_feed(l.s, req, sizeof(req) - 1), (long)sizeof(req) - 1);
  CHECK_ST(l.s, sslbio_conn_handshake(l.s), SSLBIO_ERROR);
  unsigned long code = sslbio_conn_error_code(l.s);
  CHECK(code != 0);
  CHECK(ERR_reason_error_string(code) != NULL);
  CHECK_STR_HAS(t_errmsg(l.s), "handshake");
  CHECK_STR_HAS(t_errmsg(l.s), ERR_reason_error_string(code));
  CHECK_EQ(ERR_peek_error(), 0); /* the queue was moved into the conn */
  CHECK_ST(l.s, sslbio_conn_handshake(l.s), SSLBIO_ERROR); /* sticky */
  char buf[16];
  CHECK_ST(l.s, sslbio_conn_read(l.s, buf, sizeof(buf)), SSLBIO_ERROR);
  CHECK_EQ(sslbio_conn_error_code(l.s), code);
  /* error message API: truncation and size */
  long need = sslbio_conn_error(l.s, NULL, 0);
  CHECK(need > 10);
  char small[8];
  CHECK_EQ(sslbio_conn_error(l.s, small, sizeof(small)), need);
  CHECK_EQ(strlen(small), sizeof(small) - 1);
  t_link_free(&l);

  /* garbage after a good handshake */
  REQUIRE(open_link(&l));
  unsigned char junk[600];
  for (size_t i = 0; i < sizeof(junk); i++)
    junk[i] = (unsigned char)(i * 7 + 3);
  junk[0] = 23, junk[1] = 3, junk[2] = 3, junk[3] = 2, junk[4] = 0; /* app data record header */
  CHECK(sslbio_conn_feed(l.c, junk, sizeof(junk)) > 0);
  CHECK_ST(l.c, sslbio_conn_read(l.c, buf, sizeof(buf)), SSLBIO_ERROR);
  CHECK_STR_HAS(t_errmsg(l.c), "read");
  t_link_free(&l);
}

int main(void) {
  t_init("test_engine");
  cctx = t_client_ctx("ca.pem");
  sctx = t_server_ctx();
  if (!cctx || !sctx)
    return 2;
  T_RUN(test_handshake_and_info);
  T_RUN(test_tls12);
  T_RUN(test_clean_close);
  T_RUN(test_truncation);
  T_RUN(test_ragged_eof_opt_in);
  T_RUN(test_feed_backpressure);
  T_RUN(test_fed_before_handshake);
  T_RUN(test_partial_write);
  T_RUN(test_et_same_flight);
  T_RUN(test_half_close);
  T_RUN(test_wants);
  T_RUN(test_key_update);
  T_RUN(test_zero_copy);
  T_RUN(test_reset);
  T_RUN(test_session);
  T_RUN(test_garbage);
  sslbio_ctx_free(cctx);
  sslbio_ctx_free(sctx);
  return t_done();
}
