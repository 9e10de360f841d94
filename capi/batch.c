/* Batched calls: the two pairs of calls every exchange makes back to back
 * (write then drain, feed then read) as one call each. A binding pays per
 * call — a cgo transition in Go, argument conversion in ctypes — so a
 * 64-byte round trip costs half as many crossings. Each is exactly the two
 * public calls in sequence; nothing here touches OpenSSL directly. */
#include "engine_internal.h"

static int is_want(long st) { return st == SSLBIO_WANT_READ || st == SSLBIO_WANT_WRITE; }

long sslbio_conn_write_drain(sslbio_conn *conn, const void *buf, size_t len, void *out,
                             size_t cap, size_t *drained) {
  if (drained != NULL)
    *drained = 0; /* whatever happens next: no stale count for the caller */
  if (!sslbio__conn_ok(conn))
    return SSLBIO_EINVAL;
  /* Arguments first: a write accepted, then refused for its drain, would
   * report an error for bytes that were taken. */
  if (drained == NULL || (out == NULL && cap > 0))
    return sslbio__fail(conn, "write_drain", SSLBIO_EINVAL, SSLBIO_KIND_INVALID,
                        drained == NULL ? "NULL drained" : "NULL out buffer");
  long written = sslbio_conn_write(conn, buf, len);
  /* A fatal error leaves its alert queued for drain(), as after any call:
   * the caller raising on it would otherwise lose those bytes. */
  if (written < 0 && !is_want(written))
    return written;
  long n = sslbio_conn_drain(conn, out, cap);
  if (n < 0)
    return n;
  *drained = (size_t)n;
  return written;
}

long sslbio_conn_feed_read(sslbio_conn *conn, const void *in, size_t len, size_t *fed,
                           void *buf, size_t cap) {
  if (fed != NULL)
    *fed = 0;
  if (!sslbio__conn_ok(conn))
    return SSLBIO_EINVAL;
  if (fed == NULL || buf == NULL || cap == 0) /* before feeding, as in write_drain */
    return sslbio__fail(conn, "feed_read", SSLBIO_EINVAL, SSLBIO_KIND_INVALID,
                        fed == NULL ? "NULL fed" : "NULL or empty read buffer");
  if (len > 0) { /* nothing to feed is a plain read, also after feed_eof */
    long n = sslbio_conn_feed(conn, in, len);
    if (n < 0)
      return n;
    *fed = (size_t)n;
  }
  return sslbio_conn_read(conn, buf, cap);
}
