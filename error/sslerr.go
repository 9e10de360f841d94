// Package sslerr holds the errors of sslbio: what an OpenSSL call reported
// (SSL_get_error, every ERR queue entry, the verify result), captured in the
// same C call that failed, as one Go value.
//
// It is pure Go so that code can inspect sslbio errors without cgo:
//
//	var e *sslerr.Error
//	if errors.As(err, &e) && e.Kind == sslerr.KindVerify { ... e.VerifyString ... }
//	if errors.Is(err, sslerr.ErrTruncated) { ... }
package sslerr

import (
	"errors"
	"fmt"
	"syscall"
)

// Kind says what went wrong, finer than the engine's status code.
type Kind int

// The kinds of failure: the rows of SSLBIO_KIND_TABLE in include/sslbio.h
// (this package is pure Go, so the values are written out; a test in
// package sslbio checks them and their names against the C library).
const (
	KindNone      Kind = 0
	KindSSL       Kind = 1 // SSL_ERROR_SSL: protocol or library error
	KindSyscall   Kind = 2 // SSL_ERROR_SYSCALL: I/O error below TLS
	KindVerify    Kind = 3 // the peer's certificate failed verification
	KindTruncated Kind = 4 // transport EOF without close_notify
	KindTransport Kind = 5 // a transport callback or the net.Conn failed
	KindInvalid   Kind = 6 // bad argument or call in the wrong state
	KindNoMemory  Kind = 7
	KindWantRead  Kind = 8 // not failures: the engine needs ciphertext
	KindWantWrite Kind = 9 // ... or its ciphertext drained
	KindClosed    Kind = 10
)

var kindNames = map[Kind]string{
	KindNone: "none", KindSSL: "ssl", KindSyscall: "syscall", KindVerify: "verify",
	KindTruncated: "truncated", KindTransport: "transport", KindInvalid: "invalid",
	KindNoMemory: "no memory", KindWantRead: "want read", KindWantWrite: "want write",
	KindClosed: "closed",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Sentinels matched by errors.Is. A clean close is io.EOF, not a sentinel here.
var (
	// ErrWantRead: feed ciphertext from the peer, then call again.
	ErrWantRead = errors.New("sslbio: want read")
	// ErrWantWrite: drain the engine's ciphertext, then call again.
	ErrWantWrite = errors.New("sslbio: want write")
	// ErrTruncated: the transport ended without the peer's close_notify,
	// so data may have been cut short (a truncation attack looks like this).
	ErrTruncated = errors.New("sslbio: connection truncated: transport EOF without close_notify")
	// ErrVerify: the peer's certificate chain or host name did not verify.
	ErrVerify = errors.New("sslbio: certificate verification failed")
	// ErrInvalid: a bad argument or a call in the wrong state.
	ErrInvalid = errors.New("sslbio: invalid call")
	// ErrClosed: the engine, context or connection was already closed.
	ErrClosed = errors.New("sslbio: use of closed engine")
	// ErrNoMemory: an allocation failed in C.
	ErrNoMemory = errors.New("sslbio: out of memory")
)

// Entry is one entry of OpenSSL's ERR queue.
type Entry struct {
	Code          uint64 // packed as ERR_get_error returns it
	Library       int    // ERR_GET_LIB(Code)
	Reason        int    // ERR_GET_REASON(Code)
	LibraryName   string // mnemonic, as Python's ssl shows it: "SSL"
	ReasonName    string // mnemonic: "CERTIFICATE_VERIFY_FAILED"
	LibraryString string // "SSL routines"
	ReasonString  string // "certificate verify failed"
	File          string
	Line          int
	Func          string
	Data          string // ERR_add_error_data text, if any
}

// Error is a failed engine call with everything OpenSSL said about it.
type Error struct {
	Op           string // "handshake", "read", "write", "feed", ...
	Kind         Kind   // what went wrong
	SSLError     int    // SSL_get_error value (SSL_ERROR_SSL = 1, SYSCALL = 5), 0 if none
	Errno        syscall.Errno
	Entries      []Entry // every ERR queue entry of the failing call, oldest first
	Dropped      int     // entries beyond what the engine keeps
	VerifyResult int     // X509_V_OK (0) or the X509_V_ERR_* code
	VerifyString string  // X509_verify_cert_error_string(VerifyResult)
	Detail       string  // sslbio's own explanation when OpenSSL has none
	Err          error   // wrapped cause (for example a net.Conn error), may be nil
	// Message is the engine's one-line message, formatted by the C library
	// (the same text C and Python users see); empty for errors made in Go.
	Message string
}

// Error is one line: operation, OpenSSL reason(s), verify result, e.g.
// "sslbio: handshake: certificate verify failed: unable to get local issuer certificate (verify 20)".
// Errors of the engine carry the C library's message; errors made in Go
// (a bad argument, a failed net.Conn) name the operation and the cause.
func (e *Error) Error() string {
	if e.Message != "" {
		if e.Err != nil {
			return e.Message + "; " + e.Err.Error()
		}
		return e.Message
	}
	op := e.Op
	if op == "" {
		op = "call"
	}
	msg := "sslbio: " + op
	sep := ": "
	if e.Detail != "" {
		msg += sep + e.Detail
		sep = "; "
	}
	if e.Err != nil {
		msg += sep + e.Err.Error()
	}
	return msg
}

// Unwrap returns the wrapped cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinel for the error's kind.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrWantRead:
		return e.Kind == KindWantRead
	case ErrWantWrite:
		return e.Kind == KindWantWrite
	case ErrTruncated:
		return e.Kind == KindTruncated
	case ErrVerify:
		return e.Kind == KindVerify
	case ErrInvalid:
		return e.Kind == KindInvalid
	case ErrNoMemory:
		return e.Kind == KindNoMemory
	}
	return false
}

// Temporary reports whether calling again after feeding or draining helps.
func (e *Error) Temporary() bool { return e.Kind == KindWantRead || e.Kind == KindWantWrite }

// Invalid builds an ErrInvalid-matching error for op with a detail message.
func Invalid(op, detail string) *Error {
	return &Error{Op: op, Kind: KindInvalid, Detail: detail}
}
