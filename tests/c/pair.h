/* pair.h: the one mover of ciphertext between two in-memory sslbio
 * engines, for every C harness: the tests in tests/c (through t.h),
 * tests/faults/hostile.c, soak/c, fuzz/c and bench/c/memsites.c.
 * Header-only (static inline), so that it goes with any link line: the
 * shared library, the engine's sources compiled in, or libFuzzer.
 *
 * A t_buf is one direction of the wire: ciphertext drained from one engine
 * that the other has not accepted yet. t_move drains `from` onto it, then
 * feeds it to `to` as far as `to` accepts; the rest stays on the wire for
 * the next call (backpressure: nothing is ever dropped by the mover).
 * t_move_with does the same the way a t_move_cfg says; t_drain and t_feed
 * are its two halves, for tests that hold ciphertext back on purpose. */
#ifndef SSLBIO_TESTS_PAIR_H
#define SSLBIO_TESTS_PAIR_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sslbio.h"

/* ---- a growable byte buffer ---- */

typedef struct t_buf {
  unsigned char *data;
  size_t len, cap;
} t_buf;

/* Room for n more bytes at data + len (aborts when memory runs out). The
 * first call allocates even for n == 0: data + len on a NULL data is
 * undefined behaviour (clang's UBSan traps on it). */
static inline unsigned char *t_buf_reserve(t_buf *b, size_t n) {
  if (b->data == NULL || b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n)
      cap *= 2;
    unsigned char *d = realloc(b->data, cap);
    if (d == NULL) {
      fprintf(stderr, "t_buf: out of memory\n");
      abort();
    }
    b->data = d;
    b->cap = cap;
  }
  return b->data + b->len;
}

static inline void t_buf_append(t_buf *b, const void *p, size_t n) {
  unsigned char *at = t_buf_reserve(b, n);
  if (n > 0)
    memcpy(at, p, n);
  b->len += n;
}

/* Drop the first n bytes. */
static inline void t_buf_consume(t_buf *b, size_t n) {
  if (n >= b->len) {
    b->len = 0;
    return;
  }
  memmove(b->data, b->data + n, b->len - n);
  b->len -= n;
}

static inline void t_buf_free(t_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* ---- the mover ---- */

/* How to move; zero-initialised, it is t_move's way: drain everything
 * pending in 16 KiB calls, feed all that fits, plain drain/feed. */
typedef struct t_move_cfg {
  size_t piece;                  /* largest drain call (0: 16 KiB) */
  size_t (*piece_fn)(void *arg); /* if set, each drain call's size (random pieces) */
  void *piece_arg;
  size_t max_drain; /* drain at most this many bytes (0: all that is pending) */
  size_t max_feed;  /* feed at most this many bytes (0: all the wire holds) */
  /* If set, sees each drained piece before it goes on the wire, may alter
   * it, and returns how many of its bytes go on (the others are lost: a
   * network that cuts the stream). */
  size_t (*tap)(void *arg, unsigned char *p, size_t n);
  void *tap_arg;
  int zero_copy; /* sslbio_conn_drain_buffer/commit and feed_buffer/commit */
} t_move_cfg;

/* Drains `from` onto the wire. Returns the bytes drained (those a tap cut
 * off included), or a negative status when a drain call failed. */
static inline long t_drain_with(sslbio_conn *from, t_buf *w, const t_move_cfg *cfg) {
  static const t_move_cfg plain;
  const t_move_cfg *o = cfg ? cfg : &plain;
  size_t total = 0;
  for (;;) {
    size_t piece = o->piece_fn ? o->piece_fn(o->piece_arg) : o->piece ? o->piece : 16384;
    if (o->max_drain && piece > o->max_drain - total)
      piece = o->max_drain - total;
    if (piece == 0)
      break;
    unsigned char *at = t_buf_reserve(w, piece);
    long n;
    if (o->zero_copy) {
      const void *p;
      n = sslbio_conn_drain_buffer(from, &p);
      if (n > (long)piece)
        n = (long)piece;
      if (n > 0) {
        memcpy(at, p, (size_t)n);
        long c = sslbio_conn_drain_commit(from, (size_t)n);
        if (c != n)
          return c < 0 ? c : SSLBIO_ERROR;
      }
    } else {
      n = sslbio_conn_drain(from, at, piece);
    }
    if (n < 0)
      return n;
    if (n == 0)
      break;
    w->len += o->tap ? o->tap(o->tap_arg, at, (size_t)n) : (size_t)n;
    total += (size_t)n;
  }
  return (long)total;
}

/* Feeds up to max bytes of the wire (SIZE_MAX: all of it) into `to`, as far
 * as it accepts; the rest stays. Returns the bytes fed, or a negative status
 * when a feed failed. */
static inline long t_feed_with(t_buf *w, sslbio_conn *to, size_t max, int zero_copy) {
  size_t fed = 0;
  while (fed < max && w->len > 0) {
    size_t want = w->len < max - fed ? w->len : max - fed;
    long k;
    if (zero_copy) {
      void *room;
      k = sslbio_conn_feed_buffer(to, &room);
      if (k > (long)want)
        k = (long)want;
      if (k > 0) {
        memcpy(room, w->data, (size_t)k);
        long c = sslbio_conn_feed_commit(to, (size_t)k);
        if (c != k)
          return c < 0 ? c : SSLBIO_ERROR;
      }
    } else {
      k = sslbio_conn_feed(to, w->data, want);
    }
    if (k < 0)
      return k;
    if (k == 0)
      break; /* `to` is full: the rest waits */
    t_buf_consume(w, (size_t)k);
    fed += (size_t)k;
  }
  return (long)fed;
}

/* Drain, then feed. Returns the bytes fed, or a negative status. */
static inline long t_move_with(sslbio_conn *from, t_buf *w, sslbio_conn *to, const t_move_cfg *cfg) {
  long d = t_drain_with(from, w, cfg);
  if (d < 0)
    return d;
  return t_feed_with(w, to, cfg && cfg->max_feed ? cfg->max_feed : SIZE_MAX, cfg && cfg->zero_copy);
}

/* The plain forms. t_move returns the bytes fed (0 after a failure). */
static inline long t_drain(sslbio_conn *from, t_buf *w) { return t_drain_with(from, w, NULL); }
static inline long t_feed(t_buf *w, sslbio_conn *to) { return t_feed_with(w, to, SIZE_MAX, 0); }
static inline size_t t_move(sslbio_conn *from, t_buf *w, sslbio_conn *to) {
  long n = t_move_with(from, w, to, NULL);
  return n > 0 ? (size_t)n : 0;
}

#endif
