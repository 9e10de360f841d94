/* quickstart: the README's C loop as a whole program, on a blocking socket.
 *
 *   quickstart HOST PORT [CA_FILE]
 *
 * Connects to HOST:PORT, handshakes (the chain is verified against CA_FILE,
 * or the system store, and the certificate must be HOST's), sends an HTTP
 * GET, prints the reply until the server closes, then sends close_notify.
 * Build (README): cc -o build/quickstart examples/c/quickstart.c \
 *                   $(PKG_CONFIG_PATH=build pkg-config --cflags --libs sslbio) */
#define _POSIX_C_SOURCE 200809L
#include <netdb.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sslbio.h>

enum op { HANDSHAKE, READ, WRITE, SHUTDOWN };

/* One engine call, repeated until it needs nothing more from the network:
 * drain after every call, feed when it wants ciphertext. */
static long call(sslbio_conn *c, int fd, enum op op, void *p, size_t len) {
  for (;;) {
    long st = op == HANDSHAKE ? sslbio_conn_handshake(c)
              : op == READ    ? sslbio_conn_read(c, p, len)
              : op == WRITE   ? sslbio_conn_write(c, p, len)
                              : sslbio_conn_shutdown(c);
    long n;
    char buf[16384];
    while ((n = sslbio_conn_drain(c, buf, sizeof buf)) > 0) /* drain after every call */
      if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
        return SSLBIO_ERROR;
    if (st != SSLBIO_WANT_READ)
      return st;
    void *room; /* recv straight into the engine: it takes all that arrives */
    long cap = sslbio_conn_feed_buffer(c, &room);
    if (cap <= 0)
      return SSLBIO_ERROR;
    n = recv(fd, room, (size_t)cap, 0);
    if (n > 0)
      sslbio_conn_feed_commit(c, (size_t)n);
    else
      sslbio_conn_feed_eof(c);
  }
}

static int dial(const char *host, const char *port) {
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
  if (getaddrinfo(host, port, &hints, &res) != 0)
    return -1;
  int fd = -1;
  for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  return fd;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s HOST PORT [CA_FILE]\n", argv[0]);
    return 2;
  }
  sslbio_ctx *ctx = sslbio_ctx_new(SSLBIO_CLIENT); /* verifies chain + host name */
  if (ctx == NULL || (argc > 3 && sslbio_ctx_load_verify_file(ctx, argv[3]) != SSLBIO_OK)) {
    fprintf(stderr, "quickstart: %s\n", ctx ? sslbio_ctx_error(ctx) : "no memory");
    return 1;
  }
  sslbio_conn *c = sslbio_conn_new(ctx, argv[1]); /* ctx is now frozen, shareable */
  sslbio_ctx_free(ctx);                           /* reference counted: c keeps its own */
  int fd = dial(argv[1], argv[2]);
  if (c == NULL || fd < 0) {
    fprintf(stderr, "quickstart: cannot connect to %s:%s\n", argv[1], argv[2]);
    return 1;
  }
  char req[512], buf[16384];
  int len = snprintf(req, sizeof req, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", argv[1]);
  long st = call(c, fd, HANDSHAKE, NULL, 0);
  if (st == SSLBIO_OK)
    fprintf(stderr, "quickstart: %s %s\n", sslbio_conn_version(c), sslbio_conn_cipher(c));
  for (int off = 0; st >= 0 && off < len; off += (int)st) /* writes may be partial */
    st = call(c, fd, WRITE, req + off, (size_t)(len - off));
  if (st >= 0)
    while ((st = call(c, fd, READ, buf, sizeof buf)) > 0)
      fwrite(buf, 1, (size_t)st, stdout);
  if (st == SSLBIO_CLOSED) /* the server's close_notify: answer with ours */
    st = call(c, fd, SHUTDOWN, NULL, 0);
  if (st != SSLBIO_OK) {
    sslbio_conn_error(c, buf, sizeof buf);
    fprintf(stderr, "quickstart: %s %s\n", sslbio_strstatus((int)st), buf);
  }
  sslbio_conn_free(c);
  close(fd);
  return st == SSLBIO_OK ? 0 : 1;
}
