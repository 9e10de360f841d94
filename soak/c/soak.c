/* soak: connections churned through the sslbio C API by several threads.
 *
 *   SOAK_SECONDS=60 SOAK_CONNS=0 SOAK_THREADS=2 soak      (quick: time-bound)
 *   SOAK_CONNS=100000 soak                                (long: count-bound)
 *
 * Every thread runs a client and a server engine against each other in
 * memory, one connection after another, on two shared contexts: TLS 1.2 and
 * 1.3 alternate, some connections resume the thread's last session, some
 * reuse their engines (sslbio_conn_reset) instead of freeing them. Each
 * connection moves a random number of messages of random sizes (1 byte ..
 * 64 KiB) both ways through random feed/drain chunk sizes, with random
 * pauses, and every byte is checksummed against what was sent. Connections
 * end with close_notify from either side, or with a truncation (transport
 * EOF) that must be reported as SSLBIO_TRUNCATED.
 *
 * RSS (from /proc/self/statm) is printed at the start (after a warm-up),
 * periodically and at the end; the run fails if it grew by more than
 * SOAK_RSS_SLACK_MB (default 16) after the warm-up. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../tests/c/pair.h"
#include "sslbio.h"

static sslbio_ctx *cli_ctx[2], *srv_ctx; /* client: [0] TLS 1.2 max, [1] default (1.3) */
static atomic_long conns_done, bytes_done, truncations, resumed, resets, failures;
static atomic_int stop;
static long target_conns;
static double deadline;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(void) {
  long pages = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
      resident = 0;
    fclose(f);
  }
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static uint32_t rnd(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13, x ^= x >> 7, x ^= x << 17;
  *s = x;
  return (uint32_t)(x >> 11);
}

static void fail(const char *what, sslbio_conn *c, long st) {
  char msg[512] = "";
  if (c)
    sslbio_conn_error(c, msg, sizeof(msg));
  fprintf(stderr, "soak: FAIL: %s: %ld (%s) [%s]\n", what, st, sslbio_strstatus((int)st), msg);
  if (atomic_fetch_add(&failures, 1) > 10)
    atomic_store(&stop, 1);
}

static uint32_t fnv(uint32_t h, const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 16777619u;
  return h;
}

typedef struct end {
  sslbio_conn *c;
  uint32_t sum_out, sum_in; /* checksums of plaintext written / read */
  size_t out, in;
  t_buf wire; /* ciphertext drained from c that the peer has not accepted yet */
} end;

static size_t random_piece(void *r) {
  return 1 + rnd(r) % (rnd(r) % 4 == 0 ? 64 : 20000);
}

/* Move ciphertext from a to b in random drain pieces; what b's full input
 * does not take waits on a's wire for the next move (after b has read). */
static int move(end *a, end *b, uint64_t *r) {
  const t_move_cfg random_pieces = {.piece_fn = random_piece, .piece_arg = r};
  return t_move_with(a->c, &a->wire, b->c, &random_pieces) < 0 ? -1 : 0;
}

static long read_all(end *e, uint64_t *r) {
  unsigned char buf[16384];
  for (;;) {
    size_t cap = 1 + rnd(r) % sizeof(buf);
    long n = sslbio_conn_read(e->c, buf, cap);
    if (n <= 0)
      return n;
    e->sum_in = fnv(e->sum_in, buf, (size_t)n);
    e->in += (size_t)n;
  }
}

static void maybe_pause(uint64_t *r) {
  uint32_t x = rnd(r) % 1000;
  if (x < 5)
    usleep(rnd(r) % 500);
  else if (x < 30)
    sched_yield();
}

static int handshake(end *c, end *s, uint64_t *r) {
  for (int i = 0; i < 40; i++) {
    int a = sslbio_conn_handshake(c->c), b = sslbio_conn_handshake(s->c);
    if (move(c, s, r) < 0 || move(s, c, r) < 0)
      return 0;
    if (a == SSLBIO_OK && b == SSLBIO_OK && sslbio_conn_pending_out(c->c) == 0 &&
        sslbio_conn_pending_out(s->c) == 0 && c->wire.len == 0 && s->wire.len == 0)
      return 1;
    if ((a != SSLBIO_OK && a != SSLBIO_WANT_READ && a != SSLBIO_WANT_WRITE) ||
        (b != SSLBIO_OK && b != SSLBIO_WANT_READ && b != SSLBIO_WANT_WRITE)) {
      fail("handshake", a < 0 && a != SSLBIO_WANT_READ ? c->c : s->c, a != SSLBIO_OK ? a : b);
      return 0;
    }
  }
  fail("handshake did not finish", c->c, 0);
  return 0;
}

/* Write len bytes of a pattern from e to peer, pumping as needed, until
 * the peer has read all of it. */
static int send_msg(end *e, end *peer, size_t len, uint64_t *r) {
  static __thread unsigned char msg[65536];
  uint32_t seed = rnd(r);
  for (size_t i = 0; i < len; i++)
    msg[i] = (unsigned char)(seed + i * 131);
  size_t off = 0;
  for (int guard = 0; (off < len || e->wire.len > 0) && guard < 100000; guard++) {
    size_t k = len - off;
    if (rnd(r) % 3 == 0 && k > 1)
      k = 1 + rnd(r) % k; /* partial submissions */
    long w = k > 0 ? sslbio_conn_write(e->c, msg + off, k) : 0;
    if (w > 0) {
      e->sum_out = fnv(e->sum_out, msg + off, (size_t)w);
      e->out += (size_t)w;
      off += (size_t)w;
    } else if (w != 0 && w != SSLBIO_WANT_WRITE && w != SSLBIO_WANT_READ) {
      fail("write", e->c, w);
      return 0;
    }
    if (move(e, peer, r) < 0)
      return 0;
    long rd = read_all(peer, r);
    if (rd != SSLBIO_WANT_READ) {
      fail("read", peer->c, rd);
      return 0;
    }
    maybe_pause(r);
  }
  return off == len && e->wire.len == 0;
}

static void *worker(void *arg) {
  int id = (int)(intptr_t)arg;
  uint64_t r = 0x9E3779B97F4A7C15ull * (uint64_t)(id + 1);
  unsigned char session[8192];
  long session_len = 0;
  end c = {0}, s = {0};
  for (long n = 0; !atomic_load(&stop); n++) {
    if (target_conns > 0 ? atomic_load(&conns_done) >= target_conns : now() >= deadline)
      break;
    int v = (int)(rnd(&r) % 2);
    /* Engines: fresh, or the previous ones reset (SSL_clear) for reuse. */
    int reuse = c.c != NULL && rnd(&r) % 4 == 0;
    if (reuse) {
      if (sslbio_conn_reset(c.c, "localhost") != SSLBIO_OK || sslbio_conn_reset(s.c, NULL) != SSLBIO_OK) {
        fail("reset", c.c, 0);
        break;
      }
      atomic_fetch_add(&resets, 1);
    } else {
      sslbio_conn_free(c.c);
      sslbio_conn_free(s.c);
      c.c = sslbio_conn_new(cli_ctx[v], "localhost");
      s.c = sslbio_conn_new(srv_ctx, NULL);
      if (!c.c || !s.c) {
        fail("conn_new", NULL, 0);
        break;
      }
    }
    c.sum_in = c.sum_out = s.sum_in = s.sum_out = 0;
    c.in = c.out = s.in = s.out = 0;
    c.wire.len = s.wire.len = 0; /* what a failed connection left on the wire */
    if (session_len > 0 && rnd(&r) % 3 == 0 && !reuse &&
        sslbio_conn_set_session(c.c, session, (size_t)session_len) == SSLBIO_OK)
      atomic_fetch_add(&resumed, 1); /* offered; the server may still decline (other version) */
    if (!handshake(&c, &s, &r))
      continue;
    /* TLS 1.3 tickets arrive after the handshake: read them. */
    read_all(&c, &r);
    int msgs = (int)(rnd(&r) % 8);
    for (int m = 0; m < msgs; m++) {
      size_t len = rnd(&r) % 4 == 0 ? 1 + rnd(&r) % 65536 : 1 + rnd(&r) % 2048;
      int dir = (int)(rnd(&r) % 2);
      if (!send_msg(dir ? &s : &c, dir ? &c : &s, len, &r))
        goto next;
    }
    if (c.sum_out != s.sum_in || c.out != s.in || s.sum_out != c.sum_in || s.out != c.in) {
      fail("checksum mismatch", c.c, 0);
      goto next;
    }
    atomic_fetch_add(&bytes_done, (long)(c.out + s.out));
    {
      unsigned char der[8192];
      long k = sslbio_conn_session(c.c, der, sizeof(der));
      if (k > 0 && (size_t)k <= sizeof(der)) {
        memcpy(session, der, (size_t)k);
        session_len = k;
      }
      unsigned char buf[64];
      long st;
      switch (rnd(&r) % 5) {
      case 0: /* truncation: the server's transport ends without close_notify */
        sslbio_conn_feed_eof(s.c);
        st = sslbio_conn_read(s.c, buf, sizeof(buf));
        if (st != SSLBIO_TRUNCATED)
          fail("truncation not reported", s.c, st);
        atomic_fetch_add(&truncations, 1);
        break;
      case 1: /* server closes first */
        sslbio_conn_shutdown(s.c);
        move(&s, &c, &r);
        st = sslbio_conn_read(c.c, buf, sizeof(buf));
        if (st != SSLBIO_CLOSED)
          fail("client did not see close_notify", c.c, st);
        sslbio_conn_shutdown(c.c);
        move(&c, &s, &r);
        st = sslbio_conn_read(s.c, buf, sizeof(buf));
        if (st != SSLBIO_CLOSED)
          fail("server did not see close_notify", s.c, st);
        break;
      default: /* client closes first */
        sslbio_conn_shutdown(c.c);
        move(&c, &s, &r);
        st = sslbio_conn_read(s.c, buf, sizeof(buf));
        if (st != SSLBIO_CLOSED)
          fail("server did not see close_notify", s.c, st);
        sslbio_conn_shutdown(s.c);
        move(&s, &c, &r);
        st = sslbio_conn_shutdown(c.c);
        if (st != SSLBIO_OK)
          fail("client shutdown incomplete", c.c, st);
      }
      const char *ver = sslbio_conn_version(c.c);
      (void)ver;
    }
    atomic_fetch_add(&conns_done, 1);
  next:
    maybe_pause(&r);
  }
  sslbio_conn_free(c.c);
  sslbio_conn_free(s.c);
  t_buf_free(&c.wire);
  t_buf_free(&s.wire);
  return NULL;
}

static sslbio_ctx *must(sslbio_ctx *x) {
  if (x == NULL) {
    fprintf(stderr, "soak: context setup failed\n");
    exit(2);
  }
  return x;
}

static void setup(const char *certs) {
  char p[3][512];
  snprintf(p[0], 512, "%s/server.pem", certs);
  snprintf(p[1], 512, "%s/server.key", certs);
  snprintf(p[2], 512, "%s/ca.pem", certs);
  srv_ctx = must(sslbio_ctx_new(SSLBIO_SERVER));
  if (sslbio_ctx_use_certificate_chain_file(srv_ctx, p[0]) || sslbio_ctx_use_private_key_file(srv_ctx, p[1])) {
    fprintf(stderr, "soak: %s\n", sslbio_ctx_error(srv_ctx));
    exit(2);
  }
  for (int v = 0; v < 2; v++) {
    cli_ctx[v] = must(sslbio_ctx_new(SSLBIO_CLIENT));
    if (sslbio_ctx_load_verify_file(cli_ctx[v], p[2]) ||
        sslbio_ctx_set_versions(cli_ctx[v], 0, v ? 0 : 0x0303)) {
      fprintf(stderr, "soak: %s\n", sslbio_ctx_error(cli_ctx[v]));
      exit(2);
    }
  }
}

int main(void) {
  const char *certs = getenv("SOAK_CERTS") ? getenv("SOAK_CERTS") : "build/certs";
  int seconds = getenv("SOAK_SECONDS") ? atoi(getenv("SOAK_SECONDS")) : 60;
  target_conns = getenv("SOAK_CONNS") ? atol(getenv("SOAK_CONNS")) : 0;
  int threads = getenv("SOAK_THREADS") ? atoi(getenv("SOAK_THREADS")) : 2;
  long slack_mb = getenv("SOAK_RSS_SLACK_MB") ? atol(getenv("SOAK_RSS_SLACK_MB")) : 16;
  if (threads < 1 || threads > 64)
    threads = 2;
  setup(certs);
  long rss0 = rss_kb();

  /* Warm-up: every lazily built table and cache exists before we measure. */
  target_conns = target_conns > 0 ? target_conns : 0;
  long want = target_conns;
  target_conns = 300;
  deadline = now() + 3600;
  pthread_t th[64];
  for (int i = 0; i < threads; i++)
    pthread_create(&th[i], NULL, worker, (void *)(intptr_t)(i + 100));
  for (int i = 0; i < threads; i++)
    pthread_join(th[i], NULL);
  long warm = atomic_exchange(&conns_done, 0);
  atomic_store(&bytes_done, 0);
  long rss_start = rss_kb();
  printf("soak: C API (%s), %d threads, %s; RSS %ld KiB at launch, %ld KiB after %ld warm-up connections\n",
         sslbio_version(), threads, want > 0 ? "count-bound" : "time-bound", rss0, rss_start, warm);
  fflush(stdout);

  target_conns = want;
  double t0 = now();
  deadline = t0 + seconds;
  for (int i = 0; i < threads; i++)
    pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
  long max_rss = rss_start;
  for (;;) {
    int done = target_conns > 0 ? atomic_load(&conns_done) >= target_conns : now() >= deadline;
    if (done || atomic_load(&stop))
      break;
    for (int i = 0; i < 50 && !atomic_load(&stop); i++) {
      usleep(100000);
      if (target_conns > 0 ? atomic_load(&conns_done) >= target_conns : now() >= deadline)
        break;
    }
    long rss = rss_kb();
    max_rss = rss > max_rss ? rss : max_rss;
    printf("soak:   %6.0fs %8ld connections %10.1f MiB  RSS %ld KiB\n", now() - t0, atomic_load(&conns_done),
           (double)atomic_load(&bytes_done) / 1048576.0, rss);
    fflush(stdout);
  }
  for (int i = 0; i < threads; i++)
    pthread_join(th[i], NULL);
  double took = now() - t0;
  long rss_end = rss_kb();
  max_rss = rss_end > max_rss ? rss_end : max_rss;
  long n = atomic_load(&conns_done);
  printf("soak: %ld connections churned in %.1fs (%.0f/s), %.1f MiB of plaintext checksummed both ways,"
         " %ld truncations detected, %ld engine resets, %ld sessions offered for resumption, %ld failures\n",
         n, took, (double)n / took, (double)atomic_load(&bytes_done) / 1048576.0, atomic_load(&truncations),
         atomic_load(&resets), atomic_load(&resumed), atomic_load(&failures));
  printf("soak: RSS start %ld KiB, end %ld KiB (max %ld KiB, growth %+ld KiB, allowed %ld MiB)\n", rss_start, rss_end,
         max_rss, rss_end - rss_start, slack_mb);
  sslbio_ctx_free(cli_ctx[0]);
  sslbio_ctx_free(cli_ctx[1]);
  sslbio_ctx_free(srv_ctx);
  int ok = atomic_load(&failures) == 0 && n > 0 && rss_end - rss_start <= slack_mb * 1024;
  printf("soak: %s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}
