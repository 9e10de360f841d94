/* Test harness implementation: see t.h. */
#include "t.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static atomic_int failures;
static int test_failures_before;

void t_failf(const char *file, int line, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  fprintf(stderr, "%s:%d: %s\n", file, line, msg);
  fflush(stderr);
  atomic_fetch_add(&failures, 1);
}

int t_failures(void) { return atomic_load(&failures); }

void t_run(const char *name, void (*fn)(void)) {
  test_failures_before = t_failures();
  long long t0 = t_now_ms();
  fn();
  int failed = t_failures() != test_failures_before;
  printf("%s %s (%lld ms)\n", failed ? "FAIL" : "ok  ", name, t_now_ms() - t0);
  fflush(stdout);
}

static const char *program_name = "test";

static void on_alarm(int sig) {
  (void)sig;
  static const char msg[] = "test watchdog: time limit reached\n";
  ssize_t w = write(2, msg, sizeof(msg) - 1);
  (void)w;
  _exit(124);
}

static int env_flag(const char *name) {
  const char *v = getenv(name);
  return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

int t_slow(void) { return env_flag("T_SLOW"); }
int t_checked(void) { return env_flag("T_CHECKED"); }

void t_init(const char *program) {
  program_name = program;
  signal(SIGPIPE, SIG_IGN);
  signal(SIGALRM, on_alarm);
  const char *limit = getenv("T_TIMEOUT");
  alarm(limit ? (unsigned)atoi(limit) : 300);
  setvbuf(stdout, NULL, _IOLBF, 0);
}

int t_done(void) {
  int n = t_failures();
  printf("%s: %s (%d failed checks)\n", program_name, n ? "FAILED" : "passed", n);
  fflush(stdout);
  return n ? 1 : 0;
}

long long t_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- files and contexts ---- */

const char *t_cert(const char *name) {
  static _Thread_local char slots[8][512];
  static _Thread_local int next;
  const char *dir = getenv("T_CERTS");
  char *out = slots[next++ % 8];
  snprintf(out, 512, "%s/%s", dir ? dir : "build/certs", name);
  return out;
}

char *t_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  t_buf b = {0};
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    t_buf_append(&b, chunk, n);
  fclose(f);
  t_buf_append(&b, "", 1);
  if (len)
    *len = b.len - 1;
  return (char *)b.data;
}

/* ---- sockets ---- */

void t_set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

int t_listen(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof(a);
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 16) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

int t_connect(int port, int timeout_ms) {
  long long deadline = t_now_ms() + timeout_ms;
  for (;;) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
      t_set_nonblocking(fd);
      return fd;
    }
    close(fd);
    if (t_now_ms() > deadline)
      return -1;
    usleep(20000);
  }
}

/* ---- processes ---- */

pid_t t_spawn(char *const argv[], int *in_fd, int *out_fd) {
  int in[2] = {-1, -1}, out[2];
  if (pipe(out) != 0 || (in_fd != NULL && pipe(in) != 0))
    return -1;
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDONLY);
    dup2(in_fd ? in[0] : devnull, 0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    close(out[0]);
    if (in_fd)
      close(in[1]);
    alarm(0);
    execvp(argv[0], argv);
    fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  close(out[1]);
  *out_fd = out[0];
  if (in_fd) {
    close(in[0]);
    *in_fd = in[1];
  }
  return pid;
}

int t_wait_line(int fd, const char *needle, char *line, size_t cap, int timeout_ms, t_buf *log) {
  long long deadline = t_now_ms() + timeout_ms;
  char cur[1024];
  size_t cl = 0;
  for (;;) {
    int left = (int)(deadline - t_now_ms());
    if (left <= 0)
      return 0;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, left) <= 0)
      continue;
    char c;
    ssize_t n = read(fd, &c, 1); /* byte at a time: stops right after the line */
    if (n <= 0)
      return 0;
    if (log)
      t_buf_append(log, &c, 1);
    if (c != '\n') {
      if (cl < sizeof(cur) - 1)
        cur[cl++] = c;
      continue;
    }
    cur[cl] = '\0';
    cl = 0;
    if (strstr(cur, needle) != NULL) {
      if (line)
        snprintf(line, cap, "%s", cur);
      return 1;
    }
  }
}

void t_read_all(int fd, t_buf *log, int timeout_ms) {
  long long deadline = t_now_ms() + timeout_ms;
  char chunk[4096];
  for (;;) {
    int left = (int)(deadline - t_now_ms());
    if (left <= 0)
      return;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, left) <= 0)
      continue;
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n <= 0)
      return;
    if (log)
      t_buf_append(log, chunk, (size_t)n);
  }
}

int t_reap(pid_t pid, int timeout_ms) {
  long long deadline = t_now_ms() + timeout_ms;
  int status;
  while (t_now_ms() < deadline) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid)
      return status;
    if (r < 0)
      return -1;
    usleep(10000);
  }
  kill(pid, SIGTERM);
  for (int i = 0; i < 100; i++) {
    if (waitpid(pid, &status, WNOHANG) == pid)
      return -1;
    usleep(10000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}
