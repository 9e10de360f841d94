/* Rule 1, error queue discipline, through the C API: a stale entry pushed
 * on the thread before a call never surfaces; threads sharing one context
 * (one failing verification in a loop) never see each other's errors. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "t.h"

/* A reason no sslbio operation produces: ERR_LIB_USER, reason 77. */
static void push_stale(void) { ERR_raise_data(ERR_LIB_USER, 77, "stale entry from the caller"); }

static int is_stale(unsigned long code) {
  return ERR_GET_LIB(code) == ERR_LIB_USER && ERR_GET_REASON(code) == 77;
}

static void test_stale_entry_never_surfaces(void) {
  sslbio_ctx *c = t_client_ctx("ca.pem"), *s = t_server_ctx();
  REQUIRE(c && s);
  t_link l;
  REQUIRE(t_link_init(&l, c, s, "localhost"));
  /* a stale entry before every call of a whole connection */
  int cst = SSLBIO_WANT_READ, sst = SSLBIO_WANT_READ;
  for (int i = 0; i < 20 && (cst != SSLBIO_OK || sst != SSLBIO_OK); i++) {
    push_stale();
    if (cst != SSLBIO_OK)
      cst = sslbio_conn_handshake(l.c);
    push_stale();
    if (sst != SSLBIO_OK)
      sst = sslbio_conn_handshake(l.s);
    push_stale();
    t_pump(&l);
  }
  CHECK_ST(l.c, cst, SSLBIO_OK);
  CHECK_ST(l.s, sst, SSLBIO_OK);
  push_stale();
  CHECK_EQ(sslbio_conn_write(l.c, "data", 4), 4);
  push_stale();
  t_pump(&l);
  char buf[16];
  push_stale();
  CHECK_EQ(sslbio_conn_read(l.s, buf, sizeof(buf)), 4);
  push_stale();
  CHECK_ST(l.s, sslbio_conn_read(l.s, buf, sizeof(buf)), SSLBIO_WANT_READ);
  CHECK_EQ(sslbio_conn_error(l.s, NULL, 0), 0);
  CHECK_EQ(sslbio_conn_error_code(l.s), 0);
  push_stale();
  CHECK_ST(l.c, sslbio_conn_shutdown(l.c), SSLBIO_WANT_READ);
  t_pump(&l);
  push_stale();
  CHECK_ST(l.s, sslbio_conn_read(l.s, buf, sizeof(buf)), SSLBIO_CLOSED);
  CHECK_EQ(sslbio_conn_error(l.s, NULL, 0), 0);
  ERR_clear_error();
  t_link_free(&l);

  /* a real failure reports its own entries, not the stale one */
  sslbio_ctx *other = t_client_ctx("other-ca.pem");
  REQUIRE(t_link_init(&l, other, s, "localhost"));
  for (int i = 0; i < 10; i++) {
    push_stale();
    int st = sslbio_conn_handshake(l.c);
    if (st != SSLBIO_WANT_READ)
      break;
    push_stale();
    sslbio_conn_handshake(l.s);
    t_pump(&l);
  }
  CHECK_EQ(ERR_GET_REASON(sslbio_conn_error_code(l.c)), SSL_R_CERTIFICATE_VERIFY_FAILED);
  CHECK(!is_stale(sslbio_conn_error_code(l.c)));
  CHECK(strstr(t_errmsg(l.c), "stale") == NULL);
  /* the failing call leaves the thread's queue empty: the caller's next
   * OpenSSL call does not inherit the engine's error either */
  CHECK_EQ(ERR_peek_error(), 0);
  t_link_free(&l);

  /* a stale entry before a setter does not make it fail */
  sslbio_ctx *fresh = sslbio_ctx_new(SSLBIO_CLIENT);
  push_stale();
  CHECK_EQ(sslbio_ctx_load_verify_file(fresh, t_cert("ca.pem")), SSLBIO_OK);
  push_stale();
  sslbio_conn *e = sslbio_conn_new(fresh, "localhost");
  CHECK(e != NULL);
  CHECK_EQ(ERR_peek_error(), 0);
  sslbio_conn_free(e);
  sslbio_ctx_free(fresh);
  sslbio_ctx_free(other);
  sslbio_ctx_free(c);
  sslbio_ctx_free(s);
}

/* ---- threads sharing contexts ---- */

static sslbio_ctx *shared_server, *shared_good_client, *bad_client;
static atomic_int stop_flag;

enum role { GOOD, BAD_CA, BAD_NAME, GARBAGE };
typedef struct worker {
  enum role role;
  int iterations, done;
  char first_problem[512];
} worker;

static void problem(worker *w, const char *what, const sslbio_conn *conn) {
  if (w->first_problem[0] == '\0')
    snprintf(w->first_problem, sizeof(w->first_problem), "%s [%s]", what, t_errmsg(conn));
}

/* One connection of the worker's kind; records the first unexpected thing. */
static void one_round(worker *w) {
  t_link l;
  sslbio_ctx *client = w->role == BAD_CA ? bad_client : shared_good_client;
  const char *name = w->role == BAD_NAME ? "wrong.example" : "localhost";
  if (!t_link_init(&l, client, shared_server, name)) {
    problem(w, "engine creation failed", NULL);
    t_link_free(&l);
    return;
  }
  if (w->role == GARBAGE) {
    static const char junk[] = "\x16\x03\x01\x00\x05garbage-that-is-not-tls";
    sslbio_conn_feed(l.s, junk, sizeof(junk) - 1);
    int st = sslbio_conn_handshake(l.s);
    if (st != SSLBIO_ERROR)
      problem(w, "garbage: handshake did not fail", l.s);
    unsigned long code = sslbio_conn_error_code(l.s);
    if (ERR_GET_LIB(code) != ERR_LIB_SSL || is_stale(code))
      problem(w, "garbage: unexpected error entry", l.s);
    if (sslbio_conn_verify_result(l.s) != X509_V_OK)
      problem(w, "garbage: a verify result leaked in", l.s);
  } else {
    int st = t_handshake(&l);
    if (w->role == GOOD) {
      if (st != SSLBIO_OK || sslbio_conn_error(l.c, NULL, 0) != 0 ||
          sslbio_conn_error(l.s, NULL, 0) != 0)
        problem(w, "good connection failed", st != SSLBIO_OK ? l.c : l.s);
      else if (!t_transfer(&l, l.c, l.s, 8192, 4096) || !t_transfer(&l, l.s, l.c, 8192, 4096))
        problem(w, "good transfer failed", l.c);
      else if (sslbio_conn_error_code(l.c) != 0 || sslbio_conn_error_code(l.s) != 0)
        problem(w, "good connection carries an error code", l.c);
    } else {
      long want = w->role == BAD_CA ? X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
                                    : X509_V_ERR_HOSTNAME_MISMATCH;
      long alt = w->role == BAD_CA ? X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY : want;
      long v = sslbio_conn_verify_result(l.c);
      if (l.cst != SSLBIO_ERROR || (v != want && v != alt))
        problem(w, "bad connection: wrong failure", l.c);
      if (ERR_GET_REASON(sslbio_conn_error_code(l.c)) != SSL_R_CERTIFICATE_VERIFY_FAILED)
        problem(w, "bad connection: wrong first entry", l.c);
      /* its server side sees the alert and nothing else */
      t_pump(&l);
      if (sslbio_conn_handshake(l.s) != SSLBIO_ERROR ||
          sslbio_conn_verify_result(l.s) != X509_V_OK ||
          strstr(t_errmsg(l.s), w->role == BAD_CA ? "unknown ca" : "bad certificate") == NULL)
        problem(w, "bad connection: server side", l.s);
    }
  }
  if (ERR_peek_error() != 0) {
    char e[256];
    ERR_error_string_n(ERR_peek_error(), e, sizeof(e));
    problem(w, e, NULL);
  }
  t_link_free(&l);
}

static void *worker_main(void *arg) {
  worker *w = arg;
  for (int i = 0; i < w->iterations && !atomic_load(&stop_flag); i++) {
    push_stale(); /* and one stale entry per round for good measure */
    one_round(w);
    ERR_clear_error();
    w->done++;
  }
  OPENSSL_thread_stop();
  return NULL;
}

static void test_threads_share_contexts(void) {
  shared_server = t_server_ctx();
  shared_good_client = t_client_ctx("ca.pem");
  bad_client = t_client_ctx("other-ca.pem");
  REQUIRE(shared_server && shared_good_client && bad_client);
  int n = t_slow() ? 8 : 60;
  worker w[6] = {
      {.role = GOOD, .iterations = n},   {.role = GOOD, .iterations = n},
      {.role = BAD_CA, .iterations = n}, {.role = BAD_NAME, .iterations = n},
      {.role = GARBAGE, .iterations = n * 4}, {.role = BAD_CA, .iterations = n},
  };
  pthread_t th[6];
  for (int i = 0; i < 6; i++)
    CHECK_EQ(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
  for (int i = 0; i < 6; i++)
    pthread_join(th[i], NULL);
  for (int i = 0; i < 6; i++) {
    CHECK_EQ(w[i].done, w[i].iterations);
    if (w[i].first_problem[0] != '\0')
      t_failf(__FILE__, __LINE__, "worker %d (role %d): %s", i, w[i].role, w[i].first_problem);
  }
  sslbio_ctx_free(shared_server);
  sslbio_ctx_free(shared_good_client);
  sslbio_ctx_free(bad_client);
}

/* One engine handed from thread to thread between calls (allowed: one
 * thread at a time): its error stays with the engine, not the thread. */
typedef struct hop {
  sslbio_conn *conn;
  int status;
} hop;

static void *hop_handshake(void *arg) {
  hop *h = arg;
  h->status = sslbio_conn_handshake(h->conn);
  OPENSSL_thread_stop();
  return NULL;
}

static void test_engine_moves_between_threads(void) {
  sslbio_ctx *bad = t_client_ctx("other-ca.pem"), *s = t_server_ctx();
  t_link l;
  REQUIRE(t_link_init(&l, bad, s, "localhost"));
  hop h = {.conn = l.c};
  for (int i = 0; i < 10; i++) {
    pthread_t th;
    pthread_create(&th, NULL, hop_handshake, &h);
    pthread_join(th, NULL);
    if (h.status != SSLBIO_WANT_READ)
      break;
    sslbio_conn_handshake(l.s);
    t_pump(&l);
  }
  CHECK_ST(l.c, h.status, SSLBIO_ERROR);
  /* read on the main thread: the error recorded on another thread is there */
  CHECK_EQ(ERR_GET_REASON(sslbio_conn_error_code(l.c)), SSL_R_CERTIFICATE_VERIFY_FAILED);
  CHECK_STR_HAS(t_errmsg(l.c), "certificate verify failed");
  CHECK_EQ(ERR_peek_error(), 0);
  t_link_free(&l);
  sslbio_ctx_free(bad);
  sslbio_ctx_free(s);
}

int main(void) {
  t_init("test_errqueue");
  T_RUN(test_stale_entry_never_surfaces);
  T_RUN(test_threads_share_contexts);
  T_RUN(test_engine_moves_between_threads);
  return t_done();
}
