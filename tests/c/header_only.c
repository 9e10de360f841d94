/* Compiles include/sslbio.h on its own, first and alone, as strict C99 and
 * as C++17 (make test-c-header): the header must be self-contained, need no
 * OpenSSL header, and be warning-free under -Wall -Wextra -pedantic. */
#include "sslbio.h"
#include "sslbio.h" /* the include guard works */

#ifdef __cplusplus
#define SA(cond, msg) static_assert(cond, #msg)
#else
#define SA(cond, msg) typedef char sa_##msg[(cond) ? 1 : -1]
#endif

SA(SSLBIO_OK == 0, ok_is_zero);
SA(SSLBIO_WANT_READ < 0 && SSLBIO_WANT_WRITE < 0 && SSLBIO_CLOSED < 0, statuses_negative);
SA(SSLBIO_TRUNCATED < 0 && SSLBIO_ERROR < 0 && SSLBIO_EINVAL < 0 && SSLBIO_ENOMEM < 0,
   errors_negative);
SA(SSLBIO_ABI_VERSION >= 1, abi_version);
SA((SSLBIO_WANTS_READ & SSLBIO_WANTS_WRITE & SSLBIO_HAS_PLAINTEXT) == 0, wants_bits);

/* Opaque handles stay opaque; the hand-off types are incomplete tags. */
static sslbio_ctx *(*volatile new_ctx)(int) = sslbio_ctx_new;
static struct ssl_ctx_st *(*volatile to_ssl_ctx)(const sslbio_ctx *) = sslbio_ctx_openssl;
static struct ssl_st *(*volatile to_ssl)(const sslbio_conn *) = sslbio_conn_openssl;
static sslbio_recv_fn volatile recv_type;
static sslbio_send_fn volatile send_type;

int main(void) {
  sslbio_api_v1 table;
  table.size = sizeof(table);
  table.abi = SSLBIO_ABI_VERSION;
  (void)table;
  (void)new_ctx;
  (void)to_ssl_ctx;
  (void)to_ssl;
  (void)recv_type;
  (void)send_type;
  return sizeof(SSLBIO_VERSION_STRING) > 1 ? 0 : 1;
}
