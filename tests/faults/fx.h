/* Shared by the fault-injection and hostile-peer programs (faults.c,
 * hostile.c): checks, contexts, and a pair of engines connected through a
 * simulated network whose every misbehaviour is configurable.
 *
 * The programs are compiled with the engine's C sources (capi/[*].c), not
 * linked against libsslbio: ASan/UBSan then instrument the engine too, and
 * --wrap=malloc routes the engine's own allocations through libfiu. */
#ifndef SSLBIO_FX_H
#define SSLBIO_FX_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sslbio.h"
#include "../c/pair.h"

/* Each program uses part of these helpers. */
#pragma GCC diagnostic ignored "-Wunused-function"

/* ---- checks ---- */

static int fx_failures;
static int fx_checks;

static void fx_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fx_fail(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "FAIL %s:%d: ", file, line);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  if (++fx_failures > 20) {
    fprintf(stderr, "too many failures\n");
    exit(1);
  }
}

#define FX_CHECK(cond, ...)                                                                        \
  do {                                                                                             \
    fx_checks++;                                                                                   \
    if (!(cond))                                                                                   \
      fx_fail(__FILE__, __LINE__, __VA_ARGS__);                                                    \
  } while (0)

static double fx_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fx_env_int(const char *name, int def) {
  const char *v = getenv(name);
  return v && *v ? atoi(v) : def;
}

/* xorshift, per caller state */
static uint32_t fx_rand(uint64_t *s) {
  uint64_t x = *s ? *s : 88172645463325252ull;
  x ^= x << 13, x ^= x >> 7, x ^= x << 17;
  *s = x;
  return (uint32_t)(x >> 16);
}

static const char *fx_certs(void) {
  const char *d = getenv("FX_CERTS");
  return d ? d : "build/certs";
}

static const char *fx_path(const char *name) {
  static char buf[8][512];
  static int i;
  char *p = buf[i++ % 8];
  snprintf(p, 512, "%s/%s", fx_certs(), name);
  return p;
}

static int fx_is_status(long st) { return st <= 0 && st >= SSLBIO_ENOMEM; }

static const char *fx_errmsg(sslbio_conn *c) {
  static char msg[512];
  msg[0] = 0;
  if (c)
    sslbio_conn_error(c, msg, sizeof(msg));
  return msg;
}

/* Contexts; NULL when anything failed (allocation faults make that normal).
 * kind: 0 plain, 1 client certificate required / presented + ALPN. */
static sslbio_ctx *fx_server_ctx(int kind, int min, int max) {
  sslbio_ctx *s = sslbio_ctx_new(SSLBIO_SERVER);
  if (s == NULL)
    return NULL;
  if (sslbio_ctx_use_certificate_chain_file(s, fx_path("server.pem")) != SSLBIO_OK ||
      sslbio_ctx_use_private_key_file(s, fx_path("server.key")) != SSLBIO_OK ||
      sslbio_ctx_set_versions(s, min, max) != SSLBIO_OK ||
      (kind == 1 && (sslbio_ctx_load_verify_file(s, fx_path("ca.pem")) != SSLBIO_OK ||
                     sslbio_ctx_set_verify(s, SSLBIO_VERIFY_REQUIRE_PEER) != SSLBIO_OK ||
                     sslbio_ctx_set_alpn(s, "h2,http/1.1") != SSLBIO_OK))) {
    sslbio_ctx_free(s);
    return NULL;
  }
  return s;
}

static sslbio_ctx *fx_client_ctx(int kind, int min, int max) {
  sslbio_ctx *c = sslbio_ctx_new(SSLBIO_CLIENT);
  if (c == NULL)
    return NULL;
  if (sslbio_ctx_load_verify_file(c, fx_path("ca.pem")) != SSLBIO_OK ||
      sslbio_ctx_set_versions(c, min, max) != SSLBIO_OK ||
      (kind == 1 && (sslbio_ctx_use_certificate_chain_file(c, fx_path("client.pem")) != SSLBIO_OK ||
                     sslbio_ctx_use_private_key_file(c, fx_path("client.key")) != SSLBIO_OK ||
                     sslbio_ctx_set_alpn(c, "http/1.1,h2") != SSLBIO_OK))) {
    sslbio_ctx_free(c);
    return NULL;
  }
  return c;
}

/* Two engines handshake directly (pair.h's mover); 1 when both finished. */
static int fx_pair_handshake(sslbio_conn *a, sslbio_conn *b) {
  t_buf ab = {0}, ba = {0};
  int done = 0;
  for (int i = 0; i < 20 && !done; i++) {
    sslbio_conn_handshake(a);
    sslbio_conn_handshake(b);
    t_move(a, &ab, b);
    t_move(b, &ba, a);
    done = sslbio_conn_is_handshake_done(a) && sslbio_conn_is_handshake_done(b);
  }
  t_buf_free(&ab);
  t_buf_free(&ba);
  return done;
}

/* ---- the simulated network ---- */

#define FX_PIPE (1 << 18)

typedef struct fx_pipe {
  unsigned char buf[FX_PIPE];
  size_t r, w;   /* read and write offsets (never wrap: sessions are short) */
  int closed;    /* the writer closed its socket: EOF once drained */
} fx_pipe;

/* What one endpoint's transport does wrong. */
typedef struct fx_fault {
  size_t max_chunk;   /* at most this many bytes per recv/send/feed/drain (0: no limit) */
  unsigned eagain_pct; /* percent of calls that would block */
  long fail_recv_at;  /* recv fails (ECONNRESET) once this many bytes were received; -1: never */
  long fail_send_at;  /* send fails (EPIPE) once this many bytes were sent; -1: never */
  long eof_recv_at;   /* the transport ends (EOF) after this many bytes; -1: never */
  int bogus_recv;     /* recv returns an impossible value (more than cap) once data exists */
  int bogus_send;     /* send returns 0 (neither progress nor would-block) */
} fx_fault;

static const fx_fault fx_nofault = {0, 0, -1, -1, -1, 0, 0};

typedef struct fx_end {
  fx_pipe *in, *out;
  fx_fault f;
  uint64_t rng;
  size_t received, sent;
  int dead;           /* the engine failed: it "closed its socket" */
  long calls_after_dead;
} fx_end;

static long fx_recv(void *user, void *buf, size_t cap) {
  fx_end *e = user;
  if (e->dead)
    e->calls_after_dead++;
  if (e->f.eagain_pct && fx_rand(&e->rng) % 100 < e->f.eagain_pct)
    return SSLBIO_WANT_READ;
  if (e->f.fail_recv_at >= 0 && (long)e->received >= e->f.fail_recv_at) {
    errno = ECONNRESET;
    return SSLBIO_ERROR;
  }
  size_t avail = e->in->w - e->in->r;
  if (e->f.eof_recv_at >= 0) {
    if ((long)e->received >= e->f.eof_recv_at)
      return 0;
    if (avail > (size_t)(e->f.eof_recv_at - (long)e->received))
      avail = (size_t)(e->f.eof_recv_at - (long)e->received);
  }
  if (e->f.fail_recv_at >= 0 && avail > (size_t)(e->f.fail_recv_at - (long)e->received))
    avail = (size_t)(e->f.fail_recv_at - (long)e->received);
  if (avail == 0)
    return e->in->closed ? 0 : SSLBIO_WANT_READ;
  if (e->f.bogus_recv)
    return (long)cap + 7;
  size_t n = avail < cap ? avail : cap;
  if (e->f.max_chunk && n > e->f.max_chunk)
    n = e->f.max_chunk;
  memcpy(buf, e->in->buf + e->in->r, n);
  e->in->r += n;
  e->received += n;
  return (long)n;
}

static long fx_send(void *user, const void *buf, size_t len) {
  fx_end *e = user;
  if (e->dead)
    e->calls_after_dead++;
  if (e->f.eagain_pct && fx_rand(&e->rng) % 100 < e->f.eagain_pct)
    return SSLBIO_WANT_WRITE;
  if (e->f.fail_send_at >= 0 && (long)e->sent >= e->f.fail_send_at) {
    errno = EPIPE;
    return SSLBIO_ERROR;
  }
  if (e->f.bogus_send)
    return 0;
  size_t n = len;
  if (e->f.max_chunk && n > e->f.max_chunk)
    n = e->f.max_chunk;
  if (e->f.fail_send_at >= 0 && n > (size_t)(e->f.fail_send_at - (long)e->sent))
    n = (size_t)(e->f.fail_send_at - (long)e->sent);
  if (n > FX_PIPE - e->out->w)
    n = FX_PIPE - e->out->w;
  if (n == 0) {
    errno = EPIPE;
    return SSLBIO_ERROR;
  }
  memcpy(e->out->buf + e->out->w, buf, n);
  e->out->w += n;
  e->sent += n;
  return (long)n;
}

/* ---- one connection, both engines, any transport ---- */

enum { FX_HS, FX_SEND, FX_RECV, FX_SHUT, FX_WAITCLOSE, FX_DONE };

typedef struct fx_side {
  sslbio_conn *c;
  fx_end end;
  int phase;
  long status;          /* final status: SSLBIO_OK when the script completed */
  size_t sent_plain, got_plain;
  uint32_t sum_sent, sum_got; /* rolling checksums of the plaintext */
  unsigned char *payload; /* what this side sends */
  size_t payload_len;
  int callbacks;        /* 1: callback transport; 0: feed/drain by the driver */
} fx_side;

typedef struct fx_run {
  fx_pipe c2s, s2c;
  fx_side side[2]; /* 0 client, 1 server */
  int steps;
  int stalled;
} fx_run;

static uint32_t fx_sum(uint32_t s, const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    s = (s ^ p[i]) * 16777619u;
  return s;
}

/* Feed/drain mode: move bytes between the pipes and the engine by hand,
 * applying the same fault model. (Engine <-> simulated network, not engine
 * <-> engine: the faults happen on the pipes, so pair.h's mover does not
 * apply.) */
static void fx_manual_io(fx_side *s) {
  fx_end *e = &s->end;
  for (;;) { /* drain */
    unsigned char buf[4096];
    size_t cap = sizeof(buf);
    if (e->f.max_chunk && cap > e->f.max_chunk)
      cap = e->f.max_chunk;
    long n = sslbio_conn_drain(s->c, buf, cap);
    if (n <= 0)
      break;
    /* Drained bytes are the application's now: send all of them. */
    for (long k = 0; k < n;) {
      long w = fx_send(e, buf + k, (size_t)(n - k));
      if (w == SSLBIO_ERROR || w == 0) {
        e->dead = 1; /* a socket error: the application closes */
        e->out->closed = 1;
        s->status = SSLBIO_ERROR;
        return;
      }
      if (w > 0)
        k += w;
    }
  }
  for (int i = 0; i < 64; i++) { /* feed */
    unsigned char buf[4096];
    size_t cap = sizeof(buf);
    long got = fx_recv(e, buf, cap);
    if (got == SSLBIO_WANT_READ)
      break;
    if (got == SSLBIO_ERROR) {
      e->dead = 1;
      e->out->closed = 1;
      s->status = SSLBIO_ERROR;
      return;
    }
    if (got == 0) {
      sslbio_conn_feed_eof(s->c);
      break;
    }
    long fed = sslbio_conn_feed(s->c, buf, (size_t)got);
    if (fed < 0) { /* ENOMEM: the engine cannot take bytes; give up like a real app */
      FX_CHECK(fed == SSLBIO_ENOMEM, "feed returned %ld", fed);
      e->dead = 1;
      e->out->closed = 1;
      s->status = fed;
      return;
    }
    if (fed < got) { /* backpressure: put the rest back */
      e->in->r -= (size_t)(got - fed);
      e->received -= (size_t)(got - fed);
      break;
    }
  }
}

/* One step of a side's script. Returns 1 if anything happened. */
static int fx_step(fx_run *r, int who) {
  fx_side *s = &r->side[who];
  if (s->phase == FX_DONE || s->end.dead)
    return 0;
  if (!s->callbacks) {
    fx_manual_io(s);
    if (s->end.dead) {
      s->phase = FX_DONE;
      return 1;
    }
  }
  long st = SSLBIO_OK;
  unsigned char buf[8192];
  size_t before_sent = s->sent_plain, before_got = s->got_plain;
  int before_phase = s->phase;
  switch (s->phase) {
  case FX_HS:
    st = sslbio_conn_handshake(s->c);
    if (st == SSLBIO_OK)
      s->phase = who == 0 ? FX_SEND : FX_RECV;
    break;
  case FX_SEND: {
    size_t left = s->payload_len - s->sent_plain;
    size_t n = left < 5000 ? left : 5000;
    st = sslbio_conn_write(s->c, s->payload + s->sent_plain, n);
    if (st > 0) {
      s->sum_sent = fx_sum(s->sum_sent, s->payload + s->sent_plain, (size_t)st);
      s->sent_plain += (size_t)st;
      st = SSLBIO_OK;
    }
    if (s->sent_plain == s->payload_len)
      s->phase = who == 0 ? FX_RECV : FX_SHUT; /* the server echoes, then waits */
    break;
  }
  case FX_RECV: {
    st = sslbio_conn_read(s->c, buf, sizeof(buf));
    if (st > 0) {
      s->sum_got = fx_sum(s->sum_got, buf, (size_t)st);
      s->got_plain += (size_t)st;
      st = SSLBIO_OK;
      if (who == 1 && s->got_plain == r->side[0].payload_len) {
        s->payload = r->side[0].payload; /* echo it */
        s->payload_len = s->got_plain;
        s->phase = FX_SEND;
      } else if (who == 0 && s->got_plain == s->payload_len) {
        s->phase = FX_SHUT;
      }
    }
    break;
  }
  case FX_SHUT:
    if (who == 1) { /* the server waits for the client's close_notify first */
      st = sslbio_conn_read(s->c, buf, sizeof(buf));
      if (st == SSLBIO_CLOSED) {
        st = sslbio_conn_shutdown(s->c);
        if (st == SSLBIO_OK)
          s->phase = FX_DONE, s->status = SSLBIO_OK;
      } else if (st > 0) {
        st = SSLBIO_ERROR; /* unexpected data */
      }
    } else {
      st = sslbio_conn_shutdown(s->c);
      if (st == SSLBIO_WANT_READ || st == SSLBIO_OK)
        s->phase = FX_WAITCLOSE, st = SSLBIO_OK;
    }
    break;
  case FX_WAITCLOSE:
    st = sslbio_conn_read(s->c, buf, sizeof(buf));
    if (st == SSLBIO_CLOSED)
      s->phase = FX_DONE, s->status = SSLBIO_OK, st = SSLBIO_OK;
    break;
  }
  if (!s->callbacks && !s->end.dead) {
    fx_manual_io(s); /* send what the call produced (even our last close_notify) */
    if (s->end.dead) {
      s->phase = FX_DONE;
      return 1;
    }
  }
  if (st != SSLBIO_OK && st != SSLBIO_WANT_READ && st != SSLBIO_WANT_WRITE) {
    FX_CHECK(fx_is_status(st), "status %ld out of range", st);
    s->status = st;
    s->phase = FX_DONE;
    s->end.dead = 1; /* the application closes the socket */
    s->end.out->closed = 1;
    return 1;
  }
  if (s->phase == FX_DONE) {
    /* Callback mode: a call that completed may leave ciphertext queued when
     * send would block (our close_notify, say); the application flushes
     * it before closing the socket. */
    for (int i = 0; s->callbacks && sslbio_conn_pending_out(s->c) > 0 && i < 10000; i++) {
      int f = sslbio_conn_flush(s->c);
      FX_CHECK(f == SSLBIO_OK || f == SSLBIO_WANT_WRITE, "flush %d", f);
    }
    s->end.out->closed = 1;
  }
  return s->phase != before_phase || s->sent_plain != before_sent || s->got_plain != before_got ||
         st == SSLBIO_WANT_WRITE;
}

/* Run one connection until both sides are done, or nothing moves any more
 * (a peer waiting forever: the application's own timeout would end it). */
static void fx_connect(fx_run *r, sslbio_ctx *cctx, sslbio_ctx *sctx, const fx_fault *cf,
                       const fx_fault *sf, int callbacks, unsigned char *payload, size_t len,
                       uint64_t seed) {
  memset(r, 0, sizeof(*r));
  for (int w = 0; w < 2; w++) {
    fx_side *s = &r->side[w];
    s->end.in = w == 0 ? &r->s2c : &r->c2s;
    s->end.out = w == 0 ? &r->c2s : &r->s2c;
    s->end.f = w == 0 ? *cf : *sf;
    s->end.rng = seed * 2 + (uint64_t)w + 1;
    s->callbacks = callbacks;
    s->status = 1; /* not finished */
  }
  r->side[0].payload = payload;
  r->side[0].payload_len = len;
  r->side[0].c = sslbio_conn_new(cctx, "localhost");
  r->side[1].c = sslbio_conn_new(sctx, NULL);
  for (int w = 0; w < 2; w++) {
    fx_side *s = &r->side[w];
    if (s->c == NULL) {
      s->status = SSLBIO_ENOMEM, s->phase = FX_DONE, s->end.dead = 1, s->end.out->closed = 1;
    } else if (callbacks) {
      int st = sslbio_conn_set_transport(s->c, fx_recv, fx_send, &s->end);
      FX_CHECK(st == SSLBIO_OK, "set_transport %d", st);
    }
  }
  int idle = 0;
  while (idle < 50 && r->steps < 2000000) {
    int moved = 0;
    size_t io = r->c2s.r + r->c2s.w + r->s2c.r + r->s2c.w;
    for (int w = 0; w < 2; w++)
      moved |= fx_step(r, w);
    moved |= io != r->c2s.r + r->c2s.w + r->s2c.r + r->s2c.w;
    r->steps++;
    idle = moved ? 0 : idle + 1;
    if (r->side[0].phase == FX_DONE && r->side[1].phase == FX_DONE)
      break;
  }
  r->stalled = !(r->side[0].phase == FX_DONE && r->side[1].phase == FX_DONE);
}

static void fx_free_run(fx_run *r) {
  sslbio_conn_free(r->side[0].c);
  sslbio_conn_free(r->side[1].c);
  r->side[0].c = r->side[1].c = NULL;
}

#endif
