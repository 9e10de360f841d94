package sslbio

/*
#include <stdlib.h>
#include "sslbio.h"
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
	var p unsafe.Pointer
	n := C.sslbio_conn_feed_buffer(e.c, &p)
	runtime.KeepAlive(e)
	if n < 0 {
		return nil, e.statusError(C.int(n))
	}
	if n == 0 {
		return nil, nil
	}
	return unsafe.Slice((*byte)(p), int(n)), nil
}

// FeedCommit hands the engine n bytes written into FeedBuffer's slice.
func (e *Engine) FeedCommit(n int) error {
	if e.c == nil {
		return sslerr.ErrClosed
	}
	if n < 0 {
		return sslerr.Invalid("feed commit", "negative count")
	}
	r := C.sslbio_conn_feed_commit(e.c, C.size_t(n))
	runtime.KeepAlive(e)
	if r < 0 {
		return e.statusError(C.int(r))
	}
	return nil
}

// DrainBuffer returns pending ciphertext in the engine's own buffer, to
// write to the socket straight from; consume what was sent with
// DrainCommit. The slice is C memory, valid only until the next call on the
// engine; empty when nothing is pending. It may be shorter than PendingOut
// (the buffer wraps): loop.
func (e *Engine) DrainBuffer() ([]byte, error) {
	if e.c == nil {
		return nil, sslerr.ErrClosed
	}
	var p unsafe.Pointer
	n := C.sslbio_conn_drain_buffer(e.c, &p)
	runtime.KeepAlive(e)
	if n < 0 {
		return nil, e.statusError(C.int(n))
	}
	if n == 0 {
		return nil, nil
	}
	return unsafe.Slice((*byte)(p), int(n)), nil
}

// DrainCommit consumes n bytes of DrainBuffer's slice.
func (e *Engine) DrainCommit(n int) error {
	if e.c == nil {
		return sslerr.ErrClosed
	}
	if n < 0 {
		return sslerr.Invalid("drain commit", "negative count")
	}
	r := C.sslbio_conn_drain_commit(e.c, C.size_t(n))
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
	st := C.sslbio_conn_reset(e.c, name)
	runtime.KeepAlive(e)
	if st != C.SSLBIO_OK {
		return e.statusError(st)
	}
	return nil
}
