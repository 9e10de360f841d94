/* Callback transport ("PyBIO" mode): the engine calls the application's
 * recv/send itself, moving ciphertext straight between the callbacks and
 * the BIO pair's buffer (BIO_nread0/BIO_nwrite0: no intermediate copy). */
#include <errno.h>
#include <string.h>

#include <openssl/err.h>

#include "engine_internal.h"

int sslbio_conn_set_transport(sslbio_conn *conn, sslbio_recv_fn recv_fn, sslbio_send_fn send_fn,
                              void *user) {
  if (!sslbio__conn_ok(conn))
    return SSLBIO_EINVAL;
  if ((recv_fn == NULL) != (send_fn == NULL))
    return sslbio__fail(conn, "set transport", SSLBIO_EINVAL, SSLBIO_KIND_INVALID,
                        "recv and send callbacks must both be set or both be NULL");
  conn->recv_fn = recv_fn;
  conn->send_fn = send_fn;
  conn->user = user;
  return SSLBIO_OK;
}

/* A callback failed: the stream may be half-sent, so the engine is dead.
 * On an engine already dead (flush_dead) its error stays; what was queued
 * can no longer go anywhere. */
static int transport_failed(sslbio_conn *conn, const char *op, const char *dir, long ret) {
  if (conn->dead) {
    sslbio__out_consume(conn, conn->out.len);
    return conn->err != NULL ? conn->err->status : SSLBIO_ERROR;
  }
  int saved = errno;
  int st = SSLBIO_ERROR;
  if (ret != SSLBIO_ERROR)
    sslbio__fail(conn, op, st, SSLBIO_KIND_TRANSPORT, "transport %s returned invalid value %ld",
                 dir, ret);
  else
    sslbio__fail(conn, op, st, SSLBIO_KIND_TRANSPORT, "transport %s failed: %s", dir,
                 saved ? strerror(saved) : "callback error");
  if (conn->err != NULL)
    conn->err->sys_errno = saved;
  conn->dead = 1;
  return st;
}

/* Push pending ciphertext to send_fn: OK when all is sent, WANT_WRITE when
 * it would block, ERROR when it failed. */
static int flush_out(sslbio_conn *conn, const char *op) {
  for (;;) {
    const unsigned char *data; /* points into the out queue */
    size_t avail = sslbio__out_data(conn, &data);
    if (avail == 0)
      return SSLBIO_OK;
    errno = 0;
    long sent = conn->send_fn(conn->user, data, avail);
    if (sent == SSLBIO_WANT_WRITE)
      return SSLBIO_WANT_WRITE;
    if (sent <= 0 || (size_t)sent > avail)
      return transport_failed(conn, op, "send", sent);
    sslbio__out_consume(conn, (size_t)sent);
  }
}

#define PAIR_FULL 1

/* Pull ciphertext from recv_fn straight into the in queue: OK when bytes
 * (or EOF) arrived, PAIR_FULL when there is no room, WANT_READ when it
 * would block. */
static int fill_in(sslbio_conn *conn, const char *op) {
  if (conn->in.eof)
    return PAIR_FULL;
  unsigned char *room; /* points into the in queue */
  long cap = sslbio__in_room(conn, &room);
  if (cap < 0)
    return sslbio__fail(conn, op, SSLBIO_ENOMEM, SSLBIO_KIND_NOMEM, "out of memory");
  if (cap == 0)
    return PAIR_FULL;
  errno = 0;
  long got = conn->recv_fn(conn->user, room, (size_t)cap);
  if (got == SSLBIO_WANT_READ)
    return SSLBIO_WANT_READ;
  if (got == 0) {
    conn->in.eof = 1;
    return SSLBIO_OK;
  }
  if (got < 0 || got > cap)
    return transport_failed(conn, op, "recv", got);
  sslbio__in_commit(conn, (size_t)got);
  return SSLBIO_OK;
}

/* A dead engine never reads again, but what its end queued (OpenSSL's
 * fatal alert, verify_done's refusal alert) still goes out, on the call
 * that failed and, what send did not take then, on every call after;
 * unless the transport itself failed. */
static void flush_dead(sslbio_conn *conn, const char *op) {
  if (conn->err != NULL && conn->err->kind != SSLBIO_KIND_TRANSPORT)
    (void)flush_out(conn, op);
}

int sslbio_conn_flush(sslbio_conn *conn) {
  if (!sslbio__conn_ok(conn))
    return SSLBIO_EINVAL;
  if (conn->send_fn == NULL)
    return sslbio__fail(conn, "flush", SSLBIO_EINVAL, SSLBIO_KIND_INVALID,
                        "no transport callbacks set");
  sslbio__clear_queue();
  if (conn->dead) {
    flush_dead(conn, "flush");
    return conn->err != NULL ? conn->err->status : SSLBIO_ERROR;
  }
  int st = flush_out(conn, "flush");
  sslbio__clear_queue();
  return st;
}

long sslbio__pump(sslbio_conn *conn, const char *op, sslbio__op_fn fn, void *buf, size_t len) {
  if (conn->dead) { /* the stored error */
    flush_dead(conn, op);
    return fn(conn, buf, len);
  }
  for (;;) {
    int out = flush_out(conn, op);
    if (out == SSLBIO_ERROR)
      return out;
    long r = fn(conn, buf, len);
    if (r != SSLBIO_WANT_READ && r != SSLBIO_WANT_WRITE) {
      /* Done (or failed): send what the call produced, as far as the
       * transport takes it now; the rest goes with the next call or flush. */
      int after = flush_out(conn, op);
      if (after == SSLBIO_ERROR && r >= 0)
        return after;
      /* A shutdown is complete only once close_notify left: an application
       * that closes its socket on OK must not lose it in our queue. */
      if (after == SSLBIO_WANT_WRITE && r == SSLBIO_OK && strcmp(op, "shutdown") == 0)
        return SSLBIO_WANT_WRITE;
      return r;
    }
    out = flush_out(conn, op);
    if (out == SSLBIO_ERROR)
      return out;
    if (r == SSLBIO_WANT_WRITE) {
      if (out == SSLBIO_WANT_WRITE)
        return SSLBIO_WANT_WRITE;
      continue;
    }
    /* WANT_READ. Plaintext already buffered (shutdown waiting for the
     * application to read it) will not be helped by more ciphertext. */
    if (SSL_pending(conn->ssl) > 0)
      return SSLBIO_WANT_READ;
    int in = fill_in(conn, op);
    if (in == SSLBIO_ERROR || in == SSLBIO_ENOMEM)
      return in;
    if (in == SSLBIO_WANT_READ)
      return out == SSLBIO_WANT_WRITE ? SSLBIO_WANT_WRITE : SSLBIO_WANT_READ;
    if (in == PAIR_FULL)
      return SSLBIO_WANT_READ; /* nothing more can arrive: do not spin */
  }
}
