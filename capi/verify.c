/* Custom and deferred verification: the application's callback decides,
 * after OpenSSL's own checks, and may defer the decision.
 *
 * A client defers inside OpenSSL (SSL_set_retry_verify: the handshake
 * stops with SSL_ERROR_WANT_RETRY_VERIFY and asks the callback again when it
 * goes on). OpenSSL 3.0 offers that to clients only, so a server lets
 * OpenSSL finish and holds the handshake's completion back itself: the
 * engine reports SSLBIO_WANT_VERIFY, releases no application data (reads
 * drive the handshake through SSL_do_handshake first), issues its TLS
 * 1.3 tickets only once the answer is yes and no TLS 1.2 ticket while it
 * waits (tickets.c), and on a no drops what it queued and the session. */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "engine_internal.h"

/* The answer as OpenSSL's verify callback wants it; a rejection where
 * OpenSSL had passed reads X509_V_ERR_APPLICATION_VERIFICATION. */
static int decide(X509_STORE_CTX *store, sslbio_conn *conn, int accept) {
  if (accept) {
    X509_STORE_CTX_set_error(store, X509_V_OK);
    return 1;
  }
  if (conn->verify_openssl == X509_V_OK)
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
  else
    X509_STORE_CTX_set_error(store, (int)conn->verify_openssl);
  return 0;
}

/* SSL_CTX_set_cert_verify_callback: replaces X509_verify_cert, which it
 * calls itself for OpenSSL's result. */
static int app_verify(X509_STORE_CTX *store, void *arg) {
  (void)arg;
  SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
  sslbio_conn *conn = sslbio__conn_of(ssl);
  if (conn == NULL || conn->ctx->verify_fn == NULL) /* not ours: OpenSSL alone */
    return X509_verify_cert(store);
  if (conn->verify_state == SSLBIO__VERIFY_ACCEPTED || conn->verify_state == SSLBIO__VERIFY_REJECTED)
    return decide(store, conn, conn->verify_state == SSLBIO__VERIFY_ACCEPTED);
  int ok = X509_verify_cert(store);
  long result = X509_STORE_CTX_get_error(store);
  if (ok <= 0 && result == X509_V_OK)
    result = X509_V_ERR_UNSPECIFIED;
  conn->verify_openssl = ok > 0 ? X509_V_OK : result;
  sslbio__clear_queue(); /* the callback decides; OpenSSL's complaint is in result */
  /* The chain as sent, readable from the callback on: OpenSSL stores a
   * server's only after, and a paused client's only once it goes on. */
  sslbio__verify_forget(conn);
  STACK_OF(X509) *sent = X509_STORE_CTX_get0_untrusted(store); /* borrowed */
  conn->verify_chain = sent != NULL ? X509_chain_up_ref(sent) : NULL;
  int answer = conn->ctx->verify_fn(conn->ctx->verify_user, conn, conn->verify_openssl);
  if (answer == SSLBIO_WANT_VERIFY) {
    conn->verify_state = SSLBIO__VERIFY_PENDING;
    if (conn->role == SSLBIO_CLIENT)
      SSL_set_retry_verify(ssl);
    X509_STORE_CTX_set_error(store, X509_V_OK); /* provisionally */
    return 1;
  }
  if (answer != 1 && answer != 0)
    snprintf(conn->verify_note, sizeof(conn->verify_note),
             "verify callback returned %d (neither 1, 0 nor SSLBIO_WANT_VERIFY): rejected",
             answer);
  else if (answer == 0)
    snprintf(conn->verify_note, sizeof(conn->verify_note), "rejected by the verify callback");
  conn->verify_state = answer == 1 ? SSLBIO__VERIFY_ACCEPTED : SSLBIO__VERIFY_REJECTED;
  return decide(store, conn, answer == 1);
}

int sslbio_ctx_set_verify_callback(sslbio_ctx *ctx, sslbio_verify_fn fn, void *user) {
  int st = sslbio__setter_begin(ctx, "verify callback", 1);
  if (st != SSLBIO_OK)
    return st;
  ctx->verify_fn = fn;
  ctx->verify_user = user;
  SSL_CTX_set_cert_verify_callback(ctx->ssl_ctx, fn ? app_verify : NULL, NULL);
  return SSLBIO_OK;
}

void sslbio__verify_freeze(sslbio_ctx *ctx) {
  if (ctx->verify_fn != NULL && ctx->role == SSLBIO_CLIENT)
    SSL_CTX_set_verify(ctx->ssl_ctx, SSL_VERIFY_PEER, NULL);
}

void sslbio__verify_forget(sslbio_conn *conn) {
  sk_X509_pop_free(conn->verify_chain, X509_free);
  conn->verify_chain = NULL;
}

void sslbio__verify_configure(sslbio_conn *conn) {
  sslbio__verify_forget(conn);
  conn->verify_state = SSLBIO__VERIFY_NONE;
  conn->verify_openssl = X509_V_OK;
  conn->verify_note[0] = '\0';
  conn->tickets_held = 0;
  if (conn->role != SSLBIO_SERVER)
    return;
  size_t tickets = SSL_CTX_get_num_tickets(conn->ctx->ssl_ctx);
  if (conn->ctx->verify_fn != NULL && tickets > 0) {
    conn->tickets_held = (int)tickets;
    SSL_set_num_tickets(conn->ssl, 0);
  } else {
    SSL_set_num_tickets(conn->ssl, tickets);
  }
}

/* Issue the TLS 1.3 tickets held back for the decision (queued by
 * SSL_new_session_ticket, written by the next SSL_do_handshake). */
static int release_tickets(sslbio_conn *conn) {
  int n = conn->tickets_held;
  conn->tickets_held = 0;
  if (n == 0 || SSL_version(conn->ssl) != TLS1_3_VERSION)
    return SSLBIO_OK;
  sslbio__clear_queue();
  for (int i = 0; i < n; i++)
    if (SSL_new_session_ticket(conn->ssl) != 1)
      return sslbio__translate(conn, "handshake", 0);
  int ret = SSL_do_handshake(conn->ssl);
  return ret == 1 ? SSLBIO_OK : sslbio__translate(conn, "handshake", ret);
}

int sslbio__verify_completed(sslbio_conn *conn) {
  if (conn->verify_state == SSLBIO__VERIFY_PENDING)
    return SSLBIO_WANT_VERIFY; /* a server's deferred decision */
  if (conn->tickets_held) {
    int st = release_tickets(conn);
    if (st != SSLBIO_OK && st != SSLBIO_WANT_READ && st != SSLBIO_WANT_WRITE)
      return st;
  }
  return SSLBIO_OK;
}

/* A TLS 1.2 client still waits for the server's ChangeCipherSpec, which
 * was in the flight just dropped (undrained): its records are still in the
 * clear, so the engine can tell it why, as OpenSSL would have: a fatal
 * bad_certificate alert. (A TLS 1.3 server's records are already
 * encrypted, and OpenSSL 3.0 sends no alert on request: the refused client
 * sees the connection end.) Best effort: without memory, no alert. */
static void send_refusal_alert(sslbio_conn *conn) {
  static const unsigned char bad_certificate[] = {
      SSL3_RT_ALERT, TLS1_2_VERSION >> 8, TLS1_2_VERSION & 0xff, 0, 2, SSL3_AL_FATAL, SSL_AD_BAD_CERTIFICATE};
  if (SSL_version(conn->ssl) == TLS1_2_VERSION)
    sslbio__out_put(conn, bad_certificate, sizeof(bad_certificate));
}

int sslbio_conn_verify_done(sslbio_conn *conn, int accept) {
  if (!sslbio__conn_ok(conn) || conn->verify_state != SSLBIO__VERIFY_PENDING)
    return sslbio__invalid(conn, "verify done", "no verification decision is pending");
  conn->verify_state = accept ? SSLBIO__VERIFY_ACCEPTED : SSLBIO__VERIFY_REJECTED;
  if (!accept)
    snprintf(conn->verify_note, sizeof(conn->verify_note),
             "rejected by the verify callback (deferred decision)");
  if (accept || conn->role == SSLBIO_CLIENT)
    return SSLBIO_OK; /* a client's OpenSSL asks app_verify again */
  /* A server's OpenSSL already went on: the engine fails the handshake.
   * What it queued since (TLS 1.2: its last flight) never reaches the
   * client, and the session leaves any server-side cache (a wrapped
   * SSL_CTX may keep one), so the refused client cannot resume it. */
  size_t dropped = conn->out.len;
  sslbio__out_consume(conn, dropped);
  if (dropped > 0)
    send_refusal_alert(conn);
  SSL_SESSION *sess = SSL_get0_session(conn->ssl); /* borrowed */
  if (sess != NULL)
    SSL_CTX_remove_session(SSL_get_SSL_CTX(conn->ssl), sess);
  sslbio__clear_queue();
  if (conn->verify_openssl == X509_V_OK)
    conn->verify_openssl = X509_V_ERR_APPLICATION_VERIFICATION;
  SSL_set_verify_result(conn->ssl, conn->verify_openssl);
  sslbio__fail(conn, "handshake", SSLBIO_ERROR, SSLBIO_KIND_VERIFY,
               "certificate verify failed: rejected by the verify callback");
  if (conn->err != NULL)
    conn->err->verify_result = conn->verify_openssl;
  conn->dead = 1;
  return SSLBIO_OK;
}
