/* The header's introspection functions: kind names, a context's role and
 * verify mode (also of a wrapped SSL_CTX), check_hostname, encrypted key
 * passwords, the parts of an error, and the negotiated facts of a
 * connection (version, cipher, group, resumption, server name, the peer's
 * certificates, buffered plaintext), compared with what OpenSSL's own SSL
 * says. Engines are paired in memory with the harness (t_link). */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "t.h"

static sslbio_ctx *cctx, *sctx;

/* A handshaken pair; 0 (with the reason reported) if it failed. */
static int open_pair(t_link *l, sslbio_ctx *c, sslbio_ctx *s, const char *name) {
  if (!t_link_init(l, c, s, name))
    return 0;
  int st = t_handshake(l);
  if (st != SSLBIO_OK) {
    t_failf(__FILE__, __LINE__, "handshake: %s (client %s, server %s)", sslbio_strstatus(st),
            t_errmsg(l->c), t_errmsg(l->s));
    t_link_free(l);
    return 0;
  }
  return 1;
}

static int streq(const char *a, const char *b) { return a != NULL && b != NULL && strcmp(a, b) == 0; }

#define CHECK_STREQ(a, b)                                                                          \
  do {                                                                                             \
    const char *t_x_ = (a), *t_y_ = (b);                                                           \
    if (!streq(t_x_, t_y_))                                                                        \
      t_failf(__FILE__, __LINE__, "%s = \"%s\", want \"%s\"", #a, t_x_ ? t_x_ : "(null)",         \
              t_y_ ? t_y_ : "(null)");                                                             \
  } while (0)

/* ---- library and context ---------------------------------------------- */

static void test_strkind(void) {
#define KIND_ROW(name, value, text)                                                                \
  CHECK_EQ(SSLBIO_KIND_##name, value);                                                             \
  CHECK_STREQ(sslbio_strkind(value), text);
  SSLBIO_KIND_TABLE(KIND_ROW)
#undef KIND_ROW
  CHECK_STREQ(sslbio_strkind(SSLBIO_KIND_VERIFY), "verify");
  CHECK(sslbio_strkind(SSLBIO_KIND_SSL) == sslbio_strkind(SSLBIO_KIND_SSL)); /* static */
  const int unknown[] = {-1, SSLBIO_KIND_CLOSED + 1, 99, INT_MAX, INT_MIN};
  for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
    CHECK_STREQ(sslbio_strkind(unknown[i]), "unknown kind");
  /* the run-time table carries the new functions */
  const sslbio_api_v1 *api = sslbio_api(SSLBIO_ABI_VERSION);
  REQUIRE(api != NULL);
  CHECK(api->strkind == sslbio_strkind);
  CHECK(api->ctx_role == sslbio_ctx_role);
  CHECK(api->ctx_get_verify == sslbio_ctx_get_verify);
  CHECK(api->conn_error_info == sslbio_conn_error_info);
  CHECK(api->conn_group == sslbio_conn_group);
}

static void test_ctx_role(void) {
  CHECK_EQ(sslbio_ctx_role(cctx), SSLBIO_CLIENT);
  CHECK_EQ(sslbio_ctx_role(sctx), SSLBIO_SERVER);
  CHECK_EQ(sslbio_ctx_role(NULL), SSLBIO_EINVAL);
  SSL_CTX *plain = SSL_CTX_new(TLS_method());
  REQUIRE(plain != NULL);
  sslbio_ctx *as_server = sslbio_ctx_wrap_openssl(plain, SSLBIO_SERVER);
  sslbio_ctx *as_client = sslbio_ctx_wrap_openssl(plain, SSLBIO_CLIENT);
  CHECK_EQ(sslbio_ctx_role(as_server), SSLBIO_SERVER);
  CHECK_EQ(sslbio_ctx_role(as_client), SSLBIO_CLIENT);
  sslbio_ctx_free(as_server);
  sslbio_ctx_free(as_client);
  SSL_CTX_free(plain);
}

static void test_ctx_get_verify(void) {
  CHECK_EQ(sslbio_ctx_get_verify(NULL), SSLBIO_EINVAL);
  sslbio_ctx *c = sslbio_ctx_new(SSLBIO_CLIENT), *s = sslbio_ctx_new(SSLBIO_SERVER);
  REQUIRE(c && s);
  CHECK_EQ(sslbio_ctx_get_verify(c), SSLBIO_VERIFY_PEER); /* clients verify by default */
  CHECK_EQ(sslbio_ctx_get_verify(s), SSLBIO_VERIFY_NONE);
  const int modes[] = {SSLBIO_VERIFY_REQUIRE_PEER, SSLBIO_VERIFY_PEER, SSLBIO_VERIFY_NONE};
  for (size_t i = 0; i < 3; i++) {
    CHECK_EQ(sslbio_ctx_set_verify(s, modes[i]), SSLBIO_OK);
    CHECK_EQ(sslbio_ctx_get_verify(s), modes[i]);
    CHECK_EQ(sslbio_ctx_set_verify(c, modes[i]), SSLBIO_OK);
    CHECK_EQ(sslbio_ctx_get_verify(c), modes[i]);
  }
  CHECK_EQ(sslbio_ctx_set_verify(s, 7), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_get_verify(s), SSLBIO_VERIFY_NONE); /* unchanged */
  sslbio_ctx_free(c);
  sslbio_ctx_free(s);

  /* A wrapped SSL_CTX: the mode is read from its flags. */
  static const struct {
    int flags, want;
  } cases[] = {
      {SSL_VERIFY_NONE, SSLBIO_VERIFY_NONE},
      {SSL_VERIFY_PEER, SSLBIO_VERIFY_PEER},
      {SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, SSLBIO_VERIFY_PEER},
      {SSL_VERIFY_PEER | SSL_VERIFY_POST_HANDSHAKE, SSLBIO_VERIFY_PEER},
      {SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, SSLBIO_VERIFY_REQUIRE_PEER},
      {SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT | SSL_VERIFY_CLIENT_ONCE,
       SSLBIO_VERIFY_REQUIRE_PEER},
      {SSL_VERIFY_FAIL_IF_NO_PEER_CERT, SSLBIO_VERIFY_NONE}, /* ignored without PEER */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    for (int role = SSLBIO_CLIENT; role <= SSLBIO_SERVER; role++) {
      SSL_CTX *plain = SSL_CTX_new(role == SSLBIO_CLIENT ? TLS_client_method() : TLS_server_method());
      REQUIRE(plain != NULL);
      SSL_CTX_set_verify(plain, cases[i].flags, NULL);
      sslbio_ctx *w = sslbio_ctx_wrap_openssl(plain, role);
      REQUIRE(w != NULL);
      if (sslbio_ctx_get_verify(w) != cases[i].want)
        t_failf(__FILE__, __LINE__, "flags 0x%x role %d: mode %d, want %d", cases[i].flags, role,
                sslbio_ctx_get_verify(w), cases[i].want);
      sslbio_ctx_free(w);
      SSL_CTX_free(plain);
    }
  }
  /* ... read when asked: the owner may change the SSL_CTX after wrapping */
  SSL_CTX *plain = SSL_CTX_new(TLS_server_method());
  REQUIRE(plain != NULL);
  sslbio_ctx *w = sslbio_ctx_wrap_openssl(plain, SSLBIO_SERVER);
  REQUIRE(w != NULL);
  CHECK_EQ(sslbio_ctx_get_verify(w), SSLBIO_VERIFY_NONE);
  SSL_CTX_set_verify(plain, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
  CHECK_EQ(sslbio_ctx_get_verify(w), SSLBIO_VERIFY_REQUIRE_PEER);
  sslbio_ctx_free(w);
  SSL_CTX_free(plain);
}

/* Handshake a fresh client of ctx (name may be NULL) with the shared
 * server; the client's status, verify result and the SNI the server saw
 * (copied into sni, "" for none). */
static int try_client(sslbio_ctx *ctx, const char *name, long *verify, char *sni, size_t cap) {
  t_link l;
  if (!t_link_init(&l, ctx, sctx, name))
    return SSLBIO_ENOMEM;
  int st = t_handshake(&l);
  if (st != SSLBIO_OK && l.cst != SSLBIO_OK)
    st = l.cst;
  *verify = sslbio_conn_verify_result(l.c);
  const char *seen = sslbio_conn_server_name(l.s);
  snprintf(sni, cap, "%s", seen ? seen : "");
  if (st == SSLBIO_OK && !t_transfer(&l, l.c, l.s, 1000, 1000))
    st = SSLBIO_ERROR;
  t_link_free(&l);
  return st;
}

static void test_check_hostname(void) {
  long v;
  char sni[256];
  CHECK_EQ(sslbio_ctx_set_check_hostname(NULL, 0), SSLBIO_EINVAL);

  /* On by default: a mismatch fails with X509_V_ERR_HOSTNAME_MISMATCH. */
  CHECK_EQ(try_client(cctx, "wrong.example", &v, sni, sizeof(sni)), SSLBIO_ERROR);
  CHECK_EQ(v, 62);
  CHECK_EQ(v, X509_V_ERR_HOSTNAME_MISMATCH);
  CHECK(sslbio_conn_new(cctx, NULL) == NULL); /* a verifying client needs a name */
  CHECK_STR_HAS(sslbio_ctx_error(cctx), "server name");

  /* Off: no name needed, the chain is still verified. */
  sslbio_ctx *off = t_client_ctx("ca.pem");
  REQUIRE(off != NULL);
  CHECK_EQ(sslbio_ctx_set_check_hostname(off, 0), SSLBIO_OK);
  CHECK_EQ(sslbio_ctx_get_verify(off), SSLBIO_VERIFY_PEER);
  CHECK_EQ(try_client(off, NULL, &v, sni, sizeof(sni)), SSLBIO_OK);
  CHECK_EQ(v, X509_V_OK);
  CHECK_STREQ(sni, ""); /* no name, no SNI */
  /* with a name the certificate does not have: sent as SNI, not checked */
  CHECK_EQ(try_client(off, "wrong.example", &v, sni, sizeof(sni)), SSLBIO_OK);
  CHECK_EQ(v, X509_V_OK);
  CHECK_STREQ(sni, "wrong.example");
  CHECK_EQ(sslbio_ctx_set_check_hostname(off, 1), SSLBIO_EINVAL); /* frozen now */
  sslbio_ctx_free(off);

  /* Off still fails on a CA it does not trust. */
  sslbio_ctx *wrong_ca = t_client_ctx("other-ca.pem");
  REQUIRE(wrong_ca != NULL);
  CHECK_EQ(sslbio_ctx_set_check_hostname(wrong_ca, 0), SSLBIO_OK);
  CHECK_EQ(try_client(wrong_ca, NULL, &v, sni, sizeof(sni)), SSLBIO_ERROR);
  CHECK_EQ(v, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY); /* the server sends its leaf alone */
  sslbio_ctx_free(wrong_ca);

  /* Turned off and on again: back to the default. */
  sslbio_ctx *again = t_client_ctx("ca.pem");
  REQUIRE(again != NULL);
  CHECK_EQ(sslbio_ctx_set_check_hostname(again, 0), SSLBIO_OK);
  CHECK_EQ(sslbio_ctx_set_check_hostname(again, 1), SSLBIO_OK);
  CHECK(sslbio_conn_new(again, NULL) == NULL);
  CHECK_EQ(try_client(again, "wrong.example", &v, sni, sizeof(sni)), SSLBIO_ERROR);
  CHECK_EQ(v, X509_V_ERR_HOSTNAME_MISMATCH);
  sslbio_ctx_free(again);
}

/* ---- encrypted private keys -------------------------------------------- */

/* Run argv (an openssl command); 1 when it exited 0. */
static int run_quiet(char *const argv[]) {
  int out = -1;
  pid_t pid = t_spawn(argv, NULL, &out);
  if (pid < 0)
    return 0;
  t_buf log = {0};
  t_read_all(out, &log, 30000);
  close(out);
  int status = t_reap(pid, 30000);
  int ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!ok)
    fprintf(stderr, "%s failed: %.*s\n", argv[0], (int)log.len, log.data ? (char *)log.data : "");
  t_buf_free(&log);
  return ok;
}

#define PASSWORD "s3cret pass"

/* A server context with server.pem and the encrypted key at path (file or,
 * with pem set, its contents), password pw (NULL: none set); the key
 * setter's status. The context is returned in *out. */
static int load_key(sslbio_ctx **out, const char *path, int pem, const char *pw, size_t pwlen) {
  sslbio_ctx *ctx = sslbio_ctx_new(SSLBIO_SERVER);
  *out = ctx;
  if (ctx == NULL || sslbio_ctx_use_certificate_chain_file(ctx, t_cert("server.pem")) != SSLBIO_OK)
    return SSLBIO_ENOMEM;
  if (pw != NULL && sslbio_ctx_set_key_password(ctx, pw, pwlen) != SSLBIO_OK)
    return SSLBIO_ENOMEM;
  if (!pem)
    return sslbio_ctx_use_private_key_file(ctx, path);
  size_t len = 0;
  char *data = t_read_file(path, &len);
  if (data == NULL)
    return SSLBIO_ENOMEM;
  int st = sslbio_ctx_use_private_key_pem(ctx, data, len);
  free(data);
  return st;
}

/* The key loads and serves a handshake. */
static void check_serves(sslbio_ctx *ctx) {
  t_link l;
  if (open_pair(&l, cctx, ctx, "localhost")) {
    CHECK(t_transfer(&l, l.c, l.s, 2000, 2000));
    t_link_free(&l);
  }
}

/* In a child without a terminal (so OpenSSL's default passphrase prompt
 * cannot wait for one), load the encrypted key with no password set after
 * setting and clearing one; 1 when the load failed as it must. */
static int cleared_password_refused(const char *path) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    alarm(30);
    setsid();
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 2); /* OpenSSL prints its passphrase prompt there */
    sslbio_ctx *ctx = sslbio_ctx_new(SSLBIO_SERVER);
    int ok = ctx != NULL &&
             sslbio_ctx_use_certificate_chain_file(ctx, t_cert("server.pem")) == SSLBIO_OK &&
             sslbio_ctx_set_key_password(ctx, PASSWORD, strlen(PASSWORD)) == SSLBIO_OK &&
             sslbio_ctx_set_key_password(ctx, NULL, 0) == SSLBIO_OK &&
             sslbio_ctx_use_private_key_file(ctx, path) == SSLBIO_ERROR &&
             sslbio_ctx_error(ctx)[0] != '\0';
    sslbio_ctx_free(ctx);
    _exit(ok ? 0 : 1);
  }
  int status = t_reap(pid, 40000);
  return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_key_password(void) {
  char dir[] = "/tmp/sslbio_test_info.XXXXXX";
  REQUIRE(mkdtemp(dir) != NULL);
  char pkcs8[sizeof(dir) + 32], trad[sizeof(dir) + 32], passarg[64];
  snprintf(pkcs8, sizeof(pkcs8), "%s/key.pkcs8.pem", dir);
  snprintf(trad, sizeof(trad), "%s/key.trad.pem", dir);
  snprintf(passarg, sizeof(passarg), "pass:%s", PASSWORD);
  char *mk_pkcs8[] = {"openssl", "pkey", "-in", (char *)t_cert("server.key"), "-aes-256-cbc",
                      "-passout", passarg, "-out", pkcs8, NULL};
  char *mk_trad[] = {"openssl", "pkey", "-traditional", "-in", (char *)t_cert("server.key"),
                     "-aes-256-cbc", "-passout", passarg, "-out", trad, NULL};
  int made = run_quiet(mk_pkcs8) && run_quiet(mk_trad);
  CHECK(made);
  if (made) {
    size_t len = 0;
    char *text = t_read_file(pkcs8, &len);
    CHECK_STR_HAS(text, "-----BEGIN ENCRYPTED PRIVATE KEY-----");
    free(text);
    text = t_read_file(trad, &len);
    CHECK_STR_HAS(text, "Proc-Type: 4,ENCRYPTED");
    free(text);

    const char *files[] = {pkcs8, trad};
    for (int f = 0; f < 2; f++) {
      for (int pem = 0; pem < 2; pem++) {
        sslbio_ctx *ctx;
        /* wrong password: an error with a message */
        CHECK_EQ(load_key(&ctx, files[f], pem, "wrong", 5), SSLBIO_ERROR);
        CHECK_STR_HAS(sslbio_ctx_error(ctx), "private key");
        sslbio_ctx_free(ctx);
        /* the right one: the key loads and serves */
        int st = load_key(&ctx, files[f], pem, PASSWORD, strlen(PASSWORD));
        if (st != SSLBIO_OK)
          t_failf(__FILE__, __LINE__, "%s (pem %d): %s: %s", files[f], pem, sslbio_strstatus(st),
                  sslbio_ctx_error(ctx));
        else
          check_serves(ctx);
        sslbio_ctx_free(ctx);
      }
    }
    /* len bytes of the buffer are the password, no NUL needed */
    sslbio_ctx *ctx;
    CHECK_EQ(load_key(&ctx, pkcs8, 0, PASSWORD "trailing junk", strlen(PASSWORD)), SSLBIO_OK);
    sslbio_ctx_free(ctx);
    CHECK_EQ(load_key(&ctx, pkcs8, 0, PASSWORD, strlen(PASSWORD) - 1), SSLBIO_ERROR);
    sslbio_ctx_free(ctx);
    /* NULL clears it: the encrypted key no longer loads */
    CHECK(cleared_password_refused(pkcs8));
    /* a plain key needs no password and ignores one */
    CHECK_EQ(load_key(&ctx, t_cert("server.key"), 0, "unused", 6), SSLBIO_OK);
    sslbio_ctx_free(ctx);
  }
  /* the setter's own contract */
  CHECK_EQ(sslbio_ctx_set_key_password(NULL, "x", 1), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_ctx_set_key_password(sctx, "x", 1), SSLBIO_EINVAL); /* frozen */
  sslbio_ctx *c = sslbio_ctx_new(SSLBIO_SERVER);
  CHECK_EQ(sslbio_ctx_set_key_password(c, "", 0), SSLBIO_OK); /* an empty password */
  CHECK_EQ(sslbio_ctx_set_key_password(c, NULL, 0), SSLBIO_OK);
  CHECK_EQ(sslbio_ctx_set_key_password(c, NULL, 0), SSLBIO_OK); /* clearing twice */
  CHECK_EQ(sslbio_ctx_set_key_password(c, "kept until free", 15), SSLBIO_OK);
  sslbio_ctx_free(c); /* wiped and freed (ASan, valgrind: no leak) */
  unlink(pkcs8);
  unlink(trad);
  rmdir(dir);
}

/* ---- errors ------------------------------------------------------------ */

static void check_no_error(const sslbio_conn *conn) {
  sslbio_error_info info;
  memset(&info, 0x5a, sizeof(info));
  CHECK_EQ(sslbio_conn_error_info(conn, &info), SSLBIO_OK);
  CHECK_EQ(info.status, SSLBIO_OK);
  CHECK_EQ(info.kind, SSLBIO_KIND_NONE);
  CHECK(info.op == NULL);
  CHECK_EQ(info.entries, 0);
  CHECK_EQ(info.dropped, 0);
  CHECK_EQ(info.verify_result, X509_V_OK);
  CHECK(info.verify_string == NULL);
  sslbio_error_entry e;
  CHECK_EQ(sslbio_conn_error_entry(conn, 0, &e), SSLBIO_EINVAL);
}

/* conn failed with an SSL_ERROR_SSL of kind in op: fills *info and *e
 * (entry 0: library SSL, reason mnemonic reason unless NULL, the packed
 * code sslbio_conn_error_code gives, its text in the message). 0 if there
 * is no entry to check. */
static int check_ssl_failure(const sslbio_conn *conn, int kind, const char *op, const char *reason,
                             sslbio_error_info *info, sslbio_error_entry *e) {
  CHECK_EQ(sslbio_conn_error_info(conn, info), SSLBIO_OK);
  CHECK_EQ(info->status, SSLBIO_ERROR);
  CHECK_EQ(info->kind, kind);
  CHECK_STREQ(info->op, op);
  CHECK_EQ(info->ssl_error, SSL_ERROR_SSL);
  CHECK(info->detail != NULL);
  CHECK_EQ(info->dropped, 0);
  if (info->entries < 1 || sslbio_conn_error_entry(conn, 0, e) != SSLBIO_OK) {
    t_failf(__FILE__, __LINE__, "%s: no error entry", op);
    return 0;
  }
  CHECK_STREQ(e->lib, "SSL");
  CHECK_STREQ(e->lib_string, "SSL routines");
  if (reason != NULL)
    CHECK_STREQ(e->reason, reason);
  CHECK(e->reason[0] != '\0');
  CHECK_EQ(e->code, sslbio_conn_error_code(conn));
  CHECK_EQ(ERR_GET_LIB(e->code), ERR_LIB_SSL);
  CHECK(e->file != NULL && e->line > 0 && e->function != NULL && e->data != NULL);
  CHECK_STR_HAS(t_errmsg(conn), e->reason_string);
  return 1;
}

static void test_error_info_verify(void) {
  sslbio_ctx *other = t_client_ctx("other-ca.pem");
  REQUIRE(other != NULL);
  t_link l;
  REQUIRE(t_link_init(&l, other, sctx, "localhost"));
  check_no_error(l.c); /* nothing failed yet */
  CHECK_EQ(t_handshake(&l), SSLBIO_ERROR);
  CHECK_ST(l.c, l.cst, SSLBIO_ERROR);
  sslbio_error_info info;
  sslbio_error_entry e;
  REQUIRE(check_ssl_failure(l.c, SSLBIO_KIND_VERIFY, "handshake", "CERTIFICATE_VERIFY_FAILED", &info,
                            &e));
  CHECK_STREQ(sslbio_strkind(info.kind), "verify");
  CHECK_EQ(info.verify_result, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY); /* 20 */
  CHECK_EQ(info.verify_result, sslbio_conn_verify_result(l.c));
  CHECK_STREQ(info.verify_string, X509_verify_cert_error_string(info.verify_result));
  CHECK_STREQ(e.reason_string, "certificate verify failed");
  CHECK_EQ(ERR_GET_REASON(e.code), SSL_R_CERTIFICATE_VERIFY_FAILED);
  /* the one-line message is made of the same parts */
  if (info.entries == 1) {
    char want[512];
    snprintf(want, sizeof(want), "sslbio: handshake: %s: %s (verify %ld)", e.reason_string,
             info.verify_string, info.verify_result);
    CHECK_STREQ(t_errmsg(l.c), want);
  }
  /* out of range and NULL arguments */
  CHECK_EQ(sslbio_conn_error_entry(l.c, info.entries, &e), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_error_entry(l.c, SIZE_MAX, &e), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_error_entry(l.c, 0, NULL), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_error_entry(NULL, 0, &e), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_error_info(l.c, NULL), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_error_info(NULL, &info), SSLBIO_EINVAL);
  /* sticky: a later call on the dead engine reports the same */
  char buf[8];
  CHECK_ST(l.c, sslbio_conn_read(l.c, buf, sizeof(buf)), SSLBIO_ERROR);
  sslbio_error_info again;
  CHECK_EQ(sslbio_conn_error_info(l.c, &again), SSLBIO_OK);
  CHECK_EQ(again.kind, SSLBIO_KIND_VERIFY);
  CHECK_EQ(again.entries, info.entries);
  t_link_free(&l);
  sslbio_ctx_free(other);
}

static void test_error_info_ssl(void) {
  /* garbage where a ClientHello belongs */
  t_link l;
  REQUIRE(t_link_init(&l, cctx, sctx, "localhost"));
  const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  CHECK_EQ(sslbio_conn_feed(l.s, req, sizeof(req) - 1), (long)sizeof(req) - 1);
  CHECK_ST(l.s, sslbio_conn_handshake(l.s), SSLBIO_ERROR);
  sslbio_error_info info;
  sslbio_error_entry e;
  if (check_ssl_failure(l.s, SSLBIO_KIND_SSL, "handshake", "HTTP_REQUEST", &info, &e))
    CHECK_STREQ(e.reason_string, "http request");
  CHECK_EQ(info.verify_result, X509_V_OK);
  CHECK(info.verify_string == NULL);
  t_link_free(&l);

  /* a garbage record after a good handshake */
  REQUIRE(open_pair(&l, cctx, sctx, "localhost"));
  unsigned char junk[600];
  for (size_t i = 0; i < sizeof(junk); i++)
    junk[i] = (unsigned char)(i * 7 + 3);
  junk[0] = 23, junk[1] = 3, junk[2] = 3, junk[3] = 2, junk[4] = 0; /* application data, 512 bytes */
  CHECK(sslbio_conn_feed(l.c, junk, sizeof(junk)) > 0);
  char buf[16];
  CHECK_ST(l.c, sslbio_conn_read(l.c, buf, sizeof(buf)), SSLBIO_ERROR);
  CHECK(check_ssl_failure(l.c, SSLBIO_KIND_SSL, "read", NULL, &info, &e));
  t_link_free(&l);
}

static void test_error_info_other(void) {
  t_link l;
  REQUIRE(t_link_init(&l, cctx, sctx, "localhost"));
  check_no_error(l.c);
  /* EINVAL: a key update before the handshake */
  CHECK_ST(l.c, sslbio_conn_key_update(l.c, 1), SSLBIO_EINVAL);
  sslbio_error_info info;
  CHECK_EQ(sslbio_conn_error_info(l.c, &info), SSLBIO_OK);
  CHECK_EQ(info.status, SSLBIO_EINVAL);
  CHECK_EQ(info.kind, SSLBIO_KIND_INVALID);
  CHECK_STREQ(info.op, "key update");
  CHECK_EQ(info.entries, 0);
  CHECK_EQ(info.ssl_error, 0);
  CHECK_STR_HAS(info.detail, "TLS 1.3");
  sslbio_error_entry e;
  CHECK_EQ(sslbio_conn_error_entry(l.c, 0, &e), SSLBIO_EINVAL); /* no entries */
  /* EINVAL: a NULL buffer */
  CHECK_ST(l.c, sslbio_conn_write(l.c, NULL, 5), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_error_info(l.c, &info), SSLBIO_OK);
  CHECK_EQ(info.kind, SSLBIO_KIND_INVALID);
  CHECK_STREQ(info.op, "write");
  /* EINVAL is no failure of the engine: the handshake still works */
  CHECK_EQ(t_handshake(&l), SSLBIO_OK);
  CHECK(t_transfer(&l, l.c, l.s, 1000, 1000));
  t_link_free(&l);

  /* transport EOF mid-handshake: TRUNCATED */
  REQUIRE(t_link_init(&l, cctx, sctx, "localhost"));
  CHECK_ST(l.c, sslbio_conn_handshake(l.c), SSLBIO_WANT_READ);
  CHECK_EQ(sslbio_conn_feed_eof(l.c), SSLBIO_OK);
  CHECK_ST(l.c, sslbio_conn_handshake(l.c), SSLBIO_TRUNCATED);
  CHECK_EQ(sslbio_conn_error_info(l.c, &info), SSLBIO_OK);
  CHECK_EQ(info.status, SSLBIO_TRUNCATED);
  CHECK_EQ(info.kind, SSLBIO_KIND_TRUNCATED);
  CHECK_STREQ(info.op, "handshake");
  t_link_free(&l);
}

/* ---- negotiated facts -------------------------------------------------- */

/* Every fact of conn agrees with its SSL. */
static void check_facts_match_ssl(const sslbio_conn *conn) {
  SSL *ssl = sslbio_conn_openssl(conn);
  REQUIRE(ssl != NULL);
  const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
  REQUIRE(cipher != NULL);
  CHECK_EQ(sslbio_conn_protocol_version(conn), SSL_version(ssl));
  CHECK_EQ(sslbio_conn_cipher_id(conn), SSL_CIPHER_get_protocol_id(cipher));
  CHECK_EQ(sslbio_conn_cipher_bits(conn), SSL_CIPHER_get_bits(cipher, NULL));
  CHECK_STREQ(sslbio_conn_cipher(conn), SSL_CIPHER_get_name(cipher));
  CHECK_STREQ(sslbio_conn_group(conn), SSL_group_to_name(ssl, SSL_get_negotiated_group(ssl)));
  CHECK_EQ(sslbio_conn_session_reused(conn), SSL_session_reused(ssl));
}

/* The group a TLS 1.3 handshake settles on by default: OpenSSL 3.5 offers
 * the hybrid X25519MLKEM768 first, 3.0 X25519 (TLS 1.2 is X25519 on both). */
#if OPENSSL_VERSION_NUMBER >= 0x30500000L
#define TLS13_DEFAULT_GROUP "X25519MLKEM768"
#else
#define TLS13_DEFAULT_GROUP "x25519"
#endif

/* Negotiate with the client ctx (versions/suites set by the caller) and
 * check the facts on both sides. */
static void check_negotiated(sslbio_ctx *c, int version, long cipher_id, int bits, const char *group) {
  t_link l;
  REQUIRE(t_link_init(&l, c, sctx, "localhost"));
  /* nothing before the handshake */
  CHECK_EQ(sslbio_conn_protocol_version(l.c), 0);
  CHECK_EQ(sslbio_conn_cipher_id(l.c), 0);
  CHECK_EQ(sslbio_conn_cipher_bits(l.c), 0);
  CHECK(sslbio_conn_group(l.c) == NULL);
  CHECK_EQ(sslbio_conn_session_reused(l.c), 0);
  CHECK_EQ(t_handshake(&l), SSLBIO_OK);
  sslbio_conn *sides[] = {l.c, l.s};
  for (int i = 0; i < 2; i++) {
    check_facts_match_ssl(sides[i]);
    CHECK_EQ(sslbio_conn_protocol_version(sides[i]), version);
    if (cipher_id != 0)
      CHECK_EQ(sslbio_conn_cipher_id(sides[i]), cipher_id);
    if (bits != 0)
      CHECK_EQ(sslbio_conn_cipher_bits(sides[i]), bits);
    CHECK(sslbio_conn_group(sides[i]) != NULL && strcasecmp(sslbio_conn_group(sides[i]), group) == 0);
    CHECK_EQ(sslbio_conn_session_reused(sides[i]), 0);
  }
  CHECK_EQ(sslbio_conn_cipher_id(l.c), sslbio_conn_cipher_id(l.s));
  CHECK(t_transfer(&l, l.c, l.s, 1000, 1000));
  t_link_free(&l);
}

static void test_negotiated_facts(void) {
  /* defaults */
  check_negotiated(cctx, TLS1_3_VERSION, 0, 0, TLS13_DEFAULT_GROUP);
  sslbio_ctx *c12 = t_client_ctx("ca.pem");
  REQUIRE(c12 != NULL);
  CHECK_EQ(sslbio_ctx_set_versions(c12, TLS1_2_VERSION, TLS1_2_VERSION), SSLBIO_OK);
  check_negotiated(c12, TLS1_2_VERSION, 0, 0, "x25519");
  sslbio_ctx_free(c12);
  /* chosen suites: the IANA numbers and key sizes */
  sslbio_ctx *c13 = t_client_ctx("ca.pem");
  REQUIRE(c13 != NULL);
  CHECK_EQ(sslbio_ctx_set_ciphers(c13, NULL, "TLS_CHACHA20_POLY1305_SHA256"), SSLBIO_OK);
  check_negotiated(c13, TLS1_3_VERSION, 0x1303, 256, TLS13_DEFAULT_GROUP);
  sslbio_ctx_free(c13);
  c13 = t_client_ctx("ca.pem");
  REQUIRE(c13 != NULL);
  CHECK_EQ(sslbio_ctx_set_ciphers(c13, NULL, "TLS_AES_128_GCM_SHA256"), SSLBIO_OK);
  check_negotiated(c13, TLS1_3_VERSION, 0x1301, 128, TLS13_DEFAULT_GROUP);
  sslbio_ctx_free(c13);
  c12 = t_client_ctx("ca.pem");
  REQUIRE(c12 != NULL);
  CHECK_EQ(sslbio_ctx_set_versions(c12, TLS1_2_VERSION, TLS1_2_VERSION), SSLBIO_OK);
  CHECK_EQ(sslbio_ctx_set_ciphers(c12, "ECDHE-ECDSA-AES256-GCM-SHA384", NULL), SSLBIO_OK);
  check_negotiated(c12, TLS1_2_VERSION, 0xC02C, 256, "x25519");
  sslbio_ctx_free(c12);
  /* a chosen group, through a wrapped SSL_CTX, both versions */
  for (int v = 0; v < 2; v++) {
    SSL_CTX *plain = SSL_CTX_new(TLS_client_method());
    REQUIRE(plain != NULL);
    CHECK_EQ(SSL_CTX_load_verify_locations(plain, t_cert("ca.pem"), NULL), 1);
    SSL_CTX_set_verify(plain, SSL_VERIFY_PEER, NULL);
    CHECK_EQ(SSL_CTX_set1_groups_list(plain, "P-256"), 1);
    if (v == 1)
      SSL_CTX_set_max_proto_version(plain, TLS1_2_VERSION);
    sslbio_ctx *w = sslbio_ctx_wrap_openssl(plain, SSLBIO_CLIENT);
    REQUIRE(w != NULL);
    check_negotiated(w, v ? TLS1_2_VERSION : TLS1_3_VERSION, 0, 0, "secp256r1");
    sslbio_ctx_free(w);
    SSL_CTX_free(plain);
  }
  /* NULL */
  CHECK_EQ(sslbio_conn_protocol_version(NULL), 0);
  CHECK_EQ(sslbio_conn_cipher_id(NULL), 0);
  CHECK_EQ(sslbio_conn_cipher_bits(NULL), 0);
  CHECK(sslbio_conn_group(NULL) == NULL);
  CHECK_EQ(sslbio_conn_session_reused(NULL), 0);
}

/* The client's session (after reading the TLS 1.3 ticket); malloc'd. */
static unsigned char *take_session(t_link *l, long *len) {
  char buf[16];
  if (sslbio_conn_protocol_version(l->c) == TLS1_3_VERSION)
    CHECK_ST(l->c, sslbio_conn_read(l->c, buf, sizeof(buf)), SSLBIO_WANT_READ); /* the ticket */
  *len = sslbio_conn_session(l->c, NULL, 0);
  if (*len <= 0)
    return NULL;
  unsigned char *der = malloc((size_t)*len);
  CHECK_EQ(sslbio_conn_session(l->c, der, (size_t)*len), *len);
  return der;
}

static void test_session_reused(void) {
  for (int v = 0; v < 2; v++) {
    sslbio_ctx *c = t_client_ctx("ca.pem");
    REQUIRE(c != NULL);
    if (v == 1)
      CHECK_EQ(sslbio_ctx_set_versions(c, TLS1_2_VERSION, TLS1_2_VERSION), SSLBIO_OK);
    t_link l;
    REQUIRE(open_pair(&l, c, sctx, "localhost"));
    CHECK_EQ(sslbio_conn_session_reused(l.c), 0);
    CHECK_EQ(sslbio_conn_session_reused(l.s), 0);
    long len = 0;
    unsigned char *der = take_session(&l, &len);
    t_link_free(&l);
    REQUIRE(der != NULL);

    t_link r;
    REQUIRE(t_link_init(&r, c, sctx, "localhost"));
    CHECK_EQ(sslbio_conn_set_session(r.c, der, (size_t)len), SSLBIO_OK);
    CHECK_EQ(sslbio_conn_session_reused(r.c), 0); /* not before the handshake */
    CHECK_EQ(t_handshake(&r), SSLBIO_OK);
    CHECK_EQ(sslbio_conn_session_reused(r.c), 1);
    CHECK_EQ(sslbio_conn_session_reused(r.s), 1);
    check_facts_match_ssl(r.c);
    check_facts_match_ssl(r.s);
    CHECK_EQ(sslbio_conn_protocol_version(r.c), v ? TLS1_2_VERSION : TLS1_3_VERSION);
    CHECK(sslbio_conn_peer_cert_count(r.c) >= 1); /* the leaf comes with the session */
    CHECK_STREQ(sslbio_conn_server_name(r.c), "localhost");
    if (v == 0) /* TLS 1.3: the SNI of this handshake */
      CHECK_STREQ(sslbio_conn_server_name(r.s), "localhost");
    CHECK(t_transfer(&r, r.c, r.s, 1000, 1000));
    t_link_free(&r);
    free(der);
    sslbio_ctx_free(c);
  }
}

static void test_server_name(void) {
  t_link l;
  REQUIRE(t_link_init(&l, cctx, sctx, "localhost"));
  CHECK_STREQ(sslbio_conn_server_name(l.c), "localhost"); /* the client's name, at once */
  CHECK(sslbio_conn_server_name(l.s) == NULL);            /* the server's: after the handshake */
  CHECK_EQ(t_handshake(&l), SSLBIO_OK);
  CHECK_STREQ(sslbio_conn_server_name(l.c), "localhost");
  CHECK_STREQ(sslbio_conn_server_name(l.s), "localhost");
  CHECK_STREQ(sslbio_conn_server_name(l.s), SSL_get_servername(sslbio_conn_openssl(l.s),
                                                                TLSEXT_NAMETYPE_host_name));
  t_link_free(&l);
  /* an address is no SNI (RFC 6066) */
  REQUIRE(open_pair(&l, cctx, sctx, "127.0.0.1"));
  CHECK_STREQ(sslbio_conn_server_name(l.c), "127.0.0.1");
  CHECK(sslbio_conn_server_name(l.s) == NULL);
  t_link_free(&l);
  /* a client without a name */
  sslbio_ctx *none = sslbio_ctx_new(SSLBIO_CLIENT);
  REQUIRE(none != NULL);
  CHECK_EQ(sslbio_ctx_set_verify(none, SSLBIO_VERIFY_NONE), SSLBIO_OK);
  REQUIRE(open_pair(&l, none, sctx, NULL));
  CHECK(sslbio_conn_server_name(l.c) == NULL);
  CHECK(sslbio_conn_server_name(l.s) == NULL);
  t_link_free(&l);
  sslbio_ctx_free(none);
  /* reset: the new name */
  REQUIRE(open_pair(&l, cctx, sctx, "localhost"));
  t_buf_free(&l.c2s);
  t_buf_free(&l.s2c);
  CHECK_EQ(sslbio_conn_reset(l.c, "LocalHost"), SSLBIO_OK);
  CHECK_EQ(sslbio_conn_reset(l.s, NULL), SSLBIO_OK);
  CHECK(sslbio_conn_server_name(l.s) == NULL);
  l.cst = l.sst = SSLBIO_WANT_READ;
  CHECK_EQ(t_handshake(&l), SSLBIO_OK);
  CHECK_STREQ(sslbio_conn_server_name(l.c), "LocalHost");
  CHECK(sslbio_conn_server_name(l.s) != NULL && strcasecmp(sslbio_conn_server_name(l.s), "localhost") == 0);
  t_link_free(&l);
  CHECK(sslbio_conn_server_name(NULL) == NULL);
}

/* DER of every certificate in a PEM file, in order; returns the count. */
static int load_ders(const char *path, t_buf *out, int max) {
  BIO *bio = BIO_new_file(path, "r");
  if (bio == NULL)
    return 0;
  int n = 0;
  X509 *x;
  while (n < max && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    if (len > 0)
      t_buf_append(&out[n++], der, (size_t)len);
    OPENSSL_free(der);
    X509_free(x);
  }
  BIO_free(bio);
  ERR_clear_error(); /* the end of the file */
  return n;
}

/* conn's peer chain is exactly the first want certificates of the PEM
 * file path (and, when ca is set, the last one is ca.pem's). */
static void check_chain(const sslbio_conn *conn, const char *path, long want, int ca) {
  t_buf certs[4] = {{0}}, root[1] = {{0}};
  int have = load_ders(path, certs, 4);
  REQUIRE(have >= want);
  long n = sslbio_conn_peer_cert_count(conn);
  CHECK_EQ(n, want);
  for (long i = 0; i < n && i < want; i++) {
    long need = sslbio_conn_peer_cert_der(conn, (size_t)i, NULL, 0); /* length query */
    CHECK_EQ(need, certs[i].len);
    unsigned char small[16];
    memset(small, 0xee, sizeof(small));
    CHECK_EQ(sslbio_conn_peer_cert_der(conn, (size_t)i, small, sizeof(small)), need);
    CHECK_EQ(small[0], 0xee); /* too small: nothing copied */
    unsigned char *der = malloc((size_t)need);
    CHECK_EQ(sslbio_conn_peer_cert_der(conn, (size_t)i, der, (size_t)need), need);
    CHECK(need == (long)certs[i].len && memcmp(der, certs[i].data, (size_t)need) == 0);
    if (ca && i == n - 1) {
      REQUIRE(load_ders(t_cert("ca.pem"), root, 1) == 1);
      CHECK(need == (long)root[0].len && memcmp(der, root[0].data, (size_t)need) == 0);
    }
    free(der);
  }
  unsigned char buf[8];
  CHECK_EQ(sslbio_conn_peer_cert_der(conn, (size_t)n, NULL, 0), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_peer_cert_der(conn, (size_t)n, buf, sizeof(buf)), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_peer_cert_der(conn, SIZE_MAX, NULL, 0), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_peer_cert_der(conn, 0, NULL, 5), SSLBIO_EINVAL);
  for (int i = 0; i < 4; i++)
    t_buf_free(&certs[i]);
  t_buf_free(&root[0]);
}

/* Plain OpenSSL context of role with the chain file and key file, sending
 * the chain as configured (leaf and CA); the caller owns it. */
static SSL_CTX *plain_with_chain(int role, const char *chain, const char *key) {
  SSL_CTX *x = SSL_CTX_new(role == SSLBIO_CLIENT ? TLS_client_method() : TLS_server_method());
  if (x == NULL || SSL_CTX_use_certificate_chain_file(x, t_cert(chain)) != 1 ||
      SSL_CTX_use_PrivateKey_file(x, t_cert(key), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_load_verify_locations(x, t_cert("ca.pem"), NULL) != 1) {
    SSL_CTX_free(x);
    return NULL;
  }
  SSL_CTX_set_verify(x, role == SSLBIO_CLIENT ? SSL_VERIFY_PEER : SSL_VERIFY_PEER |
                                                                      SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     NULL);
  SSL_CTX_set_session_id_context(x, (const unsigned char *)"test_info", 9);
  return x;
}

static void test_peer_certs(void) {
  CHECK_EQ(sslbio_conn_peer_cert_count(NULL), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_peer_cert_der(NULL, 0, NULL, 0), SSLBIO_EINVAL);
  /* sslbio contexts send the leaf alone (their self-signed root is dropped) */
  sslbio_ctx *rs = t_server_ctx();
  sslbio_ctx *cc = t_client_ctx("ca.pem");
  REQUIRE(rs && cc);
  CHECK_EQ(sslbio_ctx_load_verify_file(rs, t_cert("ca.pem")), SSLBIO_OK);
  CHECK_EQ(sslbio_ctx_set_verify(rs, SSLBIO_VERIFY_REQUIRE_PEER), SSLBIO_OK);
  CHECK_EQ(sslbio_ctx_use_certificate_chain_file(cc, t_cert("client.pem")), SSLBIO_OK);
  CHECK_EQ(sslbio_ctx_use_private_key_file(cc, t_cert("client.key")), SSLBIO_OK);
  t_link l;
  REQUIRE(t_link_init(&l, cc, rs, "localhost"));
  CHECK_EQ(sslbio_conn_peer_cert_count(l.c), 0); /* before the handshake */
  CHECK_EQ(sslbio_conn_peer_cert_der(l.c, 0, NULL, 0), SSLBIO_EINVAL);
  CHECK_EQ(t_handshake(&l), SSLBIO_OK);
  check_chain(l.c, t_cert("server.pem"), 1, 0);
  check_chain(l.s, t_cert("client.pem"), 1, 0);
  t_link_free(&l);
  /* plain OpenSSL peers send leaf and CA: the whole chain, both roles */
  SSL_CTX *ps = plain_with_chain(SSLBIO_SERVER, "server.pem", "server.key");
  SSL_CTX *pc = plain_with_chain(SSLBIO_CLIENT, "client.pem", "client.key");
  REQUIRE(ps && pc);
  sslbio_ctx *ws = sslbio_ctx_wrap_openssl(ps, SSLBIO_SERVER);
  sslbio_ctx *wc = sslbio_ctx_wrap_openssl(pc, SSLBIO_CLIENT);
  REQUIRE(ws && wc);
  for (int v = 0; v < 2; v++) {
    sslbio_ctx *c = cc;
    if (v == 1) { /* TLS 1.2 as well */
      c = t_client_ctx("ca.pem");
      REQUIRE(c != NULL);
      CHECK_EQ(sslbio_ctx_use_certificate_chain_file(c, t_cert("client.pem")), SSLBIO_OK);
      CHECK_EQ(sslbio_ctx_use_private_key_file(c, t_cert("client.key")), SSLBIO_OK);
      CHECK_EQ(sslbio_ctx_set_versions(c, TLS1_2_VERSION, TLS1_2_VERSION), SSLBIO_OK);
    }
    REQUIRE(open_pair(&l, c, ws, "localhost")); /* sslbio client, plain server */
    check_chain(l.c, t_cert("server.pem"), 2, 1);
    check_chain(l.s, t_cert("client.pem"), 1, 0);
    t_link_free(&l);
    if (v == 1)
      sslbio_ctx_free(c);
  }
  REQUIRE(open_pair(&l, wc, rs, "localhost")); /* plain client, sslbio server */
  check_chain(l.s, t_cert("client.pem"), 2, 1);
  check_chain(l.c, t_cert("server.pem"), 1, 0);
  t_link_free(&l);
  /* no client certificate asked for: none */
  REQUIRE(open_pair(&l, cctx, sctx, "localhost"));
  CHECK_EQ(sslbio_conn_peer_cert_count(l.s), 0);
  CHECK_EQ(sslbio_conn_peer_cert_der(l.s, 0, NULL, 0), SSLBIO_EINVAL);
  CHECK_EQ(sslbio_conn_peer_cert_count(l.c), 1);
  t_link_free(&l);
  sslbio_ctx_free(ws);
  sslbio_ctx_free(wc);
  SSL_CTX_free(ps);
  SSL_CTX_free(pc);
  sslbio_ctx_free(rs);
  sslbio_ctx_free(cc);
}

static void test_pending_plaintext(void) {
  CHECK_EQ(sslbio_conn_pending_plaintext(NULL), SSLBIO_EINVAL);
  t_link l;
  REQUIRE(t_link_init(&l, cctx, sctx, "localhost"));
  CHECK_EQ(sslbio_conn_pending_plaintext(l.s), 0);
  CHECK_EQ(t_handshake(&l), SSLBIO_OK);
  unsigned char msg[1000];
  for (size_t i = 0; i < sizeof(msg); i++)
    msg[i] = t_pattern(i);
  CHECK_EQ(sslbio_conn_write(l.c, msg, sizeof(msg)), (long)sizeof(msg)); /* one record */
  t_pump(&l);
  CHECK_EQ(sslbio_conn_pending_plaintext(l.s), 0); /* fed, not decrypted yet */
  unsigned char got[sizeof(msg)];
  CHECK_EQ(sslbio_conn_read(l.s, got, 100), 100);
  CHECK_EQ(sslbio_conn_pending_plaintext(l.s), 900); /* the rest of the record */
  CHECK(sslbio_conn_wants(l.s) & SSLBIO_HAS_PLAINTEXT);
  CHECK_EQ(sslbio_conn_read(l.s, got + 100, 250), 250);
  CHECK_EQ(sslbio_conn_pending_plaintext(l.s), 650);
  CHECK_EQ(sslbio_conn_read(l.s, got + 350, sizeof(got) - 350), 650);
  CHECK_EQ(sslbio_conn_pending_plaintext(l.s), 0);
  CHECK(memcmp(got, msg, sizeof(msg)) == 0);
  CHECK_ST(l.s, sslbio_conn_read(l.s, got, sizeof(got)), SSLBIO_WANT_READ);
  CHECK_EQ(sslbio_conn_pending_plaintext(l.s), SSL_pending(sslbio_conn_openssl(l.s)));
  t_link_free(&l);
}

int main(void) {
  t_init("test_info");
  cctx = t_client_ctx("ca.pem");
  sctx = t_server_ctx();
  if (!cctx || !sctx)
    return 2;
  T_RUN(test_strkind);
  T_RUN(test_ctx_role);
  T_RUN(test_ctx_get_verify);
  T_RUN(test_check_hostname);
  T_RUN(test_key_password);
  T_RUN(test_error_info_verify);
  T_RUN(test_error_info_ssl);
  T_RUN(test_error_info_other);
  T_RUN(test_negotiated_facts);
  T_RUN(test_session_reused);
  T_RUN(test_server_name);
  T_RUN(test_peer_certs);
  T_RUN(test_pending_plaintext);
  sslbio_ctx_free(cctx);
  sslbio_ctx_free(sctx);
  return t_done();
}
