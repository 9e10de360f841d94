package sslbio

/*
#include <stdint.h>

#include "sslbio.h"

// What a Go Context's verify callback answers; the mode travels in the
// callback's user pointer, so no Go value is involved.
enum {
	SSLBIO__GO_ACCEPT = 1,      // accept unverified (RequestClientCert, RequireAnyClientCert)
	SSLBIO__GO_DEFER = 2,       // pause: Go's VerifyPeerCertificate decides alone
	SSLBIO__GO_DEFER_IF_OK = 3, // OpenSSL rejects in-band; a pass pauses for Go
};

static int sslbio__go_verify(void *user, sslbio_conn *conn, long result) {
	(void)conn;
	switch ((uintptr_t)user) {
	case SSLBIO__GO_ACCEPT:
		return 1;
	case SSLBIO__GO_DEFER:
		return SSLBIO_WANT_VERIFY;
	default:
		return result == 0 ? SSLBIO_WANT_VERIFY : 0;
	}
}

static int sslbio__go_set_verify(sslbio_ctx *ctx, int mode) {
	return sslbio_ctx_set_verify_callback(ctx, sslbio__go_verify, (void *)(uintptr_t)mode);
}
*/
import "C"

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"runtime"
)

// verifyHook is a Context's VerifyPeerCertificate and what it needs.
type verifyHook struct {
	fn      func(rawCerts [][]byte, verifiedChains [][]*x509.Certificate) error
	checked bool           // OpenSSL verified the chain first: build verifiedChains
	roots   *x509.CertPool // the Context's CAs (or the system pool), when checked
	usage   x509.ExtKeyUsage
}

// applyVerifyHook installs the verify callback the Config needs: none when
// OpenSSL decides alone, one that accepts unverified client certificates
// where crypto/tls does, and one that pauses for VerifyPeerCertificate.
func (x *Context) applyVerifyHook(cfg *Config) (*verifyHook, error) {
	unverified := cfg.Role == RoleClient && cfg.InsecureSkipVerify ||
		cfg.Role == RoleServer && (cfg.ClientAuth == tls.RequestClientCert || cfg.ClientAuth == tls.RequireAnyClientCert)
	var mode C.int
	switch {
	case cfg.VerifyPeerCertificate != nil && unverified:
		mode = C.SSLBIO__GO_DEFER
	case cfg.VerifyPeerCertificate != nil:
		mode = C.SSLBIO__GO_DEFER_IF_OK
	case unverified && cfg.Role == RoleServer:
		mode = C.SSLBIO__GO_ACCEPT
	default:
		return nil, nil // OpenSSL alone (a client with InsecureSkipVerify does not check)
	}
	if err := x.call("verify callback", func(c *C.sslbio_ctx) C.int { return C.sslbio__go_set_verify(c, mode) }); err != nil {
		return nil, err
	}
	if cfg.VerifyPeerCertificate == nil {
		return nil, nil
	}
	h := &verifyHook{fn: cfg.VerifyPeerCertificate, checked: !unverified, usage: x509.ExtKeyUsageServerAuth}
	if cfg.Role == RoleServer {
		h.usage = x509.ExtKeyUsageClientAuth
	}
	if h.checked {
		roots, err := configRoots(cfg)
		if err != nil {
			return nil, err
		}
		h.roots = roots
	}
	return h, nil
}

// configRoots is the Config's trust anchors as a crypto/x509 pool: CAPEM
// and CAFile, or the system pool when neither is given.
func configRoots(cfg *Config) (*x509.CertPool, error) {
	if len(cfg.CAPEM) == 0 && cfg.CAFile == "" {
		return x509.SystemCertPool()
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(cfg.CAPEM)
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, err
		}
		pool.AppendCertsFromPEM(pem)
	}
	return pool, nil
}

// chains builds verifiedChains for the certificates the peer sent (nil when
// crypto/x509 builds none: OpenSSL's verdict stands, this is information).
func (h *verifyHook) chains(raw [][]byte, name string) [][]*x509.Certificate {
	if !h.checked || len(raw) == 0 {
		return nil
	}
	certs := make([]*x509.Certificate, 0, len(raw))
	for _, der := range raw {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil
		}
		certs = append(certs, c)
	}
	opts := x509.VerifyOptions{Roots: h.roots, Intermediates: x509.NewCertPool(),
		DNSName: name, KeyUsages: []x509.ExtKeyUsage{h.usage}}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	chains, err := certs[0].Verify(opts)
	if err != nil {
		return nil
	}
	return chains
}

// decideVerify answers a paused verification (SSLBIO_WANT_VERIFY) with the
// current context's VerifyPeerCertificate; false when it has none (a
// callback set from C on a handle: the pause is the caller's).
func (e *Engine) decideVerify() bool {
	if e.hooks == nil || e.hooks.verify == nil {
		return false
	}
	h := e.hooks.verify
	raw := e.PeerChain()
	var name string
	if e.role == RoleClient {
		name = C.GoString(C.sslbio_conn_server_name(e.c))
	}
	err := h.fn(raw, h.chains(raw, name))
	if err != nil {
		e.hookErr = err
	}
	st := C.sslbio_conn_verify_done(e.c, boolInt(err == nil))
	runtime.KeepAlive(e)
	return st == C.SSLBIO_OK
}
