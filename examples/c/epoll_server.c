/* epoll_server: an edge-triggered epoll TLS echo server on the sslbio C API.
 *
 *   epoll_server [--port N] [--cert FILE] [--key FILE] [--max-conns N]
 *                [--timeout SECONDS] [--name HOST=CERT,KEY[,ALPN]]... [--strict-names]
 *
 * Listens on 127.0.0.1 (port 0 = any; the chosen one is printed as
 * "listening on 127.0.0.1:PORT"). Each connection echoes what it receives;
 * a connection whose first bytes are "GET " gets a tiny HTTPS response
 * instead (try curl). The server exits by itself after --max-conns
 * connections have ended or --timeout seconds.
 *
 * Several names: each --name serves HOST with its own certificate, key and
 * ALPN list ("h2;http/1.1", ';' between protocols). The default context
 * pauses each handshake at the ClientHello; the server looks up the SNI
 * and switches context (sslbio_conn_use_context). With --strict-names an
 * unknown name is refused with the unrecognized_name alert (112).
 *
 * What it shows (the field report of an edge-triggered OpenSSL server in docs/design.md
 * lists the bugs it avoids):
 *  - one non-blocking accept loop, sockets registered EPOLLIN|EPOLLET;
 *  - ciphertext goes recv() -> sslbio_conn_feed_buffer (zero copy) and
 *    sslbio_conn_drain_buffer -> send();
 *  - after the handshake completes, plaintext that came in the same flight
 *    is read at once (read until SSLBIO_WANT_READ): edge-triggered epoll
 *    would never report it again;
 *  - EPOLLOUT is armed only while ciphertext is pending;
 *  - a clean close (close_notify, SSLBIO_CLOSED) and a truncation (TCP EOF
 *    without it, SSLBIO_TRUNCATED) are logged differently;
 *  - the ClientHello pause (SSLBIO_WANT_CLIENT_HELLO) returned by the call
 *    that read the ClientHello, answered in the same readiness event. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sslbio.h"

typedef struct client {
  int fd;
  int id;
  sslbio_conn *conn; /* owned */
  int handshake_done;
  int sock_eof;    /* recv() returned 0 */
  int epollout;    /* EPOLLOUT currently armed */
  int closing;     /* our close_notify is queued: close once it is sent */
  int mode;        /* 0 undecided, 1 echo, 2 http */
  char *pending;   /* plaintext the engine has not accepted yet (owned) */
  size_t pending_len;
  char req[2048];  /* http: request head so far */
  size_t req_len;
} client;

static int epfd;
static int ended, max_conns = 0;

/* --name: a server name and its own context. */
typedef struct named_ctx {
  const char *host;
  sslbio_ctx *ctx; /* owned */
} named_ctx;
static named_ctx names[16];
static int n_names, strict_names;

static void logf_(client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(client *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("epoll_server: conn %d: ", c->id);
  vprintf(fmt, ap);
  printf("\n");
  fflush(stdout);
  va_end(ap);
}


static void close_client(client *c, const char *why) {
  logf_(c, "%s", why);
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  sslbio_conn_free(c->conn);
  free(c->pending);
  free(c);
  ended++;
}

/* Send pending ciphertext; arm EPOLLOUT only while some is left.
 * Returns 0 when the socket failed. */
static int flush(client *c) {
  const void *p;
  long n;
  while ((n = sslbio_conn_drain_buffer(c->conn, &p)) > 0) {
    ssize_t w = send(c->fd, p, (size_t)n, MSG_NOSIGNAL);
    if (w > 0) {
      sslbio_conn_drain_commit(c->conn, (size_t)w);
      continue;
    }
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    return 0;
  }
  int want_out = sslbio_conn_pending_out(c->conn) > 0;
  if (want_out != c->epollout) {
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET | EPOLLRDHUP | (want_out ? EPOLLOUT : 0),
                             .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->epollout = want_out;
  }
  return 1;
}

/* Queue plaintext; whatever the engine does not take now waits in
 * c->pending and is retried after the next flush (partial writes). */
static void queue_out(client *c, const char *data, size_t len) {
  char *grown = realloc(c->pending, c->pending_len + len);
  if (grown == NULL)
    return;
  c->pending = grown;
  memcpy(c->pending + c->pending_len, data, len);
  c->pending_len += len;
}

static void write_pending(client *c) {
  while (c->pending_len > 0) {
    long w = sslbio_conn_write(c->conn, c->pending, c->pending_len);
    if (w <= 0)
      return; /* WANT_WRITE: after the flush; errors show up on read */
    memmove(c->pending, c->pending + w, c->pending_len - (size_t)w);
    c->pending_len -= (size_t)w;
  }
}

static void start_close(client *c) {
  if (!c->closing && sslbio_conn_shutdown(c->conn) != SSLBIO_EINVAL)
    c->closing = 1;
}

static void on_plaintext(client *c, const char *buf, size_t n) {
  if (c->mode == 0)
    c->mode = n >= 4 && memcmp(buf, "GET ", 4) == 0 ? 2 : 1;
  if (c->mode == 1) {
    queue_out(c, buf, n);
    return;
  }
  size_t room = sizeof(c->req) - 1 - c->req_len;
  memcpy(c->req + c->req_len, buf, n < room ? n : room);
  c->req_len += n < room ? n : room;
  c->req[c->req_len] = '\0';
  if (strstr(c->req, "\r\n\r\n") == NULL || c->closing)
    return;
  char body[256], head[256];
  int blen = snprintf(body, sizeof(body), "hello from the sslbio epoll_server over %s (%s)\n",
                      sslbio_conn_version(c->conn), sslbio_conn_cipher(c->conn));
  int hlen = snprintf(head, sizeof(head),
                      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                      "Connection: close\r\n\r\n", blen);
  logf_(c, "https: %.*s", (int)(strchr(c->req, '\r') - c->req), c->req);
  queue_out(c, head, (size_t)hlen);
  queue_out(c, body, (size_t)blen);
  write_pending(c);
  start_close(c); /* after the response: close_notify */
}

/* Paused at the ClientHello: the context for the name the client asked
 * for, the default one for no name, a refusal for an unknown one. */
static void choose_context(client *c) {
  const char *sni = sslbio_conn_server_name(c->conn);
  char offered[256];
  sslbio_conn_client_alpn(c->conn, offered, sizeof(offered));
  for (int i = 0; sni != NULL && i < n_names; i++) {
    if (strcmp(names[i].host, sni) == 0) {
      logf_(c, "ClientHello: sni=%s alpn offered=%s: context %d", sni, offered, i + 1);
      sslbio_conn_use_context(c->conn, names[i].ctx);
      return;
    }
  }
  if (sni != NULL && strict_names) {
    logf_(c, "ClientHello: sni=%s unknown: refused (unrecognized_name)", sni);
    sslbio_conn_reject_client_hello(c->conn, 112);
    return;
  }
  logf_(c, "ClientHello: sni=%s alpn offered=%s: default context", sni ? sni : "-", offered);
}

/* Everything one readiness event calls for. Returns 0 when the client was
 * closed (and freed). */
static int service(client *c) {
  for (int round = 0; round < 64; round++) {
    int progress = 0;
    /* 1. socket -> engine, zero copy, until the socket is empty (ET) or the
     *    engine is full (then the engine is run and we come back) */
    while (!c->sock_eof) {
      void *room;
      long cap = sslbio_conn_feed_buffer(c->conn, &room);
      if (cap <= 0)
        break;
      ssize_t n = recv(c->fd, room, (size_t)cap, 0);
      if (n > 0) {
        sslbio_conn_feed_commit(c->conn, (size_t)n);
        progress = 1;
      } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        c->sock_eof = 1;
        sslbio_conn_feed_eof(c->conn);
        progress = 1;
      } else {
        break;
      }
    }
    /* 2. handshake, then read until WANT_READ: data of the same flight */
    if (!c->handshake_done) {
      int st = sslbio_conn_handshake(c->conn);
      if (st == SSLBIO_WANT_CLIENT_HELLO) {
        choose_context(c);
        st = sslbio_conn_handshake(c->conn);
      }
      if (st == SSLBIO_OK) {
        c->handshake_done = 1;
        const char *alpn = sslbio_conn_alpn(c->conn), *sni = sslbio_conn_server_name(c->conn);
        logf_(c, "handshake done: %s %s alpn=%s sni=%s", sslbio_conn_version(c->conn),
              sslbio_conn_cipher(c->conn), alpn ? alpn : "-", sni ? sni : "-");
      } else if (st != SSLBIO_WANT_READ && st != SSLBIO_WANT_WRITE) {
        char msg[512];
        sslbio_conn_error(c->conn, msg, sizeof(msg));
        flush(c); /* the alert, if any */
        close_client(c, st == SSLBIO_TRUNCATED ? "truncated during the handshake" : msg);
        return 0;
      }
    }
    if (c->handshake_done) {
      char buf[16384];
      long r;
      while ((r = sslbio_conn_read(c->conn, buf, sizeof(buf))) > 0) {
        on_plaintext(c, buf, (size_t)r);
        progress = 1;
      }
      if (r == SSLBIO_CLOSED) {
        write_pending(c);
        start_close(c);
        flush(c);
        close_client(c, "clean close (close_notify received)");
        return 0;
      }
      if (r == SSLBIO_TRUNCATED) {
        close_client(c, "truncated (transport EOF without close_notify)");
        return 0;
      }
      if (r != SSLBIO_WANT_READ && r != SSLBIO_WANT_WRITE) {
        char msg[512];
        sslbio_conn_error(c->conn, msg, sizeof(msg));
        close_client(c, msg);
        return 0;
      }
      write_pending(c);
    }
    /* 3. engine -> socket; EPOLLOUT only while something is left */
    if (!flush(c)) {
      close_client(c, "send failed");
      return 0;
    }
    if (c->closing && sslbio_conn_pending_out(c->conn) == 0 && c->pending_len == 0) {
      close_client(c, "response sent, close_notify sent");
      return 0;
    }
    if (!progress)
      return 1;
  }
  return 1;
}

/* A server context with a certificate, key and ALPN list (may be NULL). */
static sslbio_ctx *server_ctx(const char *cert, const char *key, const char *alpn) {
  sslbio_ctx *ctx = sslbio_ctx_new(SSLBIO_SERVER);
  if (ctx == NULL || sslbio_ctx_use_certificate_chain_file(ctx, cert) != SSLBIO_OK ||
      sslbio_ctx_use_private_key_file(ctx, key) != SSLBIO_OK ||
      (alpn != NULL && sslbio_ctx_set_alpn(ctx, alpn) != SSLBIO_OK)) {
    fprintf(stderr, "epoll_server: %s\n", ctx ? sslbio_ctx_error(ctx) : "no memory");
    sslbio_ctx_free(ctx);
    return NULL;
  }
  return ctx;
}

int main(int argc, char **argv) {
  int port = 0, timeout_s = 60;
  const char *cert = "build/certs/server.pem", *key = "build/certs/server.key";
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--port") && i + 1 < argc)
      port = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--cert") && i + 1 < argc)
      cert = argv[++i];
    else if (!strcmp(argv[i], "--key") && i + 1 < argc)
      key = argv[++i];
    else if (!strcmp(argv[i], "--max-conns") && i + 1 < argc)
      max_conns = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
      timeout_s = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--name") && i + 1 < argc && n_names < 16)
      names[n_names++].host = argv[++i];
    else if (!strcmp(argv[i], "--strict-names"))
      strict_names = 1;
    else {
      fprintf(stderr,
              "usage: %s [--port N] [--cert F] [--key F] [--max-conns N] [--timeout S]\n"
              "          [--name HOST=CERT,KEY[,ALPN]]... [--strict-names]\n",
              argv[0]);
      return 2;
    }
  }
  sslbio_ctx *ctx = server_ctx(cert, key, "http/1.1");
  if (ctx == NULL)
    return 1;
  for (int i = 0; i < n_names; i++) {
    /* HOST=CERT,KEY[,ALPN]: split in place (argv is ours to modify). */
    char *spec = (char *)names[i].host, *eq = strchr(spec, '='), *k, *alpn;
    if (eq == NULL || (k = strchr(eq + 1, ',')) == NULL) {
      fprintf(stderr, "epoll_server: --name %s: want HOST=CERT,KEY[,ALPN]\n", spec);
      return 2;
    }
    *eq = *k = '\0';
    alpn = strchr(k + 1, ',');
    if (alpn != NULL)
      *alpn++ = '\0';
    for (char *p = alpn; p != NULL && *p; p++)
      if (*p == ';')
        *p = ',';
    names[i].ctx = server_ctx(eq + 1, k + 1, alpn);
    if (names[i].ctx == NULL)
      return 1;
  }
  if (n_names > 0 && sslbio_ctx_set_client_hello_pause(ctx, 1) != SSLBIO_OK) {
    fprintf(stderr, "epoll_server: %s\n", sslbio_ctx_error(ctx));
    return 1;
  }
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof(a);
  if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(lfd, 64) != 0 ||
      getsockname(lfd, (struct sockaddr *)&a, &alen) != 0) {
    perror("epoll_server: listen");
    return 1;
  }
  printf("epoll_server: listening on 127.0.0.1:%d (sslbio %s)\n", ntohs(a.sin_port),
         sslbio_version());
  fflush(stdout);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event lev = {.events = EPOLLIN | EPOLLET, .data.ptr = NULL};
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev);
  int next_id = 1;
  time_t deadline = time(NULL) + timeout_s;
  while (!(max_conns > 0 && ended >= max_conns)) {
    int left = (int)(deadline - time(NULL));
    if (left <= 0) {
      printf("epoll_server: timeout, exiting\n");
      break;
    }
    struct epoll_event evs[64];
    int n = epoll_wait(epfd, evs, 64, left * 1000);
    for (int i = 0; i < n; i++) {
      if (evs[i].data.ptr == NULL) { /* listener: accept until EAGAIN (ET) */
        for (;;) {
          int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0)
            break;
          client *c = calloc(1, sizeof(*c));
          c->fd = fd;
          c->id = next_id++;
          c->conn = sslbio_conn_new(ctx, NULL);
          if (c->conn == NULL) {
            close(fd);
            free(c);
            continue;
          }
          struct epoll_event ev = {.events = EPOLLIN | EPOLLET | EPOLLRDHUP, .data.ptr = c};
          epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
          service(c); /* bytes may already be there: ET reports them only once */
        }
        continue;
      }
      service(evs[i].data.ptr);
    }
  }
  printf("epoll_server: %d connections served, exiting\n", ended);
  close(lfd);
  close(epfd);
  sslbio_ctx_free(ctx);
  for (int i = 0; i < n_names; i++)
    sslbio_ctx_free(names[i].ctx);
  return 0;
}
