/* Session ticket keys: every server context seals tickets through this
 * callback with keys of its own, so keys can be shared between contexts,
 * processes and faces, rotated while in use, and follow a ClientHello
 * context switch (the conn's current context decides). The keys hang on
 * the SSL_CTX (ex_data, freed with it), so an SSL made directly on
 * sslbio_ctx_openssl's SSL_CTX uses them too, even after the sslbio_ctx
 * is gone. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "engine_internal.h"

#define SSLBIO__TICKET_SECRET 32

/* One key, derived from its 32-byte secret: the name that goes into each
 * ticket, the AES-256-CBC key and the HMAC-SHA256 key (RFC 5077 4's
 * recommended construction). */
typedef struct ticket_key {
  unsigned char name[16];
  unsigned char aes[32];
  unsigned char hmac[32];
} ticket_key;

struct sslbio__ticket_keys {
  pthread_mutex_t lock; /* set_ticket_keys may run while handshakes use them */
  ticket_key *keys;     /* owned, wiped on free */
  size_t n;
};

/* SHA-256(label || secret) into out (32 bytes); 0 on failure. */
static int derive(const char *label, const unsigned char *secret, unsigned char *out) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
           EVP_DigestUpdate(md, label, strlen(label)) &&
           EVP_DigestUpdate(md, secret, SSLBIO__TICKET_SECRET) &&
           EVP_DigestFinal_ex(md, out, NULL);
  EVP_MD_CTX_free(md);
  return ok;
}

/* Wipe and free n keys (calloc'ed: the engine's allocations go through
 * the fault-injection wrappers of the tests). */
static void forget(ticket_key *keys, size_t n) {
  if (keys != NULL)
    OPENSSL_cleanse(keys, n * sizeof(*keys));
  free(keys);
}

/* Keys derived from n secrets, in a new array the caller owns (forget);
 * NULL on failure. */
static ticket_key *derive_keys(const unsigned char *secrets, size_t n) {
  ticket_key *keys = calloc(n, sizeof(*keys));
  if (keys == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    const unsigned char *s = secrets + i * SSLBIO__TICKET_SECRET;
    unsigned char name[32];
    if (!derive("sslbio ticket name", s, name) || !derive("sslbio ticket aes", s, keys[i].aes) ||
        !derive("sslbio ticket hmac", s, keys[i].hmac)) {
      forget(keys, n);
      return NULL;
    }
    memcpy(keys[i].name, name, sizeof(keys[i].name));
  }
  return keys;
}

/* Cipher and MAC set up with key k; 1 on success. */
static int use_key(const ticket_key *k, unsigned char *iv, EVP_CIPHER_CTX *cipher,
                   EVP_MAC_CTX *mac, int enc) {
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)k->hmac, sizeof(k->hmac)),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
      OSSL_PARAM_construct_end(),
  };
  return EVP_CipherInit_ex(cipher, EVP_aes_256_cbc(), NULL, k->aes, iv, enc) == 1 &&
         EVP_MAC_CTX_set_params(mac, params) == 1;
}

/* OpenSSL's ticket callback (SSL_CTX_set_tlsext_ticket_key_evp_cb):
 * sealing uses the first key; opening finds the key by name: 1 opened by
 * the first, 2 by another (OpenSSL then issues a fresh ticket), 0 no key
 * (a full handshake), -1 an error. */
static int keys_index = -1;
static pthread_once_t keys_index_once = PTHREAD_ONCE_INIT;

static void free_keys(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                      void *argp);

static void make_keys_index(void) {
  keys_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, free_keys);
}

/* The keys of an SSL_CTX the engine set up, NULL for any other. */
static struct sslbio__ticket_keys *keys_of(const SSL_CTX *ssl_ctx) {
  return keys_index >= 0 && ssl_ctx != NULL ? SSL_CTX_get_ex_data(ssl_ctx, keys_index) : NULL;
}

static int ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv,
                     EVP_CIPHER_CTX *cipher, EVP_MAC_CTX *mac, int enc) {
  sslbio_conn *conn = sslbio__conn_of(ssl);
  struct sslbio__ticket_keys *t =
      keys_of(conn != NULL ? conn->ctx->ssl_ctx : SSL_get_SSL_CTX(ssl));
  if (t == NULL) /* a context switched to a wrapped SSL_CTX: no ticket */
    return 0;
  /* A TLS 1.2 server seals its ticket in the flight that ends the
   * handshake, before a deferred verify decision: no ticket then (an empty
   * one goes out), or a client the application refuses could resume past
   * it. (TLS 1.3 tickets wait for the answer: verify.c.) */
  if (enc && conn != NULL && conn->verify_state == SSLBIO__VERIFY_PENDING)
    return 0;
  int ret = enc ? -1 : 0;
  pthread_mutex_lock(&t->lock);
  if (enc) {
    if (t->n > 0 && RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) == 1 &&
        use_key(&t->keys[0], iv, cipher, mac, 1)) {
      memcpy(name, t->keys[0].name, sizeof(t->keys[0].name));
      ret = 1;
    }
  } else {
    for (size_t i = 0; i < t->n; i++) {
      if (memcmp(name, t->keys[i].name, sizeof(t->keys[i].name)) == 0) {
        ret = use_key(&t->keys[i], iv, cipher, mac, 0) ? (i == 0 ? 1 : 2) : -1;
        break;
      }
    }
  }
  pthread_mutex_unlock(&t->lock);
  return ret;
}

/* Replace ctx's keys (the lock held by the caller when in use). */
static int install(struct sslbio__ticket_keys *t, const unsigned char *secrets, size_t n) {
  ticket_key *keys = derive_keys(secrets, n);
  if (keys == NULL)
    return 0;
  forget(t->keys, t->n);
  t->keys = keys;
  t->n = n;
  return 1;
}

static void destroy(struct sslbio__ticket_keys *t) {
  forget(t->keys, t->n);
  pthread_mutex_destroy(&t->lock);
  free(t);
}

/* SSL_CTX ex_data free callback: the keys end with their SSL_CTX. */
static void free_keys(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                      void *argp) {
  (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
  if (ptr != NULL)
    destroy(ptr);
}

int sslbio__tickets_init(sslbio_ctx *ctx) {
  pthread_once(&keys_index_once, make_keys_index);
  unsigned char secret[SSLBIO__TICKET_SECRET];
  struct sslbio__ticket_keys *t = calloc(1, sizeof(*t));
  if (t == NULL || keys_index < 0) {
    free(t);
    return 0;
  }
  pthread_mutex_init(&t->lock, NULL);
  int ok = RAND_bytes(secret, sizeof(secret)) == 1 && install(t, secret, 1) &&
           SSL_CTX_set_ex_data(ctx->ssl_ctx, keys_index, t) == 1; /* owns t from here */
  OPENSSL_cleanse(secret, sizeof(secret));
  if (!ok) {
    destroy(t);
    sslbio__clear_queue();
    return 0;
  }
  ctx->tickets = t; /* borrowed: valid while ctx holds its SSL_CTX */
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx->ssl_ctx, ticket_cb);
  return 1;
}

void sslbio__tickets_free(sslbio_ctx *ctx) {
  ctx->tickets = NULL; /* freed with the SSL_CTX (free_keys) */
}

int sslbio_ctx_set_ticket_keys(sslbio_ctx *ctx, const void *keys, size_t len) {
  if (!sslbio__ctx_ok(ctx))
    return SSLBIO_EINVAL;
  if (ctx->role != SSLBIO_SERVER || ctx->tickets == NULL || keys == NULL || len == 0 ||
      len % SSLBIO__TICKET_SECRET != 0) {
    /* Unlike the other setters this one runs on shared contexts: the
     * message goes to ctx->error under the lock. */
    pthread_mutex_lock(&ctx->lock);
    sslbio__ctx_set_error(ctx, "sslbio: ticket keys: %s",
                          ctx->role != SSLBIO_SERVER ? "a server setting"
                          : ctx->tickets == NULL     ? "not for a wrapped SSL_CTX"
                                                     : "a positive multiple of 32 bytes needed");
    pthread_mutex_unlock(&ctx->lock);
    return SSLBIO_EINVAL;
  }
  pthread_mutex_lock(&ctx->tickets->lock);
  int ok = install(ctx->tickets, keys, len / SSLBIO__TICKET_SECRET);
  pthread_mutex_unlock(&ctx->tickets->lock);
  sslbio__clear_queue();
  return ok ? SSLBIO_OK : SSLBIO_ENOMEM;
}
