package sslbio

/*
#include "sslbio.h"
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

// recordedError copies the conn's last error (captured by the C call that
// failed, on its own thread) into a *sslerr.Error through the header's
// sslbio_conn_error_info/_entry, with the C library's one-line message.
func (e *Engine) recordedError(st C.int) error {
	defer runtime.KeepAlive(e)
	var info C.sslbio_error_info
	if C.sslbio_conn_error_info(e.c, &info) != C.SSLBIO_OK || info.status == C.SSLBIO_OK {
		return statusOnlyError(st)
	}
	out := &sslerr.Error{
		Op:           C.GoString(info.op),
		Kind:         sslerr.Kind(info.kind),
		SSLError:     int(info.ssl_error),
		Errno:        syscall.Errno(info.sys_errno),
		Dropped:      int(info.dropped),
		VerifyResult: int(info.verify_result),
		VerifyString: C.GoString(info.verify_string),
		Detail:       C.GoString(info.detail),
		Message:      e.message(),
	}
	for i := C.size_t(0); i < info.entries; i++ {
		var en C.sslbio_error_entry
		if C.sslbio_conn_error_entry(e.c, i, &en) != C.SSLBIO_OK {
			break
		}
		code := uint64(en.code)
		out.Entries = append(out.Entries, sslerr.Entry{
			Code:          code,
			Library:       int((code >> 23) & 0xff),
			Reason:        int(code & 0x7fffff),
			LibraryName:   C.GoString(en.lib),
			ReasonName:    C.GoString(&en.reason[0]),
			LibraryString: C.GoString(en.lib_string),
			ReasonString:  C.GoString(en.reason_string),
			File:          C.GoString(en.file),
			Line:          int(en.line),
			Func:          C.GoString(en.function),
			Data:          C.GoString(en.data),
		})
	}
	if out.Kind == sslerr.KindNone {
		out.Kind = statusKind(st)
	}
	return out
}

// message is the C library's one-line message of the conn's last error.
func (e *Engine) message() string {
	var small [256]C.char
	n := C.sslbio_conn_error(e.c, &small[0], C.size_t(len(small)))
	if n <= 0 {
		return ""
	}
	if int(n) < len(small) {
		return C.GoString(&small[0])
	}
	big := make([]byte, int(n)+1)
	C.sslbio_conn_error(e.c, (*C.char)(bytesPtr(big)), C.size_t(len(big)))
	runtime.KeepAlive(e)
	return string(big[:n])
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
