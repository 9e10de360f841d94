/* sslbio_ctx: an SSL_CTX with secure defaults, reference counted, frozen
 * once its first engine exists. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "engine_internal.h"

int sslbio__ctx_ok(const sslbio_ctx *ctx) {
  return ctx != NULL && ctx->magic == SSLBIO__CTX_MAGIC;
}

void sslbio__ctx_set_error(sslbio_ctx *ctx, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ctx->error, sizeof(ctx->error), fmt, ap);
  va_end(ap);
}

/* Setter failure that OpenSSL explains: the first entry of the queue (the
 * root cause, e.g. "No such file or directory") with its data (the path),
 * and the last (what gave up, e.g. "system lib"); the queue is left empty. */
static int openssl_failed(sslbio_ctx *ctx, const char *what) {
  const char *data = NULL;
  int flags = 0;
  unsigned long first = ERR_peek_error_data(&data, &flags);
  unsigned long last = ERR_peek_last_error();
  const char *why = !first                  ? NULL
                    : ERR_SYSTEM_ERROR(first) ? strerror(ERR_GET_REASON(first)) /* an errno */
                                              : ERR_reason_error_string(first);
  const char *then = last != first && last ? ERR_reason_error_string(last) : NULL;
  int has_data = data != NULL && (flags & ERR_TXT_STRING) && data[0] != '\0';
  sslbio__ctx_set_error(ctx, "sslbio: %s: %s%s%s%s%s%s", what, why ? why : "OpenSSL refused",
                        has_data ? " (" : "", has_data ? data : "", has_data ? ")" : "",
                        then ? "; " : "", then ? then : "");
  ERR_clear_error();
  return SSLBIO_ERROR;
}

int sslbio__setter_begin(sslbio_ctx *ctx, const char *what, int args_ok) {
  if (!sslbio__ctx_ok(ctx))
    return SSLBIO_EINVAL;
  if (atomic_load(&ctx->frozen)) {
    sslbio__ctx_set_error(ctx, "sslbio: %s: context is frozen (an engine was created from it)",
                          what);
    return SSLBIO_EINVAL;
  }
  if (!args_ok) {
    sslbio__ctx_set_error(ctx, "sslbio: %s: NULL argument", what);
    return SSLBIO_EINVAL;
  }
  ERR_clear_error();
  return SSLBIO_OK;
}

/* The SSLBIO_VERIFY_* mode that an SSL_CTX's verify flags amount to. */
static int verify_mode_of(const SSL_CTX *ssl_ctx) {
  int mode = SSL_CTX_get_verify_mode(ssl_ctx);
  return !(mode & SSL_VERIFY_PEER)                 ? SSLBIO_VERIFY_NONE
         : (mode & SSL_VERIFY_FAIL_IF_NO_PEER_CERT) ? SSLBIO_VERIFY_REQUIRE_PEER
                                                    : SSLBIO_VERIFY_PEER;
}

static sslbio_ctx *ctx_alloc(SSL_CTX *ssl_ctx, int role) {
  sslbio_ctx *ctx = calloc(1, sizeof(*ctx));
  if (ctx == NULL)
    return NULL;
  ctx->magic = SSLBIO__CTX_MAGIC;
  ctx->ssl_ctx = ssl_ctx;
  ctx->role = role;
  atomic_init(&ctx->refs, 1);
  atomic_init(&ctx->frozen, 0);
  pthread_mutex_init(&ctx->lock, NULL);
  return ctx;
}

sslbio_ctx *sslbio_ctx_new(int role) {
  if (role != SSLBIO_CLIENT && role != SSLBIO_SERVER)
    return NULL;
  ERR_clear_error();
  SSL_CTX *ssl_ctx = SSL_CTX_new(role == SSLBIO_CLIENT ? TLS_client_method() : TLS_server_method());
  if (ssl_ctx == NULL) {
    ERR_clear_error();
    return NULL;
  }
  SSL_CTX_set_min_proto_version(ssl_ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ssl_ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                   SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (role == SSLBIO_CLIENT) {
    SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_PEER, NULL);
  } else {
    /* Stateless tickets resume sessions; a server-side cache would only
     * grow with every client. One ticket per connection, like crypto/tls. */
    SSL_CTX_set_session_cache_mode(ssl_ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ssl_ctx, 1);
    /* OpenSSL refuses to resume a session on a server that verifies client
     * certificates unless a session id context is set: the handshake dies
     * with an internal_error alert ("session id context uninitialized").
     * Tickets are sealed with this SSL_CTX's keys, so one constant is
     * enough. */
    SSL_CTX_set_session_id_context(ssl_ctx, (const unsigned char *)"sslbio", 6);
  }
  sslbio_ctx *ctx = ctx_alloc(ssl_ctx, role);
  if (ctx == NULL) {
    SSL_CTX_free(ssl_ctx);
    return NULL;
  }
  ctx->verify_mode = role == SSLBIO_CLIENT ? SSLBIO_VERIFY_PEER : SSLBIO_VERIFY_NONE;
  sslbio__ctx_passwords(ctx);
  if (role == SSLBIO_SERVER) {
    sslbio__hello_install(ctx);
    if (!sslbio__tickets_init(ctx)) {
      sslbio_ctx_free(ctx);
      return NULL;
    }
  }
  return ctx;
}

sslbio_ctx *sslbio_ctx_wrap_openssl(struct ssl_ctx_st *ssl_ctx, int role) {
  if (ssl_ctx == NULL || (role != SSLBIO_CLIENT && role != SSLBIO_SERVER))
    return NULL;
  if (!SSL_CTX_up_ref(ssl_ctx))
    return NULL;
  sslbio_ctx *ctx = ctx_alloc(ssl_ctx, role);
  if (ctx == NULL) {
    SSL_CTX_free(ssl_ctx);
    return NULL;
  }
  ctx->verify_mode = verify_mode_of(ssl_ctx);
  /* The caller configured trust already; never add the system store, and
   * send the chain exactly as configured. */
  ctx->have_ca = 1;
  ctx->wrapped = 1;
  return ctx;
}

int sslbio_ctx_role(const sslbio_ctx *ctx) {
  return sslbio__ctx_ok(ctx) ? ctx->role : SSLBIO_EINVAL;
}

int sslbio_ctx_get_verify(const sslbio_ctx *ctx) {
  return sslbio__ctx_ok(ctx) ? verify_mode_of(ctx->ssl_ctx) : SSLBIO_EINVAL;
}

/* Wipe and free the key password (OPENSSL_clear_free: the wipe is not
 * optimised away). */
static void forget_key_password(sslbio_ctx *ctx) {
  OPENSSL_clear_free(ctx->key_password, ctx->key_password_len);
  ctx->key_password = NULL;
  ctx->key_password_len = 0;
}

struct ssl_ctx_st *sslbio_ctx_openssl(const sslbio_ctx *ctx) {
  return sslbio__ctx_ok(ctx) ? ctx->ssl_ctx : NULL;
}

sslbio_ctx *sslbio_ctx_ref(sslbio_ctx *ctx) {
  if (!sslbio__ctx_ok(ctx))
    return NULL;
  atomic_fetch_add(&ctx->refs, 1);
  return ctx;
}

void sslbio_ctx_free(sslbio_ctx *ctx) {
  if (!sslbio__ctx_ok(ctx))
    return;
  if (atomic_fetch_sub(&ctx->refs, 1) != 1)
    return;
  ctx->magic = 0;
  SSL_CTX_free(ctx->ssl_ctx);
  forget_key_password(ctx);
  sslbio__tickets_free(ctx);
  free(ctx->alpn_wire);
  sslbio__session_cache_free(ctx);
  pthread_mutex_destroy(&ctx->lock);
  free(ctx);
}

const char *sslbio_ctx_error(const sslbio_ctx *ctx) {
  return sslbio__ctx_ok(ctx) ? ctx->error : "sslbio: invalid context";
}

/* A self-signed root at the end of our chain is dropped before the first
 * handshake: the peer must already trust it, so sending it only makes every
 * client parse one more certificate (RFC 8446 4.4.2 allows omitting it). */
static void drop_sent_root(sslbio_ctx *ctx) {
  STACK_OF(X509) *chain = NULL; /* borrowed from the SSL_CTX */
  if (!SSL_CTX_get0_chain_certs(ctx->ssl_ctx, &chain) || chain == NULL || sk_X509_num(chain) == 0)
    return;
  X509 *last = sk_X509_value(chain, sk_X509_num(chain) - 1);
  if (!(X509_get_extension_flags(last) & EXFLAG_SS))
    return;
  STACK_OF(X509) *shorter = X509_chain_up_ref(chain); /* ours: one reference per cert */
  if (shorter == NULL)
    return;
  X509_free(sk_X509_pop(shorter));
  if (!SSL_CTX_set0_chain(ctx->ssl_ctx, shorter)) /* takes shorter on success */
    sk_X509_pop_free(shorter, X509_free);
}

int sslbio__ctx_freeze(sslbio_ctx *ctx) {
  if (atomic_load_explicit(&ctx->frozen, memory_order_acquire))
    return SSLBIO_OK;
  int status = SSLBIO_OK;
  pthread_mutex_lock(&ctx->lock);
  if (!atomic_load(&ctx->frozen)) {
    if (ctx->role == SSLBIO_CLIENT && ctx->verify_mode != SSLBIO_VERIFY_NONE && !ctx->have_ca) {
      ERR_clear_error();
      if (!SSL_CTX_set_default_verify_paths(ctx->ssl_ctx))
        status = openssl_failed(ctx, "loading the system CA store");
    }
    if (!ctx->wrapped)
      drop_sent_root(ctx);
    sslbio__verify_freeze(ctx);
    sslbio__clear_queue();
    if (status == SSLBIO_OK)
      atomic_store_explicit(&ctx->frozen, 1, memory_order_release);
  }
  pthread_mutex_unlock(&ctx->lock);
  return status;
}

/* ---- certificates and keys ---- */

/* pem_password_cb for encrypted keys: the context's password, if set.
 * Installed on every context the engine makes (sslbio__ctx_passwords), so
 * an encrypted key without a password fails with an error instead of
 * OpenSSL's default, a prompt on the terminal that would block. */
static int key_password_cb(char *buf, int size, int rwflag, void *user) {
  (void)rwflag;
  const sslbio_ctx *ctx = user;
  if (ctx->key_password == NULL || size <= 0 || ctx->key_password_len > (size_t)size)
    return -1;
  memcpy(buf, ctx->key_password, ctx->key_password_len);
  return (int)ctx->key_password_len;
}

void sslbio__ctx_passwords(sslbio_ctx *ctx) {
  SSL_CTX_set_default_passwd_cb(ctx->ssl_ctx, key_password_cb);
  SSL_CTX_set_default_passwd_cb_userdata(ctx->ssl_ctx, ctx);
}

int sslbio_ctx_set_key_password(sslbio_ctx *ctx, const void *password, size_t len) {
  int st = sslbio__setter_begin(ctx, "key password", 1);
  if (st != SSLBIO_OK)
    return st;
  forget_key_password(ctx);
  if (password == NULL)
    return SSLBIO_OK;
  ctx->key_password = OPENSSL_malloc(len ? len : 1);
  if (ctx->key_password == NULL) {
    sslbio__ctx_set_error(ctx, "sslbio: key password: out of memory");
    return SSLBIO_ENOMEM;
  }
  memcpy(ctx->key_password, password, len);
  ctx->key_password_len = len;
  return SSLBIO_OK;
}

int sslbio_ctx_use_certificate_chain_file(sslbio_ctx *ctx, const char *path) {
  int st = sslbio__setter_begin(ctx, "certificate chain file", path != NULL);
  if (st != SSLBIO_OK)
    return st;
  if (SSL_CTX_use_certificate_chain_file(ctx->ssl_ctx, path) != 1)
    return openssl_failed(ctx, "certificate chain file");
  return SSLBIO_OK;
}

/* After a key is set: the key must match the certificate if one is set. */
static int check_key(sslbio_ctx *ctx, const char *what) {
  if (SSL_CTX_get0_certificate(ctx->ssl_ctx) != NULL && SSL_CTX_check_private_key(ctx->ssl_ctx) != 1)
    return openssl_failed(ctx, what);
  return SSLBIO_OK;
}

int sslbio_ctx_use_private_key_file(sslbio_ctx *ctx, const char *path) {
  int st = sslbio__setter_begin(ctx, "private key file", path != NULL);
  if (st != SSLBIO_OK)
    return st;
  if (SSL_CTX_use_PrivateKey_file(ctx->ssl_ctx, path, SSL_FILETYPE_PEM) != 1)
    return openssl_failed(ctx, "private key file");
  return check_key(ctx, "private key file");
}

/* A read-only memory BIO over pem; NULL (with ctx->error) if bad. The caller
 * frees it. */
static BIO *pem_bio(sslbio_ctx *ctx, const char *pem, size_t len, const char *what) {
  if (pem == NULL || len == 0 || len > 0x7fffffff) {
    sslbio__ctx_set_error(ctx, "sslbio: %s: empty or oversized PEM", what);
    return NULL;
  }
  BIO *bio = BIO_new_mem_buf(pem, (int)len);
  if (bio == NULL)
    openssl_failed(ctx, what);
  return bio;
}

/* PEM_read_bio_X509 ends a list with a "no start line" error: not a failure. */
static void forget_end_of_pem(void) {
  unsigned long last = ERR_peek_last_error();
  if (ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE)
    ERR_clear_error();
}

int sslbio_ctx_use_certificate_chain_pem(sslbio_ctx *ctx, const char *pem, size_t len) {
  const char *what = "certificate chain PEM";
  int st = sslbio__setter_begin(ctx, what, 1);
  if (st != SSLBIO_OK)
    return st;
  BIO *bio = pem_bio(ctx, pem, len, what);
  if (bio == NULL)
    return SSLBIO_EINVAL;
  X509 *leaf = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL);
  if (leaf == NULL || SSL_CTX_use_certificate(ctx->ssl_ctx, leaf) != 1) {
    X509_free(leaf);
    BIO_free(bio);
    return openssl_failed(ctx, what);
  }
  X509_free(leaf); /* SSL_CTX_use_certificate took its own reference */
  SSL_CTX_clear_chain_certs(ctx->ssl_ctx);
  X509 *ca;
  while ((ca = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
    if (SSL_CTX_add0_chain_cert(ctx->ssl_ctx, ca) != 1) { /* add0: owns ca on success */
      X509_free(ca);
      BIO_free(bio);
      return openssl_failed(ctx, what);
    }
  }
  BIO_free(bio);
  forget_end_of_pem();
  if (ERR_peek_error() != 0)
    return openssl_failed(ctx, what);
  return SSLBIO_OK;
}

int sslbio_ctx_use_private_key_pem(sslbio_ctx *ctx, const char *pem, size_t len) {
  const char *what = "private key PEM";
  int st = sslbio__setter_begin(ctx, what, 1);
  if (st != SSLBIO_OK)
    return st;
  BIO *bio = pem_bio(ctx, pem, len, what);
  if (bio == NULL)
    return SSLBIO_EINVAL;
  EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, SSL_CTX_get_default_passwd_cb(ctx->ssl_ctx),
                                          SSL_CTX_get_default_passwd_cb_userdata(ctx->ssl_ctx));
  BIO_free(bio);
  if (key == NULL || SSL_CTX_use_PrivateKey(ctx->ssl_ctx, key) != 1) {
    EVP_PKEY_free(key);
    return openssl_failed(ctx, what);
  }
  EVP_PKEY_free(key); /* SSL_CTX_use_PrivateKey took its own reference */
  return check_key(ctx, what);
}

/* ---- trust and verification ---- */

int sslbio_ctx_load_verify_file(sslbio_ctx *ctx, const char *path) {
  int st = sslbio__setter_begin(ctx, "CA file", path != NULL);
  if (st != SSLBIO_OK)
    return st;
  if (SSL_CTX_load_verify_locations(ctx->ssl_ctx, path, NULL) != 1)
    return openssl_failed(ctx, "CA file");
  ctx->have_ca = 1;
  return SSLBIO_OK;
}

int sslbio_ctx_load_verify_pem(sslbio_ctx *ctx, const char *pem, size_t len) {
  const char *what = "CA PEM";
  int st = sslbio__setter_begin(ctx, what, 1);
  if (st != SSLBIO_OK)
    return st;
  BIO *bio = pem_bio(ctx, pem, len, what);
  if (bio == NULL)
    return SSLBIO_EINVAL;
  X509_STORE *store = SSL_CTX_get_cert_store(ctx->ssl_ctx); /* borrowed */
  int added = 0;
  X509 *ca;
  while ((ca = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
    int ok = X509_STORE_add_cert(store, ca); /* takes its own reference */
    X509_free(ca);
    if (!ok) {
      BIO_free(bio);
      return openssl_failed(ctx, what);
    }
    added++;
  }
  BIO_free(bio);
  forget_end_of_pem();
  if (added == 0 || ERR_peek_error() != 0) {
    if (ERR_peek_error() == 0)
      sslbio__ctx_set_error(ctx, "sslbio: %s: no certificate found", what);
    else
      openssl_failed(ctx, what);
    return SSLBIO_ERROR;
  }
  ctx->have_ca = 1;
  return SSLBIO_OK;
}

int sslbio_ctx_set_verify(sslbio_ctx *ctx, int mode) {
  int st = sslbio__setter_begin(ctx, "verify mode", 1);
  if (st != SSLBIO_OK)
    return st;
  int flags;
  switch (mode) {
  case SSLBIO_VERIFY_NONE: flags = SSL_VERIFY_NONE; break;
  case SSLBIO_VERIFY_PEER: flags = SSL_VERIFY_PEER; break;
  case SSLBIO_VERIFY_REQUIRE_PEER: flags = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT; break;
  default:
    sslbio__ctx_set_error(ctx, "sslbio: verify mode: unknown mode %d", mode);
    return SSLBIO_EINVAL;
  }
  SSL_CTX_set_verify(ctx->ssl_ctx, flags, NULL);
  ctx->verify_mode = mode;
  return SSLBIO_OK;
}

int sslbio_ctx_set_check_hostname(sslbio_ctx *ctx, int on) {
  int st = sslbio__setter_begin(ctx, "check hostname", 1);
  if (st != SSLBIO_OK)
    return st;
  ctx->no_check_hostname = !on;
  return SSLBIO_OK;
}

int sslbio_ctx_set_ragged_eof(sslbio_ctx *ctx, int allow) {
  int st = sslbio__setter_begin(ctx, "ragged EOF", 1);
  if (st != SSLBIO_OK)
    return st;
  ctx->allow_ragged_eof = allow != 0;
  return SSLBIO_OK;
}

/* ---- protocol choices ---- */

int sslbio_ctx_set_versions(sslbio_ctx *ctx, int min_version, int max_version) {
  int st = sslbio__setter_begin(ctx, "versions", 1);
  if (st != SSLBIO_OK)
    return st;
  if ((min_version != 0 && min_version < TLS1_2_VERSION) ||
      (max_version != 0 && max_version < TLS1_2_VERSION) ||
      (min_version != 0 && max_version != 0 && min_version > max_version)) {
    sslbio__ctx_set_error(ctx, "sslbio: versions: 0x%04x..0x%04x refused (TLS 1.2 is the minimum)",
                          min_version, max_version);
    return SSLBIO_EINVAL;
  }
  if (!SSL_CTX_set_min_proto_version(ctx->ssl_ctx, min_version ? min_version : TLS1_2_VERSION) ||
      !SSL_CTX_set_max_proto_version(ctx->ssl_ctx, max_version))
    return openssl_failed(ctx, "versions");
  return SSLBIO_OK;
}

int sslbio_ctx_set_ciphers(sslbio_ctx *ctx, const char *tls12_list, const char *tls13_suites) {
  int st = sslbio__setter_begin(ctx, "ciphers", 1);
  if (st != SSLBIO_OK)
    return st;
  if (tls12_list != NULL && SSL_CTX_set_cipher_list(ctx->ssl_ctx, tls12_list) != 1)
    return openssl_failed(ctx, "TLS 1.2 cipher list");
  if (tls13_suites != NULL && SSL_CTX_set_ciphersuites(ctx->ssl_ctx, tls13_suites) != 1)
    return openssl_failed(ctx, "TLS 1.3 cipher suites");
  return SSLBIO_OK;
}
