/* memsites.c — where an idle established connection's memory goes, by
 * OpenSSL allocation site. OpenSSL reports file:line to the allocator
 * hooks of CRYPTO_set_mem_functions, so this program counts what every
 * site still holds after N connection pairs were established and left
 * idle (the bench's memory measure, without RSS noise), split into client
 * and server endpoints. It compiles the engine's C sources in (capi/[*].c),
 * the same code as libsslbio.
 *
 *   make bench-memsites [MEMSITES_N=500]
 *
 * Single-threaded on purpose: the hooks keep one table without locks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../../tests/c/pair.h"
#include "sslbio.h"

/* ---- a table of live allocations: address -> size, site ---- */

typedef struct alloc {
  void *p; /* NULL: free slot; TOMB: deleted */
  size_t n;
  const char *file;
  int line;
  int counted; /* made while the measured connections were set up */
} alloc;

#define TABLE_BITS 22
#define TABLE_SIZE (1u << TABLE_BITS)
static alloc *table;
static int counting;
static char tomb;
#define TOMB ((void *)&tomb)

static size_t slot_of(const void *p) {
  return (size_t)(((unsigned long long)(size_t)p * 0x9E3779B97F4A7C15ull) >> (64 - TABLE_BITS));
}

static void remember(void *p, size_t n, const char *file, int line) {
  for (size_t i = slot_of(p);; i = (i + 1) & (TABLE_SIZE - 1))
    if (table[i].p == NULL || table[i].p == TOMB) {
      table[i] = (alloc){p, n, file, line, counting};
      return;
    }
}

/* Drop p from the table; returns its size (0 if unknown). */
static size_t forget(void *p) {
  for (size_t i = slot_of(p); table[i].p != NULL; i = (i + 1) & (TABLE_SIZE - 1))
    if (table[i].p == p) {
      table[i].p = TOMB;
      return table[i].n;
    }
  return 0;
}

static void *hook_malloc(size_t n, const char *file, int line) {
  void *p = malloc(n);
  if (p != NULL)
    remember(p, n, file, line);
  return p;
}

static void *hook_realloc(void *old, size_t n, const char *file, int line) {
  /* Forget old before realloc frees it; a failed realloc keeps old, so it
   * is remembered again (as the new site: the size is all that counts). */
  size_t old_n = 0;
  if (old != NULL)
    old_n = forget(old);
  void *p = realloc(old, n);
  if (p != NULL)
    remember(p, n, file, line);
  else if (old != NULL)
    remember(old, old_n, file, line);
  return p;
}

static void hook_free(void *p, const char *file, int line) {
  (void)file, (void)line;
  if (p != NULL)
    forget(p);
  free(p);
}

/* ---- sites ---- */

typedef struct site {
  const char *file;
  int line;
  size_t bytes, count;
} site;

static int by_bytes(const void *a, const void *b) {
  const site *x = a, *y = b;
  return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

/* Bytes still held by counted allocations; with sites != NULL, also
 * grouped by site into sites (at most cap of them, *n set). */
static size_t live(site *sites, size_t cap, size_t *n) {
  size_t total = 0, used = 0;
  for (size_t i = 0; i < TABLE_SIZE; i++) {
    alloc *a = &table[i];
    if (a->p == NULL || a->p == TOMB || !a->counted)
      continue;
    total += a->n;
    if (sites == NULL)
      continue;
    size_t k = 0;
    while (k < used && !(sites[k].line == a->line && strcmp(sites[k].file, a->file) == 0))
      k++;
    if (k == used && used < cap)
      sites[used++] = (site){a->file, a->line, 0, 0};
    if (k < used) {
      sites[k].bytes += a->n;
      sites[k].count++;
    }
  }
  if (n != NULL)
    *n = used;
  return total;
}

/* ---- connections ---- */

static void die(const char *what) {
  fprintf(stderr, "memsites: %s\n", what);
  exit(1);
}

/* The test harnesses' mover (tests/c/pair.h); its buffer is malloc'ed,
 * not OpenSSL's, so the hooks do not count it. Every flight here is small
 * enough to be taken whole. */
static t_buf wire;
static void move(sslbio_conn *from, sslbio_conn *to) {
  if (t_move_with(from, &wire, to, NULL) < 0 || wire.len > 0)
    die("feed refused ciphertext");
}

/* Handshake, one byte each way, then read until it would block: idle, as
 * in the bench's memory measure. */
static void establish(sslbio_conn *c, sslbio_conn *s) {
  for (int round = 0;; round++) {
    int rc = sslbio_conn_handshake(c);
    move(c, s);
    int rs = sslbio_conn_handshake(s);
    move(s, c);
    if (rc == SSLBIO_OK && rs == SSLBIO_OK)
      break;
    if (round == 10)
      die("handshake did not finish");
  }
  char x = 'x';
  if (sslbio_conn_write(c, &x, 1) != 1)
    die("client write");
  move(c, s);
  if (sslbio_conn_read(s, &x, 1) != 1 || sslbio_conn_write(s, &x, 1) != 1)
    die("server echo");
  move(s, c);
  if (sslbio_conn_read(c, &x, 1) != 1)
    die("client read");
  if (sslbio_conn_read(c, &x, 1) != SSLBIO_WANT_READ || sslbio_conn_read(s, &x, 1) != SSLBIO_WANT_READ)
    die("not idle");
}

int main(int argc, char **argv) {
  const char *certs = argc > 1 ? argv[1] : "build/certs";
  long n = argc > 2 ? atol(argv[2]) : 500;
  table = calloc(TABLE_SIZE, sizeof(*table));
  if (table == NULL || n <= 0 || !CRYPTO_set_mem_functions(hook_malloc, hook_realloc, hook_free))
    die("setup");
  char ca[512], cert[512], key[512];
  snprintf(ca, sizeof(ca), "%s/ca.pem", certs);
  snprintf(cert, sizeof(cert), "%s/server.pem", certs);
  snprintf(key, sizeof(key), "%s/server.key", certs);
  sslbio_ctx *cctx = sslbio_ctx_new(SSLBIO_CLIENT), *sctx = sslbio_ctx_new(SSLBIO_SERVER);
  if (sslbio_ctx_load_verify_file(cctx, ca) || sslbio_ctx_use_certificate_chain_file(sctx, cert) ||
      sslbio_ctx_use_private_key_file(sctx, key))
    die("contexts (run make certs)");
  sslbio_conn **clients = calloc((size_t)n, sizeof(*clients));
  sslbio_conn **servers = calloc((size_t)n, sizeof(*servers));
  for (int i = 0; i < 16; i++) { /* warm-up: lazily loaded tables are not per-connection */
    sslbio_conn *c = sslbio_conn_new(cctx, "localhost"), *s = sslbio_conn_new(sctx, NULL);
    establish(c, s);
    sslbio_conn_free(c);
    sslbio_conn_free(s);
  }
  counting = 1;
  for (long i = 0; i < n; i++) {
    clients[i] = sslbio_conn_new(cctx, "localhost");
    servers[i] = sslbio_conn_new(sctx, NULL);
    if (clients[i] == NULL || servers[i] == NULL)
      die("new connection");
    establish(clients[i], servers[i]);
  }
  counting = 0;
  static site sites[4096];
  size_t nsites;
  size_t both = live(sites, 4096, &nsites);
  for (long i = 0; i < n; i++)
    sslbio_conn_free(clients[i]);
  size_t server_only = live(NULL, 0, NULL);
  printf("OpenSSL allocations held per idle established endpoint (%ld pairs):\n", n);
  printf("  client %.0f B, server %.0f B, mean %.0f B (%.1f KiB)\n", (double)(both - server_only) / n,
         (double)server_only / n, (double)both / (2.0 * n), (double)both / (2048.0 * n));
  printf("by site (bytes and allocations per endpoint, mean of both roles):\n");
  qsort(sites, nsites, sizeof(site), by_bytes);
  for (size_t k = 0; k < nsites && k < 25; k++)
    printf("  %7.0f B %5.2f  %s:%d\n", (double)sites[k].bytes / (2.0 * n),
           (double)sites[k].count / (2.0 * n), sites[k].file, sites[k].line);
  for (long i = 0; i < n; i++)
    sslbio_conn_free(servers[i]);
  sslbio_ctx_free(cctx);
  sslbio_ctx_free(sctx);
  free(clients);
  free(servers);
  t_buf_free(&wire);
  return 0;
}
