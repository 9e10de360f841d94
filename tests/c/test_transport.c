/* Callback transport (sslbio_conn_set_transport) over real non-blocking
 * sockets: WANT_* only when a callback would block; a callback error is
 * SSLBIO_ERROR with errno in the message; EOF without close_notify is
 * TRUNCATED. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "t.h"

typedef struct io {
  int fd;
  int recv_blocked, send_blocked; /* a callback said it would block (this call) */
  long recv_calls, send_calls;
  long send_blocks; /* times send would have blocked, over the io's life */
  int fail_recv_errno, fail_send_errno; /* inject: return SSLBIO_ERROR with errno */
  long bogus_recv;                      /* inject: return this value from recv */
  int block_send;                       /* inject: send would block */
} io;

static long io_recv(void *user, void *buf, size_t cap) {
  io *s = user;
  s->recv_calls++;
  if (s->fail_recv_errno) {
    errno = s->fail_recv_errno;
    return SSLBIO_ERROR;
  }
  if (s->bogus_recv)
    return s->bogus_recv;
  ssize_t n = recv(s->fd, buf, cap, 0);
  if (n >= 0)
    return (long)n;
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    s->recv_blocked = 1;
    return SSLBIO_WANT_READ;
  }
  return SSLBIO_ERROR; /* errno is set */
}

static long io_send(void *user, const void *buf, size_t len) {
  io *s = user;
  s->send_calls++;
  if (s->fail_send_errno) {
    errno = s->fail_send_errno;
    return SSLBIO_ERROR;
  }
  if (s->block_send) {
    s->send_blocked = 1;
    s->send_blocks++;
    return SSLBIO_WANT_WRITE;
  }
  ssize_t n = send(s->fd, buf, len, MSG_NOSIGNAL);
  if (n > 0)
    return (long)n;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    s->send_blocked = 1;
    s->send_blocks++;
    return SSLBIO_WANT_WRITE;
  }
  return SSLBIO_ERROR;
}

/* Checks the rule "WANT_* only when a callback would block" for one call. */
static long checked(sslbio_conn *conn, io *s, long r, const char *what, int line) {
  if (r == SSLBIO_WANT_READ && !s->recv_blocked && !s->send_blocked)
    t_failf(__FILE__, line, "%s returned WANT_READ but no callback blocked", what);
  if (r == SSLBIO_WANT_WRITE && !s->send_blocked)
    t_failf(__FILE__, line, "%s returned WANT_WRITE but send did not block", what);
  (void)conn;
  s->recv_blocked = s->send_blocked = 0;
  return r;
}
#define HS(conn, s) checked(conn, s, sslbio_conn_handshake(conn), "handshake", __LINE__)
#define RD(conn, s, b, n) checked(conn, s, sslbio_conn_read(conn, b, n), "read", __LINE__)
#define WR(conn, s, b, n) checked(conn, s, sslbio_conn_write(conn, b, n), "write", __LINE__)
#define SD(conn, s) checked(conn, s, sslbio_conn_shutdown(conn), "shutdown", __LINE__)

/* Two connected non-blocking sockets: a socketpair or TCP over 127.0.0.1. */
static int socket_pair(int tcp, int fds[2]) {
  if (!tcp) {
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
      return 0;
  } else {
    int port, lfd = t_listen(&port);
    if (lfd < 0)
      return 0;
    fds[0] = t_connect(port, 2000);
    fds[1] = accept(lfd, NULL, NULL);
    close(lfd);
    if (fds[0] < 0 || fds[1] < 0)
      return 0;
  }
  t_set_nonblocking(fds[0]);
  t_set_nonblocking(fds[1]);
  /* small buffers so that send blocks during a bulk transfer */
  int small = 16384;
  for (int i = 0; i < 2; i++) {
    setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  }
  return 1;
}

typedef struct side {
  sslbio_conn *conn;
  io io;
} side;

static int setup(int tcp, sslbio_ctx *cctx, sslbio_ctx *sctx, side *c, side *s) {
  int fds[2];
  if (!socket_pair(tcp, fds))
    return 0;
  memset(c, 0, sizeof(*c));
  memset(s, 0, sizeof(*s));
  c->io.fd = fds[0];
  s->io.fd = fds[1];
  c->conn = sslbio_conn_new(cctx, "localhost");
  s->conn = sslbio_conn_new(sctx, NULL);
  if (!c->conn || !s->conn)
    return 0;
  return sslbio_conn_set_transport(c->conn, io_recv, io_send, &c->io) == SSLBIO_OK &&
         sslbio_conn_set_transport(s->conn, io_recv, io_send, &s->io) == SSLBIO_OK;
}

static void teardown(side *c, side *s) {
  sslbio_conn_free(c->conn);
  sslbio_conn_free(s->conn);
  if (c->io.fd >= 0)
    close(c->io.fd);
  if (s->io.fd >= 0)
    close(s->io.fd);
}

static int handshake(side *c, side *s) {
  long cst = SSLBIO_WANT_READ, sst = SSLBIO_WANT_READ;
  for (int i = 0; i < 1000 && (cst != SSLBIO_OK || sst != SSLBIO_OK); i++) {
    if (cst != SSLBIO_OK)
      cst = HS(c->conn, &c->io);
    if (sst != SSLBIO_OK)
      sst = HS(s->conn, &s->io);
    if ((cst < 0 && cst != SSLBIO_WANT_READ && cst != SSLBIO_WANT_WRITE) ||
        (sst < 0 && sst != SSLBIO_WANT_READ && sst != SSLBIO_WANT_WRITE)) {
      t_failf(__FILE__, __LINE__, "handshake: client %s [%s], server %s [%s]",
              sslbio_strstatus((int)cst), t_errmsg(c->conn), sslbio_strstatus((int)sst),
              t_errmsg(s->conn));
      return 0;
    }
  }
  return cst == SSLBIO_OK && sst == SSLBIO_OK;
}

static void test_transfer(int tcp) {
  sslbio_ctx *cctx = t_client_ctx("ca.pem"), *sctx = t_server_ctx();
  side c, s;
  REQUIRE(setup(tcp, cctx, sctx, &c, &s));
  REQUIRE(handshake(&c, &s));
  CHECK_STR_HAS(sslbio_conn_version(c.conn), "TLSv1.");
  /* 1 MiB each way, both engines in this one thread, sockets non-blocking */
  size_t total = 1 << 20;
  unsigned char *out = malloc(total), *in = malloc(65536);
  for (size_t i = 0; i < total; i++)
    out[i] = t_pattern(i);
  for (int dir = 0; dir < 2; dir++) {
    side *w = dir ? &s : &c, *r = dir ? &c : &s;
    size_t sent = 0, got = 0;
    int want_writes = 0, stalls = 0;
    while (got < total && stalls < 500) {
      int progress = 0;
      if (sent < total) {
        /* several writes per round: the socket buffer fills up */
        for (int k = 0; k < 16 && sent < total; k++) {
          long n = WR(w->conn, &w->io, out + sent, total - sent);
          if (n > 0) {
            sent += (size_t)n;
            progress = 1;
            continue;
          }
          if (n == SSLBIO_WANT_WRITE)
            want_writes++;
          else if (n != SSLBIO_WANT_READ)
            t_failf(__FILE__, __LINE__, "write: %s [%s]", sslbio_strstatus((int)n), t_errmsg(w->conn));
          break;
        }
      } else {
        long f = sslbio_conn_flush(w->conn);
        CHECK(f == SSLBIO_OK || f == SSLBIO_WANT_WRITE);
      }
      long n;
      while ((n = RD(r->conn, &r->io, in, 65536)) > 0) {
        if (memcmp(in, out + got, (size_t)n) != 0) {
          t_failf(__FILE__, __LINE__, "corrupt data at %zu", got);
          stalls = 1 << 30;
          break;
        }
        got += (size_t)n;
        progress = 1;
      }
      if (n != SSLBIO_WANT_READ && n != SSLBIO_WANT_WRITE && n <= 0) {
        t_failf(__FILE__, __LINE__, "read: %s [%s]", sslbio_strstatus((int)n), t_errmsg(r->conn));
        break;
      }
      if (!progress) { /* wait for the kernel (TCP window updates) */
        struct pollfd p[2] = {{.fd = w->io.fd, .events = POLLOUT}, {.fd = r->io.fd, .events = POLLIN}};
        poll(p, 2, 20);
      }
      stalls = progress ? 0 : stalls + 1;
    }
    CHECK_EQ(got, total);
    CHECK(w->io.send_blocks > 0); /* the small socket buffer really blocked */
    CHECK(want_writes > 0);       /* ... and write said so */
  }
  /* clean close through the callbacks */
  CHECK_ST(c.conn, SD(c.conn, &c.io), SSLBIO_WANT_READ);
  char buf[16];
  long r = SSLBIO_WANT_READ;
  for (int i = 0; i < 100 && r == SSLBIO_WANT_READ; i++)
    r = RD(s.conn, &s.io, buf, sizeof(buf));
  CHECK_ST(s.conn, r, SSLBIO_CLOSED);
  CHECK_ST(s.conn, SD(s.conn, &s.io), SSLBIO_OK);
  r = SSLBIO_WANT_READ;
  for (int i = 0; i < 100 && r == SSLBIO_WANT_READ; i++)
    r = SD(c.conn, &c.io);
  CHECK_ST(c.conn, r, SSLBIO_OK);
  free(out);
  free(in);
  teardown(&c, &s);
  sslbio_ctx_free(cctx);
  sslbio_ctx_free(sctx);
}

static void test_socketpair_transfer(void) { test_transfer(0); }
static void test_tcp_transfer(void) { test_transfer(1); }

static void test_eof_is_truncation(void) {
  sslbio_ctx *cctx = t_client_ctx("ca.pem"), *sctx = t_server_ctx();
  side c, s;
  REQUIRE(setup(1, cctx, sctx, &c, &s));
  REQUIRE(handshake(&c, &s));
  CHECK_EQ(WR(c.conn, &c.io, "last words", 10), 10);
  shutdown(c.io.fd, SHUT_WR); /* TCP FIN, no close_notify */
  char buf[64];
  long r = SSLBIO_WANT_READ, got = 0;
  for (int i = 0; i < 1000 && (r == SSLBIO_WANT_READ || r > 0); i++) {
    r = RD(s.conn, &s.io, buf, sizeof(buf));
    if (r > 0)
      got += r;
    if (r == SSLBIO_WANT_READ)
      usleep(1000);
  }
  CHECK_EQ(got, 10); /* data first */
  CHECK_ST(s.conn, r, SSLBIO_TRUNCATED);
  teardown(&c, &s);
  sslbio_ctx_free(cctx);
  sslbio_ctx_free(sctx);
}

/* A shutdown whose close_notify cannot leave yet (send would block) is not
 * OK: an application closing its socket on OK would lose it. */
static void test_shutdown_waits_for_send(void) {
  sslbio_ctx *cctx = t_client_ctx("ca.pem"), *sctx = t_server_ctx();
  side c, s;
  REQUIRE(setup(0, cctx, sctx, &c, &s));
  REQUIRE(handshake(&c, &s));
  CHECK_ST(c.conn, SD(c.conn, &c.io), SSLBIO_WANT_READ); /* client's close_notify sent */
  char buf[16];
  long r = SSLBIO_WANT_READ;
  for (int i = 0; i < 100 && r == SSLBIO_WANT_READ; i++)
    r = RD(s.conn, &s.io, buf, sizeof(buf));
  CHECK_ST(s.conn, r, SSLBIO_CLOSED);
  s.io.block_send = 1;
  CHECK_ST(s.conn, SD(s.conn, &s.io), SSLBIO_WANT_WRITE); /* ours is still queued */
  CHECK(sslbio_conn_pending_out(s.conn) > 0);
  s.io.block_send = 0;
  CHECK_ST(s.conn, SD(s.conn, &s.io), SSLBIO_OK);
  CHECK_EQ(sslbio_conn_pending_out(s.conn), 0);
  r = SSLBIO_WANT_READ;
  for (int i = 0; i < 100 && r == SSLBIO_WANT_READ; i++)
    r = SD(c.conn, &c.io);
  CHECK_ST(c.conn, r, SSLBIO_OK); /* the server's close_notify did arrive */
  teardown(&c, &s);
  sslbio_ctx_free(cctx);
  sslbio_ctx_free(sctx);
}

static void test_callback_errors(void) {
  sslbio_ctx *cctx = t_client_ctx("ca.pem"), *sctx = t_server_ctx();
  side c, s;
  char buf[64];
  /* recv fails with ECONNRESET */
  REQUIRE(setup(0, cctx, sctx, &c, &s));
  REQUIRE(handshake(&c, &s));
  c.io.fail_recv_errno = ECONNRESET;
  CHECK_ST(c.conn, sslbio_conn_read(c.conn, buf, sizeof(buf)), SSLBIO_ERROR);
  const char *msg = t_errmsg(c.conn);
  CHECK_STR_HAS(msg, "read");
  CHECK_STR_HAS(msg, "recv");
  CHECK_STR_HAS(msg, strerror(ECONNRESET));
  char num[32];
  snprintf(num, sizeof(num), "errno %d", ECONNRESET);
  CHECK_STR_HAS(msg, num);
  c.io.fail_recv_errno = 0;
  CHECK_ST(c.conn, sslbio_conn_read(c.conn, buf, sizeof(buf)), SSLBIO_ERROR); /* sticky */
  teardown(&c, &s);

  /* send fails with EPIPE during the handshake */
  REQUIRE(setup(0, cctx, sctx, &c, &s));
  c.io.fail_send_errno = EPIPE;
  CHECK_ST(c.conn, sslbio_conn_handshake(c.conn), SSLBIO_ERROR);
  CHECK_STR_HAS(t_errmsg(c.conn), "send");
  CHECK_STR_HAS(t_errmsg(c.conn), strerror(EPIPE));
  teardown(&c, &s);

  /* a callback returning nonsense (more than it was offered) */
  REQUIRE(setup(0, cctx, sctx, &c, &s));
  REQUIRE(handshake(&c, &s));
  s.io.bogus_recv = 1L << 40;
  CHECK_ST(s.conn, sslbio_conn_read(s.conn, buf, sizeof(buf)), SSLBIO_ERROR);
  CHECK_STR_HAS(t_errmsg(s.conn), "invalid");
  teardown(&c, &s);

  /* back to feed/drain mode after clearing the callbacks */
  REQUIRE(setup(0, cctx, sctx, &c, &s));
  CHECK_EQ(sslbio_conn_set_transport(c.conn, NULL, NULL, NULL), SSLBIO_OK);
  long calls = c.io.send_calls;
  CHECK_ST(c.conn, sslbio_conn_handshake(c.conn), SSLBIO_WANT_READ);
  CHECK_EQ(c.io.send_calls, calls); /* the callback is not used any more */
  CHECK(sslbio_conn_pending_out(c.conn) > 0);
  CHECK_ST(c.conn, sslbio_conn_flush(c.conn), SSLBIO_EINVAL);
  teardown(&c, &s);
  sslbio_ctx_free(cctx);
  sslbio_ctx_free(sctx);
}

static int defer_verify(void *user, sslbio_conn *conn, long result) {
  (void)user, (void)conn, (void)result;
  return SSLBIO_WANT_VERIFY;
}

/* What a dead engine queued still goes out: a TLS 1.2 server refuses a
 * client certificate after deferring (its last flight held, a
 * bad_certificate alert queued in its place by verify_done); the next call
 * sends it, and after a send that would block, a later call or flush does.
 * The client fails with the alert, not with a bare end of stream. */
static void test_dead_engine_sends_its_alert(void) {
  sslbio_ctx *cctx = t_client_ctx("ca.pem"), *sctx = t_server_ctx();
  REQUIRE(cctx && sctx);
  sslbio_ctx_use_certificate_chain_file(cctx, t_cert("client.pem"));
  sslbio_ctx_use_private_key_file(cctx, t_cert("client.key"));
  sslbio_ctx_set_versions(cctx, 0x0303, 0x0303); /* TLS1_2_VERSION */
  sslbio_ctx_load_verify_file(sctx, t_cert("ca.pem"));
  sslbio_ctx_set_verify(sctx, SSLBIO_VERIFY_REQUIRE_PEER);
  CHECK_EQ(sslbio_ctx_set_verify_callback(sctx, defer_verify, NULL), SSLBIO_OK);
  for (int blocked = 0; blocked < 2; blocked++) {
    side c, s;
    REQUIRE(setup(0, cctx, sctx, &c, &s));
    long cst = SSLBIO_WANT_READ, sst = SSLBIO_WANT_READ;
    for (int i = 0; i < 100 && sst != SSLBIO_WANT_VERIFY; i++) {
      cst = HS(c.conn, &c.io);
      sst = HS(s.conn, &s.io);
    }
    REQUIRE(sst == SSLBIO_WANT_VERIFY);
    CHECK_EQ(sslbio_conn_verify_done(s.conn, 0), SSLBIO_OK);
    s.io.block_send = blocked;
    CHECK_ST(s.conn, HS(s.conn, &s.io), SSLBIO_ERROR);
    CHECK_EQ(sslbio_conn_pending_out(s.conn), blocked ? 7 : 0); /* the alert record */
    if (blocked) {
      s.io.block_send = 0;
      CHECK_EQ(sslbio_conn_flush(s.conn), SSLBIO_ERROR); /* sent; the error stays */
      CHECK_EQ(sslbio_conn_pending_out(s.conn), 0);
    }
    long sends = s.io.send_calls, recvs = s.io.recv_calls;
    CHECK_ST(s.conn, HS(s.conn, &s.io), SSLBIO_ERROR);
    CHECK_EQ(s.io.send_calls, sends); /* nothing left to send */
    CHECK_EQ(s.io.recv_calls, recvs); /* a dead engine never reads */
    for (int i = 0; i < 100 && (cst == SSLBIO_WANT_READ || cst == SSLBIO_WANT_WRITE); i++)
      cst = HS(c.conn, &c.io);
    CHECK_ST(c.conn, cst, SSLBIO_ERROR);
    CHECK_STR_HAS(t_errmsg(c.conn), "bad certificate");
    teardown(&c, &s);
  }
  sslbio_ctx_free(cctx);
  sslbio_ctx_free(sctx);
}

int main(void) {
  t_init("test_transport");
  T_RUN(test_socketpair_transfer);
  T_RUN(test_tcp_transfer);
  T_RUN(test_eof_is_truncation);
  T_RUN(test_shutdown_waits_for_send);
  T_RUN(test_callback_errors);
  T_RUN(test_dead_engine_sends_its_alert);
  return t_done();
}
