/* scenarios.h — the benchmark scenarios shared by ceiling.c (plain OpenSSL
 * over BIO pairs) and capi_bench.c (the sslbio C API), so both programs run
 * exactly the same loops. Include it once, after defining the backend:
 *
 *   typedef struct be_env be_env;    contexts shared by every thread
 *   typedef struct be_conn be_conn;  one TLS endpoint
 *   typedef struct be_sess be_sess;  a session kept for resumption
 *   static const char *be_subject;   default subject name
 *   static be_env *be_env_new(const char *certs, int default_suite);
 *   static void be_env_free(be_env *);
 *   static be_conn *be_new(be_env *, int server);   client names "localhost"
 *   static void be_free(be_conn *);
 *   static int be_reset(be_conn *);                 0 ok: ready for a new connection
 *   static int be_handshake(be_conn *);             1 done, 0 want, -1 error
 *   static long be_read(be_conn *, void *, size_t); >0 bytes, 0 want, -1 error
 *   static long be_write(be_conn *, const void *, size_t); same
 *   static long be_move(be_conn *from, be_conn *to); ciphertext moved, -1 error
 *   static be_sess *be_session(be_conn *);          client, after a read
 *   static int be_set_session(be_conn *, be_sess *); 0 ok
 *   static void be_sess_free(be_sess *);
 *   static int be_resumed(be_conn *);               1 if the handshake resumed
 *   static const char *be_cipher(be_conn *);
 *
 * Output: one JSON line per measure:
 *   {"subject": "...", "measure": "...", "value": N, "unit": "..."[, extras]}
 *
 * Every scenario moves ciphertext between a client and a server endpoint in
 * the same thread, through memory: after each application call the caller
 * moves all pending ciphertext to the peer (one copy), like a socket would.
 */
#ifndef SSLBIO_BENCH_SCENARIOS_H
#define SSLBIO_BENCH_SCENARIOS_H

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BULK_SIZE (16 * 1024)
#define PING_SIZE 64
#define MAX_ROUNDS 16

typedef struct opts {
  const char *subject;
  const char *certs;
  const char *measures; /* comma-separated, or "all" */
  double duration;      /* seconds per timed run */
  long conns;           /* connections for the memory measure */
  long iterations;      /* > 0: that many operations instead of a duration
                           (deterministic work for valgrind --tool=callgrind) */
  int cpu_clock;        /* single-thread rates per CPU second of the process
                           (--clock cpu: robust on a shared machine) */
} opts;

static opts g_opts = {NULL, "build/certs", "all", 1.0, 10000, 0, 0};

static double clock_sec(clockid_t clk) {
  struct timespec ts;
  clock_gettime(clk, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", g_opts.subject ? g_opts.subject : be_subject);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

/* Resident set size in bytes (/proc/self/statm). */
static long rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, resident = 0;
  if (f == NULL)
    return 0;
  if (fscanf(f, "%ld %ld", &size, &resident) != 2)
    resident = 0;
  fclose(f);
  return resident * sysconf(_SC_PAGESIZE);
}

static void emit(const char *measure, double value, const char *unit, const char *extra) {
  int cpu = g_opts.cpu_clock && strncmp(measure, "scale", 5) != 0 && strcmp(measure, "memory") != 0;
  printf("{\"subject\": \"%s\", \"measure\": \"%s\", \"value\": %.6g, \"unit\": \"%s\"%s%s%s}\n",
         g_opts.subject ? g_opts.subject : be_subject, measure, value, unit,
         extra && *extra ? ", " : "", extra ? extra : "", cpu ? ", \"clock\": \"cpu\"" : "");
  fflush(stdout);
}

/* ---- building blocks ---- */

static void handshake_pair(be_conn *c, be_conn *s) {
  for (int i = 0; i < MAX_ROUNDS; i++) {
    int rc = be_handshake(c);
    if (rc < 0 || be_move(c, s) < 0)
      die("client handshake failed");
    int rs = be_handshake(s);
    if (rs < 0 || be_move(s, c) < 0)
      die("server handshake failed");
    if (rc == 1 && rs == 1)
      return;
  }
  die("handshake did not finish in %d rounds", MAX_ROUNDS);
}

/* Write all of p (moving ciphertext to the peer as needed). */
static void send_all(be_conn *from, be_conn *to, const unsigned char *p, size_t len) {
  size_t off = 0;
  while (off < len) {
    long n = be_write(from, p + off, len - off);
    if (n < 0)
      die("write failed");
    off += (size_t)n;
    if (be_move(from, to) < 0)
      die("move failed");
  }
}

/* Read exactly len bytes that were already moved to c. */
static void recv_all(be_conn *c, unsigned char *p, size_t len) {
  size_t off = 0;
  while (off < len) {
    long n = be_read(c, p + off, len - off);
    if (n <= 0)
      die("read failed (%ld) after %zu of %zu bytes", n, off, len);
    off += (size_t)n;
  }
}

/* One byte each way (the client reads the server's session ticket on the
 * way), then each side reads until it would block, as an event loop does:
 * both end idle with nothing buffered. */
static void settle(be_conn *c, be_conn *s) {
  unsigned char b = 'x';
  send_all(c, s, &b, 1);
  recv_all(s, &b, 1);
  send_all(s, c, &b, 1);
  recv_all(c, &b, 1);
  if (be_read(s, &b, 1) != 0 || be_read(c, &b, 1) != 0)
    die("idle read did not want more");
}

/* ---- timed scenarios ---- */

typedef struct worker {
  be_env *env;
  be_conn *c, *s;
  be_sess *sess;
  unsigned char buf[BULK_SIZE];
  unsigned char rbuf[BULK_SIZE];
  double work; /* units done in the timed window */
  double secs;
} worker;

typedef struct scenario {
  const char *name;
  void (*setup)(worker *w);
  double (*step)(worker *w); /* one operation; returns units of work */
  void (*teardown)(worker *w);
} scenario;

static void pair_setup(worker *w) {
  w->c = be_new(w->env, 0);
  w->s = be_new(w->env, 1);
  if (w->c == NULL || w->s == NULL)
    die("new engine failed");
  handshake_pair(w->c, w->s);
  settle(w->c, w->s);
  memset(w->buf, 'a', sizeof(w->buf));
}

static void pair_teardown(worker *w) {
  be_free(w->c);
  be_free(w->s);
  if (w->sess != NULL)
    be_sess_free(w->sess);
  w->c = w->s = NULL;
  w->sess = NULL;
}

static double bulk_step(worker *w) {
  send_all(w->c, w->s, w->buf, BULK_SIZE);
  recv_all(w->s, w->rbuf, BULK_SIZE);
  return BULK_SIZE;
}

static double ping_step(worker *w) {
  send_all(w->c, w->s, w->buf, PING_SIZE);
  recv_all(w->s, w->rbuf, PING_SIZE);
  send_all(w->s, w->c, w->rbuf, PING_SIZE);
  recv_all(w->c, w->rbuf, PING_SIZE);
  return 1;
}

static void none_setup(worker *w) { (void)w; }
static void none_teardown(worker *w) { (void)w; }

static double full_hs_step(worker *w) {
  be_conn *c = be_new(w->env, 0), *s = be_new(w->env, 1);
  if (c == NULL || s == NULL)
    die("new engine failed");
  handshake_pair(c, s);
  be_free(c);
  be_free(s);
  return 1;
}

/* The same handshake on engines reused for each new connection (sslbio:
 * sslbio_conn_reset; plain OpenSSL: SSL_clear and emptied BIO pairs)
 * instead of freed and made again. */
static void reuse_setup(worker *w) {
  w->c = be_new(w->env, 0);
  w->s = be_new(w->env, 1);
  if (w->c == NULL || w->s == NULL)
    die("new engine failed");
}

static double reuse_hs_step(worker *w) {
  if (be_reset(w->c) != 0 || be_reset(w->s) != 0)
    die("engine reset failed");
  handshake_pair(w->c, w->s);
  return 1;
}

/* TLS 1.3 tickets are single-use (RFC 8446 C.4; OpenSSL's client marks a
 * used session not resumable), so each resumed handshake uses the ticket of
 * the previous connection, the way a client keeps resuming: set the session,
 * handshake, read once to take the new ticket, keep its session. The
 * previous client is freed only then: OpenSSL marks the session of an SSL
 * freed without close_notify not resumable. */
static void resume_setup(worker *w) {
  pair_setup(w); /* settle() made the client read the ticket */
  w->sess = be_session(w->c);
  if (w->sess == NULL)
    die("no resumable session after the first handshake");
}

static double resume_step(worker *w) {
  be_conn *c = be_new(w->env, 0), *s = be_new(w->env, 1);
  if (c == NULL || s == NULL)
    die("new engine failed");
  if (be_set_session(c, w->sess) != 0)
    die("set session failed");
  handshake_pair(c, s);
  if (!be_resumed(c))
    die("handshake did not resume");
  if (be_read(c, w->rbuf, 1) != 0) /* takes the new ticket; no data */
    die("reading the new ticket failed");
  be_sess *next = be_session(c);
  if (next == NULL)
    die("no resumable session after a resumed handshake");
  be_sess_free(w->sess);
  w->sess = next;
  be_free(s);
  be_free(w->c); /* the previous client */
  w->c = c;
  return 1;
}

static const scenario sc_bulk = {"bulk", pair_setup, bulk_step, pair_teardown};
static const scenario sc_ping = {"pingpong", pair_setup, ping_step, pair_teardown};
static const scenario sc_full = {"handshake", none_setup, full_hs_step, none_teardown};
static const scenario sc_resume = {"resume", resume_setup, resume_step, pair_teardown};
static const scenario sc_reuse = {"handshake-reuse", reuse_setup, reuse_hs_step, pair_teardown};

typedef struct thread_arg {
  const scenario *sc;
  worker *w;
  pthread_barrier_t *barrier;
  double duration;
} thread_arg;

/* Runs steps in batches that double until one takes a millisecond, so
 * reading the clock (a system call for the CPU clock) costs nothing. */
static void run_worker(const scenario *sc, worker *w, double duration, clockid_t clk) {
  sc->setup(w);
  if (g_opts.iterations > 0) {
    double work = 0, start = clock_sec(clk);
    for (long i = 0; i < g_opts.iterations; i++)
      work += sc->step(w);
    w->work = work;
    w->secs = clock_sec(clk) - start;
    sc->teardown(w);
    return;
  }
  double warm_end = clock_sec(clk) + (duration / 10 > 0.02 ? duration / 10 : 0.02);
  while (clock_sec(clk) < warm_end)
    sc->step(w);
  double work = 0, start = clock_sec(clk), end = start + duration, t = start;
  long batch = 1;
  while (t < end) {
    double t0 = t;
    for (long i = 0; i < batch; i++)
      work += sc->step(w);
    t = clock_sec(clk);
    if (t - t0 < 1e-3)
      batch *= 2;
  }
  w->work = work;
  w->secs = t - start;
  sc->teardown(w);
}

static void *thread_main(void *p) {
  thread_arg *a = p;
  pthread_barrier_wait(a->barrier);
  run_worker(a->sc, a->w, a->duration, CLOCK_MONOTONIC);
  return NULL;
}

/* Units per second summed over nthreads workers sharing env. Wall clock,
 * or with --clock cpu for a single-thread run the process's CPU time. */
static double run_timed(const scenario *sc, be_env *env, int nthreads, double duration, int cpu) {
  worker *ws = calloc((size_t)nthreads, sizeof(worker));
  thread_arg *args = calloc((size_t)nthreads, sizeof(thread_arg));
  pthread_t *tids = calloc((size_t)nthreads, sizeof(pthread_t));
  pthread_barrier_t barrier;
  if (ws == NULL || args == NULL || tids == NULL)
    die("out of memory");
  pthread_barrier_init(&barrier, NULL, (unsigned)nthreads);
  for (int i = 0; i < nthreads; i++) {
    ws[i].env = env;
    args[i] = (thread_arg){sc, &ws[i], &barrier, duration};
    if (nthreads == 1)
      continue;
    if (pthread_create(&tids[i], NULL, thread_main, &args[i]) != 0)
      die("pthread_create failed");
  }
  if (nthreads == 1)
    run_worker(sc, &ws[0], duration, cpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC);
  else
    for (int i = 0; i < nthreads; i++)
      pthread_join(tids[i], NULL);
  double rate = 0;
  for (int i = 0; i < nthreads; i++)
    rate += ws[i].work / ws[i].secs;
  pthread_barrier_destroy(&barrier);
  free(ws);
  free(args);
  free(tids);
  return rate;
}

/* ---- memory ----
 * n connections established in memory (client and server endpoint each, one
 * byte exchanged each way so both are idle with nothing buffered); the RSS
 * growth divided by the 2n endpoints. */

static void measure_memory(be_env *env, long n) {
  be_conn **cs = calloc((size_t)n, sizeof(be_conn *));
  be_conn **ss = calloc((size_t)n, sizeof(be_conn *));
  if (cs == NULL || ss == NULL)
    die("out of memory");
  /* Warm up: lazily loaded tables and allocator arenas are not per-conn. */
  for (int i = 0; i < 16; i++) {
    be_conn *c = be_new(env, 0), *s = be_new(env, 1);
    handshake_pair(c, s);
    settle(c, s);
    be_free(c);
    be_free(s);
  }
  long before = rss_bytes();
  for (long i = 0; i < n; i++) {
    cs[i] = be_new(env, 0);
    ss[i] = be_new(env, 1);
    if (cs[i] == NULL || ss[i] == NULL)
      die("new engine failed at %ld", i);
    handshake_pair(cs[i], ss[i]);
    settle(cs[i], ss[i]);
  }
  long after = rss_bytes();
  char extra[160];
  snprintf(extra, sizeof(extra), "\"conns\": %ld, \"rss_before_kib\": %ld, \"rss_after_kib\": %ld",
           n, before / 1024, after / 1024);
  /* Per endpoint: a server holding n idle connections holds n of these. */
  emit("memory", (double)(after - before) / 1024.0 / (double)(2 * n), "KiB/conn", extra);
  for (long i = 0; i < n; i++) {
    be_free(cs[i]);
    be_free(ss[i]);
  }
  free(cs);
  free(ss);
}

/* ---- driver ---- */

static int wanted(const char *measure) {
  const char *list = g_opts.measures;
  if (strcmp(list, "all") == 0)
    return 1;
  size_t len = strlen(measure);
  for (const char *p = list; *p;) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    if (n == len && strncmp(p, measure, n) == 0)
      return 1;
    p += n + (comma ? 1 : 0);
  }
  return 0;
}

static void suite_extra(be_env *env, char *out, size_t cap) {
  be_conn *c = be_new(env, 0), *s = be_new(env, 1);
  handshake_pair(c, s);
  snprintf(out, cap, "\"suite\": \"%s\"", be_cipher(c));
  be_free(c);
  be_free(s);
}

static void usage(const char *argv0) {
  fprintf(stderr,
          "usage: %s [--measure LIST] [--duration SEC] [--conns N] [--certs DIR] [--subject NAME]\n"
          "          [--iterations N]  (N operations per timed run instead of a duration)\n"
          "          [--clock wall|cpu] (cpu: single-thread rates per CPU second of the process)\n"
          "  LIST: all or comma-separated of bulk, bulk-default, pingpong, handshake,\n"
          "        handshake-reuse, resume, memory, scale-bulk, scale-handshake\n",
          argv0);
  exit(2);
}

static void parse_args(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] == '-' && a[1] == '-')
      a++; /* accept -flag and --flag */
    if (i + 1 >= argc)
      usage(argv[0]);
    const char *v = argv[++i];
    if (strcmp(a, "-measure") == 0)
      g_opts.measures = v;
    else if (strcmp(a, "-duration") == 0)
      g_opts.duration = atof(v);
    else if (strcmp(a, "-conns") == 0)
      g_opts.conns = atol(v);
    else if (strcmp(a, "-certs") == 0)
      g_opts.certs = v;
    else if (strcmp(a, "-subject") == 0)
      g_opts.subject = v;
    else if (strcmp(a, "-iterations") == 0)
      g_opts.iterations = atol(v);
    else if (strcmp(a, "-clock") == 0 && (strcmp(v, "cpu") == 0 || strcmp(v, "wall") == 0))
      g_opts.cpu_clock = strcmp(v, "cpu") == 0;
    else
      usage(argv[0]);
  }
  if (g_opts.duration <= 0 || g_opts.conns <= 0)
    usage(argv[0]);
}

static int bench_main(int argc, char **argv) {
  parse_args(argc, argv);
  double d = g_opts.duration;
  be_env *env = be_env_new(g_opts.certs, 0);
  if (env == NULL)
    die("cannot set up contexts from %s", g_opts.certs);
  char suite[96];
  suite_extra(env, suite, sizeof(suite));
  if (wanted("bulk"))
    emit("bulk", run_timed(&sc_bulk, env, 1, d, g_opts.cpu_clock) / 1e6, "MB/s", suite);
  if (wanted("bulk-default")) {
    be_env *denv = be_env_new(g_opts.certs, 1);
    if (denv == NULL)
      die("cannot set up default-suite contexts");
    char dsuite[96];
    suite_extra(denv, dsuite, sizeof(dsuite));
    emit("bulk-default", run_timed(&sc_bulk, denv, 1, d, g_opts.cpu_clock) / 1e6, "MB/s", dsuite);
    be_env_free(denv);
  }
  if (wanted("pingpong"))
    emit("pingpong", run_timed(&sc_ping, env, 1, d, g_opts.cpu_clock), "rt/s", suite);
  if (wanted("handshake"))
    emit("handshake", run_timed(&sc_full, env, 1, d, g_opts.cpu_clock), "hs/s", suite);
  if (wanted("handshake-reuse"))
    emit("handshake-reuse", run_timed(&sc_reuse, env, 1, d, g_opts.cpu_clock), "hs/s", suite);
  if (wanted("resume"))
    emit("resume", run_timed(&sc_resume, env, 1, d, g_opts.cpu_clock), "hs/s", suite);
  if (wanted("memory"))
    measure_memory(env, g_opts.conns);
  const scenario *scale[] = {&sc_bulk, &sc_full};
  const char *scale_names[] = {"scale-bulk", "scale-handshake"};
  for (int i = 0; i < 2; i++) {
    if (!wanted(scale_names[i]))
      continue;
    double one = run_timed(scale[i], env, 1, d, 0); /* scaling is about wall time */
    double two = run_timed(scale[i], env, 2, d, 0);
    char extra[128];
    snprintf(extra, sizeof(extra), "\"one_thread\": %.6g, \"two_threads\": %.6g, \"of\": \"%s\"",
             one, two, scale[i]->name);
    emit(scale_names[i], two / one, "x", extra);
  }
  be_env_free(env);
  return 0;
}

#endif
