/* Sessions for resumption, moved between engines, processes and languages
 * as DER — and a small per-context cache that makes the common in-process
 * round trip (export, then import into the next engine) skip
 * d2i_SSL_SESSION, which re-parses the peer certificate through OpenSSL
 * 3.0's decoders (~25% of a resumed handshake). */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "engine_internal.h"

#define CACHE_SLOTS 32

typedef struct cache_slot {
  unsigned char *der; /* owned copy */
  size_t len;
  uint64_t hash;
  SSL_SESSION *sess; /* owned private copy, never handed to an SSL */
} cache_slot;

struct sslbio__session_cache {
  int next; /* slot to overwrite next (round robin) */
  cache_slot slots[CACHE_SLOTS];
};

static uint64_t fnv1a(const unsigned char *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

/* Remember that der encodes sess. The cache keeps a private copy: OpenSSL
 * mutates the session an SSL uses (SSL_free without close_notify marks it
 * not resumable), so no SSL ever gets the cached object itself. Best
 * effort: nothing happens when memory is short. Any thread. */
static void cache_put(sslbio_ctx *ctx, const unsigned char *der, size_t len, SSL_SESSION *sess) {
  uint64_t hash = fnv1a(der, len);
  unsigned char *copy = malloc(len);
  SSL_SESSION *own = SSL_SESSION_dup(sess); /* ours: up-refs the certificates, no parsing */
  if (copy == NULL || own == NULL) {
    free(copy);
    SSL_SESSION_free(own);
    return;
  }
  memcpy(copy, der, len);
  pthread_mutex_lock(&ctx->lock);
  if (ctx->sessions == NULL)
    ctx->sessions = calloc(1, sizeof(*ctx->sessions));
  struct sslbio__session_cache *c = ctx->sessions;
  if (c == NULL) {
    pthread_mutex_unlock(&ctx->lock);
    free(copy);
    SSL_SESSION_free(own);
    return;
  }
  cache_slot *slot = &c->slots[c->next];
  c->next = (c->next + 1) % CACHE_SLOTS;
  free(slot->der);
  SSL_SESSION_free(slot->sess);
  *slot = (cache_slot){.der = copy, .len = len, .hash = hash, .sess = own};
  pthread_mutex_unlock(&ctx->lock);
}

/* A new copy of the session der encodes if this context exported it
 * lately (owned by the caller); NULL otherwise. Any thread. */
static SSL_SESSION *cache_get(sslbio_ctx *ctx, const unsigned char *der, size_t len) {
  uint64_t hash = fnv1a(der, len);
  SSL_SESSION *found = NULL;
  pthread_mutex_lock(&ctx->lock);
  struct sslbio__session_cache *c = ctx->sessions;
  for (int i = 0; c != NULL && i < CACHE_SLOTS && found == NULL; i++) {
    cache_slot *s = &c->slots[i];
    if (s->der != NULL && s->hash == hash && s->len == len && memcmp(s->der, der, len) == 0)
      found = SSL_SESSION_dup(s->sess);
  }
  pthread_mutex_unlock(&ctx->lock);
  return found;
}

void sslbio__session_cache_free(sslbio_ctx *ctx) {
  struct sslbio__session_cache *c = ctx->sessions;
  if (c == NULL)
    return;
  for (int i = 0; i < CACHE_SLOTS; i++) {
    free(c->slots[i].der);
    SSL_SESSION_free(c->slots[i].sess);
  }
  free(c);
  ctx->sessions = NULL;
}

long sslbio_conn_session(const sslbio_conn *conn, void *der, size_t cap) {
  if (!sslbio__conn_ok(conn) || (der == NULL && cap > 0))
    return SSLBIO_EINVAL;
  /* OpenSSL calls a TLS 1.2 session resumable before the handshake ends
   * (even one that then fails): only a finished handshake's is exported. */
  if (!conn->handshake_done || conn->dead)
    return 0;
  SSL_SESSION *sess = SSL_get1_session(conn->ssl); /* our reference */
  if (sess == NULL)
    return 0;
  long len = 0;
  /* OpenSSL records the server name in a client session only when the
   * server acknowledged SNI (and never for an IP address), so stamp the name
   * this client verified into the exported copy: set_session compares it. */
  if (SSL_SESSION_is_resumable(sess) && conn->role == SSLBIO_CLIENT &&
      conn->server_name != NULL && SSL_SESSION_get0_hostname(sess) == NULL) {
    SSL_SESSION *named = SSL_SESSION_dup(sess); /* ours; replaces our reference */
    SSL_SESSION_free(sess);
    if (named == NULL || SSL_SESSION_set1_hostname(named, conn->server_name) != 1) {
      SSL_SESSION_free(named);
      sslbio__clear_queue();
      return SSLBIO_ENOMEM;
    }
    sess = named;
  }
  if (SSL_SESSION_is_resumable(sess)) {
    len = i2d_SSL_SESSION(sess, NULL);
    if (len <= 0) {
      len = SSLBIO_ENOMEM;
    } else if ((size_t)len <= cap) {
      unsigned char *p = der;
      i2d_SSL_SESSION(sess, &p);
      cache_put(conn->ctx, der, (size_t)len, sess);
    }
  }
  SSL_SESSION_free(sess);
  sslbio__clear_queue();
  return len;
}

/* Case-insensitive equality of two host names. */
static int same_host(const char *a, const char *b) {
  for (; *a && *b; a++, b++) {
    char x = *a >= 'A' && *a <= 'Z' ? *a + 32 : *a;
    char y = *b >= 'A' && *b <= 'Z' ? *b + 32 : *b;
    if (x != y)
      return 0;
  }
  return *a == *b;
}

int sslbio_conn_set_session(sslbio_conn *conn, const void *der, size_t len) {
  const char *op = "set session";
  if (!sslbio__conn_ok(conn))
    return SSLBIO_EINVAL;
  if (der == NULL || len == 0 || len > LONG_MAX)
    return sslbio__fail(conn, op, SSLBIO_EINVAL, SSLBIO_KIND_INVALID, "empty session");
  if (conn->role != SSLBIO_CLIENT || !SSL_in_before(conn->ssl))
    return sslbio__fail(conn, op, SSLBIO_EINVAL, SSLBIO_KIND_INVALID,
                        "sessions are set on a client before its handshake");
  sslbio__clear_queue();
  SSL_SESSION *sess = cache_get(conn->ctx, der, len); /* ours */
  if (sess == NULL) {
    const unsigned char *p = der;
    sess = d2i_SSL_SESSION(NULL, &p, (long)len);
  }
  if (sess == NULL) {
    sslbio__clear_queue();
    return sslbio__fail(conn, op, SSLBIO_EINVAL, SSLBIO_KIND_INVALID, "malformed session");
  }
  /* Resumption skips the certificate check, so the session must come from
   * a handshake with the same server name (sslbio_conn_session stamps it;
   * a session without one only goes to a client without one). */
  const char *issued_for = SSL_SESSION_get0_hostname(sess); /* borrowed */
  int ok = issued_for != NULL ? conn->server_name != NULL && same_host(issued_for, conn->server_name)
                              : conn->server_name == NULL;
  if (!ok) {
    /* format before freeing sess: issued_for points into it */
    int st = sslbio__fail(conn, op, SSLBIO_EINVAL, SSLBIO_KIND_INVALID,
                          "session was issued for server name \"%.64s\", not \"%.64s\"",
                          issued_for ? issued_for : "(none)",
                          conn->server_name ? conn->server_name : "(none)");
    SSL_SESSION_free(sess);
    return st;
  }
  int set = SSL_set_session(conn->ssl, sess); /* takes its own reference */
  SSL_SESSION_free(sess);
  if (set != 1) {
    sslbio__clear_queue();
    return sslbio__fail(conn, op, SSLBIO_EINVAL, SSLBIO_KIND_INVALID,
                        "session does not fit this context");
  }
  return SSLBIO_OK;
}

