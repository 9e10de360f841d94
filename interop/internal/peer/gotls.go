package peer

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"time"
)

// GoTLS is Go's crypto/tls, the foreign peer written in Go.
type GoTLS struct {
	cache tls.ClientSessionCache
	srv   *tls.Config // one config for every connection: its ticket keys resume sessions
}

func (g *GoTLS) Name() string { return "gotls" }

func (g *GoTLS) config(o *Options, server bool) (*tls.Config, error) {
	caPEM, err := os.ReadFile(o.File("ca.pem"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	cfg := &tls.Config{NextProtos: o.ALPNList()}
	cfg.MinVersion, cfg.MaxVersion = versions(o)
	if server {
		cert, err := tls.LoadX509KeyPair(o.File("server.pem"), o.File("server.key"))
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
		if o.ClientCert {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
			cfg.ClientCAs = pool
		}
		return cfg, nil
	}
	cfg.RootCAs = pool
	cfg.ServerName = o.ServerName
	if g.cache == nil {
		g.cache = tls.NewLRUClientSessionCache(4)
	}
	cfg.ClientSessionCache = g.cache
	if o.ClientCert {
		cert, err := tls.LoadX509KeyPair(o.File("client.pem"), o.File("client.key"))
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func (g *GoTLS) Dial(o *Options, addr string, session any) (Conn, error) {
	cfg, err := g.config(o, false)
	if err != nil {
		return nil, err
	}
	raw, err := net.DialTimeout("tcp", addr, o.Timeout)
	if err != nil {
		return nil, err
	}
	return &goConn{tls.Client(raw, cfg)}, nil
}

// Session: the client session cache carries it from one Dial to the next.
func (g *GoTLS) Session(c Conn) any { return nil }

func (g *GoTLS) Server(o *Options, raw net.Conn) (Conn, error) {
	if g.srv == nil {
		cfg, err := g.config(o, true)
		if err != nil {
			return nil, err
		}
		g.srv = cfg
	}
	return &goConn{tls.Server(raw, g.srv)}, nil
}

type goConn struct{ *tls.Conn }

func (c *goConn) State() State {
	cs := c.ConnectionState()
	st := State{Version: versionName(cs.Version), Cipher: tls.CipherSuiteName(cs.CipherSuite),
		ALPN: cs.NegotiatedProtocol, Resumed: cs.DidResume}
	if len(cs.PeerCertificates) > 0 {
		st.PeerCN = cs.PeerCertificates[0].Subject.CommonName
	}
	return st
}

// KeyUpdate: crypto/tls answers KeyUpdates but cannot send one.
func (c *goConn) KeyUpdate(requestPeer bool) error { return ErrUnsupported }

// IsCleanEOF: crypto/tls returns io.EOF only after close_notify; a bare
// transport EOF is io.ErrUnexpectedEOF.
func (c *goConn) IsCleanEOF(err error) bool {
	return err == io.EOF && !errors.Is(err, io.ErrUnexpectedEOF)
}

func (c *goConn) SetDeadline(t time.Time) error { return c.Conn.SetDeadline(t) }
