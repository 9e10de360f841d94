/* Operation-sequence fuzzing of the engine's own code (issue 13).
 *
 * fzo_setup() builds, once, a set of client/server pairs in every state
 * worth starting from (established TLS 1.3, TLS 1.2, mutual TLS with ALPN,
 * mid-handshake, paused at the ClientHello, paused for a deferred verify
 * decision on either side, the server's on TLS 1.3 and on TLS 1.2). Each input then runs in a copy of that process
 * (a fork: AFL++'s deferred fork server, or fuzz_ops_main.c's replay
 * driver), so no input pays for a handshake it does not want.
 *
 * Input: byte 0 picks the starting pair (fzo_scenario), the rest is a list
 * of operations, each one opcode byte and its arguments:
 *   opcode bit 7   side (0 client, 1 server)
 *   opcode bits 5-6  a variant of the operation (f below)
 *   opcode bits 0-4  the operation (FZO_* below)
 * Missing argument bytes read as 0, so every byte string is an input.
 *
 * The model (fzo_side) knows what each side wrote (a pattern indexed by
 * stream offset, so nothing is stored), what is on the wire between them
 * (pair.h's t_buf, one per direction), and what happened (tampering,
 * feed_eof, rejections, failures). The oracle, checked after every call:
 *  - plaintext read is exactly the next bytes the peer wrote, none lost,
 *    duplicated or reordered, tampered stream or not (TLS must not deliver
 *    forged bytes); at the end of an honest run every byte was delivered;
 *  - every status is one the contract allows for that call in that state
 *    (EINVAL only for the misuses the header names, WANT_READ never after
 *    feed_eof, the pauses only with their hooks, CLOSED only after the
 *    peer's shutdown, ...);
 *  - pending_out is what drain hands out; wants() agrees with pending_out
 *    and with what a read returns right after it;
 *  - a side whose incoming stream was not tampered with (and that saw no
 *    feed_eof, rejection or transport failure, nor a failed peer) never
 *    fails; one that failed has an error message naming the operation, and
 *    keeps returning that status (the error stays), and its callback
 *    transport's recv is never called again.
 * Any violation calls abort(). */
#ifndef SSLBIO_FUZZ_OPS_H
#define SSLBIO_FUZZ_OPS_H

#include "fuzz_common.h"

#include <errno.h>

enum {
  FZO_FEED,       /* k bytes of the peer's ciphertext; f: 0 whole, 1 split, 2 a byte flipped, 3 zero-copy partial commit */
  FZO_DRAIN,      /* f: 0 drain into an n-byte buffer, 1 zero-copy region + partial commit, 2 over-commit (EINVAL), 3 drain all */
  FZO_WRITE,      /* n bytes (f&2: up to 36000); f&1: write_drain into an n2-byte buffer */
  FZO_READ,       /* into an n-byte buffer (f&2: up to 36000); f&1: feed_read of k bytes */
  FZO_HANDSHAKE,
  FZO_KEY_UPDATE, /* f&1: update_peer */
  FZO_SHUTDOWN,
  FZO_FEED_EOF,
  FZO_WANTS,      /* wants(), then a read must agree with it */
  FZO_PENDING,    /* pending_out agrees with the drain region */
  FZO_RESET,      /* reset both engines, new handshake; f&1: client resumes the saved session */
  FZO_SESSION,    /* export the client's session (saved for FZO_RESET); f 1: import garbage */
  FZO_INJECT,     /* attacker bytes into this side's input */
  FZO_DROP,       /* lose k bytes of this side's outgoing ciphertext */
  FZO_TRANSPORT,  /* callback transport on (budgets r, s) / f 1: off / f 2: recv fails / f 3: recv EOF */
  FZO_FLUSH,
  FZO_HELLO,      /* ClientHello pause: f 0 go on, 1 use_context, 2 reject(alert), 3 the offer */
  FZO_VERIFY,     /* verify_done(f&1); then the callback's next answer */
  FZO_INFO,       /* every info and error call */
  FZO_PUMP,       /* honest rounds: handshake/read, drain, feed, both sides */
  FZO_NOPS        /* 20..31: honest transfer both ways */
};

typedef struct fzo_side {
  sslbio_conn *c;
  int who;              /* 0 client, 1 server */
  uint64_t nwritten;    /* plaintext accepted by write */
  uint64_t nread;       /* plaintext read (checked against the peer's writes) */
  t_buf wire;           /* ciphertext drained from this side, not yet fed to the peer */
  int in_tampered;      /* this side's incoming ciphertext was altered */
  int eof_fed;
  int shutdown_sent;    /* shutdown returned OK or WANT_READ */
  int closed;           /* a read returned CLOSED */
  int failed;           /* the status this side failed with (0: alive) */
  int fail_ok;          /* something happened that allows this side to fail */
  int may_hello_pause;  /* server, context with the ClientHello pause */
  int may_verify_pause; /* context with a verify callback */
  int paused;           /* the last call returned WANT_CLIENT_HELLO / WANT_VERIFY */
  int refused;          /* this side refused the peer's certificate (this handshake) */
  /* callback transport */
  int transport;
  int recv_budget, send_budget; /* bytes per call budget; < 0: unlimited */
  int recv_fail, recv_eof;
} fzo_side;

typedef struct fzo_pair {
  fzo_side s[2];
  uint32_t epoch; /* bumps at reset: a new pattern */
} fzo_pair;

#define FZO_SCENARIOS 8
#define FZO_MAX_OPS 96 /* per input: depth comes from the prepared pairs, speed from short inputs */
#define FZO_WIRE_MAX 200000 /* most ciphertext held on a wire (the mover's backpressure) */
#define FZO_OUT_CAP (17 * 1024) /* SSLBIO__OUT_CAP: write says WANT_WRITE from this much pending */
#define FZO_WRITE_BUDGET (256 * 1024) /* plaintext one side writes per epoch; later writes are skipped */

static fzo_pair fzo_pairs[FZO_SCENARIOS];
static fzo_pair *fzo; /* the pair of the running input */
static sslbio_ctx *fzo_hello_srv, *fzo_alt_srv, *fzo_vcb_cli, *fzo_vcb_cli12, *fzo_vcb_srv;
static int fzo_verify_answer[2] = {SSLBIO_WANT_VERIFY, SSLBIO_WANT_VERIFY}; /* per side */
static unsigned char fzo_session[8192];
static long fzo_session_len;
static unsigned char fzo_buf[40000], fzo_out[40000];
static uint64_t fzo_moved; /* ciphertext bytes drained and fed by the model (progress) */
static int fzo_trace; /* FZO_TRACE=1: print every operation and status */
static const char *const fzo_names[] = {"feed", "drain", "write", "read", "handshake", "key_update",
    "shutdown", "feed_eof", "wants", "pending", "reset", "session", "inject", "drop", "transport",
    "flush", "hello", "verify", "info", "pump"};

/* ---- the pattern both sides write ---- */

static inline uint8_t fzo_pat(uint32_t epoch, int who, uint64_t i) {
  uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull ^ ((uint64_t)epoch << 40) ^ (uint64_t)who << 63;
  return (uint8_t)(x >> 29 ^ x >> 51);
}

static void fzo_fill(fzo_side *me, unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    p[i] = fzo_pat(fzo->epoch, me->who, me->nwritten + i);
}

/* ---- oracle ---- */

static fzo_side *peer_of(fzo_side *me) { return &fzo->s[!me->who]; }

static int is_fail(long st) { return st == SSLBIO_ERROR || st == SSLBIO_TRUNCATED; }

/* This side may fail from now on. */
static int fzo_may_fail(const fzo_side *me) {
  for (int w = 0; w < 2; w++) /* a verify callback set to reject (it outlives reset) */
    if (fzo->s[w].may_verify_pause && fzo_verify_answer[w] == 0)
      return 1;
  return me->in_tampered || me->eof_fed || me->fail_ok;
}

/* me's incoming stream is altered. During the handshake the transcript
 * is too: the peer may fail first (its Finished does not match). */
static void fzo_tamper(fzo_side *me) {
  me->in_tampered = 1;
  if (!sslbio_conn_is_handshake_done(fzo->s[0].c) || !sslbio_conn_is_handshake_done(fzo->s[1].c))
    peer_of(me)->fail_ok = 1;
}

/* A fatal status: allowed? remembered, sticky, and it frees the peer to fail. */
static void fzo_failed(fzo_side *me, long st, const char *op) {
  if (fzo_trace || !fzo_may_fail(me)) {
    char msg[512];
    sslbio_conn_error(me->c, msg, sizeof(msg));
    fprintf(stderr, "side %d failed: %s\n", me->who, msg);
  }
  FZ_ASSERT(fzo_may_fail(me), "%s: side %d failed (%ld %s) on an untampered connection", op,
            me->who, st, sslbio_strstatus((int)st));
  fz_check_error(me->c, st);
  if (me->failed)
    FZ_ASSERT(me->failed == st, "%s: side %d failed with %d, now %ld", op, me->who, me->failed, st);
  me->failed = (int)st;
  peer_of(me)->fail_ok = 1; /* its alert may reach the peer */
}

/* After every operation: a failure that happened inside a call whose
 * status does not say so (wants, flush) is seen in the error record; a
 * failed side's record keeps its status. */
static void fzo_sync(fzo_side *me) {
  sslbio_error_info info;
  FZ_ASSERT(sslbio_conn_error_info(me->c, &info) == SSLBIO_OK, "error_info");
  if (me->failed) {
    FZ_ASSERT(info.status == me->failed, "side %d failed with %d, error record now says %d",
              me->who, me->failed, info.status);
    FZ_ASSERT(info.op != NULL && info.kind != SSLBIO_KIND_NONE, "failed side without op/kind");
  } else if (is_fail(info.status) && info.kind != SSLBIO_KIND_INVALID) {
    fzo_failed(me, info.status, "(error record)");
  }
}

/* A refused misuse: SSLBIO_EINVAL, or on a dead engine its sticky error
 * (sslbio__fail answers every failure of a dead engine with it). */
static int fzo_refused(fzo_side *me, long st) {
  if (st == SSLBIO_EINVAL)
    return 1;
  sslbio_error_info info;
  sslbio_conn_error_info(me->c, &info);
  return is_fail(info.status) && info.kind != SSLBIO_KIND_INVALID && st == info.status;
}

/* Checks a status of handshake/read/write/shutdown/key_update. */
static void fzo_status(fzo_side *me, long st, const char *op) {
  int is_read = op[0] == 'r', is_hs = op[0] == 'h';
  FZ_ASSERT(st >= 0 || fz_is_status(st), "%s returned %ld", op, st);
  FZ_ASSERT(st != SSLBIO_ENOMEM, "%s: ENOMEM without fault injection", op);
  if (fzo_trace)
    fprintf(stderr, "    side %d %s -> %ld %s\n", me->who, op, st, st <= 0 ? sslbio_strstatus((int)st) : "");
  if (is_read || is_hs || op[0] == 'w') /* the calls that go on with a paused handshake */
    me->paused = st == SSLBIO_WANT_CLIENT_HELLO || st == SSLBIO_WANT_VERIFY;
  if (me->failed && st < 0) {
    FZ_ASSERT(st == me->failed, "%s on a failed side %d: %ld, failed with %d", op, me->who, st,
              me->failed);
    return;
  }
  if (me->failed && st >= 0)
    FZ_ASSERT(0, "%s on a failed side %d returned %ld", op, me->who, st);
  if (is_fail(st)) {
    fzo_failed(me, st, op);
    return;
  }
  if (st == SSLBIO_WANT_CLIENT_HELLO)
    FZ_ASSERT(me->may_hello_pause, "%s: WANT_CLIENT_HELLO without the pause", op);
  if (st == SSLBIO_WANT_VERIFY)
    FZ_ASSERT(me->may_verify_pause, "%s: WANT_VERIFY without a verify callback", op);
  if (st == SSLBIO_CLOSED) {
    FZ_ASSERT(is_read || is_hs || op[0] == 's', "%s returned CLOSED", op);
    if (!me->in_tampered)
      FZ_ASSERT(peer_of(me)->shutdown_sent, "%s: CLOSED but the peer never shut down", op);
    if (is_read)
      me->closed = 1;
  }
  if (st == SSLBIO_WANT_READ && (is_read || is_hs) && me->eof_fed && !me->transport)
    FZ_ASSERT(0, "%s wants more after feed_eof (rule 2)", op);
  if (st == SSLBIO_EINVAL) {
    int ok = 0;
    if (op[0] == 'w') /* write after our close_notify */
      ok = me->shutdown_sent;
    else if (op[0] == 's') /* shutdown before the handshake */
      ok = !sslbio_conn_is_handshake_done(me->c);
    else if (op[0] == 'k') /* key update: not TLS 1.3, or not established */
      ok = !sslbio_conn_is_handshake_done(me->c) || sslbio_conn_protocol_version(me->c) != 0x0304;
    FZ_ASSERT(ok, "%s: EINVAL in a state where the contract allows the call", op);
  }
  if (st == SSLBIO_WANT_WRITE && strcmp(op, "write") == 0 && !me->transport)
    FZ_ASSERT(sslbio_conn_pending_out(me->c) >= FZO_OUT_CAP,
              "write: WANT_WRITE with only %ld bytes pending", sslbio_conn_pending_out(me->c));
}

/* Plaintext read: the next bytes of the peer's pattern. */
static void fzo_got(fzo_side *me, const unsigned char *p, long n) {
  fzo_side *peer = peer_of(me);
  FZ_ASSERT(me->nread + (uint64_t)n <= peer->nwritten, "side %d read %ld more bytes after %llu, "
            "the peer wrote %llu", me->who, n, (unsigned long long)me->nread,
            (unsigned long long)peer->nwritten);
  for (long i = 0; i < n; i++)
    FZ_ASSERT(p[i] == fzo_pat(fzo->epoch, peer->who, me->nread + (uint64_t)i),
              "side %d: plaintext differs at stream offset %llu", me->who,
              (unsigned long long)(me->nread + (uint64_t)i));
  me->nread += (uint64_t)n;
}

static void fzo_read_result(fzo_side *me, long r, size_t cap, const unsigned char *buf) {
  FZ_ASSERT(r <= (long)cap, "read %ld into %zu", r, cap);
  fzo_status(me, r, "read");
  if (r > 0)
    fzo_got(me, buf, r);
}

static void fzo_wrote(fzo_side *me, long w, size_t len, const char *op) {
  FZ_ASSERT(w != 0 && w <= (long)len, "%s %ld of %zu", op, w, len);
  fzo_status(me, w, op);
  if (w > 0)
    me->nwritten += (uint64_t)w;
}

/* ---- moving ciphertext (pair.h) ---- */

/* Drain me onto its wire: all of it, or into n-byte calls. */
static void fzo_drain(fzo_side *me, size_t piece, size_t max) {
  long before = sslbio_conn_pending_out(me->c);
  if (me->wire.len >= FZO_WIRE_MAX)
    return;
  const t_move_cfg cfg = {.piece = piece, .max_drain = max};
  long k = t_drain_with(me->c, &me->wire, &cfg);
  FZ_ASSERT(k >= 0, "drain %ld", k);
  fzo_moved += (uint64_t)k;
  FZ_ASSERT(sslbio_conn_pending_out(me->c) == before - k, "pending_out %ld after draining %ld of %ld",
            sslbio_conn_pending_out(me->c), k, before);
}

/* Feed up to k bytes of the peer's wire into me. */
static long fzo_feed(fzo_side *me, size_t k, int zero_copy) {
  fzo_side *peer = peer_of(me);
  if (me->eof_fed || peer->wire.len == 0 || k == 0)
    return 0;
  long fed = t_feed_with(&peer->wire, me->c, k, zero_copy);
  FZ_ASSERT(fed >= 0 && (size_t)fed <= k, "feed %ld of %zu", fed, k);
  fzo_moved += (uint64_t)fed;
  return fed;
}

static void fzo_move_all(void) {
  for (int w = 0; w < 2; w++) {
    fzo_drain(&fzo->s[w], 0, 0);
    fzo_feed(&fzo->s[!w], (size_t)-1, 0);
  }
}

/* ---- callback transport ---- */

static long fzo_recv(void *user, void *buf, size_t cap) {
  fzo_side *me = user, *peer = peer_of(me);
  FZ_ASSERT(cap > 0, "recv with cap 0");
  FZ_ASSERT(!me->failed, "recv on side %d, failed with %d: a dead engine never reads", me->who,
            me->failed);
  if (me->recv_fail) {
    me->recv_fail = 0;
    me->fail_ok = 1;
    errno = ECONNRESET;
    return SSLBIO_ERROR;
  }
  if (peer->wire.len == 0) {
    if (me->recv_eof) {
      me->eof_fed = 1;
      return 0;
    }
    return SSLBIO_WANT_READ;
  }
  if (me->recv_budget == 0)
    return SSLBIO_WANT_READ;
  size_t n = peer->wire.len < cap ? peer->wire.len : cap;
  if (me->recv_budget > 0 && n > (size_t)me->recv_budget)
    n = (size_t)me->recv_budget;
  memcpy(buf, peer->wire.data, n);
  t_buf_consume(&peer->wire, n);
  if (me->recv_budget > 0)
    me->recv_budget -= (int)n;
  return (long)n;
}

static long fzo_send(void *user, const void *buf, size_t len) {
  fzo_side *me = user;
  FZ_ASSERT(len > 0, "send with len 0");
  if (me->send_budget == 0 || me->wire.len >= FZO_WIRE_MAX)
    return SSLBIO_WANT_WRITE;
  size_t n = len;
  if (me->send_budget > 0 && n > (size_t)me->send_budget)
    n = (size_t)me->send_budget;
  t_buf_append(&me->wire, buf, n);
  if (me->send_budget > 0)
    me->send_budget -= (int)n;
  return (long)n;
}

static void fzo_transport_off(fzo_side *me) {
  if (me->transport)
    FZ_ASSERT(sslbio_conn_set_transport(me->c, NULL, NULL, NULL) == SSLBIO_OK, "transport off");
  me->transport = 0;
}

/* ---- building pairs ---- */

static void fzo_side_init(fzo_side *s, sslbio_conn *c, int who) {
  t_buf wire = s->wire;
  memset(s, 0, sizeof(*s));
  s->wire = wire;
  s->wire.len = 0;
  s->c = c;
  s->who = who;
}

static int fzo_verify_cb(void *user, sslbio_conn *conn, long result) {
  FZ_ASSERT(sslbio_conn_peer_cert_count(conn) >= 1, "no peer chain in the verify callback");
  int answer = *(int *)user;
  for (int w = 0; fzo != NULL && w < 2; w++) {
    if (fzo->s[w].c != conn)
      continue;
    /* The test chain verifies, unless the bytes that carried it were altered. */
    FZ_ASSERT(result == 0 || fzo->s[w].in_tampered, "OpenSSL's verify result %ld for the test chain", result);
    if (answer == 0)
      fzo->s[w].refused = 1;
  }
  return answer;
}

static void fzo_new_pair(fzo_pair *p, sslbio_ctx *cli, sslbio_ctx *srv) {
  fz_sel = 0;
  sslbio_conn *c = sslbio_conn_new(cli, "localhost");
  fz_sel = 1;
  sslbio_conn *s = sslbio_conn_new(srv, NULL);
  FZ_ASSERT(c && s, "conn_new");
  fzo_side_init(&p->s[0], c, 0);
  fzo_side_init(&p->s[1], s, 1);
  p->s[0].may_verify_pause = cli == fzo_vcb_cli || cli == fzo_vcb_cli12;
  p->s[1].may_verify_pause = srv == fzo_vcb_srv;
  p->s[1].may_hello_pause = srv == fzo_hello_srv;
}

static void fzo_ops(const uint8_t *data, size_t n);
static void fzo_pump(int rounds);

/* A client with a certificate and the verify callback; TLS 1.2 only or not. */
static sslbio_ctx *fzo_verifying_client(int tls12) {
  sslbio_ctx *c = sslbio_ctx_new(SSLBIO_CLIENT);
  fz_check(sslbio_ctx_load_verify_file(c, fz_path("ca.pem")), c, "CA");
  fz_check(sslbio_ctx_use_certificate_chain_file(c, fz_path("client.pem")), c, "cert");
  fz_check(sslbio_ctx_use_private_key_file(c, fz_path("client.key")), c, "key");
  fz_check(sslbio_ctx_set_verify_callback(c, fzo_verify_cb, &fzo_verify_answer[0]), c, "cb");
  if (tls12)
    fz_check(sslbio_ctx_set_versions(c, 0x0303, 0x0303), c, "versions");
  return c;
}

/* The contexts the scenarios use. */
static void fzo_contexts(void) {
  fz_init();
  fzo_trace = getenv("FZO_TRACE") != NULL;
  fzo_hello_srv = sslbio_ctx_new(SSLBIO_SERVER);
  fzo_alt_srv = sslbio_ctx_new(SSLBIO_SERVER);
  fzo_vcb_srv = sslbio_ctx_new(SSLBIO_SERVER);
  fzo_vcb_cli = fzo_verifying_client(0);
  fzo_vcb_cli12 = fzo_verifying_client(1);
  sslbio_ctx *srvs[3] = {fzo_hello_srv, fzo_alt_srv, fzo_vcb_srv};
  for (int i = 0; i < 3; i++) {
    fz_check(sslbio_ctx_use_certificate_chain_file(srvs[i], fz_path("server.pem")), srvs[i], "cert");
    fz_check(sslbio_ctx_use_private_key_file(srvs[i], fz_path("server.key")), srvs[i], "key");
  }
  fz_check(sslbio_ctx_set_client_hello_pause(fzo_hello_srv, 1), fzo_hello_srv, "pause");
  fz_check(sslbio_ctx_set_alpn(fzo_alt_srv, "h2"), fzo_alt_srv, "alpn");
  fz_check(sslbio_ctx_load_verify_file(fzo_vcb_srv, fz_path("ca.pem")), fzo_vcb_srv, "CA");
  fz_check(sslbio_ctx_set_verify(fzo_vcb_srv, SSLBIO_VERIFY_REQUIRE_PEER), fzo_vcb_srv, "verify");
  fz_check(sslbio_ctx_set_verify_callback(fzo_vcb_srv, fzo_verify_cb, &fzo_verify_answer[1]), fzo_vcb_srv, "cb");
}

/* Builds the starting pair of one scenario. */
static void fzo_build(int v) {
  fzo = &fzo_pairs[v];
  fzo_verify_answer[0] = fzo_verify_answer[1] = SSLBIO_WANT_VERIFY;
  if (v < 3) {
    /* 0-2: established (TLS 1.3; TLS 1.2; mutual TLS 1.3 with ALPN); the
     * TLS 1.3 client has read its tickets and saved a session. */
    static const uint8_t settle[] = {FZO_PUMP, 7, FZO_SESSION};
    fzo_new_pair(fzo, fz_cli[v], fz_srv[v]);
    fzo_ops(settle, sizeof(settle));
    FZ_ASSERT(sslbio_conn_is_handshake_done(fzo->s[0].c) && sslbio_conn_is_handshake_done(fzo->s[1].c),
              "setup: pair %d not established", v);
  } else if (v == 3) { /* mid-handshake: the ClientHello is on the wire */
    static const uint8_t hello[] = {FZO_HANDSHAKE, FZO_DRAIN | 3 << 5};
    fzo_new_pair(fzo, fz_cli[0], fz_srv[0]);
    fzo_ops(hello, sizeof(hello));
  } else if (v == 4) { /* the server paused at the ClientHello */
    static const uint8_t to_pause[] = {FZO_HANDSHAKE, FZO_DRAIN | 3 << 5, FZO_FEED | 0x80, 0xff, 0xff,
                                       FZO_HANDSHAKE | 0x80};
    fzo_new_pair(fzo, fz_cli[0], fzo_hello_srv);
    fzo_ops(to_pause, sizeof(to_pause));
    FZ_ASSERT(fzo->s[1].paused, "setup: no ClientHello pause");
  } else if (v == 5) { /* the client paused for its verify decision */
    fzo_new_pair(fzo, fzo_vcb_cli, fz_srv[0]);
    fzo_pump(4);
    FZ_ASSERT(fzo->s[0].paused, "setup: client not paused for verify");
  } else { /* 6, 7: the server paused for its (TLS 1.3, TLS 1.2) */
    fzo_new_pair(fzo, v == 6 ? fzo_vcb_cli : fzo_vcb_cli12, fzo_vcb_srv);
    fzo_verify_answer[0] = 1;
    fzo_pump(4);
    fzo_verify_answer[0] = SSLBIO_WANT_VERIFY;
    FZ_ASSERT(fzo->s[1].paused, "setup: server not paused for verify");
  }
  fzo = NULL;
}

/* The contexts and every scenario's pair, made once before the copies. */
static void fzo_setup(void) {
  fzo_contexts();
  for (int v = 0; v < FZO_SCENARIOS; v++)
    fzo_build(v);
}

/* ---- the interpreter ---- */

static void fzo_handshake(fzo_side *me) {
  fz_sel = me->who;
  fzo_status(me, sslbio_conn_handshake(me->c), "handshake");
}

static void fzo_read(fzo_side *me, size_t cap) {
  fz_sel = me->who;
  long r = sslbio_conn_read(me->c, fzo_buf, cap);
  fzo_read_result(me, r, cap, fzo_buf);
}

static void fzo_pump(int rounds) {
  for (int i = 0; i < rounds; i++) {
    for (int w = 0; w < 2; w++) {
      fzo_side *me = &fzo->s[w];
      if (!sslbio_conn_is_handshake_done(me->c))
        fzo_handshake(me);
      else
        fzo_read(me, sizeof(fzo_buf));
      fzo_sync(me);
      fzo_drain(me, 0, 0);
      fzo_feed(&fzo->s[!w], (size_t)-1, 0);
    }
  }
}

static void fzo_reset(int resume) {
  fzo->epoch++;
  for (int w = 0; w < 2; w++) {
    fzo_side *me = &fzo->s[w];
    fz_sel = w;
    int st = sslbio_conn_reset(me->c, w == 0 ? "localhost" : NULL);
    FZ_ASSERT(st == SSLBIO_OK, "reset %d", st);
    FZ_ASSERT(sslbio_conn_pending_out(me->c) == 0 && !sslbio_conn_is_handshake_done(me->c),
              "reset left state");
    int hello = me->may_hello_pause, verify = me->may_verify_pause;
    fzo_side_init(me, me->c, w);
    me->may_hello_pause = hello, me->may_verify_pause = verify;
    /* Callbacks are kept by reset; the model's go back to feed/drain. */
    sslbio_conn_set_transport(me->c, NULL, NULL, NULL);
    sslbio_error_info info;
    sslbio_conn_error_info(me->c, &info);
    FZ_ASSERT(info.status == SSLBIO_OK, "reset kept error %d", info.status);
  }
  if (resume && fzo_session_len > 0) {
    fz_sel = 0;
    int st = sslbio_conn_set_session(fzo->s[0].c, fzo_session, (size_t)fzo_session_len);
    FZ_ASSERT(st == SSLBIO_OK, "set_session of a session this client exported: %d", st);
  }
}

static void fzo_info(fzo_side *me, uint8_t a) {
  char msg[300];
  sslbio_conn *c = me->c;
  sslbio_conn_version(c), sslbio_conn_cipher(c), sslbio_conn_alpn(c), sslbio_conn_group(c);
  sslbio_conn_protocol_version(c), sslbio_conn_cipher_id(c), sslbio_conn_cipher_bits(c);
  sslbio_conn_session_reused(c), sslbio_conn_server_name(c);
  FZ_ASSERT(sslbio_conn_pending_plaintext(c) >= 0, "pending_plaintext");
  sslbio_conn_peer_certificate_pem(c, (char *)fzo_out, a * 64u);
  long n = sslbio_conn_peer_cert_count(c);
  FZ_ASSERT(n >= 0, "peer_cert_count %ld", n);
  for (long i = 0; i <= n; i++) {
    long d = sslbio_conn_peer_cert_der(c, (size_t)i, fzo_out, sizeof(fzo_out));
    FZ_ASSERT(i < n ? d > 0 : d == SSLBIO_EINVAL, "peer_cert_der(%ld) = %ld of %ld", i, d, n);
  }
  long len = sslbio_conn_error(c, msg, a % sizeof(msg));
  FZ_ASSERT(len >= 0, "error %ld", len);
  if (a % sizeof(msg) > 0)
    FZ_ASSERT(strlen(msg) == ((size_t)len < a % sizeof(msg) ? (size_t)len : a % sizeof(msg) - 1),
              "error message length");
  sslbio_error_info info;
  sslbio_conn_error_info(c, &info);
  for (size_t i = 0; i <= info.entries; i++) {
    sslbio_error_entry e;
    int st = sslbio_conn_error_entry(c, i, &e);
    FZ_ASSERT(i < info.entries ? st == SSLBIO_OK : st == SSLBIO_EINVAL, "error_entry");
  }
  sslbio_conn_error_code(c), sslbio_conn_verify_result(c);
  char alpn[8];
  sslbio_conn_client_alpn(c, alpn, a & 7);
  unsigned char km[32];
  int st = sslbio_conn_export_keying_material(c, km, sizeof(km), "EXPORTER-fuzz", a & 1 ? "x" : NULL, a & 1);
  if (sslbio_conn_is_handshake_done(c) && !me->failed)
    FZ_ASSERT(st == SSLBIO_OK, "exporter after the handshake: %d", st);
  sslbio_conn_tls_unique(c, fzo_out, a);
}

static void fzo_ops(const uint8_t *data, size_t size) {
  fz_in in = {data, size};
  int ops = 0;
  while (in.n > 0 && ops++ < FZO_MAX_OPS) {
    uint8_t op = fz_u8(&in);
    fzo_side *me = &fzo->s[op >> 7], *peer = peer_of(me);
    int f = op >> 5 & 3;
    fz_sel = me->who;
    if (fzo_trace)
      fprintf(stderr, "op %d: side %d %s f=%d (wires %zu/%zu)\n", ops, me->who,
              (op & 0x1f) < FZO_NOPS ? fzo_names[op & 0x1f] : "move all", f, fzo->s[0].wire.len,
              fzo->s[1].wire.len);
    switch (op & 0x1f) {
    case FZO_FEED: {
      size_t k = fz_u16(&in);
      if (f == 1) { /* split at any point */
        size_t at = fz_u16(&in) % (k + 1);
        long a = fzo_feed(me, at, 0);
        if (a == (long)at)
          fzo_feed(me, k - at, 0);
      } else if (f == 2) { /* one byte flipped */
        uint16_t at = fz_u16(&in);
        uint8_t x = fz_u8(&in);
        if (peer->wire.len > 0 && !me->eof_fed) {
          size_t lim = k < peer->wire.len ? k : peer->wire.len;
          peer->wire.data[at % (lim ? lim : 1)] ^= x ? x : 0x20;
          fzo_tamper(me);
          fzo_feed(me, k, 0);
        }
      } else if (f == 3 && !me->eof_fed) { /* zero-copy, partial commit */
        void *room;
        long cap = sslbio_conn_feed_buffer(me->c, &room);
        FZ_ASSERT(cap >= 0 && (cap == 0) == (room == NULL), "feed_buffer %ld", cap);
        size_t n = k < peer->wire.len ? k : peer->wire.len;
        if (n > (size_t)cap)
          n = (size_t)cap;
        FZ_ASSERT(fzo_refused(me, sslbio_conn_feed_commit(me->c, (size_t)cap + 1)), "overcommit");
        if (n > 0) {
          memcpy(room, peer->wire.data, n);
          FZ_ASSERT(sslbio_conn_feed_commit(me->c, n) == (long)n, "feed_commit");
          t_buf_consume(&peer->wire, n);
        }
      } else {
        fzo_feed(me, k, 0);
      }
      break;
    }
    case FZO_DRAIN: {
      size_t n = fz_u16(&in) % 20000 + 1;
      if (f == 0) {
        fzo_drain(me, n, n);
      } else if (f == 1 || f == 2) {
        const void *p;
        long avail = sslbio_conn_drain_buffer(me->c, &p), pend = sslbio_conn_pending_out(me->c);
        FZ_ASSERT(avail >= 0 && avail <= pend && (avail > 0) == (pend > 0), "drain_buffer %ld of %ld",
                  avail, pend);
        if (f == 2) {
          FZ_ASSERT(fzo_refused(me, sslbio_conn_drain_commit(me->c, (size_t)avail + 1)), "overcommit");
          FZ_ASSERT(sslbio_conn_pending_out(me->c) == pend, "overcommit changed pending_out");
          break;
        }
        if (n > (size_t)avail)
          n = (size_t)avail;
        if (n > 0) {
          t_buf_append(&me->wire, p, n);
          FZ_ASSERT(sslbio_conn_drain_commit(me->c, n) == (long)n, "drain_commit");
        }
        FZ_ASSERT(sslbio_conn_pending_out(me->c) == pend - (long)n, "pending after commit");
      } else {
        fzo_drain(me, 0, 0);
      }
      break;
    }
    case FZO_WRITE: {
      size_t n = fz_u16(&in) % (f & 2 ? 36000 : 2000) + 1; /* f&2: past the 17 KiB queue */
      if (me->nwritten + n > FZO_WRITE_BUDGET) { /* bulk data adds time, not paths */
        if (f & 1)
          fz_u16(&in);
        break;
      }
      fzo_fill(me, fzo_buf, n);
      if (f & 1) {
        size_t cap = fz_u16(&in) % sizeof(fzo_out), drained = 7;
        long pend = sslbio_conn_pending_out(me->c);
        long w = sslbio_conn_write_drain(me->c, fzo_buf, n, fzo_out, cap, &drained);
        fzo_wrote(me, w, n, "write_drain");
        FZ_ASSERT(drained <= cap, "write_drain drained %zu into %zu", drained, cap);
        if (w == SSLBIO_WANT_WRITE && !me->transport)
          FZ_ASSERT(sslbio_conn_pending_out(me->c) + (long)drained >= FZO_OUT_CAP,
                    "write_drain: WANT_WRITE with %ld + %zu pending", sslbio_conn_pending_out(me->c), drained);
        if (w < 0 && w != SSLBIO_WANT_READ && w != SSLBIO_WANT_WRITE)
          FZ_ASSERT(drained == 0, "write_drain: %zu drained after %ld", drained, w);
        if (w > 0 && pend == 0 && sslbio_conn_pending_out(me->c) > 0)
          FZ_ASSERT(drained == cap, "write_drain left ciphertext with room in out");
        t_buf_append(&me->wire, fzo_out, drained);
      } else {
        fz_sel = me->who;
        fzo_wrote(me, sslbio_conn_write(me->c, fzo_buf, n), n, "write");
      }
      break;
    }
    case FZO_READ: {
      size_t cap = fz_u16(&in) % (f & 2 ? 36000 : 2000) + 1;
      if (f & 1) {
        size_t k = fz_u16(&in), fed = 99;
        if (k > peer->wire.len)
          k = peer->wire.len;
        if (me->eof_fed || me->transport) /* its recv reads the same wire during the call */
          k = 0;
        long r = sslbio_conn_feed_read(me->c, peer->wire.data, k, &fed, fzo_buf, cap);
        FZ_ASSERT(fed <= k, "feed_read fed %zu of %zu", fed, k);
        t_buf_consume(&peer->wire, fed);
        fzo_read_result(me, r, cap, fzo_buf);
      } else {
        fzo_read(me, cap);
      }
      break;
    }
    case FZO_HANDSHAKE:
      fzo_handshake(me);
      break;
    case FZO_KEY_UPDATE:
      fzo_status(me, sslbio_conn_key_update(me->c, f & 1), "key update");
      break;
    case FZO_SHUTDOWN: {
      int st = sslbio_conn_shutdown(me->c);
      fzo_status(me, st, "shutdown");
      /* Queued, whatever the status says (a callback transport may fail
       * after close_notify left) */
      if (SSL_get_shutdown(sslbio_conn_openssl(me->c)) & SSL_SENT_SHUTDOWN)
        me->shutdown_sent = 1;
      if (st == SSLBIO_OK || st == SSLBIO_WANT_READ)
        FZ_ASSERT(me->shutdown_sent, "shutdown %d without close_notify queued", st);
      break;
    }
    case FZO_FEED_EOF:
      FZ_ASSERT(sslbio_conn_feed_eof(me->c) == SSLBIO_OK, "feed_eof");
      me->eof_fed = 1;
      FZ_ASSERT(fzo_refused(me, sslbio_conn_feed(me->c, "x", 1)), "feed after feed_eof");
      break;
    case FZO_WANTS: {
      int m = sslbio_conn_wants(me->c);
      long pend = sslbio_conn_pending_out(me->c);
      FZ_ASSERT((m & ~7) == 0, "wants %d", m);
      FZ_ASSERT(!(m & SSLBIO_WANTS_WRITE) == (pend == 0), "WANTS_WRITE %d, pending_out %ld", m, pend);
      fzo_sync(me);
      if (me->transport || me->paused)
        break;
      int done = sslbio_conn_is_handshake_done(me->c);
      long r = sslbio_conn_read(me->c, fzo_buf, sizeof(fzo_buf));
      /* Established: HAS_PLAINTEXT means a read returns now. During the
       * handshake it means "call into the engine": the call may still want
       * more, but then wants() must not say it again (an event loop would
       * spin without ever waiting for the peer). */
      if ((m & SSLBIO_HAS_PLAINTEXT) && done)
        FZ_ASSERT(r != SSLBIO_WANT_READ, "wants says HAS_PLAINTEXT (%d), read wants more", m);
      else if (m & SSLBIO_WANTS_READ && !(m & SSLBIO_HAS_PLAINTEXT))
        FZ_ASSERT(r == SSLBIO_WANT_READ || r == SSLBIO_WANT_WRITE,
                  "wants says WANTS_READ (%d), read returned %ld", m, r);
      fzo_read_result(me, r, sizeof(fzo_buf), fzo_buf);
      if (r == SSLBIO_WANT_READ) {
        int again = sslbio_conn_wants(me->c);
        FZ_ASSERT(!(again & SSLBIO_HAS_PLAINTEXT), "read wants more, then wants() says "
                  "HAS_PLAINTEXT (%d; before the read %d): an event loop spins", again, m);
      }
      break;
    }
    case FZO_PENDING: {
      const void *p;
      long pend = sslbio_conn_pending_out(me->c), avail = sslbio_conn_drain_buffer(me->c, &p);
      FZ_ASSERT(pend >= 0 && avail == pend, "pending_out %ld, drain region %ld", pend, avail);
      break;
    }
    case FZO_RESET:
      fzo_reset(f & 1);
      break;
    case FZO_SESSION:
      fz_sel = 0;
      if (f == 1) {
        size_t len;
        const uint8_t *p = fz_bytes(&in, &len, 255);
        int st = sslbio_conn_set_session(fzo->s[0].c, p, len);
        FZ_ASSERT(st == SSLBIO_OK || fzo_refused(&fzo->s[0], st), "set_session %d", st);
      } else {
        long n = sslbio_conn_session(fzo->s[0].c, fzo_session, sizeof(fzo_session));
        FZ_ASSERT(n >= 0 && n <= (long)sizeof(fzo_session), "session %ld", n);
        /* A client the server refused has nothing to resume past it with. */
        FZ_ASSERT(n == 0 || !fzo->s[1].refused, "the refused client exported a session (%ld bytes)", n);
        fzo_session_len = n;
      }
      break;
    case FZO_INJECT: {
      size_t len;
      const uint8_t *p = fz_bytes(&in, &len, 255);
      if (!me->eof_fed && len > 0) {
        long fed = sslbio_conn_feed(me->c, p, len);
        FZ_ASSERT(fed >= 0 && (size_t)fed <= len, "feed %ld", fed);
        fzo_tamper(me);
      }
      break;
    }
    case FZO_DROP: {
      size_t k = fz_u16(&in);
      if (k > me->wire.len)
        k = me->wire.len;
      if (k > 0) {
        t_buf_consume(&me->wire, k);
        fzo_tamper(peer);
      }
      break;
    }
    case FZO_TRANSPORT: {
      uint8_t r = fz_u8(&in), s = fz_u8(&in);
      if (f == 1) {
        fzo_transport_off(me);
        break;
      }
      me->recv_budget = r == 0xff ? -1 : r;
      me->send_budget = s == 0xff ? -1 : s;
      me->recv_fail = f == 2;
      me->recv_eof = f == 3;
      if (!me->transport)
        FZ_ASSERT(sslbio_conn_set_transport(me->c, fzo_recv, fzo_send, me) == SSLBIO_OK, "transport");
      me->transport = 1;
      FZ_ASSERT(fzo_refused(me, sslbio_conn_set_transport(me->c, fzo_recv, NULL, me)), "half transport");
      break;
    }
    case FZO_FLUSH: {
      int st = sslbio_conn_flush(me->c);
      if (me->failed) /* a dead engine answers with its error, transport or not */
        FZ_ASSERT(st == me->failed, "flush on a failed side %d", st);
      else if (!me->transport)
        FZ_ASSERT(st == SSLBIO_EINVAL, "flush without transport %d", st);
      else
        FZ_ASSERT(st == SSLBIO_OK || st == SSLBIO_WANT_WRITE, "flush %d", st);
      break;
    }
    case FZO_HELLO: {
      uint8_t a = fz_u8(&in);
      int paused = me->paused && sslbio_conn_server_name(me->c) != NULL && me->may_hello_pause &&
                   !sslbio_conn_is_handshake_done(me->c);
      if (f == 0) {
        fzo_handshake(me);
      } else if (f == 1) {
        int st = sslbio_conn_use_context(me->c, a & 1 ? fzo_alt_srv : fz_srv[0]);
        if (!paused || me->who == 0)
          FZ_ASSERT(fzo_refused(me, st), "use_context when not paused: %d", st);
      } else if (f == 2) {
        int st = sslbio_conn_reject_client_hello(me->c, a);
        if (st == SSLBIO_OK) {
          FZ_ASSERT(me->who == 1 && me->may_hello_pause, "reject accepted when not paused");
          me->fail_ok = peer->fail_ok = 1;
        }
      } else {
        char alpn[64];
        FZ_ASSERT(sslbio_conn_client_alpn(me->c, alpn, a % sizeof(alpn)) >= 0, "client_alpn");
      }
      break;
    }
    case FZO_VERIFY: {
      int st = sslbio_conn_verify_done(me->c, f & 1);
      if (st == SSLBIO_OK) {
        FZ_ASSERT(me->may_verify_pause, "verify_done accepted without a callback");
        if (!(f & 1))
          me->fail_ok = peer->fail_ok = me->refused = 1;
      } else {
        FZ_ASSERT(fzo_refused(me, st), "verify_done %d", st);
      }
      uint8_t next = fz_u8(&in);
      fzo_verify_answer[me->who] = next < 0x40 ? 0 : next < 0x80 ? 1 : SSLBIO_WANT_VERIFY;
      break;
    }
    case FZO_INFO:
      fzo_info(me, fz_u8(&in));
      break;
    case FZO_PUMP:
      fzo_pump(1 + fz_u8(&in) % 8);
      break;
    default:
      fzo_move_all();
      break;
    }
    fzo_sync(&fzo->s[0]);
    fzo_sync(&fzo->s[1]);
  }
}

/* The end of every input: answer the pauses, go back to feed/drain and
 * pump honestly. If neither side could fail, the connection must be
 * established and every byte written must have arrived. */
static void fzo_finish(void) {
  fzo_verify_answer[0] = fzo_verify_answer[1] = 1;
  for (int w = 0; w < 2; w++)
    fzo_transport_off(&fzo->s[w]);
  /* Until a round changes nothing. A round moves a queue's worth (17 KiB)
   * and reads a record per side: the bound is only a safety net (the
   * budget makes at most ~16 rounds of data per side, small records more). */
  for (int round = 0; round < 1 << 16; round++) {
    int paused = 0; /* a pause is answered (verify) or goes on with the next call (hello) */
    for (int w = 0; w < 2; w++) {
      paused |= fzo->s[w].paused;
      if (fzo->s[w].paused && fzo->s[w].may_verify_pause)
        sslbio_conn_verify_done(fzo->s[w].c, 1);
    }
    uint64_t before = fzo->s[0].nread + fzo->s[1].nread, moved = fzo_moved;
    int done = sslbio_conn_is_handshake_done(fzo->s[0].c) + sslbio_conn_is_handshake_done(fzo->s[1].c);
    fzo_pump(1);
    if (!paused && !fzo->s[0].paused && !fzo->s[1].paused && before == fzo->s[0].nread + fzo->s[1].nread && moved == fzo_moved &&
        done == sslbio_conn_is_handshake_done(fzo->s[0].c) + sslbio_conn_is_handshake_done(fzo->s[1].c))
      break;
  }
  for (int w = 0; w < 2; w++) {
    fzo_side *me = &fzo->s[w], *peer = peer_of(me);
    if (fzo_may_fail(me) || fzo_may_fail(peer) || me->failed || peer->failed)
      continue;
    FZ_ASSERT(sslbio_conn_is_handshake_done(me->c), "honest side %d: handshake not done", w);
    FZ_ASSERT(me->nread == peer->nwritten, "honest side %d read %llu of the %llu bytes written", w,
              (unsigned long long)me->nread, (unsigned long long)peer->nwritten);
  }
}

/* Run one input on the pair it names (in a forked copy of the process). */
static void fzo_run(const uint8_t *data, size_t size) {
  if (size < 1)
    return;
  fzo = &fzo_pairs[data[0] % FZO_SCENARIOS];
  fzo_ops(data + 1, size - 1);
  fzo_finish();
}

__attribute__((unused)) static void fzo_teardown(void) {
  for (int i = 0; i < FZO_SCENARIOS; i++)
    for (int w = 0; w < 2; w++) {
      sslbio_conn_free(fzo_pairs[i].s[w].c);
      t_buf_free(&fzo_pairs[i].s[w].wire);
    }
  sslbio_ctx *x[] = {fzo_hello_srv, fzo_alt_srv, fzo_vcb_cli, fzo_vcb_cli12, fzo_vcb_srv};
  for (int i = 0; i < 5; i++)
    sslbio_ctx_free(x[i]);
  for (int v = 0; v < FZ_VARIANTS; v++)
    sslbio_ctx_free(fz_srv[v]), sslbio_ctx_free(fz_cli[v]);
}

#endif
