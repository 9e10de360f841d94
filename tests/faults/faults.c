/* faults: sslbio under transport faults and allocation failure.
 *
 *   faults [all|chunks|transport|bogus|alloc|alloc-api|alloc-random]
 *
 * chunks     1-byte reads/writes and random EAGAIN (would-block) on both
 *            sides, through the callback transport (sslbio_conn_set_transport)
 *            and through feed/drain: every connection must complete with
 *            every byte intact (checksummed).
 * transport  the transport fails (ECONNRESET on recv, EPIPE on send) or
 *            ends (EOF) at byte k of the stream, for k swept over the whole
 *            connection: mid-handshake, mid-record, between records, after
 *            close_notify. Each side must end with a documented status (the
 *            faulted one ERROR/TRUNCATED naming the transport, the other
 *            TRUNCATED: no close_notify came) and no hang; a dead engine
 *            keeps returning its error and never calls the transport again.
 * bogus      callbacks returning impossible values (more than asked, 0 from
 *            send): a clear error, no overrun.
 * alloc      allocation failure through libfiu: the k-th allocation (of the
 *            engine's own code and of OpenSSL, via CRYPTO_set_mem_functions)
 *            fails, once or from then on, for k swept over context setup and
 *            a whole connection. Every case ends in a clear status; ASan /
 *            valgrind then check nothing leaked or went out of bounds.
 * alloc-api  (part of alloc) the same inside single public calls on
 *            prepared engines: session export/import, peer certificate,
 *            exporter, reset, context setters, ctx_new/conn_new, use_context
 *            at the ClientHello, feeds in a fresh thread; each ends in a
 *            clear status and leaves its engine usable or cleanly failed.
 * alloc-random  connections in a loop for FAULTS_SECONDS while whatever
 *            injects faults does so (run under `fiu-run -x -c 'enable_random
 *            name=libc/mm/...,probability=...'`): the process must survive.
 *
 * FAULTS_STRIDE (default 5) thins the byte-offset and allocation sweeps
 * (valgrind runs use a larger one). Exit status 0 when every check held. */
#include "fx.h"

#include <openssl/crypto.h>
#include <pthread.h>

#ifndef FX_NO_FIU
#define FIU_ENABLE 1 /* fiu_fail() is a no-op macro without it */
#include <fiu-control.h>
#include <fiu.h>

/* ---- allocation faults (libfiu) ----
 * One countdown decides for every allocation, from the engine's code
 * (linked with -Wl,--wrap=malloc,...) and from OpenSSL (its allocator
 * hooks). libfiu's points carry the names of its POSIX preload, so the
 * same names work under `fiu-run`. */
static long alloc_count;     /* allocations seen while counting */
static long alloc_countdown; /* fail when it reaches 0 */
static int alloc_persistent; /* keep failing after the first */
static long alloc_failed;

static int countdown_cb(const char *name, int *failnum, void **failinfo, unsigned int *flags) {
  (void)name, (void)failnum, (void)failinfo, (void)flags;
  alloc_count++;
  if (alloc_countdown <= 0)
    return 0;
  if (--alloc_countdown == 0) {
    alloc_failed++;
    if (alloc_persistent)
      alloc_countdown = 1; /* and the next one too */
    return 1;
  }
  return 0;
}

static int alloc_fails(const char *point) { return fiu_fail(point) != 0; }

void *__real_malloc(size_t);
void *__real_calloc(size_t, size_t);
void *__real_realloc(void *, size_t);
char *__real_strdup(const char *);

void *__wrap_malloc(size_t n) { return alloc_fails("libc/mm/malloc") ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t m) {
  return alloc_fails("libc/mm/calloc") ? NULL : __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n) {
  return alloc_fails("libc/mm/realloc") ? NULL : __real_realloc(p, n);
}
char *__wrap_strdup(const char *s) { return alloc_fails("libc/mm/malloc") ? NULL : __real_strdup(s); }

static void *ossl_malloc(size_t n, const char *file, int line) {
  (void)file, (void)line;
  return alloc_fails("libc/mm/malloc") ? NULL : __real_malloc(n);
}
static void *ossl_realloc(void *p, size_t n, const char *file, int line) {
  (void)file, (void)line;
  return alloc_fails("libc/mm/realloc") ? NULL : __real_realloc(p, n);
}
static void ossl_free(void *p, const char *file, int line) {
  (void)file, (void)line;
  free(p);
}

static void alloc_arm(long k, int persistent) {
  alloc_countdown = k;
  alloc_persistent = persistent;
}
static void alloc_disarm(void) { alloc_countdown = 0; }

static void alloc_setup(void) {
  /* Before OpenSSL allocates anything. */
  if (!CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free))
    fprintf(stderr, "faults: CRYPTO_set_mem_functions refused (OpenSSL allocated already)\n");
  fiu_init(0);
  const char *points[] = {"libc/mm/malloc", "libc/mm/calloc", "libc/mm/realloc"};
  for (int i = 0; i < 3; i++)
    fiu_enable_external(points[i], 1, NULL, 0, countdown_cb);
}
#endif

static unsigned char payload[64 * 1024];
static sslbio_ctx *cli[2][2], *srv[2][2]; /* [kind][0: TLS 1.2, 1: TLS 1.3] */
static int stride;

static void make_contexts(void) {
  for (int k = 0; k < 2; k++)
    for (int v = 0; v < 2; v++) {
      int ver = v ? 0x0304 : 0x0303;
      cli[k][v] = fx_client_ctx(k, ver, ver);
      srv[k][v] = fx_server_ctx(k, ver, ver);
      if (!cli[k][v] || !srv[k][v]) {
        fprintf(stderr, "faults: cannot make contexts (certificates in %s?)\n", fx_certs());
        exit(2);
      }
    }
}

static void free_contexts(void) {
  for (int k = 0; k < 2; k++)
    for (int v = 0; v < 2; v++)
      sslbio_ctx_free(cli[k][v]), sslbio_ctx_free(srv[k][v]);
}

static const char *vname(int v) { return v ? "TLS1.3" : "TLS1.2"; }

/* A finished side's engine: the error must be sticky and must not touch
 * the transport again. */
static void check_dead(fx_side *s, const char *what) {
  if (s->c == NULL || s->status == SSLBIO_OK || s->status == 1)
    return;
  long before = s->end.calls_after_dead;
  unsigned char buf[64];
  int sticky = s->status == SSLBIO_ERROR || s->status == SSLBIO_TRUNCATED;
  if (sticky && s->callbacks) {
    long r = sslbio_conn_read(s->c, buf, sizeof(buf));
    FX_CHECK(r == s->status, "%s: read on a dead engine = %ld, want %ld", what, r, s->status);
    r = sslbio_conn_handshake(s->c);
    FX_CHECK(r == s->status || sslbio_conn_is_handshake_done(s->c), "%s: handshake on a dead engine = %ld", what, r);
    r = sslbio_conn_write(s->c, "x", 1);
    FX_CHECK(r == s->status || r == SSLBIO_EINVAL, "%s: write on a dead engine = %ld", what, r);
    sslbio_conn_shutdown(s->c);
    sslbio_conn_flush(s->c);
    FX_CHECK(s->end.calls_after_dead == before, "%s: a dead engine called its transport %ld times", what,
             s->end.calls_after_dead - before);
  }
  if (sticky) {
    char msg[512];
    long n = sslbio_conn_error(s->c, msg, sizeof(msg));
    /* In feed/drain mode the application saw the socket fail itself; the
     * engine may have no error then. Otherwise it must explain. */
    if (s->callbacks || !s->end.dead || n > 0)
      FX_CHECK(n > 0 && strncmp(msg, "sslbio: ", 8) == 0, "%s: status %ld without a message", what, s->status);
  }
}

/* ---- chunks and EAGAIN: everything must arrive ---- */

static void test_chunks(void) {
  const fx_fault models[] = {
      {1, 0, -1, -1, -1, 0, 0},   /* 1-byte reads and writes */
      {0, 50, -1, -1, -1, 0, 0},  /* half the calls would block */
      {1, 30, -1, -1, -1, 0, 0},  /* both */
      {7, 10, -1, -1, -1, 0, 0},
  };
  const char *names[] = {"1-byte", "EAGAIN 50%", "1-byte+EAGAIN 30%", "7-byte+EAGAIN 10%"};
  int runs = 0;
  double t0 = fx_now();
  for (int cb = 0; cb < 2; cb++)
    for (int v = 0; v < 2; v++)
      for (int k = 0; k < 2; k++)
        for (int m = 0; m < 4; m++) {
          static fx_run r;
          size_t len = m == 0 || m == 2 ? 20000 : sizeof(payload);
          fx_connect(&r, cli[k][v], srv[k][v], &models[m], &models[m], cb, payload, len, (uint64_t)runs);
          runs++;
          const char *mode = cb ? "callbacks" : "feed/drain";
          FX_CHECK(!r.stalled && r.side[0].status == SSLBIO_OK && r.side[1].status == SSLBIO_OK,
                   "%s %s %s kind %d: client %ld [%s] server %ld [%s] stalled %d", names[m], mode, vname(v), k,
                   r.side[0].status, fx_errmsg(r.side[0].c), r.side[1].status, fx_errmsg(r.side[1].c), r.stalled);
          FX_CHECK(r.side[1].got_plain == len && r.side[0].got_plain == len &&
                       r.side[1].sum_got == r.side[0].sum_sent && r.side[0].sum_got == r.side[0].sum_sent,
                   "%s %s %s: bytes damaged (%zu/%zu)", names[m], mode, vname(v), r.side[1].got_plain,
                   r.side[0].got_plain);
          fx_free_run(&r);
        }
  printf("chunks: %d connections (1-byte I/O, EAGAIN 10-50%%, callbacks and feed/drain, TLS 1.2/1.3,"
         " with and without client certs) complete, every byte checksummed (%.1fs)\n",
         runs, fx_now() - t0);
}

/* ---- transport failures at every byte ---- */

static void test_transport(void) {
  double t0 = fx_now();
  long runs = 0, faulted_err = 0, faulted_trunc = 0, peer_trunc = 0, peer_alert = 0, completed = 0;
  for (int cb = 0; cb < 2; cb++)
    for (int v = 0; v < 2; v++) {
      /* The stream lengths of a clean connection bound the sweep. */
      static fx_run r;
      size_t len = 3000; /* a few records */
      fx_connect(&r, cli[0][v], srv[0][v], &fx_nofault, &fx_nofault, cb, payload, len, 1);
      FX_CHECK(!r.stalled && r.side[0].status == SSLBIO_OK, "clean run failed");
      size_t total[2] = {r.c2s.w, r.s2c.w}; /* bytes each side sends */
      fx_free_run(&r);
      for (int who = 0; who < 2; who++)
        for (int kind = 0; kind < 3; kind++) {
          /* recv faults count the peer's stream, send faults our own. */
          size_t span = kind == 1 ? total[who] : total[!who];
          for (size_t at = 0; at <= span + 1; at += (size_t)stride) {
            fx_fault f = fx_nofault, clean = fx_nofault;
            if (kind == 0)
              f.fail_recv_at = (long)at;
            else if (kind == 1)
              f.fail_send_at = (long)at;
            else
              f.eof_recv_at = (long)at;
            fx_connect(&r, cli[0][v], srv[0][v], who == 0 ? &f : &clean,
                       who == 0 ? &clean : &f, cb, payload, len, at);
            runs++;
            fx_side *me = &r.side[who], *peer = &r.side[!who];
            char what[160];
            snprintf(what, sizeof(what), "%s %s %s %s at byte %zu", cb ? "callbacks" : "feed/drain", vname(v),
                     who ? "server" : "client",
                     kind == 0 ? "recv fails" : kind == 1 ? "send fails" : "EOF", at);
            FX_CHECK(!r.stalled, "%s: stalled (client phase %d status %ld, server phase %d status %ld)", what,
                     r.side[0].phase, r.side[0].status, r.side[1].phase, r.side[1].status);
            long ms = me->status, ps = peer->status;
            FX_CHECK(ms == SSLBIO_OK || ms == SSLBIO_ERROR || ms == SSLBIO_TRUNCATED, "%s: faulted side %ld (%s)",
                     what, ms, sslbio_strstatus((int)ms));
            /* On an EOF mid-handshake OpenSSL sends a decode_error alert
             * before giving up, so the other side may fail on that alert
             * (or, when the alert still carries the ClientHello's record
             * version, on "wrong version number") instead of on the EOF. */
            int alerted = ps == SSLBIO_ERROR && ms == SSLBIO_TRUNCATED &&
                          (strstr(fx_errmsg(peer->c), "alert") || strstr(fx_errmsg(peer->c), "wrong version number"));
            FX_CHECK(ps == SSLBIO_OK || ps == SSLBIO_TRUNCATED || alerted, "%s: other side %ld (%s) [%s]", what, ps,
                     sslbio_strstatus((int)ps), fx_errmsg(peer->c));
            if (cb && ms == SSLBIO_ERROR && kind < 2)
              FX_CHECK(strstr(fx_errmsg(me->c), "transport") != NULL, "%s: message lacks the transport: %s", what,
                       fx_errmsg(me->c));
            if (kind == 2 && ms == SSLBIO_TRUNCATED)
              FX_CHECK(strstr(fx_errmsg(me->c), "truncated") != NULL, "%s: %s", what, fx_errmsg(me->c));
            for (int w = 0; w < 2; w++)
              if (r.side[w].status == SSLBIO_OK)
                FX_CHECK(r.side[w].sum_got == r.side[0].sum_sent, "%s: completed with damaged data", what);
            check_dead(me, what);
            check_dead(peer, what);
            faulted_err += ms == SSLBIO_ERROR;
            faulted_trunc += ms == SSLBIO_TRUNCATED;
            peer_trunc += ps == SSLBIO_TRUNCATED;
            peer_alert += alerted;
            completed += ms == SSLBIO_OK && ps == SSLBIO_OK;
            fx_free_run(&r);
          }
        }
    }
  printf("transport: %ld connections with a recv error, send error or EOF at byte k (stride %d, handshake,"
         " records and close_notify): faulted side ERROR %ld / TRUNCATED %ld, other side TRUNCATED %ld"
         " / failed on the faulted side's decode_error alert %ld, untouched (fault after the end) %ld;"
         " no hang, no transport call after death (%.1fs)\n",
         runs, stride, faulted_err, faulted_trunc, peer_trunc, peer_alert, completed, fx_now() - t0);
}

/* ---- callbacks returning nonsense ---- */

static void test_bogus(void) {
  for (int v = 0; v < 2; v++)
    for (int who = 0; who < 2; who++)
      for (int b = 0; b < 2; b++) {
        fx_fault f = fx_nofault;
        if (b == 0)
          f.bogus_recv = 1;
        else
          f.bogus_send = 1;
        static fx_run r;
        fx_connect(&r, cli[0][v], srv[0][v], who == 0 ? &f : &fx_nofault, who == 0 ? &fx_nofault : &f, 1,
                   payload, 100, 3);
        fx_side *me = &r.side[who];
        FX_CHECK(me->status == SSLBIO_ERROR && strstr(fx_errmsg(me->c), "invalid value") != NULL,
                 "%s %s bogus %s: status %ld [%s]", vname(v), who ? "server" : "client", b ? "send" : "recv",
                 me->status, fx_errmsg(me->c));
        FX_CHECK(!r.stalled, "bogus: stalled");
        check_dead(me, "bogus");
        fx_free_run(&r);
      }
  printf("bogus: recv returning more than asked and send returning 0 end in SSLBIO_ERROR"
         " (\"transport ... returned invalid value\") on both roles and versions\n");
}

#ifndef FX_NO_FIU
/* ---- allocation failure ---- */

static long count_allocs(void (*fn)(void)) {
  alloc_disarm();
  alloc_count = 0;
  fn();
  return alloc_count;
}

static int alloc_v, alloc_kind;
static long alloc_ok, alloc_errors;

static void scenario_connection(void) {
  static fx_run r;
  fx_connect(&r, cli[alloc_kind][alloc_v], srv[alloc_kind][alloc_v], &fx_nofault, &fx_nofault, alloc_v,
             payload, 2000, 9);
  for (int w = 0; w < 2; w++) {
    long st = r.side[w].status;
    FX_CHECK(st == SSLBIO_OK || st == SSLBIO_ERROR || st == SSLBIO_ENOMEM || st == SSLBIO_TRUNCATED,
             "alloc: side %d status %ld (%s) [%s]", w, st, sslbio_strstatus((int)st), fx_errmsg(r.side[w].c));
    if (st == SSLBIO_OK)
      FX_CHECK(r.side[w].sum_got == r.side[0].sum_sent, "alloc: completed with damaged data");
  }
  FX_CHECK(!r.stalled, "alloc: stalled (client %ld, server %ld)", r.side[0].status, r.side[1].status);
  if (r.side[0].status == SSLBIO_OK && r.side[1].status == SSLBIO_OK)
    alloc_ok++;
  else
    alloc_errors++;
  fx_free_run(&r);
}

static void scenario_contexts(void) {
  sslbio_ctx *s = fx_server_ctx(1, 0, 0), *c = fx_client_ctx(1, 0, 0);
  if (s && c) {
    sslbio_conn *a = sslbio_conn_new(c, "localhost"), *b = sslbio_conn_new(s, NULL);
    if (a && b) {
      sslbio_conn_handshake(a);
      alloc_ok++;
    } else {
      alloc_errors++;
      FX_CHECK(strlen(sslbio_ctx_error(a ? s : c)) > 0, "conn_new failed without a message");
    }
    sslbio_conn_free(a);
    sslbio_conn_free(b);
  } else {
    alloc_errors++;
  }
  sslbio_ctx_free(s);
  sslbio_ctx_free(c);
}

static void sweep(const char *name, void (*fn)(void), int step) {
  long n = count_allocs(fn);
  long cases = 0;
  alloc_ok = alloc_errors = 0;
  double t0 = fx_now();
  for (int persistent = 0; persistent < 2; persistent++)
    for (long k = 1; k <= n + 1; k += step) {
      alloc_arm(k, persistent);
      fn();
      alloc_disarm();
      cases++;
    }
  printf("alloc: %-44s %5ld allocations; failed the k-th (once, and from k on; k step %d): %ld cases,"
         " %ld completed anyway, %ld ended in a clean error (%.1fs)\n",
         name, n, step, cases, alloc_ok, alloc_errors, fx_now() - t0);
}

/* ---- the public calls under allocation failure ----
 * Each case prepares its engines with no fault armed, then the k-th
 * allocation inside one call fails (once, or from k on): the call must
 * return a clear status, and what it worked on must still be usable:
 * nothing lost. Some run in a thread of their own, whose empty buffer
 * cache makes the engine allocate its queue buffers there. */
typedef struct api_case {
  const char *name;
  int fresh_thread;
  void (*prepare)(void);
  long (*call)(void); /* its status or length */
  void (*after)(long st); /* checks, with no fault armed; frees */
} api_case;

static sslbio_conn *api_c, *api_s;
static sslbio_ctx *api_ctx, *api_hello, *api_alt;
static unsigned char api_der[8192];
static long api_der_len;

/* An established TLS 1.3 pair (mutual TLS, ALPN); the client has its ticket.
 * The client's context is new each time (api_ctx): what a context makes on
 * first use (its session cache) is made inside the call under test. */
static void api_pair(void) {
  api_ctx = fx_client_ctx(1, 0x0304, 0x0304);
  api_c = sslbio_conn_new(api_ctx, "localhost");
  api_s = sslbio_conn_new(srv[1][1], NULL);
  FX_CHECK(api_c && api_s && fx_pair_handshake(api_c, api_s), "api: setup handshake");
  unsigned char b[64];
  t_buf w = {0};
  sslbio_conn_read(api_c, b, sizeof(b)); /* takes the ticket in */
  t_move(api_s, &w, api_c);
  sslbio_conn_read(api_c, b, sizeof(b));
  t_buf_free(&w);
}

/* The pair still carries data both ways. */
static void api_pair_works(const char *what) {
  t_buf w = {0};
  static const char msg[] = "still alive";
  unsigned char b[64];
  for (int d = 0; d < 2; d++) {
    sslbio_conn *from = d ? api_s : api_c, *to = d ? api_c : api_s;
    FX_CHECK(sslbio_conn_write(from, msg, sizeof(msg)) == (long)sizeof(msg), "%s: write after: %s", what,
             fx_errmsg(from));
    t_move(from, &w, to);
    FX_CHECK(sslbio_conn_read(to, b, sizeof(b)) == (long)sizeof(msg) && memcmp(b, msg, sizeof(msg)) == 0,
             "%s: read after: %s", what, fx_errmsg(to));
  }
  t_buf_free(&w);
}

static void api_pair_free(void) {
  sslbio_conn_free(api_c), sslbio_conn_free(api_s);
  api_c = api_s = NULL;
  sslbio_ctx_free(api_ctx), sslbio_ctx_free(api_alt);
  api_ctx = api_alt = NULL;
}

static int api_clean(long st) { return st == SSLBIO_ENOMEM || st == SSLBIO_ERROR; }

static long call_session(void) { return sslbio_conn_session(api_c, api_der, sizeof(api_der)); }
static void after_session(long st) {
  FX_CHECK(st > 0 || api_clean(st), "session export: %ld", st);
  api_pair_works("session export");
  api_pair_free();
}

static void prepare_import(void) {
  api_pair();
  api_der_len = sslbio_conn_session(api_c, api_der, sizeof(api_der));
  FX_CHECK(api_der_len > 0, "api: no session to import (%ld)", api_der_len);
  api_pair_free();
  api_c = sslbio_conn_new(cli[1][1], "localhost");
  api_s = sslbio_conn_new(srv[1][1], NULL);
}
static long call_import(void) { return sslbio_conn_set_session(api_c, api_der, (size_t)api_der_len); }
static void after_import(long st) {
  FX_CHECK(st == SSLBIO_OK || st == SSLBIO_EINVAL || api_clean(st), "session import: %ld", st);
  /* Imported or not, the engine handshakes (a full handshake without it). */
  FX_CHECK(fx_pair_handshake(api_c, api_s), "session import %ld: no handshake after [%s]", st, fx_errmsg(api_c));
  api_pair_free();
}

static long call_pem(void) {
  static char pem[8192];
  return sslbio_conn_peer_certificate_pem(api_c, pem, sizeof(pem));
}
static void after_pem(long st) {
  FX_CHECK(st > 0 || st == SSLBIO_ENOMEM, "peer certificate PEM: %ld", st);
  api_pair_works("peer certificate PEM");
  api_pair_free();
}

static long call_exporter(void) {
  unsigned char km[48];
  return sslbio_conn_export_keying_material(api_c, km, sizeof(km), "EXPORTER-faults", "ctx", 3);
}
static void after_exporter(long st) {
  FX_CHECK(st == SSLBIO_OK || api_clean(st), "exporter: %ld", st);
  api_pair_works("exporter");
  api_pair_free();
}

static long call_reset(void) { return sslbio_conn_reset(api_c, "localhost"); }
static void after_reset(long st) {
  FX_CHECK(st == SSLBIO_OK || st == SSLBIO_ENOMEM, "reset: %ld", st);
  if (st == SSLBIO_OK) {
    FX_CHECK(sslbio_conn_reset(api_s, NULL) == SSLBIO_OK, "reset: server");
    FX_CHECK(fx_pair_handshake(api_c, api_s), "reset: no handshake after [%s]", fx_errmsg(api_c));
  }
  api_pair_free();
}

static void prepare_ctx(void) { api_ctx = sslbio_ctx_new(SSLBIO_CLIENT); }
static long call_alpn(void) { return sslbio_ctx_set_alpn(api_ctx, "h2,http/1.1"); }
static long call_password(void) { return sslbio_ctx_set_key_password(api_ctx, "secret", 6); }
static void after_setter(long st) {
  FX_CHECK(st == SSLBIO_OK || st == SSLBIO_ENOMEM, "context setter: %ld", st);
  if (st != SSLBIO_OK)
    FX_CHECK(strstr(sslbio_ctx_error(api_ctx), "out of memory") != NULL, "setter failed without saying why: %s",
             sslbio_ctx_error(api_ctx));
  api_pair_free(); /* frees api_ctx */
}

static void prepare_nothing(void) {}
static long call_ctx_new(void) {
  api_ctx = sslbio_ctx_new(SSLBIO_SERVER);
  return api_ctx ? SSLBIO_OK : SSLBIO_ENOMEM;
}
static long call_conn_new(void) {
  api_c = sslbio_conn_new(cli[1][1], "localhost");
  return api_c ? SSLBIO_OK : SSLBIO_ENOMEM;
}
static void after_new(long st) {
  (void)st;
  if (api_c) { /* a new engine works */
    api_s = sslbio_conn_new(srv[1][1], NULL);
    FX_CHECK(fx_pair_handshake(api_c, api_s), "conn_new: no handshake after [%s]", fx_errmsg(api_c));
  }
  api_pair_free();
}

/* A server paused at the ClientHello, answered with another context. */
static void prepare_hello(void) {
  api_c = sslbio_conn_new(cli[0][1], "localhost");
  api_s = sslbio_conn_new(api_hello, NULL);
  api_alt = fx_server_ctx(0, 0, 0); /* frozen by use_context, inside the call */
  t_buf w = {0};
  sslbio_conn_handshake(api_c);
  t_move(api_c, &w, api_s);
  FX_CHECK(sslbio_conn_handshake(api_s) == SSLBIO_WANT_CLIENT_HELLO, "api: no ClientHello pause");
  t_buf_free(&w);
}
static long call_use_context(void) { return sslbio_conn_use_context(api_s, api_alt); }
static void after_use_context(long st) {
  FX_CHECK(st == SSLBIO_OK || st == SSLBIO_ERROR, "use_context: %ld", st);
  if (st != SSLBIO_OK && !alloc_persistent) /* from k on, the error record cannot be made either */
    FX_CHECK(strstr(fx_errmsg(api_s), "use context") != NULL, "use_context failed without a message");
  /* Failed or not, the handshake goes on (on the context in force). */
  FX_CHECK(fx_pair_handshake(api_c, api_s), "use_context %ld: no handshake after [%s]", st, fx_errmsg(api_s));
  api_pair_free();
}

/* Feeds in a thread whose buffer cache is empty: the queue allocates. */
static void prepare_feed(void) { api_s = sslbio_conn_new(srv[0][1], NULL); }
static long call_feed(void) { return sslbio_conn_feed(api_s, "\x16\x03\x01\x00\x05hello", 10); }
static long call_feed_buffer(void) {
  void *room;
  long n = sslbio_conn_feed_buffer(api_s, &room);
  return n > 0 ? sslbio_conn_feed_commit(api_s, 0) : n;
}
static void after_feed(long st) {
  FX_CHECK(st >= 0 || st == SSLBIO_ENOMEM, "feed: %ld", st);
  sslbio_conn_free(api_s);
  api_s = NULL;
}

static void prepare_client(void) { api_c = sslbio_conn_new(cli[0][1], "localhost"); }
static long call_handshake(void) { return sslbio_conn_handshake(api_c); }
static void after_handshake(long st) {
  FX_CHECK(st == SSLBIO_WANT_READ || api_clean(st), "first handshake step: %ld", st);
  if (st == SSLBIO_WANT_READ) {
    api_s = sslbio_conn_new(srv[0][1], NULL);
    FX_CHECK(fx_pair_handshake(api_c, api_s), "handshake: not finished after [%s]", fx_errmsg(api_c));
  } else if (!alloc_persistent) { /* from k on, the error record cannot be made either */
    FX_CHECK(strlen(fx_errmsg(api_c)) > 0, "first handshake step failed without a message");
  }
  api_pair_free();
}

static long (*api_thread_call)(void);
static long api_thread_st;
static void *api_thread(void *arg) {
  (void)arg;
  api_thread_st = api_thread_call();
  return NULL;
}

static const api_case api_cases[] = {
    {"session export", 0, api_pair, call_session, after_session},
    {"session import", 0, prepare_import, call_import, after_import},
    {"peer certificate PEM", 0, api_pair, call_pem, after_pem},
    {"exporter", 0, api_pair, call_exporter, after_exporter},
    {"reset", 0, api_pair, call_reset, after_reset},
    {"ctx_set_alpn", 0, prepare_ctx, call_alpn, after_setter},
    {"ctx_set_key_password", 0, prepare_ctx, call_password, after_setter},
    {"ctx_new", 0, prepare_nothing, call_ctx_new, after_new},
    {"conn_new", 0, prepare_nothing, call_conn_new, after_new},
    {"use_context at the ClientHello", 0, prepare_hello, call_use_context, after_use_context},
    {"feed (a fresh thread)", 1, prepare_feed, call_feed, after_feed},
    {"feed_buffer (a fresh thread)", 1, prepare_feed, call_feed_buffer, after_feed},
    {"first handshake step (a fresh thread)", 1, prepare_client, call_handshake, after_handshake},
};

static long api_run(const api_case *c) {
  if (!c->fresh_thread)
    return c->call();
  pthread_t t;
  api_thread_call = c->call;
  FX_CHECK(pthread_create(&t, NULL, api_thread, NULL) == 0, "pthread_create");
  pthread_join(t, NULL);
  return api_thread_st;
}

static void test_alloc_api(void) {
  api_hello = fx_server_ctx(0, 0, 0);
  FX_CHECK(api_hello && sslbio_ctx_set_client_hello_pause(api_hello, 1) == SSLBIO_OK,
           "api: contexts");
  for (size_t i = 0; i < sizeof(api_cases) / sizeof(api_cases[0]); i++) {
    const api_case *c = &api_cases[i];
    c->prepare();
    alloc_disarm();
    alloc_count = 0;
    long n = 0, st = api_run(c);
    n = alloc_count;
    c->after(st);
    long failed = 0, cases = 0;
    long step = n > 100 ? stride : 1; /* the calls that parse X.509 (import, ctx_new) are long */
    for (int persistent = 0; persistent < 2; persistent++)
      for (long k = 1; k <= n + 1; k += step, cases++) {
        c->prepare();
        alloc_arm(k, persistent);
        st = api_run(c);
        alloc_countdown = 0; /* disarmed; alloc_persistent tells after() which kind ran */
        failed += api_clean(st) || st == SSLBIO_EINVAL;
        c->after(st);
      }
    printf("alloc: %-44s %5ld allocations; failed the k-th (once, and from k on; k step %ld): %ld cases,"
           " %ld clean errors, the rest completed\n", c->name, n, step, cases, failed);
  }
  sslbio_ctx_free(api_hello);
}

static void test_alloc(void) {
  /* Context setup is mostly PEM and X.509 parsing inside OpenSSL: a
   * coarser step keeps the run short. */
  sweep("context setup + engine creation", scenario_contexts, stride * 5);
  for (alloc_v = 0; alloc_v < 2; alloc_v++)
    for (alloc_kind = 0; alloc_kind < 2; alloc_kind++) {
      char name[96];
      snprintf(name, sizeof(name), "connection %s%s (%s)", vname(alloc_v), alloc_kind ? " mTLS+ALPN" : "",
               alloc_v ? "callbacks" : "feed/drain");
      sweep(name, scenario_connection, stride);
    }
}
#endif

/* ---- under an external injector (fiu-run) ---- */

static void test_alloc_random(void) {
  int seconds = fx_env_int("FAULTS_SECONDS", 10);
  double end = fx_now() + seconds;
  long conns = 0, ok = 0, ctxfail = 0, ctxok = 0;
  sslbio_ctx *c = NULL, *s = NULL;
  int kind = 0;
  while (fx_now() < end) {
    if (!c || !s || conns % 50 == 49) { /* (re)build the contexts now and then */
      sslbio_ctx_free(c), sslbio_ctx_free(s);
      kind = !kind;
      c = fx_client_ctx(kind, 0, 0), s = fx_server_ctx(kind, 0, 0);
      if (!c || !s) {
        ctxfail++;
        continue;
      }
      ctxok++;
    }
    static fx_run r;
    fx_connect(&r, c, s, &fx_nofault, &fx_nofault, (int)(conns & 1), payload, 3000, (uint64_t)conns);
    conns++;
    ok += r.side[0].status == SSLBIO_OK && r.side[1].status == SSLBIO_OK;
    for (int w = 0; w < 2; w++) {
      long st = r.side[w].status;
      FX_CHECK(st == SSLBIO_OK || st == SSLBIO_ERROR || st == SSLBIO_ENOMEM || st == SSLBIO_TRUNCATED,
               "random alloc: status %ld", st);
      if (st == SSLBIO_OK)
        FX_CHECK(r.side[w].sum_got == r.side[0].sum_sent, "random alloc: damaged data");
    }
    FX_CHECK(!r.stalled, "random alloc: stalled");
    fx_free_run(&r);
  }
  sslbio_ctx_free(c), sslbio_ctx_free(s);
  printf("alloc-random: %ld connections in %ds under external fault injection: %ld completed, %ld ended"
         " in clean errors; contexts built %ld times, refused %ld times; process healthy\n",
         conns, seconds, ok, conns - ok, ctxok, ctxfail);
}

int main(int argc, char **argv) {
  const char *what = argc > 1 ? argv[1] : "all";
  stride = fx_env_int("FAULTS_STRIDE", 5);
  if (stride < 1)
    stride = 1;
#ifndef FX_NO_FIU
  if (strcmp(what, "alloc-random") != 0)
    alloc_setup();
#endif
  for (size_t i = 0; i < sizeof(payload); i++)
    payload[i] = (unsigned char)(i * 7 + (i >> 8));
  if (strcmp(what, "alloc-random") == 0) {
    test_alloc_random();
    return fx_failures ? 1 : 0;
  }
  make_contexts();
  int all = strcmp(what, "all") == 0;
  if (all || strcmp(what, "chunks") == 0)
    test_chunks();
  if (all || strcmp(what, "transport") == 0)
    test_transport();
  if (all || strcmp(what, "bogus") == 0)
    test_bogus();
#ifndef FX_NO_FIU
  if (all || strcmp(what, "alloc") == 0)
    test_alloc();
  if (all || strcmp(what, "alloc") == 0 || strcmp(what, "alloc-api") == 0)
    test_alloc_api();
#endif
  free_contexts();
  printf("faults %s: %d checks, %d failures\n", what, fx_checks, fx_failures);
  return fx_failures ? 1 : 0;
}
