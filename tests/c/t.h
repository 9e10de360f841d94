/* Tiny test harness for the sslbio C API tests: a CHECK macro that counts
 * failures (thread-safe), a test runner, and helpers that pump two engines
 * in memory (with pair.h's mover) or one engine over a socket. Plain C, no
 * framework. */
#ifndef SSLBIO_TESTS_T_H
#define SSLBIO_TESTS_T_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "pair.h" /* t_buf and the mover: t_move, t_move_with, t_drain, t_feed */
#include "sslbio.h"

/* ---- assertions ------------------------------------------------------- */

void t_failf(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      t_failf(__FILE__, __LINE__, "CHECK(%s)", #cond);                                             \
  } while (0)

#define CHECK_EQ(a, b)                                                                             \
  do {                                                                                             \
    long long t_a_ = (long long)(a), t_b_ = (long long)(b);                                        \
    if (t_a_ != t_b_)                                                                              \
      t_failf(__FILE__, __LINE__, "CHECK_EQ(%s, %s): %lld != %lld", #a, #b, t_a_, t_b_);          \
  } while (0)

/* A status compared by name, with the conn's error message on mismatch. */
#define CHECK_ST(conn, expr, want)                                                                 \
  do {                                                                                             \
    long t_got_ = (long)(expr);                                                                    \
    if (t_got_ != (long)(want))                                                                    \
      t_failf(__FILE__, __LINE__, "%s = %ld (%s), want %s [%s]", #expr, t_got_,                    \
              t_got_ > 0 ? "count" : sslbio_strstatus((int)t_got_), #want, t_errmsg(conn));       \
  } while (0)

#define CHECK_STR_HAS(hay, needle)                                                                 \
  do {                                                                                             \
    const char *t_h_ = (hay);                                                                      \
    if (t_h_ == NULL || strstr(t_h_, (needle)) == NULL)                                            \
      t_failf(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"", t_h_ ? t_h_ : "(null)",        \
              (needle));                                                                           \
  } while (0)

/* Like CHECK, but leaves the test function when it fails. */
#define REQUIRE(cond)                                                                              \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      t_failf(__FILE__, __LINE__, "REQUIRE(%s)", #cond);                                           \
      return;                                                                                      \
    }                                                                                              \
  } while (0)

/* Run one test function, printing "ok NAME" or "FAIL NAME". */
#define T_RUN(fn) t_run(#fn, fn)
void t_run(const char *name, void (*fn)(void));
/* Setup every test program calls first: watchdog alarm, SIGPIPE ignored. */
void t_init(const char *program);
/* Exit status for main: 0 when nothing failed. Prints a summary. */
int t_done(void);
/* Failures so far (any thread). */
int t_failures(void);
/* 1 when running under valgrind or a sanitizer build that asked for fewer
 * iterations (T_SLOW=1 in the environment). */
int t_slow(void);
/* 1 under ASan/valgrind builds (T_CHECKED=1): tests that deliberately do
 * undefined things (a true double free) are skipped there. */
int t_checked(void);

/* ---- files and contexts ---------------------------------------------- */

/* Path of a test certificate file (build/certs/NAME, or $T_CERTS/NAME).
 * Static storage, rotating among 8 slots. */
const char *t_cert(const char *name);
/* Whole file into a malloc'd, NUL-terminated buffer the caller frees. */
char *t_read_file(const char *path, size_t *len);
/* Server context with server.pem/server.key; caller owns the reference. */
sslbio_ctx *t_server_ctx(void);
/* Client context trusting build/certs/CA_NAME; caller owns the reference. */
sslbio_ctx *t_client_ctx(const char *ca_name);
/* The conn's error message (thread-local static buffer) or "" */
const char *t_errmsg(const sslbio_conn *conn);

/* ---- in-memory pair of engines ---------------------------------------- */

typedef struct t_link {
  sslbio_conn *c, *s; /* client and server engines, owned */
  t_buf c2s, s2c;     /* ciphertext drained but not yet accepted by feed */
  int cst, sst;       /* last handshake status of each side */
} t_link;

/* New client (server_name) and server engines; returns 0 if either failed. */
int t_link_init(t_link *l, sslbio_ctx *cctx, sslbio_ctx *sctx, const char *server_name);
void t_link_free(t_link *l);
/* Both directions once with t_move; returns bytes fed. */
size_t t_pump(t_link *l);
/* Handshake both sides; SSLBIO_OK when both completed, else the first
 * fatal status (l->cst / l->sst tell the sides apart). */
int t_handshake(t_link *l);
/* Move len bytes of plaintext from one engine to the other with the given
 * chunk size for writes and reads, checking the content. Returns 1 on
 * success. */
int t_transfer(t_link *l, sslbio_conn *from, sslbio_conn *to, size_t len, size_t chunk);
/* Pattern byte for position i of a transfer. */
unsigned char t_pattern(size_t i);

/* ---- sockets and processes ------------------------------------------ */

/* Listening TCP socket on 127.0.0.1 with a kernel-chosen port. */
int t_listen(int *port);
/* Blocking connect to 127.0.0.1:port, retrying for up to timeout_ms; the
 * returned socket is non-blocking. -1 on failure. */
int t_connect(int port, int timeout_ms);
void t_set_nonblocking(int fd);

/* An engine over a non-blocking socket, pumped with poll(). */
typedef struct t_sock {
  sslbio_conn *conn;
  int fd;
  unsigned char in[32768]; /* received ciphertext the engine has not taken */
  size_t in_len;
  int eof;
} t_sock;
typedef long (*t_op)(sslbio_conn *conn, void *buf, size_t len);
long t_op_handshake(sslbio_conn *conn, void *buf, size_t len);
long t_op_read(sslbio_conn *conn, void *buf, size_t len);
long t_op_write(sslbio_conn *conn, void *buf, size_t len);
long t_op_shutdown(sslbio_conn *conn, void *buf, size_t len);
/* Call op until it returns something other than WANT_*, moving ciphertext
 * over the socket; SSLBIO_WANT_READ back means the timeout expired. */
long t_sock_call(t_sock *ts, t_op op, void *buf, size_t len, int timeout_ms);
/* Write all of buf; returns 1 on success. */
int t_sock_write_all(t_sock *ts, const void *buf, size_t len, int timeout_ms);
/* Send everything pending; returns 1 on success. */
int t_sock_flush(t_sock *ts, int timeout_ms);

/* fork+exec argv with stdin from /dev/null (or a pipe into *in_fd when
 * in_fd != NULL) and stdout+stderr into a pipe (*out_fd). Returns the pid. */
pid_t t_spawn(char *const argv[], int *in_fd, int *out_fd);
/* Read from fd until a line containing needle arrives; the matched line goes
 * into line. Returns 1 on success, 0 on timeout/EOF. Everything read is
 * appended to log when log != NULL. */
int t_wait_line(int fd, const char *needle, char *line, size_t cap, int timeout_ms, t_buf *log);
/* Read fd to EOF (bounded) into log. */
void t_read_all(int fd, t_buf *log, int timeout_ms);
/* Wait for pid for up to timeout_ms; then SIGTERM, then SIGKILL. Returns
 * the exit status (as waitpid reports it) or -1 when it had to be killed. */
int t_reap(pid_t pid, int timeout_ms);
/* Milliseconds of a monotonic clock. */
long long t_now_ms(void);

#endif
