/* Error capture: SSL_get_error + the thread's ERR queue + verify result,
 * read inside the same C call that made the OpenSSL I/O call (rule 1). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "engine_internal.h"

/* Returns the conn's record, allocating it on the first failure; NULL only
 * when memory ran out (the status is still returned to the caller). */
static sslbio__err_record *record_for(sslbio_conn *conn) {
  if (conn->err == NULL)
    conn->err = calloc(1, sizeof(*conn->err));
  return conn->err;
}

void sslbio__err_reset(sslbio_conn *conn) {
  if (conn->err != NULL && !conn->dead)
    memset(conn->err, 0, sizeof(*conn->err));
}

static void begin_record(sslbio__err_record *rec, const char *op, int status, int kind) {
  memset(rec, 0, sizeof(*rec));
  rec->op = op;
  rec->status = status;
  rec->kind = kind;
  rec->verify_result = X509_V_OK;
}

int sslbio__fail(sslbio_conn *conn, const char *op, int status, int kind, const char *fmt, ...) {
  if (conn->dead)
    return conn->err ? conn->err->status : SSLBIO_ERROR;
  sslbio__err_record *rec = record_for(conn);
  if (rec == NULL)
    return status;
  begin_record(rec, op, status, kind);
  rec->sys_errno = errno;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(rec->detail, sizeof(rec->detail), fmt, ap);
  va_end(ap);
  return status;
}

/* Move every entry of the thread's ERR queue into rec, leaving it empty. */
static void take_queue(sslbio__err_record *rec) {
  const char *file = NULL, *func = NULL, *data = NULL;
  int line = 0, flags = 0;
  unsigned long code;
  while ((code = ERR_get_error_all(&file, &line, &func, &data, &flags)) != 0) {
    if (rec->n_entries >= SSLBIO__MAX_ERR_ENTRIES) {
      rec->n_dropped++;
      continue;
    }
    sslbio__err_entry *e = &rec->entries[rec->n_entries++];
    e->code = code;
    e->file = file;
    e->function = func;
    e->line = line;
    e->data[0] = '\0';
    if (data != NULL && (flags & ERR_TXT_STRING))
      snprintf(e->data, sizeof(e->data), "%s", data);
  }
}

static int first_reason(const sslbio__err_record *rec) {
  return rec->n_entries > 0 ? ERR_GET_REASON(rec->entries[0].code) : 0;
}

/* Record a fatal error of the SSL object; the engine is dead afterwards. */
static int fatal(sslbio_conn *conn, const char *op, int ssl_error, int saved_errno) {
  sslbio__err_record *rec = record_for(conn);
  if (rec == NULL) {
    sslbio__clear_queue();
    conn->dead = 1;
    return SSLBIO_ENOMEM;
  }
  begin_record(rec, op, SSLBIO_ERROR, ssl_error == SSL_ERROR_SSL ? SSLBIO__KIND_SSL
                                                                : SSLBIO__KIND_SYSCALL);
  rec->ssl_error = ssl_error;
  rec->sys_errno = saved_errno;
  take_queue(rec);
  rec->verify_result = SSL_get_verify_result(conn->ssl);
  int reason = first_reason(rec);
  if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING ||
      (ssl_error == SSL_ERROR_SYSCALL && rec->n_entries == 0 && conn->in.eof)) {
    rec->kind = SSLBIO__KIND_TRUNCATED;
    rec->status = SSLBIO_TRUNCATED;
    if (rec->detail[0] == '\0')
      snprintf(rec->detail, sizeof(rec->detail),
               "transport EOF without close_notify (truncated)");
    if (conn->ctx->allow_ragged_eof && conn->handshake_done) {
      conn->closed = 1;
      return SSLBIO_CLOSED;
    }
  } else if (rec->verify_result != X509_V_OK && reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    rec->kind = SSLBIO__KIND_VERIFY;
  } else if (rec->n_entries == 0 && rec->detail[0] == '\0') {
    snprintf(rec->detail, sizeof(rec->detail), "%s",
             ssl_error == SSL_ERROR_SYSCALL ? "I/O error with no OpenSSL reason"
                                            : "OpenSSL failed without a reason");
  }
  conn->dead = 1;
  return rec->status;
}

int sslbio__translate(sslbio_conn *conn, const char *op, int ret) {
  int saved_errno = errno;
  int e = SSL_get_error(conn->ssl, ret);
  switch (e) {
  case SSL_ERROR_NONE:
    sslbio__clear_queue();
    return SSLBIO_OK;
  case SSL_ERROR_WANT_READ:
    sslbio__clear_queue();
    return SSLBIO_WANT_READ;
  case SSL_ERROR_WANT_WRITE:
    sslbio__clear_queue();
    return SSLBIO_WANT_WRITE;
  case SSL_ERROR_ZERO_RETURN:
    sslbio__clear_queue();
    conn->closed = 1;
    return SSLBIO_CLOSED;
  case SSL_ERROR_SSL:
  case SSL_ERROR_SYSCALL:
    return fatal(conn, op, e, saved_errno);
  default: /* WANT_X509_LOOKUP, WANT_ASYNC...: not used by the engine */
    sslbio__clear_queue();
    return sslbio__fail(conn, op, SSLBIO_ERROR, SSLBIO__KIND_SSL,
                        "unexpected SSL_get_error value %d", e);
  }
}

/* Appends with snprintf semantics: *off keeps counting past cap. */
static void append(char *buf, size_t cap, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t cap, size_t *off, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *dst = *off < cap ? buf + *off : NULL;
  size_t room = *off < cap ? cap - *off : 0;
  int n = vsnprintf(dst, room, fmt, ap);
  va_end(ap);
  if (n > 0)
    *off += (size_t)n;
}

long sslbio__format(const sslbio__err_record *rec, char *buf, size_t cap) {
  size_t off = 0;
  if (buf != NULL && cap > 0)
    buf[0] = '\0';
  else
    buf = NULL, cap = 0;
  append(buf, cap, &off, "sslbio: %s", rec->op ? rec->op : "call");
  for (int i = 0; i < rec->n_entries; i++) {
    const sslbio__err_entry *e = &rec->entries[i];
    const char *reason = ERR_reason_error_string(e->code);
    if (reason != NULL)
      append(buf, cap, &off, "%s %s", i ? ";" : ":", reason);
    else
      append(buf, cap, &off, "%s error:%08lX", i ? ";" : ":", e->code);
    if (e->data[0] != '\0')
      append(buf, cap, &off, " (%s)", e->data);
  }
  if (rec->detail[0] != '\0')
    append(buf, cap, &off, "%s %s", rec->n_entries ? ";" : ":", rec->detail);
  if (rec->kind == SSLBIO__KIND_TRANSPORT || (rec->kind == SSLBIO__KIND_SYSCALL && rec->sys_errno))
    append(buf, cap, &off, " (errno %d)", rec->sys_errno);
  if (rec->verify_result != X509_V_OK)
    append(buf, cap, &off, ": %s (verify %ld)",
           X509_verify_cert_error_string(rec->verify_result), rec->verify_result);
  return (long)off;
}

long sslbio_conn_error(const sslbio_conn *conn, char *buf, size_t cap) {
  if (!sslbio__conn_ok(conn))
    return SSLBIO_EINVAL;
  if (buf == NULL && cap > 0)
    return SSLBIO_EINVAL;
  if (conn->err == NULL || conn->err->status == SSLBIO_OK) {
    if (cap > 0)
      buf[0] = '\0';
    return 0;
  }
  return sslbio__format(conn->err, buf, cap);
}

unsigned long sslbio_conn_error_code(const sslbio_conn *conn) {
  if (!sslbio__conn_ok(conn) || conn->err == NULL || conn->err->n_entries == 0)
    return 0;
  return conn->err->entries[0].code;
}

long sslbio_conn_verify_result(const sslbio_conn *conn) {
  if (!sslbio__conn_ok(conn))
    return SSLBIO_EINVAL;
  return SSL_get_verify_result(conn->ssl);
}

const char *sslbio_strstatus(int status) {
  switch (status) {
  case SSLBIO_OK: return "SSLBIO_OK";
  case SSLBIO_WANT_READ: return "SSLBIO_WANT_READ";
  case SSLBIO_WANT_WRITE: return "SSLBIO_WANT_WRITE";
  case SSLBIO_CLOSED: return "SSLBIO_CLOSED";
  case SSLBIO_TRUNCATED: return "SSLBIO_TRUNCATED";
  case SSLBIO_ERROR: return "SSLBIO_ERROR";
  case SSLBIO_EINVAL: return "SSLBIO_EINVAL";
  case SSLBIO_ENOMEM: return "SSLBIO_ENOMEM";
  default: return "unknown status";
  }
}
