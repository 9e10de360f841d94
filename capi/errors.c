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

int sslbio__invalid(sslbio_conn *conn, const char *op, const char *detail) {
  if (!sslbio__conn_ok(conn))
    return SSLBIO_EINVAL;
  return sslbio__fail(conn, op, SSLBIO_EINVAL, SSLBIO_KIND_INVALID, "%s", detail);
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
  begin_record(rec, op, SSLBIO_ERROR, ssl_error == SSL_ERROR_SSL ? SSLBIO_KIND_SSL
                                                                : SSLBIO_KIND_SYSCALL);
  rec->ssl_error = ssl_error;
  rec->sys_errno = saved_errno;
  take_queue(rec);
  rec->verify_result = SSL_get_verify_result(conn->ssl);
  int reason = first_reason(rec);
  if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING ||
      (ssl_error == SSL_ERROR_SYSCALL && rec->n_entries == 0 && conn->in.eof)) {
    rec->kind = SSLBIO_KIND_TRUNCATED;
    rec->status = SSLBIO_TRUNCATED;
    if (rec->detail[0] == '\0')
      snprintf(rec->detail, sizeof(rec->detail),
               "transport EOF without close_notify (truncated)");
    if (conn->ctx->allow_ragged_eof && conn->handshake_done) {
      conn->closed = 1;
      return SSLBIO_CLOSED;
    }
  } else if (rec->verify_result != X509_V_OK && reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    rec->kind = SSLBIO_KIND_VERIFY;
    if (conn->verify_note[0] != '\0')
      snprintf(rec->detail, sizeof(rec->detail), "%s", conn->verify_note);
  } else if (conn->hello_reject && reason == SSL_R_CALLBACK_FAILED) {
    snprintf(rec->detail, sizeof(rec->detail), "ClientHello refused by the application (alert %d)",
             conn->hello_reject - 1);
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
  case SSL_ERROR_WANT_CLIENT_HELLO_CB: /* hello.c paused the handshake */
    sslbio__clear_queue();
    return SSLBIO_WANT_CLIENT_HELLO;
  case SSL_ERROR_WANT_RETRY_VERIFY: /* verify.c: a client's deferred decision */
    sslbio__clear_queue();
    return SSLBIO_WANT_VERIFY;
  case SSL_ERROR_SSL:
  case SSL_ERROR_SYSCALL:
    return fatal(conn, op, e, saved_errno);
  default: /* WANT_X509_LOOKUP, WANT_ASYNC...: not used by the engine */
    sslbio__clear_queue();
    return sslbio__fail(conn, op, SSLBIO_ERROR, SSLBIO_KIND_SSL,
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
  if (rec->kind == SSLBIO_KIND_TRANSPORT || (rec->kind == SSLBIO_KIND_SYSCALL && rec->sys_errno))
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

/* ---- the parts of an error, for the faces ---- */

int sslbio_conn_error_info(const sslbio_conn *conn, sslbio_error_info *out) {
  if (!sslbio__conn_ok(conn) || out == NULL)
    return SSLBIO_EINVAL;
  memset(out, 0, sizeof(*out));
  const sslbio__err_record *rec = conn->err;
  out->detail = "";
  if (rec == NULL || rec->status == SSLBIO_OK)
    return SSLBIO_OK;
  out->status = rec->status;
  out->kind = rec->kind;
  out->op = rec->op;
  out->ssl_error = rec->ssl_error;
  out->sys_errno = rec->sys_errno;
  out->verify_result = rec->verify_result;
  if (rec->verify_result != X509_V_OK)
    out->verify_string = X509_verify_cert_error_string(rec->verify_result); /* static */
  out->detail = rec->detail;
  out->entries = (size_t)rec->n_entries;
  out->dropped = (size_t)rec->n_dropped;
  return SSLBIO_OK;
}

/* OpenSSL's library mnemonics (the ERR_LIB_ suffixes), as Python's ssl
 * module shows them in "[SSL: CERTIFICATE_VERIFY_FAILED]". */
#define SSLBIO__LIBS(X)                                                                     \
  X(SYS) X(BN) X(RSA) X(DH) X(EVP) X(BUF) X(OBJ) X(PEM) X(DSA) X(X509) X(ASN1) X(CONF)      \
  X(CRYPTO) X(EC) X(SSL) X(BIO) X(PKCS7) X(X509V3) X(PKCS12) X(RAND) X(DSO) X(ENGINE)      \
  X(OCSP) X(UI) X(COMP) X(ECDSA) X(ECDH) X(OSSL_STORE) X(FIPS) X(CMS) X(TS) X(HMAC) X(CT) \
  X(ASYNC) X(KDF) X(SM2) X(ESS) X(PROP) X(CRMF) X(PROV) X(CMP) X(OSSL_ENCODER)           \
  X(OSSL_DECODER) X(HTTP) X(USER)

static const char *lib_mnemonic(int lib) {
  switch (lib) {
#define SSLBIO__LIB_CASE(name) case ERR_LIB_##name: return #name;
    SSLBIO__LIBS(SSLBIO__LIB_CASE)
#undef SSLBIO__LIB_CASE
  default: return NULL;
  }
}

/* OpenSSL's reason strings are its mnemonics in lower case with spaces
 * ("certificate verify failed"); the mnemonic back, "" if it is not one. */
static void reason_mnemonic(const char *text, char *out, size_t cap) {
  size_t n = 0;
  out[0] = '\0';
  if (text == NULL)
    return;
  for (; text[n] != '\0'; n++) {
    char c = text[n];
    if (n + 1 >= cap || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == ' ' || c == '_')) {
      out[0] = '\0';
      return;
    }
    out[n] = c == ' ' ? '_' : (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
  }
  out[n] = '\0';
}

int sslbio_conn_error_entry(const sslbio_conn *conn, size_t index, sslbio_error_entry *out) {
  if (!sslbio__conn_ok(conn) || out == NULL || conn->err == NULL ||
      conn->err->status == SSLBIO_OK || index >= (size_t)conn->err->n_entries)
    return SSLBIO_EINVAL;
  const sslbio__err_entry *e = &conn->err->entries[index];
  memset(out, 0, sizeof(*out));
  out->code = e->code;
  if (ERR_SYSTEM_ERROR(e->code)) {
    out->lib = "SYS";
    out->reason_string = strerror(ERR_GET_REASON(e->code)); /* static for known errnos */
  } else {
    out->lib = lib_mnemonic(ERR_GET_LIB(e->code));
    out->lib_string = ERR_lib_error_string(e->code);       /* static */
    out->reason_string = ERR_reason_error_string(e->code); /* static */
    reason_mnemonic(out->reason_string, out->reason, sizeof(out->reason));
  }
  out->file = e->file;
  out->line = e->line;
  out->function = e->function;
  out->data = e->data;
  return SSLBIO_OK;
}

/* ---- names, from the header's tables ---- */

const char *sslbio_strstatus(int status) {
  switch (status) {
#define SSLBIO__STATUS_NAME(name, value, text) case SSLBIO_##name: return "SSLBIO_" #name;
    SSLBIO_STATUS_TABLE(SSLBIO__STATUS_NAME)
#undef SSLBIO__STATUS_NAME
  default: return "unknown status";
  }
}

const char *sslbio_strkind(int kind) {
  switch (kind) {
#define SSLBIO__KIND_NAME(name, value, text) case SSLBIO_KIND_##name: return text;
    SSLBIO_KIND_TABLE(SSLBIO__KIND_NAME)
#undef SSLBIO__KIND_NAME
  default: return "unknown kind";
  }
}
