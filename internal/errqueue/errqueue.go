// Package errqueue pokes at the calling OS thread's OpenSSL error queue, for
// tests of sslbio's error discipline (rule 1 of DESIGN.md). Test files may not
// use cgo, so the few C calls those tests need live here.
//
// OpenSSL's error queue is per thread: callers must runtime.LockOSThread
// before Push and keep the lock across the engine call they check.
package errqueue

/*
#cgo pkg-config: openssl
#include <openssl/err.h>
#include <openssl/sslerr.h>

// One fake entry, as a forgetful OpenSSL user would leave behind.
static void errqueue_push(void) {
  ERR_raise_data(ERR_LIB_SSL, SSL_R_BAD_RECORD_TYPE, "%s", "stale entry left by errqueue.Push");
}
static unsigned long errqueue_peek(void) { return ERR_peek_error(); }
static void errqueue_clear(void) { ERR_clear_error(); }
*/
import "C"

// Marker is the data text of the entry Push leaves; an sslbio error that
// mentions it leaked a stale entry.
const Marker = "stale entry left by errqueue.Push"

// Push leaves one error entry (SSL library, "bad record type", data Marker)
// on the calling thread's queue.
func Push() { C.errqueue_push() }

// Pending reports whether the calling thread's queue holds any entry.
func Pending() bool { return C.errqueue_peek() != 0 }

// Clear empties the calling thread's queue.
func Clear() { C.errqueue_clear() }
