/* The key exchange group, on every OpenSSL sslbio supports: what two engines
 * with default contexts negotiate, the size of the client's first flight
 * (its key shares), and choosing X25519 alone through the context hand-off
 * (README, "OpenSSL versions"). Same calls and statuses on 3.0 and 3.5; only
 * the default group differs, so only the expectations below do. */
#include <string.h>
#include <strings.h>

#include <openssl/ssl.h>

#include "t.h"

/* OpenSSL 3.5 made the hybrid post-quantum group X25519MLKEM768 its first
 * default and sends two key shares (X25519MLKEM768 and X25519); 3.0 sends
 * X25519 alone. */
#if OPENSSL_VERSION_NUMBER >= 0x30500000L
#define DEFAULT_GROUP "X25519MLKEM768"
#define DEFAULT_FLIGHT_MIN 1400 /* 1,184 bytes of ML-KEM-768 key + 32 of X25519 + the rest */
#define DEFAULT_FLIGHT_MAX 2000
#else
#define DEFAULT_GROUP "X25519"
#define DEFAULT_FLIGHT_MIN 200
#define DEFAULT_FLIGHT_MAX 600
#endif

/* Handshake c -> s; *first gets the size of the client's first flight and
 * *group the negotiated group's name (static storage of OpenSSL). */
static int handshake(sslbio_ctx *cctx, sslbio_ctx *sctx, long *first, const char **group) {
  t_link l;
  if (!t_link_init(&l, cctx, sctx, "localhost"))
    return 0;
  CHECK_ST(l.c, sslbio_conn_handshake(l.c), SSLBIO_WANT_READ);
  *first = sslbio_conn_pending_out(l.c);
  int ok = t_handshake(&l) == SSLBIO_OK;
  SSL *ssl = sslbio_conn_openssl(l.c);
  *group = ok ? SSL_group_to_name(ssl, SSL_get_negotiated_group(ssl)) : NULL;
  t_link_free(&l);
  return ok;
}

static void test_default_group(void) {
  sslbio_ctx *s = t_server_ctx(), *c = t_client_ctx("ca.pem");
  REQUIRE(s && c);
  long first = 0;
  const char *group = NULL;
  CHECK(handshake(c, s, &first, &group));
  CHECK(group != NULL && strcasecmp(group, DEFAULT_GROUP) == 0);
  if (group != NULL && strcasecmp(group, DEFAULT_GROUP) != 0)
    fprintf(stderr, "     negotiated %s, want %s\n", group, DEFAULT_GROUP);
  CHECK(first >= DEFAULT_FLIGHT_MIN && first <= DEFAULT_FLIGHT_MAX);
  printf("     %s: default group %s, client's first flight %ld bytes\n",
         OpenSSL_version(OPENSSL_VERSION), group ? group : "?", first);
  sslbio_ctx_free(s);
  sslbio_ctx_free(c);
}

/* X25519 alone, set on the SSL_CTX before the context's first connection:
 * the same small first flight and the same group on every version. */
static void test_x25519_only(void) {
  sslbio_ctx *s = t_server_ctx(), *c = t_client_ctx("ca.pem");
  REQUIRE(s && c);
  CHECK_EQ(SSL_CTX_set1_groups_list(sslbio_ctx_openssl(c), "X25519:P-256"), 1);
  long first = 0;
  const char *group = NULL;
  CHECK(handshake(c, s, &first, &group));
  CHECK(group != NULL && strcasecmp(group, "X25519") == 0);
  CHECK(first >= 200 && first <= 600);
  /* and a server limited to P-256 makes the client use its second choice
   * (a HelloRetryRequest: the client sent no P-256 share) */
  sslbio_ctx *s2 = t_server_ctx();
  REQUIRE(s2);
  CHECK_EQ(SSL_CTX_set1_groups_list(sslbio_ctx_openssl(s2), "P-256"), 1);
  CHECK(handshake(c, s2, &first, &group));
  CHECK(group != NULL && (strcasecmp(group, "P-256") == 0 || strcasecmp(group, "secp256r1") == 0 ||
                          strcasecmp(group, "prime256v1") == 0));
  sslbio_ctx_free(s2);
  sslbio_ctx_free(s);
  sslbio_ctx_free(c);
}

int main(void) {
  t_init("test_groups");
  T_RUN(test_default_group);
  T_RUN(test_x25519_only);
  return t_done();
}
