/* Test helpers that drive engines (in memory or over sockets); kept apart
 * from harness.c so that test_dlopen links without libsslbio. */
#include "t.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* ---- contexts ---- */

sslbio_ctx *t_server_ctx(void) {
  sslbio_ctx *ctx = sslbio_ctx_new(SSLBIO_SERVER);
  if (ctx == NULL)
    return NULL;
  if (sslbio_ctx_use_certificate_chain_file(ctx, t_cert("server.pem")) != SSLBIO_OK ||
      sslbio_ctx_use_private_key_file(ctx, t_cert("server.key")) != SSLBIO_OK) {
    fprintf(stderr, "server ctx: %s\n", sslbio_ctx_error(ctx));
    sslbio_ctx_free(ctx);
    return NULL;
  }
  return ctx;
}

sslbio_ctx *t_client_ctx(const char *ca_name) {
  sslbio_ctx *ctx = sslbio_ctx_new(SSLBIO_CLIENT);
  if (ctx == NULL)
    return NULL;
  if (sslbio_ctx_load_verify_file(ctx, t_cert(ca_name)) != SSLBIO_OK) {
    fprintf(stderr, "client ctx: %s\n", sslbio_ctx_error(ctx));
    sslbio_ctx_free(ctx);
    return NULL;
  }
  return ctx;
}

const char *t_errmsg(const sslbio_conn *conn) {
  static _Thread_local char buf[1024];
  buf[0] = '\0';
  if (conn != NULL)
    sslbio_conn_error(conn, buf, sizeof(buf));
  return buf;
}

/* ---- in-memory link ---- */

int t_link_init(t_link *l, sslbio_ctx *cctx, sslbio_ctx *sctx, const char *server_name) {
  memset(l, 0, sizeof(*l));
  l->cst = l->sst = SSLBIO_WANT_READ;
  l->c = sslbio_conn_new(cctx, server_name);
  l->s = sslbio_conn_new(sctx, NULL);
  if (l->c == NULL || l->s == NULL) {
    fprintf(stderr, "t_link_init: %s / %s\n", sslbio_ctx_error(cctx), sslbio_ctx_error(sctx));
    return 0;
  }
  return 1;
}

void t_link_free(t_link *l) {
  sslbio_conn_free(l->c);
  sslbio_conn_free(l->s);
  t_buf_free(&l->c2s);
  t_buf_free(&l->s2c);
  l->c = l->s = NULL;
}

size_t t_pump(t_link *l) { return t_move(l->c, &l->c2s, l->s) + t_move(l->s, &l->s2c, l->c); }

static int is_want(long st) { return st == SSLBIO_WANT_READ || st == SSLBIO_WANT_WRITE; }

int t_handshake(t_link *l) {
  for (int round = 0; round < 64; round++) {
    if (is_want(l->cst))
      l->cst = sslbio_conn_handshake(l->c);
    if (is_want(l->sst))
      l->sst = sslbio_conn_handshake(l->s);
    size_t moved = t_pump(l);
    if (!is_want(l->cst) && !is_want(l->sst) && moved == 0)
      break;
    if (!is_want(l->cst) && l->cst != SSLBIO_OK)
      break;
    if (!is_want(l->sst) && l->sst != SSLBIO_OK)
      break;
  }
  if (l->cst != SSLBIO_OK && !is_want(l->cst))
    return l->cst;
  if (l->sst != SSLBIO_OK && !is_want(l->sst))
    return l->sst;
  return l->cst == SSLBIO_OK && l->sst == SSLBIO_OK ? SSLBIO_OK : SSLBIO_WANT_READ;
}

unsigned char t_pattern(size_t i) { return (unsigned char)((i * 131u) ^ (i >> 9) ^ 0x5a); }

int t_transfer(t_link *l, sslbio_conn *from, sslbio_conn *to, size_t len, size_t chunk) {
  t_buf *q = from == l->c ? &l->c2s : &l->s2c;
  unsigned char *out = malloc(len ? len : 1);
  unsigned char *in = malloc(chunk);
  size_t sent = 0, got = 0;
  int ok = 1, idle = 0;
  for (size_t i = 0; i < len; i++)
    out[i] = t_pattern(i);
  while (got < len && ok) {
    int progress = 0;
    if (sent < len) {
      size_t want = len - sent < chunk ? len - sent : chunk;
      long w = sslbio_conn_write(from, out + sent, want);
      if (w > 0) {
        sent += (size_t)w;
        progress = 1;
      } else if (!is_want(w)) {
        fprintf(stderr, "t_transfer: write: %s %s\n", sslbio_strstatus((int)w), t_errmsg(from));
        ok = 0;
        break;
      }
    }
    if (t_move(from, q, to) > 0)
      progress = 1;
    for (;;) {
      long r = sslbio_conn_read(to, in, chunk);
      if (r > 0) {
        if (got + (size_t)r > len || memcmp(in, out + got, (size_t)r) != 0) {
          fprintf(stderr, "t_transfer: corrupt data at %zu\n", got);
          ok = 0;
          break;
        }
        got += (size_t)r;
        progress = 1;
        continue;
      }
      if (!is_want(r)) {
        fprintf(stderr, "t_transfer: read: %s %s\n", sslbio_strstatus((int)r), t_errmsg(to));
        ok = 0;
      }
      break;
    }
    /* replies (e.g. key update responses) the reader produced */
    t_move(to, to == l->c ? &l->c2s : &l->s2c, from);
    idle = progress ? 0 : idle + 1;
    if (idle > 8) {
      fprintf(stderr, "t_transfer: stalled at %zu/%zu sent, %zu received\n", sent, len, got);
      ok = 0;
    }
  }
  free(out);
  free(in);
  return ok;
}

long t_op_handshake(sslbio_conn *conn, void *buf, size_t len) {
  (void)buf, (void)len;
  return sslbio_conn_handshake(conn);
}
long t_op_read(sslbio_conn *conn, void *buf, size_t len) { return sslbio_conn_read(conn, buf, len); }
long t_op_write(sslbio_conn *conn, void *buf, size_t len) {
  return sslbio_conn_write(conn, buf, len);
}
long t_op_shutdown(sslbio_conn *conn, void *buf, size_t len) {
  (void)buf, (void)len;
  return sslbio_conn_shutdown(conn);
}

int t_sock_flush(t_sock *ts, int timeout_ms) {
  long long deadline = t_now_ms() + timeout_ms;
  const void *p;
  long n;
  while ((n = sslbio_conn_drain_buffer(ts->conn, &p)) > 0) {
    ssize_t w = send(ts->fd, p, (size_t)n, MSG_NOSIGNAL);
    if (w > 0) {
      sslbio_conn_drain_commit(ts->conn, (size_t)w);
      continue;
    }
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && t_now_ms() < deadline) {
      struct pollfd pfd = {.fd = ts->fd, .events = POLLOUT};
      poll(&pfd, 1, 100);
      continue;
    }
    return 0;
  }
  return 1;
}

long t_sock_call(t_sock *ts, t_op op, void *buf, size_t len, int timeout_ms) {
  long long deadline = t_now_ms() + timeout_ms;
  for (;;) {
    long r = op(ts->conn, buf, len);
    if (!t_sock_flush(ts, timeout_ms))
      return r == SSLBIO_WANT_READ || r == SSLBIO_WANT_WRITE ? SSLBIO_ERROR : r;
    if (!is_want(r))
      return r;
    if (r == SSLBIO_WANT_WRITE)
      continue;
    if (ts->in_len > 0) { /* the engine had no room before: offer the rest */
      long k = sslbio_conn_feed(ts->conn, ts->in, ts->in_len);
      if (k > 0) {
        memmove(ts->in, ts->in + k, ts->in_len - (size_t)k);
        ts->in_len -= (size_t)k;
        if (ts->eof && ts->in_len == 0)
          sslbio_conn_feed_eof(ts->conn);
        continue;
      }
    }
    if (ts->eof)
      return r;
    int left = (int)(deadline - t_now_ms());
    if (left <= 0)
      return SSLBIO_WANT_READ;
    struct pollfd pfd = {.fd = ts->fd, .events = POLLIN};
    if (poll(&pfd, 1, left) <= 0)
      continue;
    ssize_t n = recv(ts->fd, ts->in + ts->in_len, sizeof(ts->in) - ts->in_len, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      ts->eof = 1;
      if (ts->in_len == 0)
        sslbio_conn_feed_eof(ts->conn);
      continue;
    }
    if (n > 0) {
      ts->in_len += (size_t)n;
      long k = sslbio_conn_feed(ts->conn, ts->in, ts->in_len);
      if (k > 0) {
        memmove(ts->in, ts->in + k, ts->in_len - (size_t)k);
        ts->in_len -= (size_t)k;
      }
      if (ts->eof && ts->in_len == 0)
        sslbio_conn_feed_eof(ts->conn);
    }
  }
}

int t_sock_write_all(t_sock *ts, const void *buf, size_t len, int timeout_ms) {
  size_t off = 0;
  while (off < len) {
    long w = t_sock_call(ts, t_op_write, (char *)buf + off, len - off, timeout_ms);
    if (w <= 0)
      return 0;
    off += (size_t)w;
  }
  return t_sock_flush(ts, timeout_ms);
}

