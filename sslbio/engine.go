package sslbio

/*
#include <stdint.h>

#include "sslbio.h"

// The data path again, with char* for void* and the engine as an integer:
// cgo checks every unsafe.Pointer argument, and every pointer to a struct
// (the engine's too), for Go pointers at run time (about 300 instructions
// a call, 7% of a 64-byte round trip). A byte buffer can hold no pointer
// and the engine is C memory, so neither needs it; *C.char and uintptr_t
// arguments are not checked. Inlined into the cgo stubs.
static inline long sslbio__go_feed(uintptr_t c, const char *p, size_t n) {
	return sslbio_conn_feed((sslbio_conn *)c, p, n);
}
static inline long sslbio__go_drain(uintptr_t c, char *p, size_t n) {
	return sslbio_conn_drain((sslbio_conn *)c, p, n);
}
static inline long sslbio__go_read(uintptr_t c, char *p, size_t n) {
	return sslbio_conn_read((sslbio_conn *)c, p, n);
}
static inline long sslbio__go_write(uintptr_t c, const char *p, size_t n) {
	return sslbio_conn_write((sslbio_conn *)c, p, n);
}
*/
import "C"

import (
	"errors"
	"io"
	"runtime"
	"unsafe"

	sslerr "github.com/sslbio/sslbio/error"
)

// Engine is one TLS connection as a sans-IO state machine: Feed it the
// ciphertext that arrived, Drain the ciphertext to send, Read and Write
// plaintext. After every call, Drain until PendingOut is 0.
//
// An Engine is used by one goroutine at a time (it may move between OS
// threads freely: every OpenSSL call and its error capture happen in one C
// call). Each method is one cgo call on its fast path.
type Engine struct {
	c       *C.sslbio_conn
	role    Role
	cleanup runtime.Cleanup
	hooks   *hooks // the current context's Go hooks (hooks.go); nil if none
	hookErr error  // a hook's refusal, wrapped into the engine's error
	// homeHooks: the engine's own context's hooks while GetContextForClient
	// has it on another; Reset brings them back, as the C engine its context.
	homeHooks *hooks
}

func newEngine(c *C.sslbio_conn, role Role) *Engine {
	e := &Engine{c: c, role: role}
	e.cleanup = runtime.AddCleanup(e, freeConn, c)
	return e
}

func freeConn(c *C.sslbio_conn) { C.sslbio_conn_free(c) }

// ptr is the engine for the unchecked data-path shims (C memory, so
// passing it as an integer hides nothing from the garbage collector).
func (e *Engine) ptr() C.uintptr_t { return C.uintptr_t(uintptr(unsafe.Pointer(e.c))) }

// bytesPtr is the address of p's first byte; p must not be empty.
func bytesPtr(p []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(p)) }

// bytesChar is bytesPtr for the unchecked data-path shims above.
func bytesChar(p []byte) *C.char { return (*C.char)(unsafe.Pointer(unsafe.SliceData(p))) }

// Feed copies ciphertext that arrived from the peer into the engine and
// returns how much it accepted. Keep the rest and feed it after the next
// Read or Handshake: nothing is dropped.
func (e *Engine) Feed(p []byte) (int, error) {
	if e.c == nil {
		return 0, sslerr.ErrClosed
	}
	if len(p) == 0 {
		return 0, nil
	}
	n := C.sslbio__go_feed(e.ptr(), bytesChar(p), C.size_t(len(p)))
	runtime.KeepAlive(e)
	if n < 0 {
		return 0, e.statusError(C.int(n))
	}
	return int(n), nil
}

// Drain copies ciphertext to send into p and returns the count, 0 when none
// is pending.
func (e *Engine) Drain(p []byte) (int, error) {
	if e.c == nil {
		return 0, sslerr.ErrClosed
	}
	if len(p) == 0 {
		return 0, nil
	}
	n := C.sslbio__go_drain(e.ptr(), bytesChar(p), C.size_t(len(p)))
	runtime.KeepAlive(e)
	if n < 0 {
		return 0, e.statusError(C.int(n))
	}
	return int(n), nil
}

// PendingOut is the number of ciphertext bytes waiting to be drained.
func (e *Engine) PendingOut() int {
	if e.c == nil {
		return 0
	}
	n := C.sslbio_conn_pending_out(e.c)
	runtime.KeepAlive(e)
	if n < 0 {
		return 0
	}
	return int(n)
}

// FeedEOF tells the engine the transport ended. A later Read returns io.EOF
// if the peer's close_notify came first, ErrTruncated otherwise.
func (e *Engine) FeedEOF() error {
	if e.c == nil {
		return sslerr.ErrClosed
	}
	C.sslbio_conn_feed_eof(e.c)
	runtime.KeepAlive(e)
	return nil
}

// Handshake advances the handshake: nil when complete, ErrWantRead or
// ErrWantWrite to call again after feeding or draining, or the error.
func (e *Engine) Handshake() error {
	if e.c == nil {
		return sslerr.ErrClosed
	}
	for {
		st := C.sslbio_conn_handshake(e.c)
		runtime.KeepAlive(e)
		if _, err := e.result(C.long(st)); err != errAgain {
			return err
		}
	}
}

// Read reads plaintext. It returns n > 0, or ErrWantRead (feed more), io.EOF
// (the peer's close_notify), ErrTruncated (transport EOF without it), or an
// error. It drives the handshake if needed.
func (e *Engine) Read(p []byte) (int, error) { return e.readWrite(p, false) }

// Write encrypts plaintext and returns how much it accepted (partial
// writes, like a non-blocking socket), or ErrWantWrite when the engine's
// output is full (drain, then call again), or an error.
func (e *Engine) Write(p []byte) (int, error) { return e.readWrite(p, true) }

// readWrite is Read and Write: one cgo call on the data path.
func (e *Engine) readWrite(p []byte, write bool) (int, error) {
	if e.c == nil {
		return 0, sslerr.ErrClosed
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		var n C.long
		if write {
			n = C.sslbio__go_write(e.ptr(), bytesChar(p), C.size_t(len(p)))
		} else {
			n = C.sslbio__go_read(e.ptr(), bytesChar(p), C.size_t(len(p)))
		}
		runtime.KeepAlive(e)
		if n >= 0 && e.hooks == nil {
			return int(n), nil
		}
		if count, err := e.result(n); err != errAgain {
			return count, err
		}
	}
}

// Shutdown queues close_notify. It returns ErrWantRead while the peer's
// close_notify has not arrived (reading still works: half-close) and nil
// once both sides sent theirs.
func (e *Engine) Shutdown() error {
	if e.c == nil {
		return sslerr.ErrClosed
	}
	st := C.sslbio_conn_shutdown(e.c)
	runtime.KeepAlive(e)
	if st != C.SSLBIO_OK {
		return e.statusError(st)
	}
	return nil
}

// Close frees the engine. It sends nothing (call Shutdown first for a clean
// close). Calling it twice is fine.
func (e *Engine) Close() error {
	if e.c == nil {
		return nil
	}
	e.cleanup.Stop()
	C.sslbio_conn_free(e.c)
	e.c = nil
	return nil
}

// Wants tells an event loop what to do next; see the Wants bits.
func (e *Engine) Wants() Wants {
	if e.c == nil {
		return 0
	}
	w := C.sslbio_conn_wants(e.c)
	runtime.KeepAlive(e)
	return Wants(w)
}

// KeyUpdate sends a TLS 1.3 key update (and asks the peer for one too when
// updatePeer is set). Drain afterwards.
func (e *Engine) KeyUpdate(updatePeer bool) error {
	if e.c == nil {
		return sslerr.ErrClosed
	}
	st := C.sslbio_conn_key_update(e.c, boolInt(updatePeer))
	runtime.KeepAlive(e)
	if e.hooks != nil {
		e.afterCall(C.long(st)) // the new secret's key log line (no pause after the handshake)
	}
	if st != C.SSLBIO_OK {
		return e.statusError(st)
	}
	return nil
}

// Session returns the DER-encoded session for resumption, or nil while the
// session is not resumable (in TLS 1.3, until the server's ticket was read).
func (e *Engine) Session() ([]byte, error) {
	if e.c == nil {
		return nil, sslerr.ErrClosed
	}
	n := C.sslbio_conn_session(e.c, nil, 0)
	if n <= 0 {
		runtime.KeepAlive(e)
		if n < 0 {
			return nil, e.statusError(C.int(n))
		}
		return nil, nil
	}
	der := make([]byte, int(n))
	n = C.sslbio_conn_session(e.c, bytesPtr(der), C.size_t(len(der)))
	runtime.KeepAlive(e)
	if n < 0 || int(n) != len(der) {
		return nil, e.statusError(C.SSLBIO_ERROR)
	}
	return der, nil
}

// SetSession resumes a session from Session on a client before its
// handshake. A session issued for another server name is refused.
func (e *Engine) SetSession(der []byte) error {
	if e.c == nil {
		return sslerr.ErrClosed
	}
	if len(der) == 0 {
		return sslerr.Invalid("set session", "empty session")
	}
	st := C.sslbio_conn_set_session(e.c, bytesPtr(der), C.size_t(len(der)))
	runtime.KeepAlive(e)
	if st != C.SSLBIO_OK {
		return e.statusError(st)
	}
	return nil
}

// Handle is the sslbio_conn* for C code in the same process, borrowed:
// valid until Close. Use it from one goroutine or thread at a time.
func (e *Engine) Handle() unsafe.Pointer { return unsafe.Pointer(e.c) }

// Wants is the bitmask Engine.Wants returns.
type Wants int

const (
	// WantsRead: the engine needs ciphertext from the peer.
	WantsRead Wants = 1
	// WantsWrite: ciphertext is pending; drain it.
	WantsWrite Wants = 2
	// HasPlaintext: a Read returns now (data, io.EOF or an error).
	HasPlaintext Wants = 4
)

// errAgain is result's "call again"; never returned to callers.
var errAgain = errors.New("sslbio: call again")

// result turns what an engine call that may run the handshake returned (a
// count or a status) into Go's values, after the hooks (hooks.go) had their
// say; errAgain: a hook answered a pause, make the call again.
func (e *Engine) result(n C.long) (int, error) {
	if e.hooks != nil && e.afterCall(n) {
		return 0, errAgain
	}
	if n < 0 {
		return 0, e.statusError(C.int(n))
	}
	return int(n), nil
}

// statusError turns a negative status into the Go error (cold path: it may
// make one more cgo call to copy the recorded error out).
func (e *Engine) statusError(st C.int) error {
	switch st {
	case C.SSLBIO_WANT_READ:
		return sslerr.ErrWantRead
	case C.SSLBIO_WANT_WRITE:
		return sslerr.ErrWantWrite
	case C.SSLBIO_CLOSED:
		return io.EOF
	}
	return e.withHookError(e.recordedError(st))
}
