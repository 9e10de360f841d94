package sslbio

/*
#include <stdint.h>
#include <stdlib.h>

#include "sslbio.h"

// Unchecked shims, as in engine.go: the engine as an integer and the region
// returned in a struct, so no Go pointer is passed (a local's address would
// escape to the heap and be checked on every call).
typedef struct { long n; void *p; } sslbio__go_region;
static inline sslbio__go_region sslbio__go_feed_buffer(uintptr_t c) {
	sslbio__go_region r = {0, NULL};
	r.n = sslbio_conn_feed_buffer((sslbio_conn *)c, &r.p);
	return r;
}
static inline sslbio__go_region sslbio__go_drain_buffer(uintptr_t c) {
	const void *p = NULL;
	sslbio__go_region r = {0, NULL};
	r.n = sslbio_conn_drain_buffer((sslbio_conn *)c, &p);
	r.p = (void *)p;
	return r;
}
static inline long sslbio__go_feed_commit(uintptr_t c, size_t n) {
	return sslbio_conn_feed_commit((sslbio_conn *)c, n);
}
static inline long sslbio__go_drain_commit(uintptr_t c, size_t n) {
	return sslbio_conn_drain_commit((sslbio_conn *)c, n);
}
*/
import "C"

import (
	"runtime"
	"unsafe"

	sslerr "github.com/sslbio/sslbio/error"
)

// FeedBuffer returns the engine's own buffer for received ciphertext, to
// read the socket straight into; commit what was written with FeedCommit.
// The slice is C memory, valid only until the next call on the engine; it
// is empty when the engine is full. It saves the copy Feed makes.
func (e *Engine) FeedBuffer() ([]byte, error) {
	if e.c == nil {
		return nil, sslerr.ErrClosed
	}
	r := C.sslbio__go_feed_buffer(e.ptr())
	return e.region(r.p, r.n)
}

// FeedCommit hands the engine n bytes written into FeedBuffer's slice.
func (e *Engine) FeedCommit(n int) error {
	return e.commit("feed commit", n, func(c C.uintptr_t, k C.size_t) C.long {
		return C.sslbio__go_feed_commit(c, k)
	})
}

// DrainBuffer returns the pending ciphertext in the engine's own buffer, to
// write to the socket straight from; consume what was sent with
// DrainCommit. The slice is C memory, valid only until the next call on the
// engine; empty when nothing is pending.
func (e *Engine) DrainBuffer() ([]byte, error) {
	if e.c == nil {
		return nil, sslerr.ErrClosed
	}
	r := C.sslbio__go_drain_buffer(e.ptr())
	return e.region(r.p, r.n)
}

// DrainCommit consumes n bytes of DrainBuffer's slice.
func (e *Engine) DrainCommit(n int) error {
	return e.commit("drain commit", n, func(c C.uintptr_t, k C.size_t) C.long {
		return C.sslbio__go_drain_commit(c, k)
	})
}

// region turns a zero-copy call's result — size n of the region at p, or a
// status — into a slice over the C memory.
func (e *Engine) region(p unsafe.Pointer, n C.long) ([]byte, error) {
	runtime.KeepAlive(e)
	if n < 0 {
		return nil, e.statusError(C.int(n))
	}
	if n == 0 {
		return nil, nil
	}
	return unsafe.Slice((*byte)(p), int(n)), nil
}

// commit runs a zero-copy commit of n bytes.
func (e *Engine) commit(op string, n int, call func(C.uintptr_t, C.size_t) C.long) error {
	if e.c == nil {
		return sslerr.ErrClosed
	}
	if n < 0 {
		return sslerr.Invalid(op, "negative count")
	}
	r := call(e.ptr(), C.size_t(n))
	runtime.KeepAlive(e)
	if r < 0 {
		return e.statusError(C.int(r))
	}
	return nil
}

// Reset reuses the engine for a new connection (cheaper than Close and
// NewEngine): buffers emptied, error and session forgotten.
func (e *Engine) Reset(serverName string) error {
	if e.c == nil {
		return sslerr.ErrClosed
	}
	var name *C.char
	if serverName != "" {
		name = C.CString(serverName)
		defer C.free(unsafe.Pointer(name))
	}
	e.hookErr = nil
	if e.homeHooks != nil {
		e.hooks, e.homeHooks = e.homeHooks, nil
	}
	st := C.sslbio_conn_reset(e.c, name)
	runtime.KeepAlive(e)
	if st != C.SSLBIO_OK {
		return e.statusError(st)
	}
	return nil
}
