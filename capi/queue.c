/* The engine's BIO pair: two byte queues between the SSL object and the
 * application — `in` (ciphertext fed, read by the SSL) and `out` (written
 * by the SSL, drained). It behaves like OpenSSL's BIO_new_bio_pair with two
 * differences that matter here:
 *  - a queue's buffer is allocated when bytes arrive and released as soon
 *    as it is empty, so an idle connection holds no buffer at all (OpenSSL's
 *    pair keeps both halves allocated for the connection's life);
 *  - each queue is one linear buffer, so the zero-copy regions handed to
 *    the application are always contiguous.
 * The SSL owns the BIO; the queues live in the conn. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>

#include "engine_internal.h"

static BIO_METHOD *queue_method;
static pthread_once_t queue_method_once = PTHREAD_ONCE_INIT;

/* ---- buffers ----
 * Queues release their buffer whenever they empty, which in a ping-pong
 * happens on every message. A few buffers are kept per thread, so that
 * cycle costs no malloc/free; the cache is bounded (CACHE_SLOTS buffers per
 * thread) and freed when the thread exits. */
#define CACHE_SLOTS 4
/* Standard buffer size of both queues; `out` may grow past it by one record. */
#define QUEUE_CAP (SSLBIO__IN_CAP > SSLBIO__OUT_CAP ? SSLBIO__IN_CAP : SSLBIO__OUT_CAP)

typedef struct buf_cache {
  int n;
  unsigned char *bufs[CACHE_SLOTS];
} buf_cache;

static pthread_key_t cache_key;
static pthread_once_t cache_key_once = PTHREAD_ONCE_INIT;
static __thread buf_cache *thread_cache;

static void cache_destroy(void *p) {
  buf_cache *c = p;
  for (int i = 0; i < c->n; i++)
    free(c->bufs[i]);
  free(c);
  thread_cache = NULL;
}

static void make_cache_key(void) { pthread_key_create(&cache_key, cache_destroy); }

/* The calling thread's cache, created on first use; NULL if out of memory. */
static buf_cache *my_cache(void) {
  if (thread_cache == NULL) {
    pthread_once(&cache_key_once, make_cache_key);
    buf_cache *c = calloc(1, sizeof(*c));
    if (c == NULL || pthread_setspecific(cache_key, c) != 0) {
      free(c);
      return NULL;
    }
    thread_cache = c;
  }
  return thread_cache;
}

/* A buffer of QUEUE_CAP bytes, owned by the caller; NULL if out of memory. */
static unsigned char *buf_get(void) {
  buf_cache *c = my_cache();
  if (c != NULL && c->n > 0)
    return c->bufs[--c->n];
  return malloc(QUEUE_CAP);
}

/* Give a buffer from buf_get back (NULL is fine). */
static void buf_put(unsigned char *buf) {
  if (buf == NULL)
    return;
  buf_cache *c = my_cache();
  if (c != NULL && c->n < CACHE_SLOTS)
    c->bufs[c->n++] = buf;
  else
    free(buf);
}

/* ---- one queue ---- */

/* Give q's buffer back (standard ones to the cache). */
static void q_release(sslbio__queue *q) {
  if (q->cap == QUEUE_CAP)
    buf_put(q->buf);
  else
    free(q->buf);
  q->buf = NULL;
  q->cap = q->start = q->len = 0;
}

/* Make sure q has a buffer with room at its end; returns the contiguous
 * room (0 when full) or -1 when memory ran out. */
static long q_room(sslbio__queue *q) {
  if (q->buf == NULL) {
    q->buf = buf_get();
    if (q->buf == NULL)
      return -1;
    q->cap = QUEUE_CAP;
    q->start = q->len = 0;
  }
  if (q->start > 0 && q->start + q->len == q->cap) { /* slide the data down */
    memmove(q->buf, q->buf + q->start, q->len);
    q->start = 0;
  }
  return (long)(q->cap - q->start - q->len);
}

/* Append all n bytes, growing the buffer past the standard capacity if
 * needed; 0 when memory ran out. */
static int q_append_all(sslbio__queue *q, const char *data, size_t n) {
  long room = q_room(q);
  if (room < 0)
    return 0;
  if ((size_t)room < n) {
    if (q->cap - q->len >= n) { /* enough room once the data slides down */
      memmove(q->buf, q->buf + q->start, q->len);
      q->start = 0;
    } else {
      unsigned char *bigger = malloc(q->len + n);
      if (bigger == NULL)
        return 0;
      memcpy(bigger, q->buf + q->start, q->len);
      size_t len = q->len;
      q_release(q);
      q->buf = bigger;
      q->cap = len + n;
      q->len = len;
    }
  }
  memcpy(q->buf + q->start + q->len, data, n);
  q->len += n;
  return 1;
}

static void q_consume(sslbio__queue *q, size_t n) {
  q->start += n;
  q->len -= n;
  if (q->len == 0)
    q_release(q); /* idle connections hold no buffer */
}

/* ---- the BIO the SSL reads and writes ---- */

static int queue_read(BIO *bio, char *buf, size_t size, size_t *readbytes) {
  sslbio_conn *conn = BIO_get_data(bio);
  sslbio__queue *q = &conn->in;
  BIO_clear_retry_flags(bio);
  if (q->len == 0) {
    if (!q->eof)
      BIO_set_retry_read(bio); /* would block: feed more */
    *readbytes = 0;
    return 0; /* without the retry flag: EOF */
  }
  size_t n = size < q->len ? size : q->len;
  memcpy(buf, q->buf + q->start, n);
  q_consume(q, n);
  *readbytes = n;
  return 1;
}

/* The SSL's writes are always taken whole: a record half in the queue and
 * half in the SSL's buffer would make SSL_write report WANT_WRITE after it
 * consumed plaintext, breaking "WANT_WRITE means nothing was taken" (rule
 * 4). Instead sslbio__do_write refuses to start a record while `out` holds
 * SSLBIO__OUT_CAP bytes, which bounds the queue to that plus one record. */
static int queue_write(BIO *bio, const char *buf, size_t size, size_t *written) {
  sslbio_conn *conn = BIO_get_data(bio);
  BIO_clear_retry_flags(bio);
  *written = 0;
  if (!q_append_all(&conn->out, buf, size))
    return -1;
  *written = size;
  return 1;
}

static long queue_ctrl(BIO *bio, int cmd, long num, void *ptr) {
  (void)num, (void)ptr;
  const sslbio_conn *conn = BIO_get_data(bio);
  switch (cmd) {
  case BIO_CTRL_FLUSH:
    return 1;
  case BIO_CTRL_PENDING: /* readable by the SSL */
    return (long)conn->in.len;
  case BIO_CTRL_WPENDING: /* written by the SSL, not drained */
    return (long)conn->out.len;
  case BIO_CTRL_EOF:
    return conn->in.eof && conn->in.len == 0;
  default:
    return 0;
  }
}

static int queue_create(BIO *bio) {
  BIO_set_init(bio, 1);
  return 1;
}

static void make_queue_method(void) {
  BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sslbio queue");
  if (m == NULL)
    return;
  if (!BIO_meth_set_read_ex(m, queue_read) || !BIO_meth_set_write_ex(m, queue_write) ||
      !BIO_meth_set_ctrl(m, queue_ctrl) || !BIO_meth_set_create(m, queue_create)) {
    BIO_meth_free(m);
    return;
  }
  queue_method = m; /* process lifetime: shared by every engine */
}

int sslbio__queues_attach(sslbio_conn *conn) {
  pthread_once(&queue_method_once, make_queue_method);
  if (queue_method == NULL)
    return 0;
  BIO *bio = BIO_new(queue_method);
  if (bio == NULL)
    return 0;
  BIO_set_data(bio, conn);
  SSL_set_bio(conn->ssl, bio, bio); /* the SSL owns the BIO (one reference) */
  return 1;
}

/* ---- what the network side sees ---- */

long sslbio__in_room(sslbio_conn *conn, unsigned char **at) {
  long room = q_room(&conn->in);
  *at = room > 0 ? conn->in.buf + conn->in.start + conn->in.len : NULL;
  return room;
}

void sslbio__in_commit(sslbio_conn *conn, size_t n) {
  conn->in.len += n;
  if (n > 0)
    conn->starved = 0; /* new bytes: the handshake may go on (conn.c, wants) */
}

size_t sslbio__out_data(const sslbio_conn *conn, const unsigned char **at) {
  size_t n = sslbio__out_ready(conn);
  *at = n ? conn->out.buf + conn->out.start : NULL;
  return n;
}

void sslbio__out_consume(sslbio_conn *conn, size_t n) { q_consume(&conn->out, n); }

int sslbio__out_put(sslbio_conn *conn, const void *p, size_t n) { return q_append_all(&conn->out, p, n); }

void sslbio__release_idle(sslbio_conn *conn) {
  if (conn->in.len == 0 && conn->in.buf != NULL)
    q_release(&conn->in);
  if (conn->out.len == 0 && conn->out.buf != NULL)
    q_release(&conn->out);
}

void sslbio__queues_reset(sslbio_conn *conn) {
  q_release(&conn->in);
  q_release(&conn->out);
  conn->in.eof = 0;
}
