package sslbio

/*
#include <stdint.h>

#include "sslbio.h"

// The batched calls return their second count in a struct, so no Go pointer
// is passed (it would escape to the heap and be checked on every call); the
// engine goes as an integer, as in engine.go.
typedef struct { long result; size_t moved; } sslbio__go_pair;
static inline sslbio__go_pair sslbio__go_write_drain(uintptr_t c, const char *p, size_t n,
                                                     char *out, size_t cap) {
	sslbio__go_pair r;
	r.result = sslbio_conn_write_drain((sslbio_conn *)c, p, n, out, cap, &r.moved);
	return r;
}
static inline sslbio__go_pair sslbio__go_feed_read(uintptr_t c, const char *in, size_t n,
                                                   char *p, size_t cap) {
	sslbio__go_pair r;
	r.result = sslbio_conn_feed_read((sslbio_conn *)c, in, n, &r.moved, p, cap);
	return r;
}
*/
import "C"

import (
	"runtime"

	sslerr "github.com/sslbio/sslbio/error"
)

// WriteDrain is Write(p) followed by Drain(out) in one cgo call: it returns
// the plaintext count the write accepted and the ciphertext count put in
// out. With ErrWantRead or ErrWantWrite the drain still happened (a
// handshake flight the write drove is in out[:drained]); with any other
// error nothing was drained, so call Drain for the alert. As after every
// call, Drain until PendingOut is 0 when out was too small.
func (e *Engine) WriteDrain(p, out []byte) (n, drained int, err error) {
	if e.c == nil {
		return 0, 0, sslerr.ErrClosed
	}
	if len(p) == 0 {
		d, err := e.Drain(out)
		return 0, d, err
	}
	var outPtr *C.char
	if len(out) > 0 {
		outPtr = bytesChar(out)
	}
	r := C.sslbio__go_write_drain(e.ptr(), bytesChar(p), C.size_t(len(p)), outPtr, C.size_t(len(out)))
	runtime.KeepAlive(e)
	drained = int(r.moved)
	if e.hooks != nil && e.afterCall(r.result) {
		// A pause drains nothing (not a WANT_READ/WANT_WRITE): answered, go on.
		n, d, err := e.WriteDrain(p, out[drained:])
		return n, drained + d, err
	}
	if r.result < 0 {
		return 0, drained, e.statusError(C.int(r.result))
	}
	return int(r.result), drained, nil
}

// FeedRead is Feed(in) followed by Read(p) in one cgo call: it returns the
// ciphertext count accepted (keep the rest, as with Feed) and the plaintext
// count read, or the read's error (ErrWantRead: feed more; io.EOF: the
// peer's close_notify). Drain afterwards, as after every call.
func (e *Engine) FeedRead(in, p []byte) (fed, n int, err error) {
	if e.c == nil {
		return 0, 0, sslerr.ErrClosed
	}
	if len(p) == 0 {
		fed, err := e.Feed(in)
		return fed, 0, err
	}
	var inPtr *C.char
	if len(in) > 0 {
		inPtr = bytesChar(in)
	}
	r := C.sslbio__go_feed_read(e.ptr(), inPtr, C.size_t(len(in)), bytesChar(p), C.size_t(len(p)))
	runtime.KeepAlive(e)
	fed = int(r.moved)
	if e.hooks != nil && e.afterCall(r.result) {
		n, err := e.Read(p) // the pause is answered: read on, without feeding again
		return fed, n, err
	}
	if r.result < 0 {
		return fed, 0, e.statusError(C.int(r.result))
	}
	return fed, int(r.result), nil
}
