/* Dynamic half of the "data path never enters Go" proof: a full handshake
 * and 1 MiB each way through libsslbio.so, between nogo_begin() and
 * nogo_end(). check_nogo.sh runs it under gdb with breakpoints on every
 * C -> Go entry (crosscall2, runtime.cgocallback, runtime.cgocallbackg) and
 * on the data-path functions (a positive control: they must be hit, exactly
 * as often as this program says it called them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sslbio.h"

static long calls; /* data-path API calls made between the markers */

__attribute__((noinline, noipa)) void nogo_begin(void) { __asm__ volatile(""); }
__attribute__((noinline, noipa)) void nogo_end(void) { __asm__ volatile(""); }

static void move(sslbio_conn *from, sslbio_conn *to) {
  static unsigned char buf[65536];
  for (;;) {
    long n = sslbio_conn_drain(from, buf, sizeof(buf));
    calls++;
    if (n <= 0)
      return;
    long off = 0;
    while (off < n) {
      long k = sslbio_conn_feed(to, buf + off, (size_t)(n - off));
      calls++;
      if (k <= 0) { /* full: let the reader make room */
        static unsigned char sink[65536];
        sslbio_conn_read(to, sink, sizeof(sink));
        calls++;
        fprintf(stderr, "unexpected backpressure\n");
        exit(1);
      }
      off += k;
    }
  }
}

int main(int argc, char **argv) {
  const char *certs = argc > 1 ? argv[1] : "build/certs";
  char path[512];
  sslbio_ctx *s = sslbio_ctx_new(SSLBIO_SERVER), *c = sslbio_ctx_new(SSLBIO_CLIENT);
  snprintf(path, sizeof(path), "%s/server.pem", certs);
  sslbio_ctx_use_certificate_chain_file(s, path);
  snprintf(path, sizeof(path), "%s/server.key", certs);
  sslbio_ctx_use_private_key_file(s, path);
  snprintf(path, sizeof(path), "%s/ca.pem", certs);
  sslbio_ctx_load_verify_file(c, path);
  sslbio_conn *cc = sslbio_conn_new(c, "localhost"), *sc = sslbio_conn_new(s, NULL);
  if (!cc || !sc)
    return 2;
  size_t total = 1 << 20;
  unsigned char *out = malloc(total), *in = malloc(65536);
  for (size_t i = 0; i < total; i++)
    out[i] = (unsigned char)(i * 7);

  nogo_begin();
  int cst = SSLBIO_WANT_READ, sst = SSLBIO_WANT_READ;
  for (int i = 0; i < 20 && (cst != SSLBIO_OK || sst != SSLBIO_OK); i++) {
    if (cst != SSLBIO_OK)
      cst = sslbio_conn_handshake(cc), calls++;
    if (sst != SSLBIO_OK)
      sst = sslbio_conn_handshake(sc), calls++;
    move(cc, sc);
    move(sc, cc);
  }
  int ok = cst == SSLBIO_OK && sst == SSLBIO_OK;
  for (int dir = 0; dir < 2 && ok; dir++) {
    sslbio_conn *w = dir ? sc : cc, *r = dir ? cc : sc;
    size_t sent = 0, got = 0;
    while (got < total) {
      if (sent < total) {
        long n = sslbio_conn_write(w, out + sent, total - sent);
        calls++;
        if (n > 0)
          sent += (size_t)n;
      }
      move(w, r);
      long n;
      while ((n = sslbio_conn_read(r, in, 65536)) > 0) {
        calls++;
        if (memcmp(in, out + got, (size_t)n) != 0)
          ok = 0;
        got += (size_t)n;
      }
      calls++;
    }
  }
  sslbio_conn_shutdown(cc), calls++;
  move(cc, sc);
  ok = ok && sslbio_conn_read(sc, in, 65536) == SSLBIO_CLOSED;
  calls++;
  nogo_end();

  printf("NOGO_RESULT %s\n", ok ? "transfer-ok" : "transfer-FAILED");
  printf("NOGO_CALLS %ld\n", calls);
  sslbio_conn_free(cc);
  sslbio_conn_free(sc);
  sslbio_ctx_free(c);
  sslbio_ctx_free(s);
  free(out);
  free(in);
  return ok ? 0 : 1;
}
