/* Zero-copy network side: the application recv()s straight into, and
 * send()s straight from, the engine's queues, saving the copy that
 * feed/drain make. */
#include "engine_internal.h"

long sslbio_conn_feed_buffer(sslbio_conn *conn, void **buf) {
  if (!sslbio__conn_ok(conn) || buf == NULL)
    return SSLBIO_EINVAL;
  *buf = NULL;
  if (conn->in.eof)
    return sslbio__fail(conn, "feed", SSLBIO_EINVAL, SSLBIO_KIND_INVALID, "feed after feed_eof");
  unsigned char *at;
  long room = sslbio__in_room(conn, &at);
  if (room < 0)
    return sslbio__fail(conn, "feed", SSLBIO_ENOMEM, SSLBIO_KIND_NOMEM, "out of memory");
  *buf = at;
  return room;
}

long sslbio_conn_feed_commit(sslbio_conn *conn, size_t n) {
  if (!sslbio__conn_ok(conn))
    return SSLBIO_EINVAL;
  if (n == 0)
    return 0;
  unsigned char *at;
  /* Only a buffer offered by feed_buffer may be committed to. */
  long room = conn->in.buf != NULL ? sslbio__in_room(conn, &at) : 0;
  if (conn->in.eof || room <= 0 || n > (size_t)room)
    return sslbio__fail(conn, "feed commit", SSLBIO_EINVAL, SSLBIO_KIND_INVALID,
                        "commit of %zu bytes exceeds the %ld offered by feed_buffer", n,
                        room > 0 ? room : 0);
  sslbio__in_commit(conn, n);
  return (long)n;
}

long sslbio_conn_drain_buffer(sslbio_conn *conn, const void **buf) {
  if (!sslbio__conn_ok(conn) || buf == NULL)
    return SSLBIO_EINVAL;
  const unsigned char *at;
  size_t n = sslbio__out_data(conn, &at);
  *buf = at;
  return (long)n;
}

long sslbio_conn_drain_commit(sslbio_conn *conn, size_t n) {
  if (!sslbio__conn_ok(conn))
    return SSLBIO_EINVAL;
  size_t ready = sslbio__out_ready(conn);
  if (n > ready)
    return sslbio__fail(conn, "drain commit", SSLBIO_EINVAL, SSLBIO_KIND_INVALID,
                        "commit of %zu bytes exceeds the %zu pending", n, ready);
  if (n > 0)
    sslbio__out_consume(conn, n);
  return (long)n;
}
