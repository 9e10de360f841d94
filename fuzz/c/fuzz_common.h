/* Shared by the libFuzzer harness (fuzz_engine.c) and the seed-corpus
 * generator (gen_corpus.c): deterministic randomness, the test contexts,
 * and the interpreter that turns an input into calls on two engines.
 *
 * Determinism: OpenSSL's RAND is replaced by a seeded xorshift generator,
 * reseeded before every input, so a handshake replays byte for byte. A
 * recorded server flight therefore matches the client's ClientHello when
 * the fuzzer replays it, and mutations reach deep into the state machines.
 * (Test-only: never do this outside a fuzzer.)
 *
 * Input format: byte 0 picks the mode, byte 1 the configuration, the rest
 * is the mode's body.
 *   mode 0  server raw feed: the body is ciphertext from a "client", fed to
 *           a server engine in chunks (size from the config byte), with
 *           handshake/read/drain after every chunk, then feed_eof.
 *   mode 1  client raw feed: a client engine sends its ClientHello, then
 *           the body is fed as the "server's" bytes, the same way.
 *   mode 2  two engines, one real client and one real server, driven by
 *           an op list (see run_ops) that can also inject, corrupt, drop,
 *           reset and call every API. An oracle checks that untampered
 *           plaintext arrives intact and in order, that SSLBIO_CLOSED
 *           needs the peer's shutdown and SSLBIO_TRUNCATED a feed_eof.
 * Any violated invariant calls abort(). */
#ifndef SSLBIO_FUZZ_COMMON_H
#define SSLBIO_FUZZ_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "../../tests/c/pair.h"
#include "sslbio.h"

/* ---- deterministic RAND ---- */

/* One stream per role (fz_sel: 0 client, 1 server, set before every call
 * on an engine), so a server replaying a recorded client stream alone
 * draws exactly the numbers it drew beside the real client. */
static uint64_t fz_rng_state[2] = {1, 2};
static int fz_sel;

static void fz_reseed(uint64_t seed) {
  fz_rng_state[0] = seed * 0x9E3779B97F4A7C15ull + 1;
  fz_rng_state[1] = seed * 0xC2B2AE3D27D4EB4Full + 3;
  fz_sel = 0;
}

static int fz_rand_bytes(unsigned char *buf, int num) {
  uint64_t x = fz_rng_state[fz_sel];
  for (int i = 0; i < num; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    buf[i] = (unsigned char)(x >> 24);
  }
  fz_rng_state[fz_sel] = x;
  return 1;
}
static int fz_rand_status(void) { return 1; }
static int fz_rand_seed(const void *buf, int num) { (void)buf, (void)num; return 1; }
static int fz_rand_add(const void *buf, int num, double e) { (void)buf, (void)num, (void)e; return 1; }

static RAND_METHOD fz_rand_method = {
    .seed = fz_rand_seed, .bytes = fz_rand_bytes, .add = fz_rand_add,
    .pseudorand = fz_rand_bytes, .status = fz_rand_status,
};

/* ---- contexts ---- */

#define FZ_VARIANTS 3
static sslbio_ctx *fz_srv[FZ_VARIANTS], *fz_cli[FZ_VARIANTS];

static const char *fz_certs(void) {
  const char *d = getenv("SSLBIO_FUZZ_CERTS");
  return d ? d : "fuzz/c/certs";
}

static void fz_check(int st, sslbio_ctx *ctx, const char *what) {
  if (st != SSLBIO_OK) {
    fprintf(stderr, "fuzz setup: %s: %s\n", what, sslbio_ctx_error(ctx));
    exit(2);
  }
}

static char *fz_path(const char *name) {
  static char buf[4][512];
  static int i;
  char *p = buf[i++ % 4];
  snprintf(p, 512, "%s/%s", fz_certs(), name);
  return p;
}

/* Variant 0: defaults. 1: ALPN + mandatory client certificate. 2: TLS 1.2
 * only, TLS 1.2 cipher list pinned. */
static void fz_init(void) {
  RAND_set_rand_method(&fz_rand_method);
  fz_reseed(1);
  for (int v = 0; v < FZ_VARIANTS; v++) {
    sslbio_ctx *s = sslbio_ctx_new(SSLBIO_SERVER), *c = sslbio_ctx_new(SSLBIO_CLIENT);
    if (!s || !c) {
      fprintf(stderr, "fuzz setup: no memory\n");
      exit(2);
    }
    fz_check(sslbio_ctx_use_certificate_chain_file(s, fz_path("server.pem")), s, "server cert");
    fz_check(sslbio_ctx_use_private_key_file(s, fz_path("server.key")), s, "server key");
    fz_check(sslbio_ctx_load_verify_file(c, fz_path("ca.pem")), c, "client CA");
    if (v == 1) {
      fz_check(sslbio_ctx_load_verify_file(s, fz_path("ca.pem")), s, "server CA");
      fz_check(sslbio_ctx_set_verify(s, SSLBIO_VERIFY_REQUIRE_PEER), s, "server verify");
      fz_check(sslbio_ctx_set_alpn(s, "h2,http/1.1"), s, "server alpn");
      fz_check(sslbio_ctx_set_alpn(c, "http/1.1,h2"), c, "client alpn");
      fz_check(sslbio_ctx_use_certificate_chain_file(c, fz_path("client.pem")), c, "client cert");
      fz_check(sslbio_ctx_use_private_key_file(c, fz_path("client.key")), c, "client key");
    }
    if (v == 2) {
      fz_check(sslbio_ctx_set_versions(s, 0x0303, 0x0303), s, "server versions");
      fz_check(sslbio_ctx_set_versions(c, 0x0303, 0x0303), c, "client versions");
      fz_check(sslbio_ctx_set_ciphers(s, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305", NULL),
               s, "server ciphers");
    }
    fz_srv[v] = s;
    fz_cli[v] = c;
  }
}

/* ---- input cursor ---- */

typedef struct fz_in {
  const uint8_t *p;
  size_t n;
} fz_in;

static uint8_t fz_u8(fz_in *in) {
  if (in->n == 0)
    return 0;
  in->n--;
  return *in->p++;
}

static uint16_t fz_u16(fz_in *in) { return (uint16_t)(fz_u8(in) << 8 | fz_u8(in)); }

/* A slice of up to max bytes (length byte first). */
static const uint8_t *fz_bytes(fz_in *in, size_t *len, size_t max) {
  size_t want = fz_u8(in);
  if (max < want)
    want = max;
  if (want > in->n)
    want = in->n;
  const uint8_t *p = in->p;
  in->p += want;
  in->n -= want;
  *len = want;
  return p;
}

/* ---- invariants ---- */

#define FZ_ASSERT(cond, ...)                                                                        \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "fuzz invariant failed at %s:%d: %s: ", __FILE__, __LINE__, #cond);          \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fprintf(stderr, "\n");                                                                       \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

static int fz_is_status(long st) { return st <= 0 && st >= SSLBIO_WANT_VERIFY; }

/* A failed call must explain itself: a message naming the operation. */
static void fz_check_error(sslbio_conn *c, long st) {
  if (st == SSLBIO_ERROR || st == SSLBIO_TRUNCATED) {
    char msg[512];
    long n = sslbio_conn_error(c, msg, sizeof(msg));
    FZ_ASSERT(n > 0, "status %ld without an error message", st);
    FZ_ASSERT(strncmp(msg, "sslbio: ", 8) == 0, "message %s", msg);
  }
}

/* Drain everything pending into the void (modes 0 and 1). */
static void fz_discard_out(sslbio_conn *c) {
  unsigned char buf[4096];
  long n;
  while ((n = sslbio_conn_drain(c, buf, sizeof(buf))) > 0) {
  }
  FZ_ASSERT(n == 0, "drain returned %ld", n);
  FZ_ASSERT(sslbio_conn_pending_out(c) == 0, "pending after drain");
}

/* Feed body into c in chunks, driving it after each one. */
static void fz_feed_raw(sslbio_conn *c, const uint8_t *p, size_t n, size_t chunk, int write_after) {
  unsigned char buf[16384 + 512];
  int wrote = 0;
  while (n > 0) {
    size_t k = n < chunk ? n : chunk;
    long fed = sslbio_conn_feed(c, p, k);
    FZ_ASSERT(fed >= 0 && (size_t)fed <= k, "feed returned %ld for %zu", fed, k);
    p += fed, n -= (size_t)fed;
    for (int i = 0; i < 64; i++) { /* bounded: read until it stops returning data */
      long r = sslbio_conn_read(c, buf, sizeof(buf));
      FZ_ASSERT(r > 0 || fz_is_status(r), "read %ld", r);
      fz_check_error(c, r);
      if (r <= 0)
        break;
    }
    if (write_after && !wrote && sslbio_conn_is_handshake_done(c)) {
      long w = sslbio_conn_write(c, "fuzz", 4);
      FZ_ASSERT(w == 4 || fz_is_status(w), "write %ld", w);
      wrote = 1;
    }
    sslbio_conn_wants(c);
    fz_discard_out(c);
    if (fed == 0 && sslbio_conn_read(c, buf, sizeof(buf)) <= 0) {
      /* Input queue full and the engine will not consume it: a dead engine. */
      break;
    }
  }
  sslbio_conn_feed_eof(c);
  long r = sslbio_conn_read(c, buf, sizeof(buf));
  FZ_ASSERT(r != SSLBIO_WANT_READ, "read wants more after feed_eof (rule 2: EOF must end it)");
  fz_check_error(c, r);
  fz_discard_out(c);
}

static const size_t fz_chunks[8] = {1, 3, 16, 100, 512, 4096, 17 * 1024, 1 << 20};

static void fz_mode_raw(int client, uint8_t cfg, const uint8_t *p, size_t n) {
  int v = (cfg & 3) % FZ_VARIANTS; /* bits 0-1 variant, 2-4 chunk size, 7 write */
  size_t chunk = fz_chunks[(cfg >> 2) & 7];
  fz_sel = client ? 0 : 1;
  sslbio_conn *c = client ? sslbio_conn_new(fz_cli[v], "localhost") : sslbio_conn_new(fz_srv[v], NULL);
  FZ_ASSERT(c != NULL, "conn_new");
  if (client) {
    int st = sslbio_conn_handshake(c);
    FZ_ASSERT(st == SSLBIO_WANT_READ, "client first handshake %d", st);
    fz_discard_out(c); /* the ClientHello */
  }
  fz_feed_raw(c, p, n, chunk, cfg & 0x80);
  if (getenv("FZ_DEBUG")) {
    char msg[256];
    sslbio_conn_error(c, msg, sizeof(msg));
    fprintf(stderr, "fuzz: mode %d variant %d: handshake %s, %s, last error: %s\n", client, v,
            sslbio_conn_is_handshake_done(c) ? "done" : "not done",
            sslbio_conn_version(c) ? sslbio_conn_version(c) : "-", msg);
  }
  /* Info calls must be safe in any state. */
  char pem[4096];
  sslbio_conn_version(c), sslbio_conn_cipher(c), sslbio_conn_alpn(c);
  sslbio_conn_peer_certificate_pem(c, pem, sizeof(pem));
  sslbio_conn_verify_result(c), sslbio_conn_error_code(c);
  sslbio_conn_free(c);
}

/* ---- mode 2: two engines and an op list ---- */

#define FZ_REC 65536

typedef struct fz_side {
  sslbio_conn *c;
  unsigned char written[FZ_REC]; /* plaintext accepted by write */
  size_t nwritten;
  size_t nread; /* plaintext this side read (checked against the peer's `written`) */
  int shutdown_called, eof_fed;
  t_buf pend;   /* ciphertext drained from this side, not yet fed to the peer */
  int tampered; /* the stream from this side was altered: no integrity oracle */
} fz_side;

#define FZ_PEND 40000 /* the most ciphertext a side's `pend` holds */

typedef struct fz_pair {
  fz_side s[2]; /* 0 client, 1 server */
  int variant;
  int log;      /* gen_corpus: record the ops */
} fz_pair;

/* Flips one byte of a drained piece (the tap of a corrupting transfer). */
typedef struct fz_flip {
  int at;
  uint8_t xor_val;
  fz_side *from;
} fz_flip;
static size_t fz_flip_tap(void *arg, unsigned char *p, size_t n) {
  fz_flip *f = arg;
  p[(size_t)f->at % n] ^= f->xor_val ? f->xor_val : 1;
  f->from->tampered = 1;
  return n;
}

/* Room left in a side's `pend`. */
static size_t fz_pend_room(const fz_side *s) { return s->pend.len < FZ_PEND ? FZ_PEND - s->pend.len : 0; }

/* Move up to n bytes from side a's engine/pending to side b's engine, with
 * pair.h's mover: one drain call into pending (what room is left), then
 * feeding as far as b accepts. */
static void fz_transfer(fz_pair *pr, int a, size_t n, int corrupt_at, uint8_t xor_val) {
  fz_side *A = &pr->s[a], *B = &pr->s[!a];
  size_t room = fz_pend_room(A);
  fz_flip flip = {corrupt_at, xor_val, A};
  t_move_cfg cfg = {.piece = room, .max_drain = room, .tap = corrupt_at >= 0 ? fz_flip_tap : NULL,
                    .tap_arg = &flip};
  if (room > 0) {
    long k = t_drain_with(A->c, &A->pend, &cfg);
    FZ_ASSERT(k >= 0, "drain %ld", k);
  }
  if (n == 0 || A->pend.len == 0 || B->eof_fed)
    return;
  fz_sel = !a;
  long fed = t_feed_with(&A->pend, B->c, n, 0);
  FZ_ASSERT(fed >= 0 && (size_t)fed <= n, "feed %ld", fed);
}

static void fz_note_read(fz_pair *pr, int who, long r, const unsigned char *buf) {
  fz_side *me = &pr->s[who], *peer = &pr->s[!who];
  FZ_ASSERT(r > 0 || fz_is_status(r), "read returned %ld", r);
  fz_check_error(me->c, r);
  if (r > 0 && !peer->tampered) {
    FZ_ASSERT(me->nread + (size_t)r <= peer->nwritten, "read %zu+%ld bytes, peer wrote %zu",
              me->nread, r, peer->nwritten);
    FZ_ASSERT(memcmp(peer->written + me->nread, buf, (size_t)r) == 0,
              "plaintext differs at offset %zu", me->nread);
  }
  if (r > 0)
    me->nread += (size_t)r;
  if (r == SSLBIO_CLOSED && !peer->tampered)
    FZ_ASSERT(peer->shutdown_called, "CLOSED but the peer never called shutdown");
  if (r == SSLBIO_TRUNCATED)
    FZ_ASSERT(me->eof_fed, "TRUNCATED without feed_eof");
}

/* An honest pump: handshake both, shuttle bytes, bounded. */
static void fz_pump(fz_pair *pr, int rounds) {
  unsigned char buf[2048];
  for (int i = 0; i < rounds; i++) {
    for (int w = 0; w < 2; w++) {
      fz_side *me = &pr->s[w];
      fz_sel = w;
      if (!sslbio_conn_is_handshake_done(me->c)) {
        int st = sslbio_conn_handshake(me->c);
        fz_check_error(me->c, st);
      } else {
        long r = sslbio_conn_read(me->c, buf, sizeof(buf));
        fz_note_read(pr, w, r, buf);
      }
      fz_transfer(pr, w, (size_t)-1, -1, 0);
    }
  }
}

static void fz_write(fz_pair *pr, int who, const uint8_t *data, size_t len) {
  fz_side *me = &pr->s[who];
  if (len == 0)
    return;
  long w = sslbio_conn_write(me->c, data, len);
  FZ_ASSERT((w > 0 && (size_t)w <= len) || fz_is_status(w), "write %ld of %zu", w, len);
  fz_check_error(me->c, w);
  if (w > 0) {
    size_t k = (size_t)w;
    if (me->nwritten + k > FZ_REC)
      me->tampered = 1; /* beyond what we record: stop checking */
    else
      memcpy(me->written + me->nwritten, data, k);
    me->nwritten += k;
  }
}

static void fz_reset_side(fz_pair *pr, int who) {
  fz_side *me = &pr->s[who];
  int st = sslbio_conn_reset(me->c, who == 0 ? "localhost" : NULL);
  FZ_ASSERT(st == SSLBIO_OK || st == SSLBIO_ENOMEM, "reset %d", st);
  /* A new connection on this side: both streams start over, unchecked. */
  pr->s[0].tampered = pr->s[1].tampered = 1;
  me->pend.len = 0;
  me->eof_fed = 0;
  me->shutdown_called = 0;
}

static void fz_mode_ops(uint8_t cfg, fz_in *in) {
  static fz_pair pr; /* large: not on the stack */
  memset(&pr, 0, sizeof(pr));
  pr.variant = (cfg & 3) % FZ_VARIANTS;
  fz_sel = 0;
  pr.s[0].c = sslbio_conn_new(fz_cli[pr.variant], "localhost");
  fz_sel = 1;
  pr.s[1].c = sslbio_conn_new(fz_srv[pr.variant], NULL);
  FZ_ASSERT(pr.s[0].c && pr.s[1].c, "conn_new");
  unsigned char buf[20000];
  int ops = 0;
  while (in->n > 0 && ops++ < 4096) {
    uint8_t op = fz_u8(in);
    int who = op >> 7;
    fz_side *me = &pr.s[who];
    fz_sel = who;
    size_t len;
    const uint8_t *data;
    switch (op & 0x1f) {
    case 0: /* honest transfer of n bytes */
      fz_transfer(&pr, who, fz_u16(in), -1, 0);
      break;
    case 1: /* transfer with one flipped byte */
    {
      uint16_t at = fz_u16(in);
      uint8_t x = fz_u8(in);
      fz_transfer(&pr, who, (size_t)-1, at, x);
      break;
    }
    case 2: /* inject attacker bytes into this side's input */
      data = fz_bytes(in, &len, 255);
      if (!me->eof_fed && len > 0) {
        long fed = sslbio_conn_feed(me->c, data, len);
        FZ_ASSERT(fed >= 0 && (size_t)fed <= len, "feed %ld", fed);
        pr.s[!who].tampered = 1;
      }
      break;
    case 3:
      fz_check_error(me->c, sslbio_conn_handshake(me->c));
      break;
    case 4: {
      size_t cap = fz_u16(in) % sizeof(buf) + 1;
      long r = sslbio_conn_read(me->c, buf, cap);
      fz_note_read(&pr, who, r, buf);
      break;
    }
    case 5:
      data = fz_bytes(in, &len, 255);
      fz_write(&pr, who, data, len);
      break;
    case 6: { /* a big write from a fixed pattern */
      size_t n = (size_t)fz_u16(in) + 1;
      static unsigned char big[65536];
      for (size_t i = 0; i < n; i++)
        big[i] = (unsigned char)(i * 31 + me->nwritten);
      fz_write(&pr, who, big, n);
      break;
    }
    case 7: {
      int st = sslbio_conn_shutdown(me->c);
      FZ_ASSERT(fz_is_status(st), "shutdown %d", st);
      fz_check_error(me->c, st);
      if (st == SSLBIO_OK || st == SSLBIO_WANT_READ)
        me->shutdown_called = 1;
      break;
    }
    case 8:
      sslbio_conn_feed_eof(me->c);
      me->eof_fed = 1;
      break;
    case 9: {
      int st = sslbio_conn_key_update(me->c, fz_u8(in) & 1);
      FZ_ASSERT(fz_is_status(st), "key update %d", st);
      break;
    }
    case 10: {
      int m = sslbio_conn_wants(me->c);
      FZ_ASSERT((m & ~7) == 0, "wants %d", m);
      FZ_ASSERT(!(m & SSLBIO_WANTS_WRITE) == (sslbio_conn_pending_out(me->c) == 0),
                "WANTS_WRITE disagrees with pending_out");
      break;
    }
    case 11: { /* zero-copy feed of attacker bytes */
      void *room;
      long cap = sslbio_conn_feed_buffer(me->c, &room);
      data = fz_bytes(in, &len, 255);
      if (cap > 0) {
        size_t k = len < (size_t)cap ? len : (size_t)cap;
        memcpy(room, data, k);
        FZ_ASSERT(sslbio_conn_feed_commit(me->c, k) == (long)k, "commit");
        if (k)
          pr.s[!who].tampered = 1;
      }
      break;
    }
    case 12: { /* zero-copy honest drain of up to n bytes into pending */
      size_t k = fz_u16(in), room = fz_pend_room(me);
      if (k > room)
        k = room;
      const t_move_cfg zc = {.zero_copy = 1, .piece = k, .max_drain = k};
      if (k > 0)
        FZ_ASSERT(t_drain_with(me->c, &me->pend, &zc) >= 0, "zero-copy drain");
      break;
    }
    case 13:
      fz_reset_side(&pr, who);
      break;
    case 14: { /* sessions: save the client's, resume a saved one, or try attacker bytes */
      static unsigned char der[8192];
      static long nder;
      fz_sel = 0;
      if (op & 0x20) {
        data = fz_bytes(in, &len, 255);
        sslbio_conn_set_session(pr.s[0].c, data, len);
      } else if (op & 0x40) {
        if (nder > 0) {
          int st = sslbio_conn_set_session(pr.s[0].c, der, (size_t)nder);
          if (getenv("FZ_DEBUG")) {
            char m[256];
            sslbio_conn_error(pr.s[0].c, m, sizeof(m));
            fprintf(stderr, "fuzz: set_session(%ld bytes) = %d %s\n", nder, st, m);
          }
        }
      } else {
        long n = sslbio_conn_session(pr.s[0].c, der, sizeof(der));
        FZ_ASSERT(n >= 0 || fz_is_status(n), "session %ld", n);
        nder = n > 0 && (size_t)n <= sizeof(der) ? n : 0;
        if (getenv("FZ_DEBUG"))
          fprintf(stderr, "fuzz: session saved: %ld bytes\n", nder);
      }
      break;
    }
    case 15: { /* every info call */
      char msg[256];
      sslbio_conn_version(me->c), sslbio_conn_cipher(me->c), sslbio_conn_alpn(me->c);
      sslbio_conn_peer_certificate_pem(me->c, (char *)buf, sizeof(buf));
      sslbio_conn_error(me->c, msg, fz_u8(in) % sizeof(msg));
      sslbio_conn_error_code(me->c), sslbio_conn_verify_result(me->c);
      sslbio_conn_is_handshake_done(me->c);
      FZ_ASSERT(sslbio_conn_pending_out(me->c) >= 0, "pending_out");
      break;
    }
    case 16:
      fz_pump(&pr, 1 + fz_u8(in) % 8);
      break;
    case 17: /* drop what is pending (a lossy attacker) */
      if (me->pend.len)
        pr.s[who].tampered = 1;
      me->pend.len = 0;
      break;
    default: /* 18..31: honest transfer of everything, both ways */
      fz_transfer(&pr, 0, (size_t)-1, -1, 0);
      fz_transfer(&pr, 1, (size_t)-1, -1, 0);
      break;
    }
  }
  /* Finish honestly: whatever state we are in, a pump must not crash or
   * spin, and the integrity oracle still holds. */
  fz_pump(&pr, 4);
  if (getenv("FZ_DEBUG")) {
    char m0[256], m1[256];
    sslbio_conn_error(pr.s[0].c, m0, sizeof(m0));
    sslbio_conn_error(pr.s[1].c, m1, sizeof(m1));
    fprintf(stderr, "fuzz: ops: client error: %s; server error: %s\n", m0, m1);
  }
  if (getenv("FZ_DEBUG"))
    fprintf(stderr, "fuzz: ops: handshake %d/%d, read %zu/%zu of %zu/%zu written\n",
            sslbio_conn_is_handshake_done(pr.s[0].c), sslbio_conn_is_handshake_done(pr.s[1].c),
            pr.s[0].nread, pr.s[1].nread, pr.s[1].nwritten, pr.s[0].nwritten);
  sslbio_conn_free(pr.s[0].c);
  sslbio_conn_free(pr.s[1].c);
  t_buf_free(&pr.s[0].pend);
  t_buf_free(&pr.s[1].pend);
}

/* Run one input; the RNG is reseeded so that the same input replays the
 * same handshake. (gen_corpus.c includes this file without running inputs.) */
__attribute__((unused)) static void fz_run(const uint8_t *data, size_t size) {
  if (size < 2)
    return;
  fz_reseed(7);
  uint8_t mode = data[0] % 3, cfg = data[1];
  fz_in in = {data + 2, size - 2};
  if (mode < 2)
    fz_mode_raw(mode == 1, cfg, in.p, in.n);
  else
    fz_mode_ops(cfg, &in);
  ERR_clear_error();
}

#endif
