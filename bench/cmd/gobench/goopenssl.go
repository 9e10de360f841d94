package main

/*
#cgo pkg-config: openssl
#include <stdlib.h>
#include <openssl/ssl.h>

// go-openssl v0.1.0 has no setter for TLS 1.3 suites or the ticket count,
// and resumes only through DialSession (a real network dial). These reach
// the SSL_CTX and SSL it wraps to configure them like the other subjects.
static int bench_ctx_setup(void *ctx, const char *suites, int server) {
	if (suites != NULL && SSL_CTX_set_ciphersuites(ctx, suites) != 1)
		return 0;
	if (server) {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_num_tickets(ctx, 1);
	}
	return 1;
}

static int bench_set_session(void *ssl, const unsigned char *der, long len) {
	SSL_SESSION *s = d2i_SSL_SESSION(NULL, &der, len);
	if (s == NULL)
		return 0;
	int ok = SSL_set_session(ssl, s);
	SSL_SESSION_free(s);
	return ok;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"
	"unsafe"

	openssl "github.com/libp2p/go-openssl"
	"github.com/sslbio/sslbio/internal/memconn"
)

// goOpenSSLSubject is github.com/libp2p/go-openssl (the maintained fork of
// spacemonkeygo/openssl): openssl.Client/openssl.Server over a memconn
// pair, used like crypto/tls (the server handshakes in its own goroutine).
// The client verifies the chain in the handshake and the host name with
// VerifyHostname, the way the package's own Dial does.
type goOpenSSLSubject struct{}

type goOpenSSLEnv struct {
	client, server *openssl.Ctx
}

// cPtr is the C pointer a go-openssl handle wraps: its first field.
func cPtr(handle unsafe.Pointer) unsafe.Pointer { return *(*unsafe.Pointer)(handle) }

func (goOpenSSLSubject) newEnv(certs string, defaultSuite bool) (env, error) {
	var suites *C.char
	if !defaultSuite {
		suites = C.CString("TLS_AES_128_GCM_SHA256")
		defer C.free(unsafe.Pointer(suites))
	}
	cctx, err := openssl.NewCtx()
	if err != nil {
		return nil, err
	}
	cctx.SetMinProtoVersion(openssl.TLS1_2_VERSION)
	cctx.SetVerifyMode(openssl.VerifyPeer)
	if err := cctx.LoadVerifyLocations(filepath.Join(certs, "ca.pem"), ""); err != nil {
		return nil, err
	}
	sctx, err := goOpenSSLServerCtx(certs)
	if err != nil {
		return nil, err
	}
	sctx.SetMinProtoVersion(openssl.TLS1_2_VERSION)
	if C.bench_ctx_setup(cPtr(unsafe.Pointer(cctx)), suites, 0) != 1 ||
		C.bench_ctx_setup(cPtr(unsafe.Pointer(sctx)), suites, 1) != 1 {
		return nil, errors.New("configuring the SSL_CTX failed")
	}
	return &goOpenSSLEnv{client: cctx, server: sctx}, nil
}

// goOpenSSLServerCtx is NewCtxFromFiles without the chain: the server sends
// its leaf certificate alone, like sslbio (see README).
func goOpenSSLServerCtx(certs string) (*openssl.Ctx, error) {
	certPEM, err := os.ReadFile(filepath.Join(certs, "server.pem"))
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(certs, "server.key"))
	if err != nil {
		return nil, err
	}
	ctx, err := openssl.NewCtx()
	if err != nil {
		return nil, err
	}
	cert, err := openssl.LoadCertificateFromPEM(certPEM) // the first block: the leaf
	if err != nil {
		return nil, err
	}
	key, err := openssl.LoadPrivateKeyFromPEM(keyPEM)
	if err != nil {
		return nil, err
	}
	if err := ctx.UseCertificate(cert); err != nil {
		return nil, err
	}
	return ctx, ctx.UsePrivateKey(key)
}

func (e *goOpenSSLEnv) note() string { return "" }
func (e *goOpenSSLEnv) close()       {}

type goOpenSSLPair struct {
	c, s   *openssl.Conn
	ca, sa net.Conn
}

func (e *goOpenSSLEnv) connect(session []byte) (*goOpenSSLPair, error) {
	a, b := memconn.Pipe()
	c, err := openssl.Client(a, e.client)
	if err != nil {
		return nil, err
	}
	s, err := openssl.Server(b, e.server)
	if err != nil {
		return nil, err
	}
	p := &goOpenSSLPair{c: c, s: s, ca: a, sa: b}
	if err := c.SetTlsExtHostName("localhost"); err != nil {
		return nil, err
	}
	if session != nil {
		ok := C.bench_set_session(cPtr(unsafe.Pointer(c.SSL)), (*C.uchar)(unsafe.Pointer(&session[0])), C.long(len(session)))
		if ok != 1 {
			return nil, errors.New("set session failed")
		}
	}
	done := make(chan error, 1)
	go func() { done <- s.Handshake() }()
	cerr := c.Handshake()
	serr := <-done
	if cerr == nil && serr == nil {
		cerr = c.VerifyHostname("localhost")
	}
	if cerr != nil || serr != nil {
		p.close()
		return nil, fmt.Errorf("handshake: client %v, server %v", cerr, serr)
	}
	return p, nil
}

func (p *goOpenSSLPair) settle() error {
	b := []byte{'x'}
	if _, err := p.c.Write(b); err != nil {
		return err
	}
	if _, err := io.ReadFull(p.s, b); err != nil {
		return err
	}
	if _, err := p.s.Write(b); err != nil {
		return err
	}
	if _, err := io.ReadFull(p.c, b); err != nil {
		return err
	}
	return readUntilBlocked(p.s, p.c)
}

func (e *goOpenSSLEnv) pair() (pair, error) {
	p, err := e.connect(nil)
	if err != nil {
		return nil, err
	}
	if err := p.settle(); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func (p *goOpenSSLPair) bulk(msg, rbuf []byte) error {
	if _, err := p.c.Write(msg); err != nil {
		return err
	}
	_, err := io.ReadFull(p.s, rbuf)
	return err
}

func (p *goOpenSSLPair) ping(msg, rbuf []byte) error {
	if _, err := p.c.Write(msg); err != nil {
		return err
	}
	if _, err := io.ReadFull(p.s, rbuf); err != nil {
		return err
	}
	if _, err := p.s.Write(rbuf); err != nil {
		return err
	}
	_, err := io.ReadFull(p.c, rbuf)
	return err
}

// close drops the transport without close_notify; go-openssl frees the SSL
// in a finalizer.
func (p *goOpenSSLPair) close() {
	p.ca.Close()
	p.sa.Close()
}

func (e *goOpenSSLEnv) handshake() error {
	p, err := e.connect(nil)
	if err != nil {
		return err
	}
	p.close()
	return nil
}

func (e *goOpenSSLEnv) suite() (string, error) {
	p, err := e.connect(nil)
	if err != nil {
		return "", err
	}
	defer p.close()
	return p.c.CurrentCipher()
}

type goOpenSSLResumer struct {
	e    *goOpenSSLEnv
	prev *goOpenSSLPair
	sess []byte
	rbuf []byte
}

func (e *goOpenSSLEnv) resumer() (resumer, error) {
	p, err := e.connect(nil)
	if err != nil {
		return nil, err
	}
	if err := p.settle(); err != nil {
		p.close()
		return nil, err
	}
	sess, err := p.c.GetSession()
	if err != nil {
		p.close()
		return nil, err
	}
	return &goOpenSSLResumer{e: e, prev: p, sess: sess, rbuf: make([]byte, 16)}, nil
}

func (r *goOpenSSLResumer) step() error {
	p, err := r.e.connect(r.sess)
	if err != nil {
		return err
	}
	if !p.c.SessionReused() {
		p.close()
		return errors.New("handshake did not resume")
	}
	// Take the new ticket: a read with an expired deadline.
	p.c.SetReadDeadline(time.Unix(1, 0))
	if _, err := p.c.Read(r.rbuf); !errors.Is(err, os.ErrDeadlineExceeded) {
		p.close()
		return fmt.Errorf("reading the new ticket: %v", err)
	}
	sess, err := p.c.GetSession()
	if err != nil {
		p.close()
		return err
	}
	r.sess = sess
	r.prev.close()
	r.prev = p
	return nil
}

func (r *goOpenSSLResumer) close() { r.prev.close() }
