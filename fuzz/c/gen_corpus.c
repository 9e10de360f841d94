/* gen_corpus: records real handshake flights into seed inputs for
 * fuzz_engine (fuzz_common.h describes the format).
 *
 *   gen_corpus OUTDIR
 *
 * For each context variant it runs an honest client and server in memory
 * (with the harness's deterministic RNG, one stream per role) through a
 * whole connection: handshake, a request and a reply, a TLS 1.3 key update,
 * more data, close_notify both ways. It writes
 *   - the client's whole byte stream as a mode-0 input (fed to a server),
 *   - the server's whole byte stream as a mode-1 input (fed to a client),
 *   - op lists for mode 2 (honest session, zero-copy, resumption).
 * Because the RNG replays, the fuzzer's engine reproduces the recorded
 * handshake exactly, so mutations start from deep, valid states. */
#include "fuzz_common.h"

#include <errno.h>
#include <sys/stat.h>

typedef struct rec {
  unsigned char b[1 << 16];
  size_t n;
} rec;

static const char *outdir;
static int written;

static void put(const char *name, const uint8_t *hdr, size_t nh, const uint8_t *body, size_t nb) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", outdir, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(hdr, 1, nh, f) != nh || fwrite(body, 1, nb, f) != nb || fclose(f) != 0) {
    perror(path);
    exit(1);
  }
  written++;
}

/* The tap that records a stream as it is drained. */
static size_t record_tap(void *arg, unsigned char *p, size_t n) {
  rec *r = arg;
  if (r->n + n > sizeof(r->b)) {
    fprintf(stderr, "gen_corpus: stream too long\n");
    exit(1);
  }
  memcpy(r->b + r->n, p, n);
  r->n += n;
  return n;
}

/* Move everything `from` has to `to`, recording it; `to` must take it all. */
static t_buf wire;
static void xfer(sslbio_conn *from, sslbio_conn *to, int to_sel, rec *r) {
  const t_move_cfg recording = {.tap = record_tap, .tap_arg = r};
  fz_sel = to_sel;
  long f = t_move_with(from, &wire, to, &recording);
  if (f < 0 || wire.len > 0) {
    fprintf(stderr, "gen_corpus: feed took %ld, %zu bytes left\n", f, wire.len);
    exit(1);
  }
}

static void expect(long got, long want, const char *what, sslbio_conn *c) {
  if (got != want) {
    char msg[512];
    sslbio_conn_error(c, msg, sizeof(msg));
    fprintf(stderr, "gen_corpus: %s: got %ld (%s), want %ld: %s\n", what, got,
            sslbio_strstatus((int)got), want, msg);
    exit(1);
  }
}

static void record(int v) {
  static rec c2s, s2c;
  c2s.n = s2c.n = 0;
  fz_reseed(7); /* as fz_run does */
  fz_sel = 0;
  sslbio_conn *c = sslbio_conn_new(fz_cli[v], "localhost");
  fz_sel = 1;
  sslbio_conn *s = sslbio_conn_new(fz_srv[v], NULL);
  for (int i = 0; i < 20 && !(sslbio_conn_is_handshake_done(c) && sslbio_conn_is_handshake_done(s)); i++) {
    fz_sel = 0;
    sslbio_conn_handshake(c);
    xfer(c, s, 1, &c2s);
    fz_sel = 1;
    sslbio_conn_handshake(s);
    xfer(s, c, 0, &s2c);
  }
  if (!sslbio_conn_is_handshake_done(c) || !sslbio_conn_is_handshake_done(s)) {
    fprintf(stderr, "gen_corpus: variant %d: handshake did not complete\n", v);
    exit(1);
  }
  int tls13 = strcmp(sslbio_conn_version(c), "TLSv1.3") == 0;
  unsigned char buf[4096];
  const char *req = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n";
  fz_sel = 0;
  expect(sslbio_conn_write(c, req, strlen(req)), (long)strlen(req), "client write", c);
  xfer(c, s, 1, &c2s);
  fz_sel = 1;
  expect(sslbio_conn_read(s, buf, sizeof(buf)), (long)strlen(req), "server read", s);
  expect(sslbio_conn_write(s, resp, strlen(resp)), (long)strlen(resp), "server write", s);
  xfer(s, c, 0, &s2c);
  fz_sel = 0;
  expect(sslbio_conn_read(c, buf, sizeof(buf)), (long)strlen(resp), "client read", c);
  if (tls13) {
    expect(sslbio_conn_key_update(c, 1), SSLBIO_OK, "key update", c);
    xfer(c, s, 1, &c2s);
    fz_sel = 1;
    expect(sslbio_conn_read(s, buf, sizeof(buf)), SSLBIO_WANT_READ, "server read (key update)", s);
    xfer(s, c, 0, &s2c);
    fz_sel = 0;
    expect(sslbio_conn_read(c, buf, sizeof(buf)), SSLBIO_WANT_READ, "client read (key update)", c);
  }
  expect(sslbio_conn_write(c, "more", 4), 4, "client write 2", c);
  xfer(c, s, 1, &c2s);
  fz_sel = 1;
  expect(sslbio_conn_read(s, buf, sizeof(buf)), 4, "server read 2", s);
  fz_sel = 0;
  expect(sslbio_conn_shutdown(c), SSLBIO_WANT_READ, "client shutdown", c);
  xfer(c, s, 1, &c2s);
  fz_sel = 1;
  expect(sslbio_conn_read(s, buf, sizeof(buf)), SSLBIO_CLOSED, "server sees close_notify", s);
  expect(sslbio_conn_shutdown(s), SSLBIO_OK, "server shutdown", s);
  xfer(s, c, 0, &s2c);
  fz_sel = 0;
  expect(sslbio_conn_read(c, buf, sizeof(buf)), SSLBIO_CLOSED, "client sees close_notify", c);
  sslbio_conn_free(c);
  sslbio_conn_free(s);

  char name[128];
  /* Chunk sizes: index 7 = all at once, 2 = 16 bytes, 0 = byte by byte. */
  const int chunks[] = {7, 2, 0};
  for (size_t k = 0; k < 3; k++) {
    uint8_t hdr0[2] = {0, (uint8_t)(v | chunks[k] << 2)};
    snprintf(name, sizeof(name), "seed-m0-v%d-chunk%d-client-stream", v, chunks[k]);
    put(name, hdr0, 2, c2s.b, c2s.n);
    uint8_t hdr1[2] = {1, (uint8_t)(v | chunks[k] << 2 | (k == 1 ? 0x80 : 0))};
    snprintf(name, sizeof(name), "seed-m1-v%d-chunk%d-server-stream", v, chunks[k]);
    put(name, hdr1, 2, s2c.b, s2c.n);
  }
  printf("gen_corpus: variant %d (%s): client stream %zu bytes, server stream %zu bytes\n", v,
         tls13 ? "TLS 1.3" : "TLS 1.2", c2s.n, s2c.n);
}

/* Op lists for mode 2 (op numbers as in fz_mode_ops; 0x80 = server). */
#define SRV 0x80
#define HELLO (memcpy(ops + n, hello, 5), n += 5)
static void op_seeds(int v) {
  const uint8_t hello[] = "hello";
  uint8_t ops[512];
  size_t n = 0;
#define OP(...)                                                                                    \
  do {                                                                                             \
    const uint8_t x[] = {__VA_ARGS__};                                                             \
    memcpy(ops + n, x, sizeof(x));                                                                 \
    n += sizeof(x);                                                                                \
  } while (0)
  char name[128];
  uint8_t hdr[2] = {2, (uint8_t)v};

  /* Honest session: pump, data both ways, key update, close both ways. */
  n = 0;
  OP(16, 7);                            /* pump: handshake */
  OP(5, 5); HELLO; /* client writes "hello" */
  OP(18);                               /* transfer everything */
  OP(SRV | 4, 0x40, 0);                 /* server reads */
  OP(SRV | 5, 5); HELLO;
  OP(18, 0, 0xff, 0xff);                /* transfer; client side (op 0, 64 KiB) */
  OP(4, 0x40, 0);                       /* client reads (and the ticket) */
  OP(9, 1);                             /* client key update, requested */
  OP(18, SRV | 4, 0x40, 0, 18, 4, 0x40, 0);
  OP(6, 0x9c, 0x40);                    /* client writes 40 KiB */
  OP(12, 0x40, 0, 18, SRV | 4, 0xff, 0xff, 18, SRV | 4, 0xff, 0xff, 18, SRV | 4, 0xff, 0xff);
  OP(10, SRV | 10, 15, 0x40, SRV | 15, 0x40);
  OP(7, 18, SRV | 4, 0x10, 0, SRV | 7, 18, 4, 0x10, 0); /* close_notify both ways */
  snprintf(name, sizeof(name), "seed-m2-v%d-session", v);
  put(name, hdr, 2, ops, n);

  /* Zero-copy transfers, then a truncation (EOF without close_notify). */
  n = 0;
  OP(3, 12, 0xff, 0xff, 0, 0xff, 0xff, SRV | 3, SRV | 12, 0xff, 0xff, SRV | 0, 0xff, 0xff);
  OP(3, 12, 0xff, 0xff, 0, 0xff, 0xff, SRV | 3, SRV | 12, 0xff, 0xff, SRV | 0, 0xff, 0xff, 3);
  OP(5, 5); HELLO;
  OP(18, SRV | 8, SRV | 4, 0x10, 0); /* server: EOF after the data: TRUNCATED */
  snprintf(name, sizeof(name), "seed-m2-v%d-zerocopy-truncate", v);
  put(name, hdr, 2, ops, n);

  /* Resumption: save the session, reset both engines, resume. */
  n = 0;
  OP(16, 7, 5, 5); HELLO;
  OP(18, SRV | 4, 0x40, 0, SRV | 5, 5); HELLO;
  OP(18, 4, 0x40, 0, 14);        /* client reads (ticket), saves the session */
  OP(13, SRV | 13, 0x40 | 14);   /* reset both, client resumes the saved one */
  OP(16, 7, 15, 0);
  snprintf(name, sizeof(name), "seed-m2-v%d-resume", v);
  put(name, hdr, 2, ops, n);

  /* Tampering: a flipped byte in the server's first flight, an injected
   * alert, garbage after the handshake. */
  n = 0;
  OP(3, 0, 0xff, 0xff, SRV | 3, SRV | 1, 0, 40, 0x55, 3);
  snprintf(name, sizeof(name), "seed-m2-v%d-flip", v);
  put(name, hdr, 2, ops, n);
  n = 0;
  OP(16, 7, 2, 7, 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28, 4, 0x10, 0);
  snprintf(name, sizeof(name), "seed-m2-v%d-alert", v);
  put(name, hdr, 2, ops, n);
  n = 0;
  OP(16, 7, SRV | 2, 9, 0x17, 0x03, 0x03, 0x48, 0x01, 0xde, 0xad, 0xbe, 0xef, SRV | 4, 0x10, 0);
  snprintf(name, sizeof(name), "seed-m2-v%d-oversized-record", v);
  put(name, hdr, 2, ops, n);
#undef OP
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: gen_corpus OUTDIR\n");
    return 2;
  }
  outdir = argv[1];
  if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
    perror(outdir);
    return 1;
  }
  fz_init();
  for (int v = 0; v < FZ_VARIANTS; v++) {
    record(v);
    op_seeds(v);
  }
  for (int v = 0; v < FZ_VARIANTS; v++)
    sslbio_ctx_free(fz_srv[v]), sslbio_ctx_free(fz_cli[v]);
  t_buf_free(&wire);
  printf("gen_corpus: %d seed inputs in %s\n", written, outdir);
  return 0;
}
