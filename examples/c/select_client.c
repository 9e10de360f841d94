/* select_client: a non-blocking TLS client on a select() dispatcher, the
 * shape of the non-blocking Perl client in docs/design.md, on the sslbio C API.
 *
 *   select_client PORT [--name HOST] [--ca FILE] [--message TEXT]
 *                 [--expect TEXT] [--tls12] [--timeout SECONDS] [--pin SHA256HEX]
 *
 * Connects to 127.0.0.1:PORT without blocking, handshakes (verifying the
 * certificate for --name, default localhost), sends --message plus a
 * newline, reads until --expect (default: the message) shows up, sends
 * close_notify and prints what was negotiated. Exit status 0 on success.
 *
 * The dispatcher asks the engine what it wants (sslbio_conn_wants) instead
 * of guessing: the socket is in the write set only while ciphertext is
 * pending and in the read set while the engine needs ciphertext. No
 * "quasi-busy" retry loop on a socket that selected true.
 *
 * --pin: the server is accepted when the SHA-256 of its public key
 * (SubjectPublicKeyInfo, DER) is SHA256HEX, whatever its chain says (a
 * self-signed peer). The decision is handed to a worker thread: the verify
 * callback defers (SSLBIO_WANT_VERIFY), the worker answers through a pipe
 * that the select() loop watches, and the loop resumes the handshake with
 * sslbio_conn_verify_done. Nothing blocks the loop meanwhile. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "sslbio.h"

enum phase { CONNECTING, HANDSHAKING, VERIFYING, SENDING, RECEIVING, CLOSING, DONE, FAILED };

typedef struct job {
  int fd;
  sslbio_conn *conn;
  enum phase phase;
  const char *message, *expect;
  size_t sent;
  char got[4096];
  size_t got_len;
  int eof;
  const char *pin;  /* --pin: expected SHA-256 of the server's public key, hex */
  int answer[2];    /* the worker's decision: a pipe, read end watched by select() */
} job;

/* ---- the verification worker (--pin) ---- */

typedef struct pin_check {
  unsigned char *der; /* the server's certificate, owned */
  long len;
  const char *pin;
  int answer_fd;
} pin_check;

/* SHA-256 of the certificate's public key as hex into out (65 bytes). */
static int spki_sha256(const unsigned char *der, long len, char *out) {
  X509 *cert = d2i_X509(NULL, &der, len); /* ours, freed below */
  unsigned char *spki = NULL;             /* ours, freed below */
  int n = cert ? i2d_PUBKEY(X509_get0_pubkey(cert), &spki) : -1;
  unsigned char md[32];
  unsigned int mdlen = 0;
  int ok = n > 0 && EVP_Digest(spki, (size_t)n, md, &mdlen, EVP_sha256(), NULL) == 1;
  for (unsigned i = 0; ok && i < mdlen; i++)
    sprintf(out + 2 * i, "%02x", md[i]);
  OPENSSL_free(spki);
  X509_free(cert);
  return ok;
}

/* The worker: whatever slow lookup a real application does (here, the pin
 * comparison); then one byte into the pipe: '1' accept, '0' reject. */
static void *verify_worker(void *arg) {
  pin_check *pc = arg;
  char hex[65] = "";
  int accept = spki_sha256(pc->der, pc->len, hex) && strcasecmp(hex, pc->pin) == 0;
  printf("select_client: worker: server key sha256 %s: %s\n", hex,
         accept ? "pin matches, accepted" : "pin differs, rejected");
  fflush(stdout);
  char c = accept ? '1' : '0';
  if (write(pc->answer_fd, &c, 1) != 1)
    perror("select_client: worker");
  free(pc->der);
  free(pc);
  return NULL;
}

/* The verify callback: copy the leaf for the worker and defer. Anything
 * that fails here rejects. */
static int defer_to_worker(void *user, sslbio_conn *conn, long openssl_result) {
  job *j = user;
  pin_check *pc = calloc(1, sizeof(*pc));
  long len = sslbio_conn_peer_cert_der(conn, 0, NULL, 0);
  if (pc == NULL || len <= 0 || (pc->der = malloc((size_t)len)) == NULL) {
    free(pc);
    return 0;
  }
  pc->len = sslbio_conn_peer_cert_der(conn, 0, pc->der, (size_t)len);
  pc->pin = j->pin;
  pc->answer_fd = j->answer[1];
  printf("select_client: verify deferred to a worker thread (OpenSSL's result: %ld)\n",
         openssl_result);
  pthread_t t;
  if (pthread_create(&t, NULL, verify_worker, pc) != 0) {
    free(pc->der);
    free(pc);
    return 0;
  }
  pthread_detach(t);
  return SSLBIO_WANT_VERIFY;
}

/* The worker answered (the pipe is readable): resume the handshake. */
static void on_answer(job *j) {
  char c;
  if (read(j->answer[0], &c, 1) != 1)
    return;
  sslbio_conn_verify_done(j->conn, c == '1');
  j->phase = HANDSHAKING;
}

static void fail(job *j, const char *what) {
  char msg[512];
  sslbio_conn_error(j->conn, msg, sizeof(msg));
  fprintf(stderr, "select_client: %s: %s\n", what, msg[0] ? msg : strerror(errno));
  j->phase = FAILED;
}

/* Ciphertext out: send what the socket takes now, straight from the
 * engine's buffer; the rest stays pending (and keeps us in the write set). */
static void on_writable(job *j) {
  const void *p;
  long n;
  while ((n = sslbio_conn_drain_buffer(j->conn, &p)) > 0) {
    ssize_t w = send(j->fd, p, (size_t)n, MSG_NOSIGNAL);
    if (w > 0) {
      sslbio_conn_drain_commit(j->conn, (size_t)w);
      continue;
    }
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    fail(j, "send");
    return;
  }
}

/* Ciphertext in: feed all the socket has (the engine says how much fits). */
static void on_readable(job *j) {
  for (;;) {
    void *room;
    long cap = sslbio_conn_feed_buffer(j->conn, &room);
    if (cap <= 0)
      return;
    ssize_t n = recv(j->fd, room, (size_t)cap, 0);
    if (n > 0) {
      sslbio_conn_feed_commit(j->conn, (size_t)n);
      continue;
    }
    if (n == 0) {
      j->eof = 1;
      sslbio_conn_feed_eof(j->conn);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
      fail(j, "recv");
    }
    return;
  }
}

/* Advance the state machine as far as it goes without the network. */
static void step(job *j) {
  for (;;) {
    enum phase before = j->phase;
    switch (j->phase) {
    case HANDSHAKING: {
      int st = sslbio_conn_handshake(j->conn);
      if (st == SSLBIO_OK) {
        printf("select_client: handshake done: %s %s\n", sslbio_conn_version(j->conn),
               sslbio_conn_cipher(j->conn));
        j->phase = SENDING;
      } else if (st == SSLBIO_WANT_VERIFY) {
        j->phase = VERIFYING; /* until the worker answers */
      } else if (st != SSLBIO_WANT_READ && st != SSLBIO_WANT_WRITE) {
        fail(j, "handshake");
      }
      break;
    }
    case SENDING: {
      size_t len = strlen(j->message);
      while (j->sent < len) {
        long w = sslbio_conn_write(j->conn, j->message + j->sent, len - j->sent);
        if (w <= 0)
          break;
        j->sent += (size_t)w;
      }
      if (j->sent == len && sslbio_conn_write(j->conn, "\n", 1) == 1)
        j->phase = RECEIVING;
      break;
    }
    case RECEIVING:
    case CLOSING: {
      long r;
      while ((r = sslbio_conn_read(j->conn, j->got + j->got_len,
                                   sizeof(j->got) - 1 - j->got_len)) > 0) {
        j->got_len += (size_t)r;
        j->got[j->got_len] = '\0';
      }
      if (j->phase == RECEIVING && strstr(j->got, j->expect) != NULL) {
        printf("select_client: received: %s", j->got);
        if (j->got_len && j->got[j->got_len - 1] != '\n')
          printf("\n");
        sslbio_conn_shutdown(j->conn); /* close_notify */
        j->phase = CLOSING;
      } else if (r == SSLBIO_CLOSED) {
        j->phase = j->phase == CLOSING ? DONE : FAILED;
        if (j->phase == FAILED)
          fprintf(stderr, "select_client: server closed before answering\n");
      } else if (r == SSLBIO_TRUNCATED) {
        if (j->phase == CLOSING) /* the reply arrived; the peer just did not say goodbye */
          j->phase = DONE;
        else
          fail(j, "read");
        printf("select_client: peer closed without close_notify (truncated)\n");
      } else if (r != SSLBIO_WANT_READ && r != SSLBIO_WANT_WRITE) {
        fail(j, "read");
      }
      break;
    }
    default:
      return;
    }
    if (j->phase == before)
      return;
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PORT [--name H] [--ca F] [--message T] [--expect T] [--tls12]\n",
            argv[0]);
    return 2;
  }
  int port = atoi(argv[1]), tls12 = 0, timeout_s = 20;
  const char *name = "localhost", *ca = "build/certs/ca.pem";
  job j = {.fd = -1, .message = "hello from select_client", .expect = NULL};
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--name") && i + 1 < argc)
      name = argv[++i];
    else if (!strcmp(argv[i], "--ca") && i + 1 < argc)
      ca = argv[++i];
    else if (!strcmp(argv[i], "--message") && i + 1 < argc)
      j.message = argv[++i];
    else if (!strcmp(argv[i], "--expect") && i + 1 < argc)
      j.expect = argv[++i];
    else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
      timeout_s = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--tls12"))
      tls12 = 1;
    else if (!strcmp(argv[i], "--pin") && i + 1 < argc)
      j.pin = argv[++i];
  }
  if (j.expect == NULL)
    j.expect = j.message;
  sslbio_ctx *ctx = sslbio_ctx_new(SSLBIO_CLIENT);
  if (ctx == NULL || sslbio_ctx_load_verify_file(ctx, ca) != SSLBIO_OK ||
      (tls12 && sslbio_ctx_set_versions(ctx, 0, 0x0303) != SSLBIO_OK)) {
    fprintf(stderr, "select_client: %s\n", ctx ? sslbio_ctx_error(ctx) : "no memory");
    return 1;
  }
  j.answer[0] = j.answer[1] = -1;
  if (j.pin != NULL && (pipe(j.answer) != 0 ||
                        sslbio_ctx_set_verify_callback(ctx, defer_to_worker, &j) != SSLBIO_OK)) {
    fprintf(stderr, "select_client: --pin: %s\n", sslbio_ctx_error(ctx));
    return 1;
  }
  j.conn = sslbio_conn_new(ctx, name);
  sslbio_ctx_free(ctx); /* the engine holds its own reference */
  if (j.conn == NULL)
    return 1;
  /* non-blocking connect */
  j.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (connect(j.fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS) {
    perror("select_client: connect");
    return 1;
  }
  j.phase = CONNECTING;
  time_t deadline = time(NULL) + timeout_s;
  while (j.phase != DONE && j.phase != FAILED) {
    fd_set rd, wr;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    if (j.phase == CONNECTING) {
      FD_SET(j.fd, &wr);
    } else {
      int wants = sslbio_conn_wants(j.conn);
      if ((wants & SSLBIO_WANTS_READ) && !j.eof)
        FD_SET(j.fd, &rd);
      if (wants & SSLBIO_WANTS_WRITE)
        FD_SET(j.fd, &wr);
      if (wants & SSLBIO_HAS_PLAINTEXT) { /* ready now: no select */
        step(&j);
        continue;
      }
    }
    long left = (long)(deadline - time(NULL));
    if (left <= 0) {
      fprintf(stderr, "select_client: timeout (phase %d)\n", j.phase);
      j.phase = FAILED;
      break;
    }
    if (j.phase == VERIFYING)
      FD_SET(j.answer[0], &rd);
    struct timeval tv = {.tv_sec = left};
    int maxfd = j.fd > j.answer[0] ? j.fd : j.answer[0];
    if (select(maxfd + 1, &rd, &wr, NULL, &tv) < 0 && errno != EINTR)
      break;
    if (j.phase == VERIFYING && FD_ISSET(j.answer[0], &rd))
      on_answer(&j);
    if (j.phase == CONNECTING) {
      if (!FD_ISSET(j.fd, &wr))
        continue;
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(j.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        errno = err;
        perror("select_client: connect");
        j.phase = FAILED;
        break;
      }
      j.phase = HANDSHAKING;
    } else if (FD_ISSET(j.fd, &rd)) {
      on_readable(&j);
    }
    step(&j);
    if (j.phase != FAILED)
      on_writable(&j); /* everything the step produced */
  }
  if (j.phase == DONE)
    printf("select_client: done: %s %s, verified as %s\n", sslbio_conn_version(j.conn),
           sslbio_conn_cipher(j.conn), name);
  close(j.fd);
  if (j.pin != NULL) {
    close(j.answer[0]);
    close(j.answer[1]);
  }
  int ok = j.phase == DONE;
  sslbio_conn_free(j.conn);
  return ok ? 0 : 1;
}
