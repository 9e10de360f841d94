package peer

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"

	"github.com/sslbio/sslbio/sslbio"
)

// SSLBio is the sslbio stack through its net.Conn adapter (sslbio.Client,
// sslbio.Server): sessions with Conn.Session and Conn.SetSession, key
// updates with Conn.KeyUpdate.
type SSLBio struct {
	cli *sslbio.Context
	srv *sslbio.Context
}

func (s *SSLBio) Name() string { return "sslbio-conn" }

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
	raw, err := net.DialTimeout("tcp", addr, o.Timeout)
	if err != nil {
		return nil, err
	}
	c, err := sslbio.Client(raw, s.cli, o.ServerName)
	if err != nil {
		raw.Close()
		return nil, err
	}
	if der, ok := session.([]byte); ok && der != nil {
		if err := c.SetSession(der); err != nil {
			c.Close()
			return nil, fmt.Errorf("set session: %w", err)
		}
	}
	return &sslbioConn{c}, nil
}

// Session: the DER of the connection's session (TLS 1.3: Conn.Session
// reads the ticket if it has not arrived yet).
func (s *SSLBio) Session(c Conn) any {
	sc, ok := c.(*sslbioConn)
	if !ok {
		return nil
	}
	der, err := sc.Session()
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
	c, err := sslbio.Server(raw, s.srv)
	if err != nil {
		return nil, err
	}
	return &sslbioConn{c}, nil
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

// sslbioConn is sslbio.Conn, the net.Conn adapter (its Handshake, Read,
// Write, CloseWrite, Close, KeyUpdate and SetDeadline serve the script as
// they are).
type sslbioConn struct{ *sslbio.Conn }

func (c *sslbioConn) State() State              { return sslbioState(c.ConnectionState()) }
func (c *sslbioConn) IsCleanEOF(err error) bool { return err == io.EOF }
