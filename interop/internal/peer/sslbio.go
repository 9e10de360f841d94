package peer

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	sslerr "github.com/sslbio/sslbio/error"
	"github.com/sslbio/sslbio/sslbio"
)

// SSLBio is the sslbio stack. API "conn" uses the net.Conn adapters
// (sslbio.Dial, sslbio.Server); "engine" drives a raw sslbio.Engine over the
// socket with this file's small loop (needed for sessions and key updates,
// which the adapters do not expose).
type SSLBio struct {
	API string
	cli *sslbio.Context
	srv *sslbio.Context
}

func (s *SSLBio) Name() string { return "sslbio-" + s.API }

func versions(o *Options) (uint16, uint16) {
	switch {
	case o.TLS12:
		return tls.VersionTLS12, tls.VersionTLS12
	case o.TLS13:
		return tls.VersionTLS13, tls.VersionTLS13
	}
	return 0, 0
}

func (s *SSLBio) context(o *Options, role sslbio.Role) (*sslbio.Context, error) {
	cfg := &sslbio.Config{Role: role, CAFile: o.File("ca.pem"), NextProtos: o.ALPNList()}
	cfg.MinVersion, cfg.MaxVersion = versions(o)
	if role == sslbio.RoleServer {
		cfg.CertFile, cfg.KeyFile = o.File("server.pem"), o.File("server.key")
		if o.ClientCert {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
	} else if o.ClientCert {
		cfg.CertFile, cfg.KeyFile = o.File("client.pem"), o.File("client.key")
	}
	return sslbio.NewContext(cfg)
}

func (s *SSLBio) Dial(o *Options, addr string, session any) (Conn, error) {
	if s.cli == nil {
		ctx, err := s.context(o, sslbio.RoleClient)
		if err != nil {
			return nil, err
		}
		s.cli = ctx
	}
	if s.API == "conn" {
		if session != nil {
			return nil, ErrUnsupported
		}
		raw, err := net.DialTimeout("tcp", addr, o.Timeout)
		if err != nil {
			return nil, err
		}
		c, err := sslbio.Client(raw, s.cli, o.ServerName)
		if err != nil {
			raw.Close()
			return nil, err
		}
		return &adapterConn{c}, nil
	}
	raw, err := net.DialTimeout("tcp", addr, o.Timeout)
	if err != nil {
		return nil, err
	}
	e, err := s.cli.NewEngine(o.ServerName)
	if err != nil {
		raw.Close()
		return nil, err
	}
	if der, ok := session.([]byte); ok && der != nil {
		if err := e.SetSession(der); err != nil {
			raw.Close()
			e.Close()
			return nil, fmt.Errorf("set session: %w", err)
		}
	}
	return NewEngineConn(e, raw), nil
}

func (s *SSLBio) Session(c Conn) any {
	ec, ok := c.(*EngineConn)
	if !ok {
		return nil
	}
	der, err := ec.E.Session()
	if err != nil || der == nil {
		return nil
	}
	return der
}

func (s *SSLBio) Server(o *Options, raw net.Conn) (Conn, error) {
	if s.srv == nil {
		ctx, err := s.context(o, sslbio.RoleServer)
		if err != nil {
			return nil, err
		}
		s.srv = ctx
	}
	if s.API == "conn" {
		c, err := sslbio.Server(raw, s.srv)
		if err != nil {
			return nil, err
		}
		return &adapterConn{c}, nil
	}
	e, err := s.srv.NewEngine("")
	if err != nil {
		return nil, err
	}
	return NewEngineConn(e, raw), nil
}

func sslbioState(cs sslbio.ConnectionState) State {
	st := State{Cipher: cs.CipherName, ALPN: cs.NegotiatedProtocol, Resumed: cs.DidResume}
	st.Version = versionName(cs.Version)
	if len(cs.PeerCertificates) > 0 {
		st.PeerCN = cs.PeerCertificates[0].Subject.CommonName
	}
	return st
}

func versionName(v uint16) string {
	switch v {
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	case 0:
		return "none"
	}
	return fmt.Sprintf("0x%04x", v)
}

// adapterConn is sslbio.Conn (the net.Conn adapter).
type adapterConn struct{ *sslbio.Conn }

func (a *adapterConn) State() State                     { return sslbioState(a.ConnectionState()) }
func (a *adapterConn) KeyUpdate(requestPeer bool) error { return ErrUnsupported }
func (a *adapterConn) IsCleanEOF(err error) bool        { return err == io.EOF }

// EngineConn drives an sslbio.Engine over a socket: the smallest correct
// loop around the sans-IO API (drain after every call, feed on WantRead,
// keep what Feed did not accept).
type EngineConn struct {
	E    *sslbio.Engine
	raw  net.Conn
	in   []byte // ciphertext read, not yet accepted by Feed
	rbuf []byte
	wbuf []byte
	eof  bool
}

// NewEngineConn wraps e over raw; Close frees both.
func NewEngineConn(e *sslbio.Engine, raw net.Conn) *EngineConn {
	return &EngineConn{E: e, raw: raw, rbuf: make([]byte, 18*1024), wbuf: make([]byte, 18*1024)}
}

func (c *EngineConn) flush() error {
	for c.E.PendingOut() > 0 {
		n, err := c.E.Drain(c.wbuf)
		if err != nil {
			return err
		}
		if _, err := c.raw.Write(c.wbuf[:n]); err != nil {
			return err
		}
	}
	return nil
}

func (c *EngineConn) fill() error {
	if len(c.in) == 0 {
		if c.eof {
			return errors.New("engine wants data after transport EOF was fed")
		}
		n, err := c.raw.Read(c.rbuf)
		switch {
		case n > 0:
			c.in = c.rbuf[:n]
		case err == io.EOF:
			c.eof = true
			return c.E.FeedEOF()
		case err != nil:
			return err
		default:
			return nil
		}
	}
	n, err := c.E.Feed(c.in)
	c.in = c.in[n:]
	return err
}

func isWant(err error) bool {
	return errors.Is(err, sslerr.ErrWantRead) || errors.Is(err, sslerr.ErrWantWrite)
}

// run calls op until it succeeds or fails for good.
func (c *EngineConn) run(op func() error) error {
	for {
		err := op()
		if ferr := c.flush(); ferr != nil && (err == nil || isWant(err)) {
			return ferr
		}
		switch {
		case err == nil:
			return nil
		case errors.Is(err, sslerr.ErrWantWrite):
			continue
		case errors.Is(err, sslerr.ErrWantRead):
			if ferr := c.fill(); ferr != nil {
				return ferr
			}
		default:
			return err
		}
	}
}

func (c *EngineConn) Handshake() error { return c.run(c.E.Handshake) }

func (c *EngineConn) Read(p []byte) (int, error) {
	var n int
	err := c.run(func() (err error) { n, err = c.E.Read(p); return })
	return n, err
}

func (c *EngineConn) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		var n int
		err := c.run(func() (err error) { n, err = c.E.Write(p[done:]); return })
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// CloseWrite queues close_notify and sends it; the peer's arrives through Read.
func (c *EngineConn) CloseWrite() error {
	err := c.E.Shutdown()
	if ferr := c.flush(); ferr != nil {
		return ferr
	}
	if err != nil && !errors.Is(err, sslerr.ErrWantRead) {
		return err
	}
	return nil
}

func (c *EngineConn) KeyUpdate(requestPeer bool) error {
	if err := c.E.KeyUpdate(requestPeer); err != nil {
		return err
	}
	return c.flush()
}

func (c *EngineConn) Close() error {
	c.E.Close()
	return c.raw.Close()
}

func (c *EngineConn) State() State                  { return sslbioState(c.E.ConnectionState()) }
func (c *EngineConn) SetDeadline(t time.Time) error { return c.raw.SetDeadline(t) }
func (c *EngineConn) IsCleanEOF(err error) bool     { return err == io.EOF }
