/* Hidden accessors the Go package uses to read facts out of a conn. */
#ifndef SSLBIO_INFO_INTERNAL_H
#define SSLBIO_INFO_INTERNAL_H

#include "engine_internal.h"

/* Plain facts, copied out in one call. */
typedef struct sslbio__state {
  int handshake_done;
  int shutdown_sent;
  int closed;
  int version;            /* TLS1_3_VERSION... */
  unsigned int cipher_id; /* IANA cipher suite number */
  int did_resume;
  int peer_certs;         /* count, leaf first */
} sslbio__state;

SSLBIO_INTERNAL void sslbio__conn_state(const sslbio_conn *conn, sslbio__state *out);
/* DER of the index-th peer certificate (0 = leaf) into buf when it fits;
 * returns the length needed or SSLBIO_EINVAL. */
SSLBIO_INTERNAL long sslbio__conn_peer_cert_der(const sslbio_conn *conn, int index, void *buf,
                                                size_t cap);
/* The conn's last error record, borrowed; NULL if none. */
/* The name a client engine was made for (owned by conn), NULL for servers. */
SSLBIO_INTERNAL const char *sslbio__conn_server_name(const sslbio_conn *conn);
SSLBIO_INTERNAL const sslbio__err_record *sslbio__conn_err(const sslbio_conn *conn);
/* SSLBIO_CLIENT or SSLBIO_SERVER (0 for an invalid ctx). */
SSLBIO_INTERNAL int sslbio__ctx_role(const sslbio_ctx *ctx);
/* Static OpenSSL strings for the Go error type. */
SSLBIO_INTERNAL const char *sslbio__lib_string(unsigned long code);
SSLBIO_INTERNAL const char *sslbio__reason_string(unsigned long code);
SSLBIO_INTERNAL const char *sslbio__verify_string(long result);

#endif
