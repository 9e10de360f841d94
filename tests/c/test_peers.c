/* Real peers over 127.0.0.1: `openssl s_server` / `openssl s_client` and
 * Python's ssl module, against engines driven through the C API on
 * non-blocking sockets. Every peer process is bounded in time and killed at
 * the end; ports are chosen by the kernel. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t.h"

static int wait_ms(void) { return t_slow() ? 60000 : 15000; }

static const char *certdir(void) {
  const char *d = getenv("T_CERTS");
  return d ? d : "build/certs";
}

static const char *python(void) {
  const char *p = getenv("PYTHON");
  return p ? p : "python3";
}

/* Read plaintext until needle appears (or the peer closes); returns the
 * final status and the text in out. */
static long read_until(t_sock *ts, const char *needle, char *out, size_t cap) {
  size_t got = 0;
  out[0] = '\0';
  for (;;) {
    long r = t_sock_call(ts, t_op_read, out + got, cap - 1 - got, wait_ms());
    if (r <= 0)
      return r;
    got += (size_t)r;
    out[got] = '\0';
    if (strstr(out, needle) || got + 1 >= cap)
      return r;
  }
}

/* Our client engine against `openssl s_server -rev` (reverses each line). */
static void run_s_server(const char *version_flag, const char *want_version) {
  char accept_arg[] = "127.0.0.1:0";
  char *argv[] = {"openssl", "s_server", "-accept", accept_arg, "-cert", (char *)t_cert("server.pem"),
                  "-key", (char *)t_cert("server.key"), "-rev", "-naccept", "1",
                  (char *)version_flag, NULL};
  int out;
  pid_t pid = t_spawn(argv, NULL, &out);
  REQUIRE(pid > 0);
  char line[256];
  t_buf log = {0};
  if (!t_wait_line(out, "ACCEPT", line, sizeof(line), wait_ms(), &log)) {
    t_failf(__FILE__, __LINE__, "s_server did not start: %.*s", (int)log.len, (char *)log.data);
    t_reap(pid, 0);
    t_buf_free(&log);
    return;
  }
  int port = atoi(strrchr(line, ':') + 1);
  sslbio_ctx *ctx = t_client_ctx("ca.pem");
  t_sock ts = {.conn = sslbio_conn_new(ctx, "localhost"), .fd = t_connect(port, 5000)};
  REQUIRE(ts.conn && ts.fd >= 0);
  CHECK_ST(ts.conn, t_sock_call(&ts, t_op_handshake, NULL, 0, wait_ms()), SSLBIO_OK);
  CHECK_STR_HAS(sslbio_conn_version(ts.conn), want_version);
  CHECK_EQ(sslbio_conn_verify_result(ts.conn), 0);
  printf("     s_server: %s %s\n", sslbio_conn_version(ts.conn), sslbio_conn_cipher(ts.conn));
  CHECK(t_sock_write_all(&ts, "stressed\n", 9, wait_ms()));
  char reply[256];
  read_until(&ts, "\n", reply, sizeof(reply));
  CHECK_STR_HAS(reply, "desserts");
  /* our close_notify; s_server answers with its own and exits (-naccept 1) */
  long st = t_sock_call(&ts, t_op_shutdown, NULL, 0, wait_ms());
  CHECK(st == SSLBIO_OK || st == SSLBIO_WANT_READ);
  close(ts.fd);
  sslbio_conn_free(ts.conn);
  sslbio_ctx_free(ctx);
  t_reap(pid, wait_ms());
  t_buf_free(&log);
  close(out);
}

static void test_openssl_s_server_tls13(void) { run_s_server("-tls1_3", "TLSv1.3"); }
static void test_openssl_s_server_tls12(void) { run_s_server("-tls1_2", "TLSv1.2"); }

/* The peer process dies: transport EOF without close_notify is TRUNCATED. */
static void test_openssl_s_server_killed(void) {
  char accept_arg[] = "127.0.0.1:0";
  char *argv[] = {"openssl", "s_server", "-accept", accept_arg, "-cert", (char *)t_cert("server.pem"),
                  "-key", (char *)t_cert("server.key"), "-rev", "-naccept", "1", NULL};
  int out;
  pid_t pid = t_spawn(argv, NULL, &out);
  REQUIRE(pid > 0);
  char line[256];
  if (!t_wait_line(out, "ACCEPT", line, sizeof(line), wait_ms(), NULL)) {
    t_failf(__FILE__, __LINE__, "s_server did not start");
    t_reap(pid, 0);
    return;
  }
  int port = atoi(strrchr(line, ':') + 1);
  sslbio_ctx *ctx = t_client_ctx("ca.pem");
  t_sock ts = {.conn = sslbio_conn_new(ctx, "localhost"), .fd = t_connect(port, 5000)};
  REQUIRE(ts.conn && ts.fd >= 0);
  CHECK_ST(ts.conn, t_sock_call(&ts, t_op_handshake, NULL, 0, wait_ms()), SSLBIO_OK);
  char buf[256];
  /* let the tickets arrive, then kill the peer */
  CHECK_ST(ts.conn, t_sock_call(&ts, t_op_read, buf, sizeof(buf), 300), SSLBIO_WANT_READ);
  kill(pid, SIGKILL);
  long r = t_sock_call(&ts, t_op_read, buf, sizeof(buf), wait_ms());
  CHECK_ST(ts.conn, r, SSLBIO_TRUNCATED);
  close(ts.fd);
  sslbio_conn_free(ts.conn);
  sslbio_ctx_free(ctx);
  t_reap(pid, wait_ms());
  close(out);
}

/* Accept one connection on lfd and serve it with our server engine: read a
 * line, answer prefix+line, close cleanly. Returns the final status. */
/* One connection from the non-blocking lfd (non-blocking too), or -1. */
static int accept_one(int lfd) {
  int fd = -1;
  for (long long end = t_now_ms() + wait_ms(); fd < 0 && t_now_ms() < end;) {
    fd = accept(lfd, NULL, NULL);
    if (fd < 0)
      usleep(10000);
  }
  if (fd >= 0)
    t_set_nonblocking(fd);
  return fd;
}

static void serve_one(int lfd, const char *prefix, const char **version) {
  sslbio_ctx *ctx = t_server_ctx();
  REQUIRE(ctx);
  int fd = accept_one(lfd);
  REQUIRE(fd >= 0);
  t_sock ts = {.conn = sslbio_conn_new(ctx, NULL), .fd = fd};
  CHECK_ST(ts.conn, t_sock_call(&ts, t_op_handshake, NULL, 0, wait_ms()), SSLBIO_OK);
  static char ver[64];
  snprintf(ver, sizeof(ver), "%s", sslbio_conn_version(ts.conn) ? sslbio_conn_version(ts.conn) : "?");
  *version = ver;
  char line[256];
  read_until(&ts, "\n", line, sizeof(line));
  CHECK(strlen(line) > 0);
  char reply[300];
  snprintf(reply, sizeof(reply), "%s%s", prefix, line);
  CHECK(t_sock_write_all(&ts, reply, strlen(reply), wait_ms()));
  long st = t_sock_call(&ts, t_op_shutdown, NULL, 0, wait_ms());
  CHECK(st == SSLBIO_OK || st == SSLBIO_WANT_READ);
  close(fd);
  sslbio_conn_free(ts.conn);
  sslbio_ctx_free(ctx);
}

/* `openssl s_client` against our server engine. */
static void test_openssl_s_client(void) {
  int port, lfd = t_listen(&port);
  REQUIRE(lfd >= 0);
  t_set_nonblocking(lfd);
  char connect[64];
  snprintf(connect, sizeof(connect), "127.0.0.1:%d", port);
  char *argv[] = {"openssl", "s_client", "-connect", connect, "-CAfile", (char *)t_cert("ca.pem"),
                  "-verify_return_error", "-verify_hostname", "localhost", "-servername",
                  "localhost", "-brief", NULL};
  int in, out;
  pid_t pid = t_spawn(argv, &in, &out);
  REQUIRE(pid > 0);
  CHECK_EQ(write(in, "ping\n", 5), 5);
  const char *version = "";
  serve_one(lfd, "pong:", &version);
  close(in);
  t_buf log = {0};
  t_read_all(out, &log, wait_ms());
  t_buf_append(&log, "", 1);
  int status = t_reap(pid, wait_ms());
  CHECK_STR_HAS((char *)log.data, "pong:ping");
  CHECK_STR_HAS((char *)log.data, "Verification: OK");
  CHECK_STR_HAS((char *)log.data, "Protocol version: TLSv1.3");
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  printf("     s_client: %s\n", version);
  t_buf_free(&log);
  close(out);
  close(lfd);
}

static int defer_verify(void *user, sslbio_conn *conn, long result) {
  (void)user, (void)conn, (void)result;
  return SSLBIO_WANT_VERIFY;
}

/* `openssl s_client -tls1_2` with a client certificate against our server,
 * which defers its verify decision while the socket loop sends whatever
 * drains: the server's last flight waits for the answer, so a refused
 * client never sees its handshake succeed but a bad_certificate alert, and
 * an accepted one finishes and exchanges data. */
static void s_client_deferred(int accept) {
  int port, lfd = t_listen(&port);
  REQUIRE(lfd >= 0);
  t_set_nonblocking(lfd);
  char connect[64];
  snprintf(connect, sizeof(connect), "127.0.0.1:%d", port);
  char *argv[] = {"openssl", "s_client", "-connect", connect, "-CAfile", (char *)t_cert("ca.pem"),
                  "-cert", (char *)t_cert("client.pem"), "-key", (char *)t_cert("client.key"),
                  "-tls1_2", "-verify_return_error", "-brief", NULL};
  int in, out;
  pid_t pid = t_spawn(argv, &in, &out);
  REQUIRE(pid > 0);
  sslbio_ctx *ctx = t_server_ctx();
  REQUIRE(ctx);
  CHECK_EQ(sslbio_ctx_load_verify_file(ctx, t_cert("ca.pem")), SSLBIO_OK);
  CHECK_EQ(sslbio_ctx_set_verify(ctx, SSLBIO_VERIFY_REQUIRE_PEER), SSLBIO_OK);
  CHECK_EQ(sslbio_ctx_set_verify_callback(ctx, defer_verify, NULL), SSLBIO_OK);
  int fd = accept_one(lfd);
  REQUIRE(fd >= 0);
  t_sock ts = {.conn = sslbio_conn_new(ctx, NULL), .fd = fd};
  CHECK_ST(ts.conn, t_sock_call(&ts, t_op_handshake, NULL, 0, wait_ms()), SSLBIO_WANT_VERIFY);
  CHECK_EQ(sslbio_conn_pending_out(ts.conn), 0);
  CHECK_EQ(sslbio_conn_verify_done(ts.conn, accept), SSLBIO_OK);
  long st = t_sock_call(&ts, t_op_handshake, NULL, 0, wait_ms());
  if (accept) {
    CHECK_ST(ts.conn, st, SSLBIO_OK);
    CHECK_EQ(write(in, "ping\n", 5), 5);
    char line[256];
    read_until(&ts, "\n", line, sizeof(line));
    CHECK_STR_HAS(line, "ping");
    CHECK(t_sock_write_all(&ts, "pong\n", 5, wait_ms()));
    st = t_sock_call(&ts, t_op_shutdown, NULL, 0, wait_ms());
    CHECK(st == SSLBIO_OK || st == SSLBIO_WANT_READ);
  } else {
    CHECK_ST(ts.conn, st, SSLBIO_ERROR);
    CHECK_STR_HAS(t_errmsg(ts.conn), "rejected");
  }
  close(fd);
  close(in);
  t_buf log = {0};
  t_read_all(out, &log, wait_ms());
  t_buf_append(&log, "", 1);
  int status = t_reap(pid, wait_ms());
  if (accept) {
    CHECK_STR_HAS((char *)log.data, "Protocol version: TLSv1.2");
    CHECK_STR_HAS((char *)log.data, "pong");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  } else {
    CHECK_STR_HAS((char *)log.data, "alert bad certificate");
    CHECK(strstr((char *)log.data, "Protocol version") == NULL); /* it never finished */
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 0);
  }
  t_buf_free(&log);
  close(out);
  close(lfd);
  sslbio_conn_free(ts.conn);
  sslbio_ctx_free(ctx);
}

static void test_openssl_s_client_deferred_refusal_tls12(void) { s_client_deferred(0); }
static void test_openssl_s_client_deferred_accept_tls12(void) { s_client_deferred(1); }

/* Python's ssl module as the server, our engine as the client. */
static void test_python_server(void) {
  char *argv[] = {(char *)python(), "tests/c/pypeer.py", "server", (char *)certdir(), NULL};
  int out;
  pid_t pid = t_spawn(argv, NULL, &out);
  REQUIRE(pid > 0);
  char line[256];
  t_buf log = {0};
  if (!t_wait_line(out, "PORT", line, sizeof(line), wait_ms(), &log)) {
    t_failf(__FILE__, __LINE__, "python server did not start: %.*s", (int)log.len, (char *)log.data);
    t_reap(pid, 0);
    return;
  }
  int port = atoi(line + 5);
  sslbio_ctx *ctx = t_client_ctx("ca.pem");
  t_sock ts = {.conn = sslbio_conn_new(ctx, "localhost"), .fd = t_connect(port, 5000)};
  REQUIRE(ts.conn && ts.fd >= 0);
  CHECK_ST(ts.conn, t_sock_call(&ts, t_op_handshake, NULL, 0, wait_ms()), SSLBIO_OK);
  CHECK(t_sock_write_all(&ts, "from C\n", 7, wait_ms()));
  char reply[256];
  read_until(&ts, "\n", reply, sizeof(reply));
  CHECK_STR_HAS(reply, "py:from C");
  /* Python unwraps: its close_notify arrives, then ours completes it */
  char buf[64];
  CHECK_ST(ts.conn, t_sock_call(&ts, t_op_read, buf, sizeof(buf), wait_ms()), SSLBIO_CLOSED);
  CHECK_ST(ts.conn, t_sock_call(&ts, t_op_shutdown, NULL, 0, wait_ms()), SSLBIO_OK);
  printf("     python server: %s %s\n", sslbio_conn_version(ts.conn), sslbio_conn_cipher(ts.conn));
  t_read_all(out, &log, wait_ms());
  t_buf_append(&log, "", 1);
  CHECK_STR_HAS((char *)log.data, "UNWRAPPED");
  CHECK_STR_HAS((char *)log.data, "VERSION TLSv1.3");
  t_reap(pid, wait_ms());
  close(ts.fd);
  sslbio_conn_free(ts.conn);
  sslbio_ctx_free(ctx);
  t_buf_free(&log);
  close(out);
}

/* Python's ssl module as the client, our engine as the server. */
static void test_python_client(void) {
  int port, lfd = t_listen(&port);
  REQUIRE(lfd >= 0);
  t_set_nonblocking(lfd);
  char port_s[16];
  snprintf(port_s, sizeof(port_s), "%d", port);
  char *argv[] = {(char *)python(), "tests/c/pypeer.py", "client", (char *)certdir(), port_s, NULL};
  int out;
  pid_t pid = t_spawn(argv, NULL, &out);
  REQUIRE(pid > 0);
  const char *version = "";
  serve_one(lfd, "c:", &version);
  t_buf log = {0};
  t_read_all(out, &log, wait_ms());
  t_buf_append(&log, "", 1);
  CHECK_STR_HAS((char *)log.data, "REPLY c:hello from python");
  CHECK_STR_HAS((char *)log.data, "VERSION TLSv1.3");
  CHECK_STR_HAS((char *)log.data, "UNWRAPPED");
  printf("     python client: %s\n", version);
  t_reap(pid, wait_ms());
  t_buf_free(&log);
  close(out);
  close(lfd);
}

int main(void) {
  t_init("test_peers");
  T_RUN(test_openssl_s_server_tls13);
  T_RUN(test_openssl_s_server_tls12);
  T_RUN(test_openssl_s_server_killed);
  T_RUN(test_openssl_s_client);
  T_RUN(test_openssl_s_client_deferred_refusal_tls12);
  T_RUN(test_openssl_s_client_deferred_accept_tls12);
  T_RUN(test_python_server);
  T_RUN(test_python_client);
  return t_done();
}
