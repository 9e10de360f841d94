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
	"strings"
	"syscall"
)

// Kind says what went wrong, finer than the engine's status code.
type Kind int

// The kinds of failure. Their values match the C engine's.
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
	LibraryString string
	ReasonString  string
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
}

// Error is one line: operation, OpenSSL reason(s), verify result, e.g.
// "sslbio: handshake: certificate verify failed: unable to get local issuer certificate (verify 20)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("sslbio: ")
	if e.Op != "" {
		b.WriteString(e.Op)
	} else {
		b.WriteString("call")
	}
	sep := ": "
	for _, en := range e.Entries {
		b.WriteString(sep)
		if en.ReasonString != "" {
			b.WriteString(en.ReasonString)
		} else {
			fmt.Fprintf(&b, "error:%08X", en.Code)
		}
		if en.Data != "" {
			fmt.Fprintf(&b, " (%s)", en.Data)
		}
		sep = "; "
	}
	if e.Detail != "" {
		b.WriteString(sep)
		b.WriteString(e.Detail)
		sep = "; "
	}
	if e.Err != nil {
		b.WriteString(sep)
		b.WriteString(e.Err.Error())
	}
	if e.Errno != 0 && (e.Kind == KindSyscall || e.Kind == KindTransport) {
		fmt.Fprintf(&b, " (errno %d)", int(e.Errno))
	}
	if e.VerifyResult != 0 {
		fmt.Fprintf(&b, ": %s (verify %d)", e.VerifyString, e.VerifyResult)
	}
	return b.String()
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
