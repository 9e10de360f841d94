/* Drivers of the operation-sequence target (fuzz_ops.h).
 *
 *   -DFZO_AFL (afl-clang-fast): AFL++'s deferred fork server. The pairs
 *     are built once, then __AFL_INIT() forks a copy per input, which runs
 *     one input read from stdin (or the file argv[1]) and exits.
 *   otherwise (gcc, ASan+UBSan; the replay tool of `make test`):
 *     fuzz_ops FILE|DIR...   replays each input in a forked copy of the
 *                            set-up process; the child frees everything,
 *                            so LeakSanitizer checks it; exit 1 if any failed
 *     fuzz_ops -seeds DIR    writes the seed corpus
 *     fuzz_ops -random N SEED  N random inputs (forked likewise), for a
 *                            quick check and to measure executions/s
 *     fuzz_ops -speed N FILE...  where an execution's time goes: each input
 *                            run N times in forked copies that exit without
 *                            teardown (as under afl-fuzz), microseconds per
 *                            run, after a bare fork's (`make fuzz-ops-speed`) */
#include "fuzz_ops.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static uint8_t input[1 << 16];

#ifdef FZO_AFL
#ifdef __AFL_FUZZ_TESTCASE_LEN
__AFL_FUZZ_INIT(); /* the input comes in shared memory, not through a file */
#endif
int main(int argc, char **argv) {
  fzo_setup();
#ifdef __AFL_HAVE_MANUAL_CONTROL
  __AFL_INIT();
#endif
#ifdef __AFL_FUZZ_TESTCASE_LEN
  if (argc < 2) {
    fzo_run(__AFL_FUZZ_TESTCASE_BUF, (size_t)__AFL_FUZZ_TESTCASE_LEN);
    _exit(0);
  }
#endif
  FILE *f = argc > 1 ? fopen(argv[1], "rb") : stdin;
  if (f == NULL)
    return 1;
  size_t n = fread(input, 1, sizeof(input), f);
  fzo_run(input, n);
  _exit(0); /* the copy ends here: no teardown to pay for */
}
#else

static int fast_exit; /* -speed: the copy exits at once, as under afl-fuzz */

/* One input in a forked copy; 0 when it passed. */
static int run_forked(const uint8_t *p, size_t n, const char *name) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    exit(2);
  }
  if (pid == 0) {
    fzo_run(p, n);
    if (fast_exit)
      _exit(0);
    fzo_teardown();
    ERR_clear_error();
    exit(0);
  }
  int status;
  if (waitpid(pid, &status, 0) != pid) {
    perror("waitpid");
    exit(2);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return 0;
  fprintf(stderr, "fuzz_ops: %s failed (%s %d)\n", name, WIFSIGNALED(status) ? "signal" : "exit",
          WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
  return 1;
}

static int run_path(const char *path, int *files) {
  struct stat st;
  if (stat(path, &st) != 0) {
    perror(path);
    return 1;
  }
  if (S_ISDIR(st.st_mode)) {
    int bad = 0;
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.')
        continue;
      char p[4096];
      snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
      bad += run_path(p, files);
    }
    if (d)
      closedir(d);
    return bad;
  }
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    perror(path);
    return 1;
  }
  size_t n = fread(input, 1, sizeof(input), f);
  fclose(f);
  (*files)++;
  return run_forked(input, n, path);
}

/* ---- seeds: one or more per starting pair ---- */

#define C(x) (uint8_t)(x)
#define SRV 0x80
#define F(f) ((f) << 5)

static void put_seed(const char *dir, const char *name, const uint8_t *p, size_t n) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
    perror(path);
    exit(1);
  }
}

static void write_seeds(const char *dir) {
  mkdir(dir, 0755);
  /* data both ways with odd sizes, partial drains, split and zero-copy feeds */
  const uint8_t data[] = {0, FZO_WRITE, 0x01, 0x2c, FZO_DRAIN, 0x00, 0x63, SRV | FZO_FEED | F(1), 0x01, 0x00, 0x00, 0x33,
                          SRV | FZO_READ, 0x00, 0x10, FZO_DRAIN | F(3), SRV | FZO_FEED | F(3), 0xff, 0xff,
                          SRV | FZO_READ, 0x4e, 0x1f, SRV | FZO_WRITE | F(1), 0x3f, 0xff, 0x00, 0x80,
                          FZO_READ | F(1), 0x10, 0x00, 0xff, 0xff, SRV | FZO_DRAIN | F(1), 0x00, 0x40,
                          SRV | FZO_PENDING, SRV | FZO_WANTS, FZO_WANTS, 20, FZO_READ, 0x40, 0x00};
  /* key update, shutdown both ways, half-close */
  const uint8_t closing[] = {0, FZO_KEY_UPDATE | F(1), 20, SRV | FZO_READ, 0x10, 0x00, 20, FZO_READ, 0x10, 0,
                             FZO_WRITE, 0x00, 0x05, FZO_SHUTDOWN, FZO_WRITE, 0, 3, 20, SRV | FZO_READ, 0x40, 0,
                             SRV | FZO_WRITE, 0x10, 0x00, SRV | FZO_SHUTDOWN, 20, FZO_READ, 0x40, 0, FZO_SHUTDOWN,
                             FZO_READ, 0, 9, SRV | FZO_INFO, 0x33};
  /* tampering: a flipped byte, injected bytes, a dropped piece, feed_eof */
  const uint8_t flip[] = {0, FZO_WRITE, 0x00, 0x40, FZO_DRAIN | F(3), SRV | FZO_FEED | F(2), 0xff, 0xff, 0x00, 0x11, 0x04,
                          SRV | FZO_READ, 0x10, 0, SRV | FZO_INFO, 0xff, 20, FZO_READ, 0x10, 0, FZO_INFO, 0x40};
  const uint8_t inject[] = {1, FZO_INJECT, 7, 0x17, 0x03, 0x03, 0x00, 0x02, 0xde, 0xad, FZO_READ, 0x10, 0,
                            SRV | FZO_WRITE, 0, 0x20, SRV | FZO_DROP, 0, 3, 20, FZO_READ, 0x10, 0};
  const uint8_t eof[] = {2, SRV | FZO_WRITE, 0x00, 0x30, 20, FZO_FEED_EOF, FZO_READ, 0x00, 0x10, FZO_READ, 0, 0x10,
                         FZO_WANTS, FZO_INFO, 0x80};
  /* reset, new handshake, resumption with the saved session */
  const uint8_t resume[] = {0, FZO_RESET | F(1), FZO_PUMP, 7, FZO_INFO, 1, FZO_SESSION, FZO_RESET, FZO_PUMP, 7,
                            FZO_SESSION | F(1), 4, 0x30, 0x82, 0x01, 0x00};
  /* callback transport on both sides, with small budgets, then off */
  const uint8_t transport[] = {0, FZO_TRANSPORT, 0x05, 0x07, SRV | FZO_TRANSPORT, 0xff, 0xff, FZO_WRITE, 0x01, 0x00,
                               FZO_FLUSH, SRV | FZO_READ, 0x10, 0x00, FZO_TRANSPORT, 0xff, 0xff, FZO_FLUSH,
                               SRV | FZO_READ, 0x10, 0, SRV | FZO_WRITE, 0, 0x99, FZO_READ, 0x10, 0,
                               FZO_TRANSPORT | F(1), 0, 0, FZO_SHUTDOWN, SRV | FZO_READ, 0x10, 0};
  const uint8_t transport_fail[] = {0, SRV | FZO_TRANSPORT | F(2), 0xff, 0xff, FZO_WRITE, 0, 0x10, FZO_DRAIN | F(3),
                                    SRV | FZO_READ, 0, 0x20, SRV | FZO_FLUSH, SRV | FZO_READ, 0, 0x20,
                                    FZO_TRANSPORT | F(3), 0xff, 0xff, FZO_READ, 0, 0x20};
  /* mid-handshake: byte-by-byte feeds, a handshake-time reset */
  const uint8_t mid[] = {3, SRV | FZO_FEED, 0, 1, SRV | FZO_HANDSHAKE, SRV | FZO_FEED, 0, 50, SRV | FZO_WANTS,
                         SRV | FZO_FEED | F(3), 0xff, 0xff, SRV | FZO_HANDSHAKE, SRV | FZO_DRAIN, 0, 100,
                         FZO_FEED, 0xff, 0xff, FZO_HANDSHAKE, FZO_WRITE, 0, 10, FZO_WANTS, FZO_KEY_UPDATE,
                         FZO_SHUTDOWN, 21, SRV | FZO_READ, 0, 0x20};
  /* the ClientHello pause: go on, switch context, reject */
  const uint8_t hello_go[] = {4, SRV | FZO_HELLO | F(3), 40, SRV | FZO_INFO, 9, SRV | FZO_HELLO | F(1), 1,
                              SRV | FZO_HELLO, 0, 19, 3, FZO_WRITE, 0, 9};
  const uint8_t hello_reject[] = {4, SRV | FZO_HELLO | F(2), 112, SRV | FZO_HANDSHAKE, 20, FZO_HANDSHAKE,
                                  FZO_INFO, 7, SRV | FZO_INFO, 7, FZO_RESET, FZO_PUMP, 3};
  /* deferred verification: accept, reject, answers for the next handshake */
  const uint8_t verify_c[] = {5, FZO_HANDSHAKE, FZO_WANTS, FZO_INFO, 3, FZO_VERIFY | F(1), 0x90, FZO_PUMP, 4,
                              FZO_RESET, FZO_PUMP, 4, FZO_VERIFY, 0x50, FZO_PUMP, 4};
  const uint8_t verify_s[] = {6, SRV | FZO_HANDSHAKE, FZO_WRITE, 0, 9, SRV | FZO_READ, 0, 9, SRV | FZO_INFO, 1,
                              SRV | FZO_VERIFY | F(1), 0x90, 19, 4, FZO_VERIFY, 0};
  const uint8_t verify_s_no[] = {6, SRV | FZO_VERIFY, 0x10, SRV | FZO_HANDSHAKE, 20, FZO_READ, 0, 40,
                                 SRV | FZO_INFO, 0x60};
  /* TLS 1.2, the server refuses the client's certificate after OpenSSL's
   * handshake: the client must have no session to resume with */
  const uint8_t verify_s12_no[] = {7, SRV | FZO_VERIFY, 0x10, FZO_PUMP, 4, FZO_SESSION, FZO_RESET | F(1),
                                   FZO_PUMP, 6, FZO_INFO, 3};
  const uint8_t tls12[] = {1, FZO_KEY_UPDATE, FZO_WRITE | F(1), 0x20, 0, 0x00, 0x10, SRV | FZO_READ | F(1), 0x20, 0,
                           0xff, 0xff, SRV | FZO_SHUTDOWN, SRV | FZO_SHUTDOWN, FZO_HANDSHAKE, 20, FZO_SHUTDOWN,
                           FZO_READ, 0, 5};
#define SEED(x) put_seed(dir, "seed-" #x, x, sizeof(x))
  SEED(data), SEED(closing), SEED(flip), SEED(inject), SEED(eof), SEED(resume), SEED(transport);
  SEED(transport_fail), SEED(mid), SEED(hello_go), SEED(hello_reject), SEED(verify_c), SEED(verify_s);
  SEED(verify_s_no), SEED(verify_s12_no), SEED(tls12);
  uint8_t big[64];
  for (int s = 0; s < FZO_SCENARIOS; s++) { /* a bare start per pair: the honest finish */
    big[0] = (uint8_t)s;
    char name[32];
    snprintf(name, sizeof(name), "seed-start-%d", s);
    put_seed(dir, name, big, 1);
  }
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return rng;
}

static double seconds_since(const struct timeval *t0) {
  struct timeval t1;
  gettimeofday(&t1, NULL);
  return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_usec - t0->tv_usec) / 1e6;
}

/* -speed: microseconds per forked run of each input, and of a bare fork. */
static int speed(long runs, char **files, int nfiles) {
  fast_exit = 1;
  struct timeval t0;
  gettimeofday(&t0, NULL);
  for (long i = 0; i < runs; i++) {
    pid_t pid = fork();
    if (pid == 0)
      _exit(0);
    waitpid(pid, NULL, 0);
  }
  printf("%-32s %7.0f us\n", "(a bare fork, exit and wait)", seconds_since(&t0) * 1e6 / runs);
  for (int i = 0; i < nfiles; i++) {
    FILE *f = fopen(files[i], "rb");
    if (f == NULL) {
      perror(files[i]);
      return 1;
    }
    size_t n = fread(input, 1, sizeof(input), f);
    fclose(f);
    gettimeofday(&t0, NULL);
    for (long r = 0; r < runs; r++)
      if (run_forked(input, n, files[i]))
        return 1;
    const char *base = strrchr(files[i], '/');
    printf("%-32s %7.0f us\n", base ? base + 1 : files[i], seconds_since(&t0) * 1e6 / runs);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "-seeds") == 0) {
    write_seeds(argv[2]);
    return 0;
  }
  fzo_setup();
  int files = 0, bad = 0;
  if (argc >= 4 && strcmp(argv[1], "-speed") == 0)
    return speed(atol(argv[2]), argv + 3, argc - 3);
  if (argc == 4 && strcmp(argv[1], "-random") == 0) {
    long n = atol(argv[2]);
    rng ^= (uint64_t)atol(argv[3]) * 0x9E3779B97F4A7C15ull;
    struct timeval t0;
    gettimeofday(&t0, NULL);
    for (long i = 0; i < n; i++) {
      size_t len = 1 + next_rand() % 200;
      for (size_t j = 0; j < len; j++)
        input[j] = (uint8_t)next_rand();
      if (run_forked(input, len, "random input")) {
        FILE *f = fopen("fuzz_ops-random-crash", "wb");
        if (f)
          fwrite(input, 1, len, f), fclose(f);
        fprintf(stderr, "fuzz_ops: input saved as fuzz_ops-random-crash\n");
        return 1;
      }
    }
    double s = seconds_since(&t0);
    printf("fuzz_ops: %ld random inputs in %.1f s (%.0f/s), no invariant failed\n", n, s, n / s);
    fzo_teardown();
    return 0;
  }
  for (int i = 1; i < argc; i++)
    bad += run_path(argv[i], &files);
  fzo_teardown();
  printf("fuzz_ops replay: %d inputs run, %d failed\n", files, bad);
  return bad != 0;
}
#endif
