package sslbio

/*
#include "sslbio.h"
#include "info_internal.h"
*/
import "C"

import (
	"runtime"
	"syscall"

	sslerr "github.com/sslbio/sslbio/error"
)

// Errors, re-exported from the error package for errors.Is.
var (
	ErrWantRead  = sslerr.ErrWantRead
	ErrWantWrite = sslerr.ErrWantWrite
	ErrTruncated = sslerr.ErrTruncated
	ErrVerify    = sslerr.ErrVerify
	ErrInvalid   = sslerr.ErrInvalid
	ErrClosed    = sslerr.ErrClosed
)

// Error is the error package's type, for errors.As.
type Error = sslerr.Error

// recordedError copies the conn's error record (captured by the C call that
// failed, on its own thread) into a *sslerr.Error.
func (e *Engine) recordedError(st C.int) error {
	rec := C.sslbio__conn_err(e.c)
	defer runtime.KeepAlive(e)
	if rec == nil {
		return statusOnlyError(st)
	}
	out := &sslerr.Error{
		Op:           C.GoString(rec.op),
		Kind:         sslerr.Kind(rec.kind),
		SSLError:     int(rec.ssl_error),
		Errno:        syscall.Errno(rec.sys_errno),
		Dropped:      int(rec.n_dropped),
		VerifyResult: int(rec.verify_result),
		Detail:       C.GoString(&rec.detail[0]),
	}
	if out.VerifyResult != 0 {
		out.VerifyString = C.GoString(C.sslbio__verify_string(rec.verify_result))
	}
	for i := 0; i < int(rec.n_entries); i++ {
		en := &rec.entries[i]
		code := uint64(en.code)
		out.Entries = append(out.Entries, sslerr.Entry{
			Code:          code,
			Library:       int((code >> 23) & 0xff),
			Reason:        int(code & 0x7fffff),
			LibraryString: C.GoString(C.sslbio__lib_string(en.code)),
			ReasonString:  C.GoString(C.sslbio__reason_string(en.code)),
			File:          C.GoString(en.file),
			Line:          int(en.line),
			Func:          C.GoString(en.function),
			Data:          C.GoString(&en.data[0]),
		})
	}
	if out.Kind == sslerr.KindNone {
		out.Kind = statusKind(st)
	}
	return out
}

func statusKind(st C.int) sslerr.Kind {
	switch st {
	case C.SSLBIO_TRUNCATED:
		return sslerr.KindTruncated
	case C.SSLBIO_EINVAL:
		return sslerr.KindInvalid
	case C.SSLBIO_ENOMEM:
		return sslerr.KindNoMemory
	}
	return sslerr.KindSSL
}

func statusOnlyError(st C.int) error {
	return &sslerr.Error{Kind: statusKind(st), Detail: C.GoString(C.sslbio_strstatus(st))}
}
