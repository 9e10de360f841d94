/* What the Go package sees of the engine's internals: hidden accessors and
 * the plain structs they fill. It deliberately does not include
 * engine_internal.h: cgo would then see the complete struct sslbio_conn
 * (which holds pointers) and check every *C.sslbio_conn argument for Go
 * pointers at run time; as an opaque type it is passed unchecked. */
#ifndef SSLBIO_INFO_INTERNAL_H
#define SSLBIO_INFO_INTERNAL_H

#include <stddef.h>

#include "sslbio.h"

#define SSLBIO_INTERNAL __attribute__((visibility("hidden")))

/* ERR queue entries kept per error; deeper ones are counted, not stored. */
#define SSLBIO__MAX_ERR_ENTRIES 8
#define SSLBIO__ERR_DATA_LEN 128
/* Kind of failure, finer than the status code (mirrors Go's sslerr.Kind). */
enum sslbio__kind {
  SSLBIO__KIND_NONE = 0,
  SSLBIO__KIND_SSL = 1,       /* SSL_ERROR_SSL: protocol or library error */
  SSLBIO__KIND_SYSCALL = 2,   /* SSL_ERROR_SYSCALL */
  SSLBIO__KIND_VERIFY = 3,    /* certificate verification failed */
  SSLBIO__KIND_TRUNCATED = 4, /* EOF without close_notify */
  SSLBIO__KIND_TRANSPORT = 5, /* a transport callback failed */
  SSLBIO__KIND_INVALID = 6,   /* bad argument or wrong state */
  SSLBIO__KIND_NOMEM = 7,
};

/* One ERR queue entry, copied out of the thread's queue. */
typedef struct sslbio__err_entry {
  unsigned long code; /* ERR_get_error form */
  const char *file;   /* static strings inside libcrypto/libssl */
  const char *function;
  int line;
  char data[SSLBIO__ERR_DATA_LEN]; /* copied: the queue reuses its buffer */
} sslbio__err_entry;

/* Everything known about one failed call; allocated on the first failure
 * and reused, so a healthy engine carries no error storage. */
typedef struct sslbio__err_record {
  const char *op; /* static: "handshake", "read", ... */
  int status;     /* SSLBIO_* */
  int kind;       /* sslbio__kind */
  int ssl_error;  /* SSL_get_error value */
  int sys_errno;
  long verify_result;
  int n_entries;     /* stored entries */
  int n_dropped;     /* entries beyond SSLBIO__MAX_ERR_ENTRIES */
  char detail[128];  /* our own words when OpenSSL has none */
  sslbio__err_entry entries[SSLBIO__MAX_ERR_ENTRIES];
} sslbio__err_record;


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
