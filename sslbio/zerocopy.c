/* Zero-copy network side: the application recv()s straight into, and
 * send()s straight from, the engine's buffers (BIO_nwrite0/BIO_nread0 on
 * the pair), saving the copy that feed/drain make. */
#include <limits.h>

#include <openssl/err.h>

#include "engine_internal.h"

long sslbio_conn_feed_buffer(sslbio_conn *conn, void **buf) {
  if (!sslbio__conn_ok(conn) || buf == NULL)
    return SSLBIO_EINVAL;
  *buf = NULL;
  if (conn->eof_fed)
    return sslbio__fail(conn, "feed", SSLBIO_EINVAL, SSLBIO__KIND_INVALID, "feed after feed_eof");
  char *room = NULL;
  int n = BIO_nwrite0(conn->net, &room);
  if (n <= 0) {
    ERR_clear_error();
    return 0;
  }
  *buf = room;
  return n;
}

long sslbio_conn_feed_commit(sslbio_conn *conn, size_t n) {
  if (!sslbio__conn_ok(conn))
    return SSLBIO_EINVAL;
  if (n == 0)
    return 0;
  char *room = NULL;
  int avail = BIO_nwrite0(conn->net, &room);
  if (avail <= 0 || n > (size_t)avail) {
    ERR_clear_error();
    return sslbio__fail(conn, "feed commit", SSLBIO_EINVAL, SSLBIO__KIND_INVALID,
                        "commit of %zu bytes exceeds the %d offered", n, avail > 0 ? avail : 0);
  }
  return BIO_nwrite(conn->net, &room, (int)n);
}

long sslbio_conn_drain_buffer(sslbio_conn *conn, const void **buf) {
  if (!sslbio__conn_ok(conn) || buf == NULL)
    return SSLBIO_EINVAL;
  char *data = NULL;
  int n = BIO_nread0(conn->net, &data);
  if (n <= 0) {
    ERR_clear_error();
    *buf = NULL;
    return 0;
  }
  *buf = data;
  return n;
}

long sslbio_conn_drain_commit(sslbio_conn *conn, size_t n) {
  if (!sslbio__conn_ok(conn))
    return SSLBIO_EINVAL;
  if (n == 0)
    return 0;
  char *data = NULL;
  int avail = BIO_nread0(conn->net, &data);
  if (avail <= 0 || n > (size_t)avail) {
    ERR_clear_error();
    return sslbio__fail(conn, "drain commit", SSLBIO_EINVAL, SSLBIO__KIND_INVALID,
                        "commit of %zu bytes exceeds the %d offered", n, avail > 0 ? avail : 0);
  }
  return BIO_nread(conn->net, &data, (int)n);
}
