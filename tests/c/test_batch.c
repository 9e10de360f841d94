/* The batched calls sslbio_conn_write_drain and sslbio_conn_feed_read,
 * engine <-> engine in memory: a whole connection driven by them alone
 * (TLS 1.3 and 1.2), a 64-byte ping-pong, 1 MiB in random pieces with `out`
 * buffers too small for what is pending (nothing lost), feed_read with
 * len 0 and under backpressure, argument checks, a fatal error whose alert
 * stays queued for drain, calls on dead and closed engines, clean close,
 * and the run-time table. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "t.h"

static sslbio_ctx *cctx, *sctx;

/* ---- a seeded generator: a failure replays with T_SEED=<seed> ---- */

static unsigned long long rng_state;

static void rng_init(void) {
  const char *s = getenv("T_SEED");
  rng_state = s ? strtoull(s, NULL, 10)
                : (unsigned long long)time(NULL) * 1000003u ^ (unsigned long long)getpid();
  printf("random seed %llu (T_SEED=%llu replays it)\n", rng_state, rng_state);
  rng_state = rng_state * 0x9e3779b97f4a7c15ull + 1;
}

/* Uniform in [lo, hi]. */
static size_t rnd(size_t lo, size_t hi) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return lo + (size_t)(rng_state % (unsigned long long)(hi - lo + 1));
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

static int is_want(long st) { return st == SSLBIO_WANT_READ || st == SSLBIO_WANT_WRITE; }

/* ---- moving ciphertext with the batched calls ----
 * The link's queues hold what one side drained and the other has not
 * accepted yet: c2s for the client's, s2c for the server's. */

static t_buf *queue_from(t_link *l, const sslbio_conn *from) {
  return from == l->c ? &l->c2s : &l->s2c;
}
static t_buf *queue_to(t_link *l, const sslbio_conn *to) { return to == l->c ? &l->s2c : &l->c2s; }

/* write_drain's `out`. */
static unsigned char scratch[64 * 1024];

/* sslbio_conn_write_drain on from with an `out` of cap bytes (at most
 * sizeof(scratch)); what it drained joins from's queue, its count goes to
 * *drained (if not NULL). Checks what holds for every call: drained <= cap,
 * nothing drained after a fatal error (the ciphertext stays pending), and a
 * drain shorter than cap took everything. Returns the write's result. */
static long wd(t_link *l, sslbio_conn *from, const void *buf, size_t len, size_t cap,
               size_t *drained) {
  long before = sslbio_conn_pending_out(from);
  size_t d = (size_t)-1;
  long r = sslbio_conn_write_drain(from, buf, len, scratch, cap, &d);
  CHECK(d <= cap);
  if (d > cap)
    d = 0;
  if (r < 0 && !is_want(r)) {
    CHECK_EQ(d, 0);
    CHECK(sslbio_conn_pending_out(from) >= before);
  } else if (d < cap) {
    CHECK_EQ(sslbio_conn_pending_out(from), 0);
  }
  t_buf_append(queue_from(l, from), scratch, d);
  if (drained != NULL)
    *drained = d;
  return r;
}

/* The rest of from's ciphertext with plain sslbio_conn_drain, in random
 * pieces, onto from's queue (the mover's drain half); returns the count. */
static size_t rnd_piece(void *arg) {
  (void)arg;
  return rnd(1, sizeof(scratch));
}
static size_t drain_rest(t_link *l, sslbio_conn *from) {
  static const t_move_cfg pieces = {.piece_fn = rnd_piece};
  long n = t_drain_with(from, queue_from(l, from), &pieces);
  CHECK(n >= 0);
  CHECK_EQ(sslbio_conn_pending_out(from), 0);
  return n > 0 ? (size_t)n : 0;
}

/* sslbio_conn_feed_read on to: up to max_feed bytes of the ciphertext
 * queued for it (len 0 when none), then a read of up to cap bytes into buf.
 * What the feed accepted leaves the queue, the rest is kept; the count goes
 * to *fed (if not NULL). Returns the read's result. */
static long fr(t_link *l, sslbio_conn *to, size_t max_feed, void *buf, size_t cap, size_t *fed) {
  t_buf *q = queue_to(l, to);
  size_t len = min_size(q->len, max_feed);
  size_t f = (size_t)-1;
  long r = sslbio_conn_feed_read(to, len ? q->data : NULL, len, &f, buf, cap);
  CHECK(f <= len);
  if (f > len)
    f = 0;
  t_buf_consume(q, f);
  if (fed != NULL)
    *fed = f;
  return r;
}

/* msg (one record's worth) from -> to with one write_drain and one
 * feed_read, each doing its whole job in that one call. */
static void hop(t_link *l, sslbio_conn *from, sslbio_conn *to, const void *msg, size_t len) {
  unsigned char got[1024];
  size_t drained, fed;
  REQUIRE(len <= sizeof(got));
  CHECK_ST(from, wd(l, from, msg, len, sizeof(scratch), &drained), (long)len);
  CHECK(drained > len); /* the record: header, ciphertext, tag */
  size_t queued = queue_to(l, to)->len;
  CHECK_ST(to, fr(l, to, SIZE_MAX, got, len, &fed), (long)len);
  CHECK_EQ(fed, queued);
  CHECK(memcmp(got, msg, len) == 0);
}

/* ---- a handshake driven by the batched calls alone ----
 * Each side writes its first message with write_drain (which drives the
 * handshake implicitly and drains the flight it produced) and reads the
 * other's with feed_read. The steps and their results are the protocol's:
 * in TLS 1.2 the client's data waits one more round trip. */

enum { CLIENT, SERVER };
enum { WD, FR };
typedef struct step {
  int side, op;
  long want; /* the call's result; a count means the side's message */
} step;

#define MSG_LEN 4L
static const char *const first_msg[2] = {"ping", "pong"};

static const step script13[] = {
    {CLIENT, WD, SSLBIO_WANT_READ}, /* ClientHello */
    {SERVER, FR, SSLBIO_WANT_READ}, /* reads it, writes its flight */
    {SERVER, WD, SSLBIO_WANT_READ}, /* drains ServerHello .. Finished */
    {CLIENT, FR, SSLBIO_WANT_READ}, /* done; its Finished is pending */
    {CLIENT, WD, MSG_LEN},          /* Finished + "ping" */
    {SERVER, FR, MSG_LEN},
    {SERVER, WD, MSG_LEN}, /* tickets + "pong" */
    {CLIENT, FR, MSG_LEN},
};
static const step script12[] = {
    {CLIENT, WD, SSLBIO_WANT_READ}, {SERVER, FR, SSLBIO_WANT_READ},
    {SERVER, WD, SSLBIO_WANT_READ}, {CLIENT, FR, SSLBIO_WANT_READ},
    {CLIENT, WD, SSLBIO_WANT_READ}, /* key exchange .. Finished; "ping" must wait */
    {SERVER, FR, SSLBIO_WANT_READ}, /* done; its Finished is pending */
    {SERVER, WD, MSG_LEN},          /* Finished + "pong" */
    {CLIENT, FR, MSG_LEN},
    {CLIENT, WD, MSG_LEN},
    {SERVER, FR, MSG_LEN},
};

/* Runs the script on a fresh link (cctx_v: the client context, which picks
 * the version); 1 when both handshakes completed as scripted. */
static int batch_handshake(t_link *l, sslbio_ctx *cctx_v, const step *script, size_t n_steps) {
  if (!t_link_init(l, cctx_v, sctx, "localhost"))
    return 0;
  int before = t_failures();
  for (size_t i = 0; i < n_steps; i++) {
    const step *st = &script[i];
    sslbio_conn *self = st->side == CLIENT ? l->c : l->s;
    const char *msg = first_msg[st->side];
    if (st->op == WD) {
      size_t drained;
      long r = wd(l, self, msg, MSG_LEN, sizeof(scratch), &drained);
      if (r != st->want)
        t_failf(__FILE__, __LINE__, "step %zu: write_drain = %ld (%s), want %ld [%s]", i, r,
                r > 0 ? "count" : sslbio_strstatus((int)r), st->want, t_errmsg(self));
      CHECK(drained > 0); /* every write_drain of the script has a flight to send */
      CHECK_EQ(sslbio_conn_pending_out(self), 0);
    } else {
      char got[64];
      size_t queued = queue_to(l, self)->len, fed;
      long r = fr(l, self, SIZE_MAX, got, sizeof(got), &fed);
      if (r != st->want)
        t_failf(__FILE__, __LINE__, "step %zu: feed_read = %ld (%s), want %ld [%s]", i, r,
                r > 0 ? "count" : sslbio_strstatus((int)r), st->want, t_errmsg(self));
      CHECK_EQ(fed, queued); /* handshake flights fit the engine whole */
      if (r == MSG_LEN)
        CHECK(memcmp(got, first_msg[!st->side], MSG_LEN) == 0);
    }
  }
  CHECK(sslbio_conn_is_handshake_done(l->c) && sslbio_conn_is_handshake_done(l->s));
  CHECK_EQ(l->c2s.len + l->s2c.len, 0);
  return t_failures() == before;
}

/* A TLS 1.3 link established with the batched calls alone. */
static int open_batched(t_link *l) {
  return batch_handshake(l, cctx, script13, sizeof(script13) / sizeof(script13[0]));
}

static void test_handshake_batched_only(void) {
  sslbio_ctx *c12 = t_client_ctx("ca.pem");
  REQUIRE(c12);
  CHECK_EQ(sslbio_ctx_set_versions(c12, TLS1_2_VERSION, TLS1_2_VERSION), SSLBIO_OK);
  struct {
    sslbio_ctx *ctx;
    const step *script;
    size_t n;
    const char *version;
  } cases[] = {
      {cctx, script13, sizeof(script13) / sizeof(script13[0]), "TLSv1.3"},
      {c12, script12, sizeof(script12) / sizeof(script12[0]), "TLSv1.2"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    t_link l;
    CHECK(batch_handshake(&l, cases[i].ctx, cases[i].script, cases[i].n));
    CHECK_STR_HAS(sslbio_conn_version(l.c), cases[i].version);
    CHECK_STR_HAS(sslbio_conn_version(l.s), cases[i].version);
    CHECK_EQ(sslbio_conn_verify_result(l.c), X509_V_OK);
    t_link_free(&l);
  }
  sslbio_ctx_free(c12);

  /* The first step in detail: the ClientHello is in `out`, whole. */
  t_link l;
  REQUIRE(t_link_init(&l, cctx, sctx, "localhost"));
  size_t drained;
  CHECK_ST(l.c, wd(&l, l.c, "early", 5, sizeof(scratch), &drained), SSLBIO_WANT_READ);
  CHECK(drained > 5);
  CHECK_EQ(sslbio_conn_pending_out(l.c), 0);
  REQUIRE(l.c2s.len == drained);
  CHECK_EQ(l.c2s.data[0], 22); /* a handshake record ... */
  CHECK_EQ(l.c2s.data[5], 1);  /* ... holding a ClientHello */
  CHECK_EQ((size_t)((l.c2s.data[3] << 8) | l.c2s.data[4]) + 5, drained);
  /* nothing was taken: asking again sends nothing new and still waits */
  CHECK_ST(l.c, wd(&l, l.c, "early", 5, sizeof(scratch), &drained), SSLBIO_WANT_READ);
  CHECK_EQ(drained, 0);
  /* the server has nothing to say before the ClientHello arrives */
  CHECK_ST(l.s, wd(&l, l.s, "x", 1, sizeof(scratch), &drained), SSLBIO_WANT_READ);
  CHECK_EQ(drained, 0);
  t_link_free(&l);
}

static void test_ping_pong(void) {
  t_link l;
  REQUIRE(open_batched(&l));
  int rounds = t_slow() ? 200 : 3000;
  unsigned char ping[64], pong[64];
  for (int i = 0; i < rounds && t_failures() == 0; i++) {
    for (size_t k = 0; k < sizeof(ping); k++) {
      ping[k] = t_pattern((size_t)i * 64 + k);
      pong[k] = (unsigned char)~ping[k];
    }
    hop(&l, l.c, l.s, ping, sizeof(ping));
    hop(&l, l.s, l.c, pong, sizeof(pong));
  }
  CHECK_EQ(sslbio_conn_pending_out(l.c) + sslbio_conn_pending_out(l.s), 0);
  t_link_free(&l);
}

/* ---- streams in random pieces ---- */

typedef struct limits {
  size_t write, cap, feed, read; /* largest write, `out`, feed, read */
} limits;

/* len bytes from -> to with write_drain and feed_read in random pieces of
 * at most lim's sizes. `out` is small, so write_drain leaves ciphertext
 * pending: now and then (and at the end) the rest goes with
 * sslbio_conn_drain. Returns 1 when every byte arrived intact. */
static int batch_stream(t_link *l, sslbio_conn *from, sslbio_conn *to, size_t len, limits lim) {
  unsigned char *data = malloc(len), *got = malloc(len);
  for (size_t i = 0; i < len; i++)
    data[i] = t_pattern(i);
  size_t sent = 0, have = 0, left_pending = 0, want_write = 0;
  int idle = 0, ok = 1;
  while (have < len && ok) {
    int progress = 0;
    if (sent < len) {
      size_t cap = rnd(0, lim.cap), d;
      long w = wd(l, from, data + sent, rnd(1, min_size(lim.write, len - sent)), cap, &d);
      if (w > 0) {
        sent += (size_t)w;
        progress = 1;
      } else if (w == SSLBIO_WANT_WRITE) {
        want_write++; /* the output is full: nothing was taken, but it drained */
      } else {
        t_failf(__FILE__, __LINE__, "write_drain: %s [%s]", sslbio_strstatus((int)w),
                t_errmsg(from));
        ok = 0;
      }
      if (d > 0)
        progress = 1;
      if (d == cap && sslbio_conn_pending_out(from) > 0)
        left_pending++;
    }
    if (sent == len || rnd(0, 3) == 0)
      progress |= drain_rest(l, from) > 0;
    size_t fed;
    long r = fr(l, to, rnd(1, lim.feed), got + have, rnd(1, min_size(lim.read, len - have)), &fed);
    if (fed > 0)
      progress = 1;
    if (r > 0) {
      if (memcmp(got + have, data + have, (size_t)r) != 0) {
        t_failf(__FILE__, __LINE__, "corrupt data at %zu", have);
        ok = 0;
      }
      have += (size_t)r;
      progress = 1;
    } else if (r != SSLBIO_WANT_READ) {
      t_failf(__FILE__, __LINE__, "feed_read: %s [%s]", sslbio_strstatus((int)r), t_errmsg(to));
      ok = 0;
    }
    idle = progress ? 0 : idle + 1;
    if (idle > 100) {
      t_failf(__FILE__, __LINE__, "stalled: %zu/%zu sent, %zu received", sent, len, have);
      ok = 0;
    }
  }
  CHECK_EQ(have, len);
  CHECK_EQ(queue_from(l, from)->len, 0); /* every byte drained was fed */
  CHECK_EQ(sslbio_conn_pending_out(from), 0);
  CHECK_EQ(sslbio_conn_pending_out(to), 0);
  CHECK(left_pending > 0); /* the small `out` did leave ciphertext behind */
  printf("  %zu bytes: %zu write_drain calls left ciphertext pending, %zu saw WANT_WRITE\n", len,
         left_pending, want_write);
  free(data);
  free(got);
  return ok;
}

static void test_random_chunks(void) {
  size_t total = t_slow() ? 256 * 1024 : 1024 * 1024;
  const limits big_writes = {.write = 65536, .cap = 100, .feed = 16384, .read = 20000};
  const limits small_all = {.write = 3000, .cap = 100, .feed = 700, .read = 1000};
  t_link l;
  REQUIRE(open_batched(&l));
  CHECK(batch_stream(&l, l.c, l.s, total, big_writes));
  CHECK(batch_stream(&l, l.s, l.c, total, big_writes));
  CHECK(batch_stream(&l, l.c, l.s, total / 4, small_all));
  hop(&l, l.s, l.c, "still fine", 10);
  t_link_free(&l);
}

/* write_drain drains even when the write must wait for the output to be
 * drained (WANT_WRITE: nothing taken), and cap 0 is a write alone. */
static void test_write_drain_output_full(void) {
  t_link l;
  REQUIRE(open_batched(&l));
  size_t total = 200000, sent = 0, d;
  unsigned char *data = malloc(total);
  for (size_t i = 0; i < total; i++)
    data[i] = t_pattern(i);
  long w;
  while ((w = wd(&l, l.c, data + sent, total - sent, 0, &d)) > 0) { /* never drained */
    CHECK_EQ(d, 0);
    sent += (size_t)w;
  }
  CHECK_ST(l.c, w, SSLBIO_WANT_WRITE);
  CHECK(sent > 0 && sent < total);
  long pending = sslbio_conn_pending_out(l.c);
  CHECK(pending > 0);
  CHECK_ST(l.c, wd(&l, l.c, data + sent, total - sent, 100, &d), SSLBIO_WANT_WRITE);
  CHECK_EQ(d, 100);
  CHECK_EQ(sslbio_conn_pending_out(l.c), pending - 100);
  /* the server gets exactly what was accepted, the client goes on */
  drain_rest(&l, l.c);
  unsigned char *got = malloc(total);
  size_t have = 0;
  long r;
  while ((r = fr(&l, l.s, SIZE_MAX, got + have, total - have, NULL)) > 0)
    have += (size_t)r;
  CHECK_ST(l.s, r, SSLBIO_WANT_READ);
  CHECK_EQ(have, sent);
  CHECK(memcmp(got, data, have) == 0);
  CHECK(wd(&l, l.c, data + sent, total - sent, sizeof(scratch), NULL) > 0);
  free(got);
  free(data);
  t_link_free(&l);
}

/* ---- feed_read specifics ---- */

/* len 0 is a plain read; a pointer with len 0 feeds nothing. */
static void test_feed_read_len0(void) {
  t_link l;
  REQUIRE(open_batched(&l));
  char buf[64];
  size_t fed = 99;
  CHECK_ST(l.s, sslbio_conn_feed_read(l.s, NULL, 0, &fed, buf, sizeof(buf)), SSLBIO_WANT_READ);
  CHECK_EQ(fed, 0);
  CHECK_ST(l.c, wd(&l, l.c, "plain read", 10, sizeof(scratch), NULL), 10);
  t_move(l.c, &l.c2s, l.s); /* fed with sslbio_conn_feed */
  fed = 99;
  CHECK_ST(l.s, sslbio_conn_feed_read(l.s, NULL, 0, &fed, buf, sizeof(buf)), 10);
  CHECK_EQ(fed, 0);
  CHECK(memcmp(buf, "plain read", 10) == 0);
  fed = 99; /* junk behind a zero length is not looked at */
  CHECK_ST(l.s, sslbio_conn_feed_read(l.s, "junk", 0, &fed, buf, sizeof(buf)), SSLBIO_WANT_READ);
  CHECK_EQ(fed, 0);
  /* read capacity smaller than the record: the rest comes with len 0 */
  CHECK_ST(l.c, wd(&l, l.c, "0123456789", 10, sizeof(scratch), NULL), 10);
  CHECK_ST(l.s, fr(&l, l.s, SIZE_MAX, buf, 4, &fed), 4);
  CHECK(fed > 10);
  CHECK_ST(l.s, fr(&l, l.s, SIZE_MAX, buf + 4, sizeof(buf) - 4, &fed), 6);
  CHECK_EQ(fed, 0);
  CHECK(memcmp(buf, "0123456789", 10) == 0);
  hop(&l, l.s, l.c, "ok", 2);
  /* after feed_eof, len 0 still reads: what came before the EOF, then the
   * verdict (while feeding more is refused) */
  CHECK_ST(l.c, wd(&l, l.c, "tail", 4, sizeof(scratch), NULL), 4);
  t_move(l.c, &l.c2s, l.s);
  CHECK_EQ(sslbio_conn_feed_eof(l.s), SSLBIO_OK);
  CHECK_ST(l.s, sslbio_conn_feed_read(l.s, "x", 1, &fed, buf, sizeof(buf)), SSLBIO_EINVAL);
  CHECK_EQ(fed, 0);
  CHECK_STR_HAS(t_errmsg(l.s), "feed after feed_eof");
  CHECK_ST(l.s, fr(&l, l.s, SIZE_MAX, buf, sizeof(buf), &fed), 4);
  CHECK(memcmp(buf, "tail", 4) == 0);
  CHECK_ST(l.s, fr(&l, l.s, SIZE_MAX, buf, sizeof(buf), &fed), SSLBIO_TRUNCATED);
  CHECK_ST(l.s, fr(&l, l.s, SIZE_MAX, buf, sizeof(buf), &fed), SSLBIO_TRUNCATED); /* sticky */
  t_link_free(&l);
}

/* Rule 3 through feed_read: it accepts what fits, reads anyway (also when
 * it accepted nothing), and the caller keeps the rest; nothing is lost. */
static void test_feed_read_backpressure(void) {
  t_link l;
  REQUIRE(open_batched(&l));
  enum { TOTAL = 300000 };
  unsigned char *data = malloc(TOTAL), *got = malloc(TOTAL);
  for (size_t i = 0; i < TOTAL; i++)
    data[i] = t_pattern(i);
  for (size_t sent = 0; sent < TOTAL;) { /* all of it on the wire, nothing fed */
    long w = wd(&l, l.c, data + sent, TOTAL - sent, sizeof(scratch), NULL);
    if (w > 0)
      sent += (size_t)w;
    else
      CHECK_ST(l.c, w, SSLBIO_WANT_WRITE);
    drain_rest(&l, l.c);
  }
  size_t wire = l.c2s.len, fed, have = 0;
  CHECK(wire > TOTAL);
  /* one feed_read with everything: part is taken, a little is read */
  CHECK_ST(l.s, fr(&l, l.s, SIZE_MAX, got, 100, &fed), 100);
  CHECK(fed > 0 && fed < wire);
  CHECK_EQ(l.c2s.len, wire - fed); /* the rest is the caller's */
  have = 100;
  /* fill the engine to the brim: feed_read then accepts nothing, reads */
  CHECK(t_feed(&l.c2s, l.s) >= 0);
  CHECK_EQ(sslbio_conn_feed(l.s, l.c2s.data, l.c2s.len), 0);
  size_t rest = l.c2s.len;
  CHECK_ST(l.s, fr(&l, l.s, SIZE_MAX, got + have, 100, &fed), 100);
  CHECK_EQ(fed, 0);
  CHECK_EQ(l.c2s.len, rest);
  have += 100;
  /* the rest, reading in random sizes and always offering all we have */
  int partial = 0;
  for (int idle = 0; have < TOTAL && idle < 4;) {
    size_t offered = l.c2s.len;
    long r = fr(&l, l.s, SIZE_MAX, got + have, rnd(1, TOTAL - have), &fed);
    partial += fed < offered;
    if (r > 0) {
      have += (size_t)r;
      idle = 0;
    } else {
      CHECK_ST(l.s, r, SSLBIO_WANT_READ);
      idle++;
    }
  }
  CHECK_EQ(have, TOTAL);
  CHECK(memcmp(got, data, TOTAL) == 0);
  CHECK_EQ(l.c2s.len, 0);
  CHECK(partial > 0);
  free(got);
  free(data);
  t_link_free(&l);
}

/* ---- arguments ---- */

static void test_arguments(void) {
  char buf[64];
  size_t n = 99;
  CHECK_EQ(sslbio_conn_write_drain(NULL, "x", 1, buf, sizeof(buf), &n), SSLBIO_EINVAL);
  CHECK_EQ(n, 0); /* counts are zeroed on every path */
  n = 99;
  CHECK_EQ(sslbio_conn_feed_read(NULL, "x", 1, &n, buf, sizeof(buf)), SSLBIO_EINVAL);
  CHECK_EQ(n, 0);
  CHECK_EQ(sslbio_conn_write_drain(NULL, NULL, 0, NULL, 0, NULL), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_feed_read(NULL, NULL, 0, NULL, NULL, 0), SSLBIO_EINVAL);

  t_link l;
  REQUIRE(open_batched(&l));
  /* NULL drained: refused before anything was written */
  CHECK_ST(l.c, sslbio_conn_write_drain(l.c, "x", 1, buf, sizeof(buf), NULL), SSLBIO_EINVAL);
  CHECK_STR_HAS(t_errmsg(l.c), "write_drain");
  CHECK_STR_HAS(t_errmsg(l.c), "NULL drained");
  CHECK_EQ(sslbio_conn_pending_out(l.c), 0);
  /* NULL fed: refused before anything was fed (feeding it again later
   * would break the record stream) */
  CHECK_ST(l.c, wd(&l, l.c, "hello", 5, sizeof(scratch), NULL), 5);
  CHECK_ST(l.s, sslbio_conn_feed_read(l.s, l.c2s.data, l.c2s.len, NULL, buf, sizeof(buf)),
           SSLBIO_EINVAL);
  CHECK_STR_HAS(t_errmsg(l.s), "feed_read");
  CHECK_STR_HAS(t_errmsg(l.s), "NULL fed");
  CHECK_ST(l.s, fr(&l, l.s, SIZE_MAX, buf, sizeof(buf), NULL), 5);
  CHECK(memcmp(buf, "hello", 5) == 0);
  /* an empty write is refused as by sslbio_conn_write, and drains nothing */
  CHECK_ST(l.c, wd(&l, l.c, NULL, 0, sizeof(scratch), &n), SSLBIO_EINVAL);
  CHECK_EQ(n, 0);
  CHECK_STR_HAS(t_errmsg(l.c), "write");
  CHECK_ST(l.c, wd(&l, l.c, "x", 0, sizeof(scratch), &n), SSLBIO_EINVAL);
  /* no `out` at all (cap 0): the write alone, everything stays pending */
  n = 99;
  CHECK_ST(l.c, sslbio_conn_write_drain(l.c, "pending", 7, NULL, 0, &n), 7);
  CHECK_EQ(n, 0);
  CHECK(sslbio_conn_pending_out(l.c) > 7);
  drain_rest(&l, l.c);
  /* no read buffer: refused before the feed (*fed 0, nothing taken) */
  size_t queued = l.c2s.len;
  n = 99;
  CHECK_ST(l.s, sslbio_conn_feed_read(l.s, l.c2s.data, queued, &n, NULL, 0), SSLBIO_EINVAL);
  CHECK_EQ(n, 0);
  CHECK_STR_HAS(t_errmsg(l.s), "read buffer");
  CHECK_ST(l.s, sslbio_conn_feed_read(l.s, l.c2s.data, queued, &n, buf, 0), SSLBIO_EINVAL);
  CHECK_EQ(n, 0);
  CHECK_ST(l.s, fr(&l, l.s, queued, buf, sizeof(buf), NULL), 7); /* now fed and read */
  CHECK(memcmp(buf, "pending", 7) == 0);
  /* NULL input with a length: the feed fails, no read */
  n = 99;
  CHECK_ST(l.s, sslbio_conn_feed_read(l.s, NULL, 5, &n, buf, sizeof(buf)), SSLBIO_EINVAL);
  CHECK_EQ(n, 0);
  CHECK_STR_HAS(t_errmsg(l.s), "feed");
  /* none of that hurt the connection */
  hop(&l, l.c, l.s, "still", 5);
  hop(&l, l.s, l.c, "alive", 5);
  t_link_free(&l);
}

/* ---- errors and close ---- */

/* Garbage through feed_read: a clear error, the alert stays queued for
 * drain (write_drain on the dead engine drains nothing), and the peer
 * hears it. */
static void test_garbage_keeps_alert(void) {
  t_link l;
  REQUIRE(open_batched(&l));
  unsigned char junk[600];
  for (size_t i = 0; i < sizeof(junk); i++)
    junk[i] = (unsigned char)(i * 7 + 3);
  junk[0] = 23, junk[1] = 3, junk[2] = 3, junk[3] = 2, junk[4] = 0; /* app data record header */
  t_buf_append(&l.s2c, junk, sizeof(junk));
  char buf[64];
  size_t fed, d;
  CHECK_ST(l.c, fr(&l, l.c, SIZE_MAX, buf, sizeof(buf), &fed), SSLBIO_ERROR);
  CHECK_EQ(fed, sizeof(junk));
  CHECK_STR_HAS(t_errmsg(l.c), "read");
  CHECK(sslbio_conn_error_code(l.c) != 0);
  CHECK_EQ(ERR_peek_error(), 0); /* the queue went into the conn */
  long alert = sslbio_conn_pending_out(l.c);
  CHECK(alert > 0);
  /* the dead engine: write_drain fails the same way and drains nothing */
  CHECK_ST(l.c, wd(&l, l.c, "x", 1, sizeof(scratch), &d), SSLBIO_ERROR);
  CHECK_EQ(d, 0);
  CHECK_EQ(sslbio_conn_pending_out(l.c), alert);
  CHECK_ST(l.c, fr(&l, l.c, SIZE_MAX, buf, sizeof(buf), NULL), SSLBIO_ERROR); /* sticky */
  CHECK_EQ(drain_rest(&l, l.c), (size_t)alert);
  /* the peer reads the alert and is dead too: its write_drain drains nothing */
  CHECK_ST(l.s, fr(&l, l.s, SIZE_MAX, buf, sizeof(buf), &fed), SSLBIO_ERROR);
  CHECK_EQ(fed, (size_t)alert);
  CHECK_STR_HAS(t_errmsg(l.s), "alert");
  CHECK_ST(l.s, wd(&l, l.s, "x", 1, sizeof(scratch), &d), SSLBIO_ERROR);
  CHECK_EQ(d, 0);
  t_link_free(&l);

  /* garbage instead of a ClientHello */
  REQUIRE(t_link_init(&l, cctx, sctx, "localhost"));
  const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  t_buf_append(&l.c2s, req, sizeof(req) - 1);
  CHECK_ST(l.s, fr(&l, l.s, SIZE_MAX, buf, sizeof(buf), &fed), SSLBIO_ERROR);
  CHECK_EQ(fed, sizeof(req) - 1);
  CHECK(sslbio_conn_error_code(l.s) != 0);
  CHECK_ST(l.s, wd(&l, l.s, "x", 1, sizeof(scratch), &d), SSLBIO_ERROR);
  CHECK_EQ(d, 0);
  t_link_free(&l);
}

/* Transport EOF without close_notify: the engine is dead (TRUNCATED) and
 * write_drain says so, draining nothing. */
static void test_write_drain_truncated(void) {
  t_link l;
  REQUIRE(open_batched(&l));
  CHECK_ST(l.c, wd(&l, l.c, "partial", 7, sizeof(scratch), NULL), 7);
  char buf[64];
  CHECK_ST(l.s, fr(&l, l.s, SIZE_MAX, buf, sizeof(buf), NULL), 7);
  CHECK_EQ(sslbio_conn_feed_eof(l.s), SSLBIO_OK);
  CHECK_ST(l.s, fr(&l, l.s, SIZE_MAX, buf, sizeof(buf), NULL), SSLBIO_TRUNCATED);
  CHECK_STR_HAS(t_errmsg(l.s), "unexpected eof");
  size_t d;
  CHECK_ST(l.s, wd(&l, l.s, "x", 1, sizeof(scratch), &d), SSLBIO_TRUNCATED);
  CHECK_EQ(d, 0);
  t_link_free(&l);
}

/* Rules 2 and 6 through the batched calls: close_notify reads as CLOSED,
 * write_drain after our close_notify fails and leaves it queued, the
 * other direction keeps working (half-close). */
static void test_clean_close(void) {
  t_link l;
  REQUIRE(open_batched(&l));
  char buf[64];
  size_t d, fed;
  CHECK_ST(l.c, wd(&l, l.c, "bye", 3, sizeof(scratch), NULL), 3);
  CHECK_ST(l.c, sslbio_conn_shutdown(l.c), SSLBIO_WANT_READ);
  long notify = sslbio_conn_pending_out(l.c);
  CHECK(notify > 0);
  CHECK_ST(l.c, wd(&l, l.c, "more", 4, sizeof(scratch), &d), SSLBIO_EINVAL);
  CHECK_EQ(d, 0);
  CHECK_STR_HAS(t_errmsg(l.c), "after shutdown");
  CHECK_EQ(sslbio_conn_pending_out(l.c), notify); /* still there for drain */
  drain_rest(&l, l.c);
  /* data and close_notify in one feed: data first, then CLOSED (sticky) */
  size_t queued = l.c2s.len;
  CHECK_ST(l.s, fr(&l, l.s, SIZE_MAX, buf, sizeof(buf), &fed), 3);
  CHECK_EQ(fed, queued);
  CHECK(memcmp(buf, "bye", 3) == 0);
  CHECK_ST(l.s, fr(&l, l.s, SIZE_MAX, buf, sizeof(buf), &fed), SSLBIO_CLOSED);
  CHECK_ST(l.s, fr(&l, l.s, SIZE_MAX, buf, sizeof(buf), &fed), SSLBIO_CLOSED);
  CHECK_EQ(sslbio_conn_error(l.s, NULL, 0), 0); /* a clean close is no error */
  CHECK_EQ(sslbio_conn_feed_eof(l.s), SSLBIO_OK);  /* the transport ends after it: */
  CHECK_ST(l.s, fr(&l, l.s, SIZE_MAX, buf, sizeof(buf), &fed), SSLBIO_CLOSED); /* still clean */
  /* half-close: the server still writes, the client still reads */
  hop(&l, l.s, l.c, "late reply", 10);
  CHECK_ST(l.s, sslbio_conn_shutdown(l.s), SSLBIO_OK);
  CHECK_ST(l.s, wd(&l, l.s, "x", 1, sizeof(scratch), &d), SSLBIO_EINVAL);
  CHECK_EQ(d, 0);
  drain_rest(&l, l.s);
  CHECK_ST(l.c, fr(&l, l.c, SIZE_MAX, buf, sizeof(buf), &fed), SSLBIO_CLOSED);
  CHECK(fed > 0);
  CHECK_ST(l.c, sslbio_conn_shutdown(l.c), SSLBIO_OK);
  t_link_free(&l);
}

/* ---- the run-time table ---- */

static void test_api_table(void) {
  const sslbio_api_v1 *api = sslbio_api(SSLBIO_ABI_VERSION);
  REQUIRE(api != NULL);
  CHECK_EQ(api->size, sizeof(sslbio_api_v1));
  CHECK(api->conn_write_drain == sslbio_conn_write_drain);
  CHECK(api->conn_feed_read == sslbio_conn_feed_read);
  size_t n;
  char buf[8];
  CHECK_EQ(api->conn_write_drain(NULL, "x", 1, buf, sizeof(buf), &n), SSLBIO_EINVAL);
  CHECK_EQ(api->conn_feed_read(NULL, "x", 1, &n, buf, sizeof(buf)), SSLBIO_EINVAL);
}

/* A NULL `out` with cap > 0 is refused before the write: an accepted write
 * reported as SSLBIO_EINVAL would make the caller write its bytes twice. */
static void test_write_drain_null_out(void) {
  t_link l;
  REQUIRE(open_batched(&l));
  size_t n = 99;
  long before = sslbio_conn_pending_out(l.c);
  CHECK_ST(l.c, sslbio_conn_write_drain(l.c, "abc", 3, NULL, 100, &n), SSLBIO_EINVAL);
  CHECK_EQ(n, 0);
  CHECK_EQ(sslbio_conn_pending_out(l.c), before);
  CHECK_STR_HAS(t_errmsg(l.c), "NULL out");
  hop(&l, l.c, l.s, "after", 5); /* nothing was taken; the link still works */
  t_link_free(&l);
}

int main(void) {
  t_init("test_batch");
  rng_init();
  cctx = t_client_ctx("ca.pem");
  sctx = t_server_ctx();
  if (!cctx || !sctx)
    return 2;
  T_RUN(test_handshake_batched_only);
  T_RUN(test_ping_pong);
  T_RUN(test_random_chunks);
  T_RUN(test_write_drain_output_full);
  T_RUN(test_feed_read_len0);
  T_RUN(test_feed_read_backpressure);
  T_RUN(test_arguments);
  T_RUN(test_garbage_keeps_alert);
  T_RUN(test_write_drain_truncated);
  T_RUN(test_clean_close);
  T_RUN(test_api_table);
  T_RUN(test_write_drain_null_out);
  sslbio_ctx_free(cctx);
  sslbio_ctx_free(sctx);
  return t_done();
}
