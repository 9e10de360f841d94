package sslbio

/*
#include <stdlib.h>

#include "sslbio.h"
*/
import "C"

import (
	"crypto/tls"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	sslerr "github.com/sslbio/sslbio/error"
)

// Labels RFC 5705 forbids (they are TLS 1.2's own); crypto/tls refuses
// them too.
var reservedExporterLabels = map[string]bool{
	"client finished": true,
	"server finished": true,
	"master secret":   true,
	"key expansion":   true,
}

// ExportKeyingMaterial returns length bytes of keying material for label
// and context (RFC 5705, RFC 8446 7.5), as crypto/tls's: a nil context is
// no context, distinct from an empty one in TLS 1.2. It fails before the
// handshake completed, and for a label with a NUL byte (ErrInvalid: the C
// library takes the label as a C string).
func (e *Engine) ExportKeyingMaterial(label string, context []byte, length int) ([]byte, error) {
	const op = "export keying material"
	if e.c == nil {
		return nil, sslerr.ErrClosed
	}
	if length <= 0 {
		return nil, sslerr.Invalid(op, "length must be positive")
	}
	if strings.IndexByte(label, 0) >= 0 { // C would see it cut short: other keying material
		return nil, sslerr.Invalid(op, "the label contains a NUL byte")
	}
	if reservedExporterLabels[label] && C.sslbio_conn_protocol_version(e.c) < tls.VersionTLS13 {
		return nil, sslerr.Invalid(op, "reserved label "+label)
	}
	clabel := C.CString(label)
	defer C.free(unsafe.Pointer(clabel))
	var ctxPtr unsafe.Pointer
	var one [1]byte
	if context != nil {
		ctxPtr = unsafe.Pointer(&one[0]) // an empty context: present, zero bytes
		if len(context) > 0 {
			ctxPtr = bytesPtr(context)
		}
	}
	out := make([]byte, length)
	st := C.sslbio_conn_export_keying_material(e.c, bytesPtr(out), C.size_t(length), clabel,
		ctxPtr, C.size_t(len(context)))
	runtime.KeepAlive(e)
	if st != C.SSLBIO_OK {
		return nil, e.recordedError(st)
	}
	return out, nil
}

// TLSUnique returns the tls-unique channel binding (RFC 5929) of a TLS 1.2
// connection, nil on TLS 1.3 (use ExportKeyingMaterial with the label
// "EXPORTER-Channel-Binding", RFC 9266) and before the handshake completed.
func (e *Engine) TLSUnique() []byte {
	if e.c == nil {
		return nil
	}
	defer runtime.KeepAlive(e)
	var buf [64]byte
	n := C.sslbio_conn_tls_unique(e.c, bytesPtr(buf[:]), C.size_t(len(buf)))
	if n <= 0 || int(n) > len(buf) {
		return nil
	}
	return append([]byte(nil), buf[:n]...)
}

// ExportKeyingMaterial returns length bytes of keying material for label
// and context from the connection this state describes, as crypto/tls's
// ConnectionState.ExportKeyingMaterial (a nil context is no context). It
// asks the engine, so it fails once the engine is closed, and for a state
// taken before the handshake completed.
func (cs ConnectionState) ExportKeyingMaterial(label string, context []byte, length int) ([]byte, error) {
	if cs.ekm == nil {
		return nil, sslerr.Invalid("export keying material", "needs a completed handshake")
	}
	return cs.ekm(label, context, length)
}

// addExporters fills the exporter parts of a completed handshake's state.
func (e *Engine) addExporters(cs *ConnectionState) {
	cs.TLSUnique = e.TLSUnique()
	cs.ekm = e.ExportKeyingMaterial
}

// guardExporter makes the state's exporter take mu (the Conn's engine
// lock) around its engine call.
func (cs *ConnectionState) guardExporter(mu *sync.Mutex) {
	if cs.ekm == nil {
		return
	}
	ekm := cs.ekm
	cs.ekm = func(label string, context []byte, length int) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		return ekm(label, context, length)
	}
}
