/* Run-time loading: dlopen the shared library, get the function table from
 * sslbio_api(SSLBIO_ABI_VERSION) and run a whole connection through it. This
 * program does not link libsslbio (nor OpenSSL). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"

static const sslbio_api_v1 *api;

/* Every field of the table with the exported name it must equal. */
#define SSLBIO_API_FIELDS(X)                                                                       \
  X(version) X(strstatus) X(ctx_new) X(ctx_wrap_openssl) X(ctx_openssl) X(ctx_ref) X(ctx_free)     \
  X(ctx_use_certificate_chain_file) X(ctx_use_private_key_file) X(ctx_use_certificate_chain_pem)   \
  X(ctx_use_private_key_pem) X(ctx_load_verify_file) X(ctx_load_verify_pem) X(ctx_set_verify)      \
  X(ctx_set_alpn) X(ctx_set_versions) X(ctx_set_ciphers) X(ctx_set_ragged_eof) X(ctx_error)        \
  X(conn_new) X(conn_free) X(conn_feed) X(conn_drain) X(conn_pending_out) X(conn_feed_eof)         \
  X(conn_handshake) X(conn_read) X(conn_write) X(conn_shutdown) X(conn_wants) X(conn_key_update)   \
  X(conn_error) X(conn_error_code) X(conn_verify_result) X(conn_version) X(conn_cipher)            \
  X(conn_alpn) X(conn_is_handshake_done) X(conn_peer_certificate_pem) X(conn_openssl)              \
  X(conn_session) X(conn_set_session) X(conn_set_transport) X(conn_flush) X(conn_feed_buffer)      \
  X(conn_feed_commit) X(conn_drain_buffer) X(conn_drain_commit) X(conn_reset) \
  X(conn_write_drain) X(conn_feed_read) X(strkind) X(ctx_set_check_hostname)               \
  X(ctx_set_key_password) X(ctx_role) X(ctx_get_verify) X(conn_error_info)                   \
  X(conn_error_entry) X(conn_protocol_version) X(conn_cipher_id) X(conn_cipher_bits)         \
  X(conn_group) X(conn_pending_plaintext) X(ctx_set_client_hello_pause) X(conn_server_name)   \
  X(conn_client_alpn) X(conn_use_context) X(conn_reject_client_hello) X(ctx_set_keylog)        \
  X(conn_export_keying_material) X(conn_tls_unique) X(ctx_set_verify_callback)                \
  X(conn_verify_done) X(conn_peer_cert_count) X(conn_peer_cert_der) X(conn_session_reused)     \
  X(ctx_set_ticket_keys)

static void test_table(void *lib) {
  typedef const sslbio_api_v1 *(*api_fn)(int);
  api_fn get = (api_fn)dlsym(lib, "sslbio_api");
  REQUIRE(get != NULL);
  CHECK(get(0) == NULL);
  CHECK(get(SSLBIO_ABI_VERSION + 1) == NULL);
  CHECK(get(-1) == NULL);
  api = get(SSLBIO_ABI_VERSION);
  REQUIRE(api != NULL);
  CHECK(get(SSLBIO_ABI_VERSION) == api); /* static */
  CHECK_EQ(api->size, sizeof(sslbio_api_v1));
  CHECK_EQ(api->abi, SSLBIO_ABI_VERSION);
  int fields = 0;
#define CHECK_FIELD(f)                                                                             \
  do {                                                                                             \
    void *sym = dlsym(lib, "sslbio_" #f);                                                          \
    if (api->f == NULL || sym == NULL || (void *)api->f != sym)                                    \
      t_failf(__FILE__, __LINE__, "table field %s does not match sslbio_%s", #f, #f);              \
    fields++;                                                                                      \
  } while (0);
  SSLBIO_API_FIELDS(CHECK_FIELD)
  /* every pointer of the table is covered by the list above */
  CHECK_EQ(fields * sizeof(void (*)(void)), sizeof(sslbio_api_v1) - offsetof(sslbio_api_v1, version));
  CHECK_STR_HAS(api->version(), SSLBIO_VERSION_STRING);
}

/* A whole connection through the table only. */
static void move(sslbio_conn *from, sslbio_conn *to) {
  unsigned char buf[32768];
  long n;
  while ((n = api->conn_drain(from, buf, sizeof(buf))) > 0) {
    long off = 0;
    while (off < n) {
      long k = api->conn_feed(to, buf + off, (size_t)(n - off));
      if (k <= 0) {
        t_failf(__FILE__, __LINE__, "feed refused");
        return;
      }
      off += k;
    }
  }
}

static void test_connection(void) {
  REQUIRE(api != NULL);
  sslbio_ctx *s = api->ctx_new(SSLBIO_SERVER), *c = api->ctx_new(SSLBIO_CLIENT);
  CHECK_EQ(api->ctx_use_certificate_chain_file(s, t_cert("server.pem")), SSLBIO_OK);
  CHECK_EQ(api->ctx_use_private_key_file(s, t_cert("server.key")), SSLBIO_OK);
  CHECK_EQ(api->ctx_load_verify_file(c, t_cert("ca.pem")), SSLBIO_OK);
  CHECK_EQ(api->ctx_set_alpn(c, "h2"), SSLBIO_OK);
  CHECK_EQ(api->ctx_set_alpn(s, "h2"), SSLBIO_OK);
  sslbio_conn *cc = api->conn_new(c, "localhost"), *sc = api->conn_new(s, NULL);
  REQUIRE(cc && sc);
  int cst = SSLBIO_WANT_READ, sst = SSLBIO_WANT_READ;
  for (int i = 0; i < 20 && (cst != SSLBIO_OK || sst != SSLBIO_OK); i++) {
    if (cst != SSLBIO_OK)
      cst = api->conn_handshake(cc);
    if (sst != SSLBIO_OK)
      sst = api->conn_handshake(sc);
    move(cc, sc);
    move(sc, cc);
  }
  CHECK_EQ(cst, SSLBIO_OK);
  CHECK_EQ(sst, SSLBIO_OK);
  CHECK_STR_HAS(api->conn_alpn(cc), "h2");
  CHECK_STR_HAS(api->conn_version(cc), "TLSv1.3");
  CHECK_EQ(api->conn_write(cc, "through the table", 17), 17);
  move(cc, sc);
  char buf[64];
  CHECK_EQ(api->conn_read(sc, buf, sizeof(buf)), 17);
  CHECK_EQ(api->conn_shutdown(cc), SSLBIO_WANT_READ);
  move(cc, sc);
  CHECK_EQ(api->conn_read(sc, buf, sizeof(buf)), SSLBIO_CLOSED);
  CHECK_STR_HAS(api->strstatus(SSLBIO_CLOSED), "CLOSED");
  api->conn_free(cc);
  api->conn_free(sc);
  api->ctx_free(c);
  api->ctx_free(s);
}

/* The engine leaves pointers into the library with the process: a pthread
 * key's destructor (each thread's buffer cache), an SSL_CTX ex_data free
 * callback that OpenSSL calls for every SSL_CTX it frees, and a BIO_METHOD.
 * So the library is linked -z nodelete and dlclose leaves it loaded: a
 * thread that used it exits afterwards, and an SSL_CTX made by OpenSSL
 * alone is freed, without a jump into unmapped code. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int used, unloaded;

static void wait_for(int *flag) {
  pthread_mutex_lock(&lock);
  while (!*flag)
    pthread_cond_wait(&changed, &lock);
  pthread_mutex_unlock(&lock);
}

static void set(int *flag) {
  pthread_mutex_lock(&lock);
  *flag = 1;
  pthread_cond_broadcast(&changed);
  pthread_mutex_unlock(&lock);
}

static void *use_then_wait(void *arg) {
  (void)arg;
  test_connection(); /* fills this thread's buffer cache */
  set(&used);
  wait_for(&unloaded);
  return NULL; /* the cache's destructor runs now */
}

static void test_dlclose(void *lib) {
  typedef void *(*ctx_new_fn)(const void *);
  typedef const void *(*method_fn)(void);
  typedef void (*ctx_free_fn)(void *);
  void *ssl = dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL); /* the engine's, kept past dlclose */
  REQUIRE(ssl != NULL);
  ctx_new_fn ssl_ctx_new = (ctx_new_fn)dlsym(ssl, "SSL_CTX_new");
  method_fn tls_method = (method_fn)dlsym(ssl, "TLS_method");
  ctx_free_fn ssl_ctx_free = (ctx_free_fn)dlsym(ssl, "SSL_CTX_free");
  REQUIRE(ssl_ctx_new && tls_method && ssl_ctx_free);
  pthread_t user;
  REQUIRE(pthread_create(&user, NULL, use_then_wait, NULL) == 0);
  wait_for(&used);
  const char *path = getenv("T_LIB") ? getenv("T_LIB") : "build/libsslbio.so";
  CHECK_EQ(dlclose(lib), 0);
  CHECK(dlopen(path, RTLD_NOW | RTLD_NOLOAD) != NULL); /* still loaded: nodelete */
  set(&unloaded);
  CHECK_EQ(pthread_join(user, NULL), 0);
  void *plain = ssl_ctx_new(tls_method());
  REQUIRE(plain != NULL);
  ssl_ctx_free(plain); /* OpenSSL calls the engine's ex_data free callback */
}

int main(void) {
  t_init("test_dlopen");
  const char *path = getenv("T_LIB") ? getenv("T_LIB") : "build/libsslbio.so";
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) {
    fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
    return 1;
  }
  test_table(lib);
  printf("ok   test_table\n");
  T_RUN(test_connection);
  test_dlclose(lib);
  printf("ok   test_dlclose\n");
  return t_done();
}
