package sslbio

// Hooks: Go code that takes part in the handshake (GetContextForClient,
// VerifyPeerCertificate, KeyLogWriter). The C engine never calls into Go:
// it pauses and returns (SSLBIO_WANT_CLIENT_HELLO, SSLBIO_WANT_VERIFY), and
// the Engine method that got the pause runs the hook in its own goroutine,
// answers the engine and calls it again. The net.Conn adapters drive the
// Engine, so the hooks work there the same way.

/*
#include "sslbio.h"
*/
import "C"

import (
	"errors"
	"runtime"
	"strings"

	sslerr "github.com/sslbio/sslbio/error"
)

// ErrUnrecognizedName, wrapped in the error of a GetContextForClient hook,
// aborts the handshake with the unrecognized_name alert (crypto/tls
// clients report "tls: unrecognized name").
var ErrUnrecognizedName = errors.New("sslbio: unrecognized server name")

// ClientHelloInfo is what a client's ClientHello asked for, as
// GetContextForClient sees it.
type ClientHelloInfo struct {
	// ServerName is the SNI the client sent ("" if none).
	ServerName string
	// SupportedProtos are the ALPN protocols the client offered, in its
	// order (nil if none).
	SupportedProtos []string
}

// TLS alerts a hook's refusal sends (RFC 8446 6.2).
const (
	alertHandshakeFailure = 40
	alertInternalError    = 80
	alertUnrecognizedName = 112
)

// hooks is a Context's Go side; an Engine follows its current context's.
type hooks struct {
	c          *C.sslbio_ctx // the Context's, borrowed: live while an engine uses it
	getContext func(*ClientHelloInfo) (*Context, error)
	verify     *verifyHook
	keylog     *keyLog
}

// applyHooks installs what the Config's hooks need on the C context.
func (x *Context) applyHooks(cfg *Config) error {
	h := &hooks{c: x.c, getContext: cfg.GetContextForClient}
	if h.getContext != nil {
		if cfg.Role != RoleServer {
			return sslerr.Invalid("new context", "GetContextForClient is for servers")
		}
		if err := x.call("ClientHello pause", func(c *C.sslbio_ctx) C.int {
			return C.sslbio_ctx_set_client_hello_pause(c, 1)
		}); err != nil {
			return err
		}
	}
	var err error
	if h.verify, err = x.applyVerifyHook(cfg); err != nil {
		return err
	}
	if cfg.KeyLogWriter != nil {
		if h.keylog, err = x.installKeyLog(cfg.KeyLogWriter); err != nil {
			return err
		}
	}
	if h.getContext != nil || h.verify != nil || h.keylog != nil {
		x.hooks = h
	}
	return nil
}

// afterCall is what an engine call that may have run the handshake does
// with the hooks: write the key log lines it produced, and answer a pause.
// It returns true when the call must be made again (the pause is
// answered); false leaves st to the caller.
func (e *Engine) afterCall(st C.long) bool {
	if h := e.hooks; h != nil && h.keylog != nil {
		h.keylog.flush()
	}
	switch st {
	case C.SSLBIO_WANT_CLIENT_HELLO:
		e.clientHello()
		return true
	case C.SSLBIO_WANT_VERIFY:
		return e.decideVerify()
	}
	return false
}

// clientHello answers the ClientHello pause with GetContextForClient. With
// none (a pause set from C on a handle) the handshake goes on as it is.
func (e *Engine) clientHello() {
	if e.hooks == nil || e.hooks.getContext == nil {
		return
	}
	info := &ClientHelloInfo{ServerName: C.GoString(C.sslbio_conn_server_name(e.c))}
	var small [256]C.char
	n := C.sslbio_conn_client_alpn(e.c, &small[0], C.size_t(len(small)))
	if int(n) >= len(small) {
		big := make([]byte, int(n)+1)
		C.sslbio_conn_client_alpn(e.c, (*C.char)(bytesPtr(big)), C.size_t(len(big)))
		info.SupportedProtos = strings.Split(string(big[:n]), ",")
	} else if n > 0 {
		info.SupportedProtos = strings.Split(C.GoString(&small[0]), ",")
	}
	runtime.KeepAlive(e)
	next, err := e.hooks.getContext(info)
	switch {
	case err != nil:
		alert := alertHandshakeFailure
		if errors.Is(err, ErrUnrecognizedName) {
			alert = alertUnrecognizedName
		}
		e.refuse(err, alert)
	case next != nil:
		if err := e.useContext(next); err != nil {
			e.refuse(err, alertInternalError)
		}
	}
}

// useContext switches the paused engine to x.
func (e *Engine) useContext(x *Context) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.c == nil {
		return sslerr.ErrClosed
	}
	if x.role != RoleServer {
		return sslerr.Invalid("use context", "GetContextForClient returned a client Context")
	}
	if C.sslbio_conn_use_context(e.c, x.c) != C.SSLBIO_OK {
		err := e.recordedError(C.SSLBIO_ERROR)
		runtime.KeepAlive(e)
		return err
	}
	runtime.KeepAlive(e)
	if e.homeHooks == nil { // the C engine goes back to its own context on reset
		e.homeHooks = e.hooks
	}
	e.hooks = x.hooks
	return nil
}

// refuse fails the paused handshake with alert; the engine's next call
// returns the error, wrapping cause.
func (e *Engine) refuse(cause error, alert int) {
	e.hookErr = cause
	C.sslbio_conn_reject_client_hello(e.c, C.int(alert))
	runtime.KeepAlive(e)
}

// withHookError wraps the error a hook's refusal caused: errors.Is finds
// the hook's error, errors.As the engine's *Error.
func (e *Engine) withHookError(err error) error {
	if e.hookErr == nil {
		return err
	}
	var se *sslerr.Error
	if errors.As(err, &se) && se.Err == nil {
		cp := *se
		cp.Err = e.hookErr
		return &cp
	}
	return &sslerr.Error{Op: "handshake", Kind: sslerr.KindSSL, Detail: err.Error(), Err: e.hookErr}
}
