package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/sslbio/sslbio/internal/memconn"
)

// cryptoTLSSubject is Go's crypto/tls: two tls.Conn over a memconn pair
// (buffered in memory, writes never block), so bulk and ping-pong run in
// one goroutine; a handshake needs the server in a second goroutine, as
// crypto/tls has no sans-IO API. Same work as the OpenSSL subjects: X25519
// only (Go 1.24+ would offer X25519MLKEM768 first), ECDSA P-256, the client
// verifies the chain and the host name, one session ticket per connection,
// the server sends its leaf certificate alone.
type cryptoTLSSubject struct{}

type cryptoTLSEnv struct {
	client, server *tls.Config
}

func (cryptoTLSSubject) newEnv(certs string, defaultSuite bool) (env, error) {
	// TLS 1.3 suites are not configurable in crypto/tls; with AES hardware it
	// picks TLS_AES_128_GCM_SHA256, which suite() reports.
	_ = defaultSuite
	caPEM, err := os.ReadFile(filepath.Join(certs, "ca.pem"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("no CA in ca.pem")
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(certs, "server.pem"), filepath.Join(certs, "server.key"))
	if err != nil {
		return nil, err
	}
	cert.Certificate = cert.Certificate[:1] // the leaf alone, like sslbio (see README)
	curves := []tls.CurveID{tls.X25519}
	return &cryptoTLSEnv{
		client: &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12, CurvePreferences: curves},
		server: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, CurvePreferences: curves},
	}, nil
}

func (e *cryptoTLSEnv) note() string { return "" }
func (e *cryptoTLSEnv) close()       {}

type cryptoTLSPair struct {
	c, s   *tls.Conn
	ca, sa net.Conn
}

// connect handshakes a new pair; the server runs in its own goroutine.
func (e *cryptoTLSEnv) connect(ccfg *tls.Config) (*cryptoTLSPair, error) {
	a, b := memconn.Pipe()
	p := &cryptoTLSPair{c: tls.Client(a, ccfg), s: tls.Server(b, e.server), ca: a, sa: b}
	done := make(chan error, 1)
	go func() { done <- p.s.Handshake() }()
	cerr := p.c.Handshake()
	serr := <-done
	if cerr != nil || serr != nil {
		p.close()
		return nil, fmt.Errorf("handshake: client %v, server %v", cerr, serr)
	}
	return p, nil
}

func (p *cryptoTLSPair) settle() error {
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
	if _, err := io.ReadFull(p.c, b); err != nil { // reads the session ticket first
		return err
	}
	return readUntilBlocked(p.s, p.c)
}

// readUntilBlocked reads on each conn until it would block, as an event
// loop does (an expired deadline; a timeout does not break the conn), so
// both sides are idle with nothing buffered like the engines' settle.
func readUntilBlocked(conns ...net.Conn) error {
	var b [1]byte
	for _, c := range conns {
		c.SetReadDeadline(time.Unix(1, 0))
		if _, err := c.Read(b[:]); !errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("idle read: %v", err)
		}
		c.SetReadDeadline(time.Time{})
	}
	return nil
}

func (e *cryptoTLSEnv) pair() (pair, error) {
	p, err := e.connect(e.client)
	if err != nil {
		return nil, err
	}
	if err := p.settle(); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func (p *cryptoTLSPair) bulk(msg, rbuf []byte) error {
	if _, err := p.c.Write(msg); err != nil {
		return err
	}
	_, err := io.ReadFull(p.s, rbuf)
	return err
}

func (p *cryptoTLSPair) ping(msg, rbuf []byte) error {
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

// close drops the transport without close_notify, like the engines' free.
func (p *cryptoTLSPair) close() {
	p.ca.Close()
	p.sa.Close()
}

func (e *cryptoTLSEnv) handshake() error {
	p, err := e.connect(e.client)
	if err != nil {
		return err
	}
	p.close()
	return nil
}

func (e *cryptoTLSEnv) suite() (string, error) {
	p, err := e.connect(e.client)
	if err != nil {
		return "", err
	}
	defer p.close()
	return tls.CipherSuiteName(p.c.ConnectionState().CipherSuite), nil
}

type cryptoTLSResumer struct {
	e    *cryptoTLSEnv
	cfg  *tls.Config // with a session cache
	prev *cryptoTLSPair
	rbuf []byte
}

func (e *cryptoTLSEnv) resumer() (resumer, error) {
	cfg := e.client.Clone()
	cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	p, err := e.connect(cfg)
	if err != nil {
		return nil, err
	}
	if err := p.settle(); err != nil { // the cache now holds the ticket
		p.close()
		return nil, err
	}
	return &cryptoTLSResumer{e: e, cfg: cfg, prev: p, rbuf: make([]byte, 16)}, nil
}

func (r *cryptoTLSResumer) step() error {
	p, err := r.e.connect(r.cfg)
	if err != nil {
		return err
	}
	if !p.c.ConnectionState().DidResume {
		p.close()
		return errors.New("handshake did not resume")
	}
	// Take the new ticket: read with an expired deadline returns once the
	// buffered records are processed (a timeout is not fatal to tls.Conn).
	p.c.SetReadDeadline(time.Unix(1, 0))
	if _, err := p.c.Read(r.rbuf); !errors.Is(err, os.ErrDeadlineExceeded) {
		p.close()
		return fmt.Errorf("reading the new ticket: %v", err)
	}
	r.prev.close()
	r.prev = p
	return nil
}

func (r *cryptoTLSResumer) close() { r.prev.close() }
