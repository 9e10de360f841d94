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

// Context is a configured, shareable OpenSSL context (an sslbio_ctx). It is
// safe for concurrent use once configured; it freezes when its first Engine
// is created, after which setters fail. It is reference counted: Close drops
// this Go value's reference, engines keep their own.
type Context struct {
	mu      sync.Mutex
	c       *C.sslbio_ctx
	role    Role
	cleanup runtime.Cleanup
	hooks   *hooks // Go hooks of the Config (hooks.go); nil if none; set once
}

// NewContext builds a Context from cfg.
func NewContext(cfg *Config) (*Context, error) {
	if cfg == nil {
		return nil, sslerr.Invalid("new context", "nil Config")
	}
	if cfg.Role != RoleClient && cfg.Role != RoleServer {
		return nil, sslerr.Invalid("new context", "Config.Role must be RoleClient or RoleServer")
	}
	c := C.sslbio_ctx_new(C.int(cfg.Role))
	if c == nil {
		return nil, &sslerr.Error{Op: "new context", Kind: sslerr.KindNoMemory}
	}
	x := adoptContext(c, cfg.Role)
	if err := x.apply(cfg); err != nil {
		x.Close()
		return nil, err
	}
	return x, nil
}

func freeContext(c *C.sslbio_ctx) { C.sslbio_ctx_free(c) }

// adoptContext wraps a C reference that the Context now owns.
func adoptContext(c *C.sslbio_ctx, role Role) *Context {
	x := &Context{c: c, role: role}
	x.cleanup = runtime.AddCleanup(x, freeContext, c)
	return x
}

// ContextFromHandle adopts an sslbio_ctx* made elsewhere in this process (C
// code, Python, another Context's Handle): it takes its own reference, so the
// other side may free its reference at any time.
func ContextFromHandle(handle unsafe.Pointer) (*Context, error) {
	c := C.sslbio_ctx_ref((*C.sslbio_ctx)(handle))
	if c == nil {
		return nil, sslerr.Invalid("context from handle", "not a live sslbio_ctx")
	}
	return adoptContext(c, Role(C.sslbio_ctx_role(c))), nil
}

// Handle is the sslbio_ctx* for C code in the same process, borrowed: valid
// while this Context is open (C code that keeps it calls sslbio_ctx_ref).
func (x *Context) Handle() unsafe.Pointer {
	x.mu.Lock()
	defer x.mu.Unlock()
	return unsafe.Pointer(x.c)
}

// Role reports whether the Context makes client or server engines.
func (x *Context) Role() Role { return x.role }

// Close drops this Context's reference; engines made from it keep working.
// Calling it twice is fine.
func (x *Context) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.c == nil {
		return nil
	}
	x.cleanup.Stop()
	C.sslbio_ctx_free(x.c)
	x.c = nil
	return nil
}

// NewEngine makes one TLS connection's sans-IO engine. For a client,
// serverName is sent as SNI and checked against the server's certificate
// (it may be an IP address); servers pass "".
func (x *Context) NewEngine(serverName string) (*Engine, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.c == nil {
		return nil, sslerr.ErrClosed
	}
	var name *C.char
	if serverName != "" {
		name = C.CString(serverName)
		defer C.free(unsafe.Pointer(name))
	}
	c := C.sslbio_conn_new(x.c, name)
	if c == nil {
		return nil, x.setterError("new engine", C.SSLBIO_ERROR)
	}
	e := newEngine(c, x.role)
	e.hooks = x.hooks
	return e, nil
}

// apply runs every setter cfg asks for.
func (x *Context) apply(cfg *Config) error {
	steps := []func() error{
		func() error { return x.loadCert(cfg) },
		func() error { return x.loadCA(cfg) },
		func() error { return x.applyVerify(cfg) },
		func() error { return x.applyHooks(cfg) },
		func() error { return x.SetNextProtos(cfg.NextProtos) },
		func() error { return x.SetVersions(cfg.MinVersion, cfg.MaxVersion) },
		func() error { return x.SetCiphers(cfg.CipherList, cfg.CipherSuites) },
		func() error {
			return x.call("ragged EOF", func(c *C.sslbio_ctx) C.int {
				return C.sslbio_ctx_set_ragged_eof(c, boolInt(cfg.AllowRaggedEOF))
			})
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func (x *Context) loadCert(cfg *Config) error {
	switch {
	case len(cfg.CertPEM) > 0:
		if err := x.callBytes("certificate chain PEM", cfg.CertPEM, func(c *C.sslbio_ctx, p *C.char, n C.size_t) C.int {
			return C.sslbio_ctx_use_certificate_chain_pem(c, p, n)
		}); err != nil {
			return err
		}
	case cfg.CertFile != "":
		if err := x.callString("certificate chain file", cfg.CertFile, func(c *C.sslbio_ctx, s *C.char) C.int {
			return C.sslbio_ctx_use_certificate_chain_file(c, s)
		}); err != nil {
			return err
		}
	}
	switch {
	case len(cfg.KeyPEM) > 0:
		return x.callBytes("private key PEM", cfg.KeyPEM, func(c *C.sslbio_ctx, p *C.char, n C.size_t) C.int {
			return C.sslbio_ctx_use_private_key_pem(c, p, n)
		})
	case cfg.KeyFile != "":
		return x.callString("private key file", cfg.KeyFile, func(c *C.sslbio_ctx, s *C.char) C.int {
			return C.sslbio_ctx_use_private_key_file(c, s)
		})
	}
	return nil
}

func (x *Context) loadCA(cfg *Config) error {
	if len(cfg.CAPEM) > 0 {
		if err := x.callBytes("CA PEM", cfg.CAPEM, func(c *C.sslbio_ctx, p *C.char, n C.size_t) C.int {
			return C.sslbio_ctx_load_verify_pem(c, p, n)
		}); err != nil {
			return err
		}
	}
	if cfg.CAFile != "" {
		return x.callString("CA file", cfg.CAFile, func(c *C.sslbio_ctx, s *C.char) C.int {
			return C.sslbio_ctx_load_verify_file(c, s)
		})
	}
	return nil
}

func (x *Context) applyVerify(cfg *Config) error {
	mode := C.SSLBIO_VERIFY_PEER
	if cfg.Role == RoleClient {
		if cfg.InsecureSkipVerify {
			mode = C.SSLBIO_VERIFY_NONE
		}
	} else {
		// RequestClientCert and RequireAnyClientCert ask without verifying:
		// their verify callback accepts what OpenSSL would reject (verify.go).
		switch cfg.ClientAuth {
		case tls.NoClientCert:
			mode = C.SSLBIO_VERIFY_NONE
		case tls.RequireAnyClientCert, tls.RequireAndVerifyClientCert:
			mode = C.SSLBIO_VERIFY_REQUIRE_PEER
		}
	}
	return x.SetVerify(int(mode))
}

// SetVerify sets the verify mode: 0 none, 1 peer, 2 require peer (the C
// API's SSLBIO_VERIFY_*). Fails once the Context is frozen.
func (x *Context) SetVerify(mode int) error {
	return x.call("verify mode", func(c *C.sslbio_ctx) C.int { return C.sslbio_ctx_set_verify(c, C.int(mode)) })
}

// SetNextProtos sets the ALPN protocols. Fails once the Context is frozen.
func (x *Context) SetNextProtos(protos []string) error {
	if len(protos) == 0 {
		return nil
	}
	return x.callString("ALPN", strings.Join(protos, ","), func(c *C.sslbio_ctx, s *C.char) C.int {
		return C.sslbio_ctx_set_alpn(c, s)
	})
}

// SetVersions sets the protocol range (crypto/tls constants, 0 = default).
// Fails once the Context is frozen.
func (x *Context) SetVersions(min, max uint16) error {
	return x.call("versions", func(c *C.sslbio_ctx) C.int {
		return C.sslbio_ctx_set_versions(c, C.int(min), C.int(max))
	})
}

// SetCiphers sets the OpenSSL TLS 1.2 cipher list and TLS 1.3 suites; an
// empty string keeps that list. Fails once the Context is frozen.
func (x *Context) SetCiphers(tls12, tls13 string) error {
	if tls12 == "" && tls13 == "" {
		return nil
	}
	return x.call("ciphers", func(c *C.sslbio_ctx) C.int {
		var a, b *C.char
		if tls12 != "" {
			a = C.CString(tls12)
			defer C.free(unsafe.Pointer(a))
		}
		if tls13 != "" {
			b = C.CString(tls13)
			defer C.free(unsafe.Pointer(b))
		}
		return C.sslbio_ctx_set_ciphers(c, a, b)
	})
}

// call runs one C setter under the lock and turns its status into an error.
func (x *Context) call(what string, fn func(*C.sslbio_ctx) C.int) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.c == nil {
		return sslerr.ErrClosed
	}
	if st := fn(x.c); st != C.SSLBIO_OK {
		return x.setterError(what, st)
	}
	return nil
}

func (x *Context) callString(what, s string, fn func(*C.sslbio_ctx, *C.char) C.int) error {
	cs := C.CString(s)
	defer C.free(unsafe.Pointer(cs))
	return x.call(what, func(c *C.sslbio_ctx) C.int { return fn(c, cs) })
}

func (x *Context) callBytes(what string, b []byte, fn func(*C.sslbio_ctx, *C.char, C.size_t) C.int) error {
	return x.call(what, func(c *C.sslbio_ctx) C.int {
		return fn(c, (*C.char)(unsafe.Pointer(&b[0])), C.size_t(len(b)))
	})
}

// setterError reads the context's message; call with x.mu held.
func (x *Context) setterError(what string, st C.int) error {
	full := C.GoString(C.sslbio_ctx_error(x.c))
	msg := strings.TrimPrefix(full, "sslbio: ")
	if msg == "" {
		msg = what + ": " + C.GoString(C.sslbio_strstatus(st))
		full = ""
	}
	kind := sslerr.KindSSL
	switch st {
	case C.SSLBIO_EINVAL:
		kind = sslerr.KindInvalid
	case C.SSLBIO_ENOMEM:
		kind = sslerr.KindNoMemory
	}
	return &sslerr.Error{Op: "context", Kind: kind, Detail: msg, Message: full}
}

func boolInt(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
