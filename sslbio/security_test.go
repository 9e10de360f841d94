package sslbio

// Rule 7: secure defaults, against crypto/tls peers.

import (
	"crypto/tls"
	"errors"
	"io"
	"testing"

	sslerr "github.com/sslbio/sslbio/error"
	"github.com/sslbio/sslbio/internal/memconn"
	"github.com/sslbio/sslbio/internal/testpki"
	"github.com/stretchr/testify/require"
)

// handshakeVsGoServer runs an engine client handshake against a crypto/tls
// server with cfg over memconn; returns both sides' errors.
func handshakeVsGoServer(t *testing.T, cctx *Context, name string, cfg *tls.Config) (ours, theirs error) {
	t.Helper()
	a, b := memconn.Pipe()
	defer a.Close()
	peer := startGoPeer(t, tls.Server(b, cfg), func(tc *tls.Conn) error {
		if err := tc.Handshake(); err != nil {
			return err
		}
		// TLS 1.3 servers finish before the client's verdict: read it.
		_, err := tc.Read(make([]byte, 1))
		if errors.Is(err, io.EOF) {
			err = nil
		}
		return err
	})
	d := newDriver(t, mustEngine(t, cctx, name), a, nil)
	ours = d.handshake()
	if ours == nil {
		ours = d.shutdown()
	}
	if ours != nil {
		d.flush() // the alert
		a.Close()
	}
	return ours, peer.wait()
}

func requireVerifyError(t *testing.T, err error, code int, text string) {
	t.Helper()
	require.ErrorIs(t, err, ErrVerify)
	se := asError(t, err)
	require.Equal(t, sslerr.KindVerify, se.Kind)
	require.Equal(t, code, se.VerifyResult, "%v", err)
	require.Equal(t, "handshake", se.Op)
	require.Contains(t, err.Error(), "certificate verify failed")
	require.Contains(t, err.Error(), text)
	require.NotEmpty(t, se.Entries)
}

func TestClientRejectsUntrustedCertificate(t *testing.T) {
	p := pki()
	leafOnly := goServerConfig(p)
	leafOnly.Certificates[0].Certificate = leafOnly.Certificates[0].Certificate[:1]

	t.Run("system store only, leaf only", func(t *testing.T) {
		cctx := mustContext(t, &Config{Role: RoleClient}) // no CA: the system store
		ours, theirs := handshakeVsGoServer(t, cctx, "localhost", leafOnly)
		requireVerifyError(t, ours, 20, "unable to get local issuer certificate (verify 20)")
		require.Error(t, theirs, "the server hears about it (alert)")
	})
	t.Run("system store only, chain with its root", func(t *testing.T) {
		cctx := mustContext(t, &Config{Role: RoleClient})
		ours, _ := handshakeVsGoServer(t, cctx, "localhost", goServerConfig(p))
		requireVerifyError(t, ours, 19, "self-signed certificate in certificate chain (verify 19)")
	})
	t.Run("another CA", func(t *testing.T) {
		cctx := clientContext(t, func(c *Config) { c.CAPEM = otherPKI().CAPEM })
		ours, theirs := handshakeVsGoServer(t, cctx, "localhost", leafOnly)
		requireVerifyError(t, ours, 20, "(verify 20)")
		// OpenSSL sends this TLS 1.3 alert before switching to handshake
		// keys, so crypto/tls sees a record it cannot decrypt.
		require.Error(t, theirs)
		tls12only := leafOnly.Clone()
		tls12only.MaxVersion = tls.VersionTLS12
		ours, theirs = handshakeVsGoServer(t, cctx, "localhost", tls12only)
		requireVerifyError(t, ours, 20, "(verify 20)")
		require.ErrorContains(t, theirs, "unknown certificate authority")
	})
	t.Run("net.Conn adapter", func(t *testing.T) {
		a, b := memconn.Pipe()
		defer a.Close()
		go tls.Server(b, leafOnly).Handshake()
		c, err := Client(a, mustContext(t, &Config{Role: RoleClient}), "localhost")
		require.NoError(t, err)
		requireVerifyError(t, c.Handshake(), 20, "(verify 20)")
		_, err = c.Write([]byte("x"))
		require.ErrorIs(t, err, ErrVerify, "the handshake error is sticky")
	})
	t.Run("InsecureSkipVerify opts out", func(t *testing.T) {
		cctx := mustContext(t, &Config{Role: RoleClient, InsecureSkipVerify: true})
		ours, theirs := handshakeVsGoServer(t, cctx, "not-the-name.example", leafOnly)
		require.NoError(t, ours)
		require.NoError(t, theirs)
	})
}

func TestClientChecksHostName(t *testing.T) {
	p := pki()
	cases := []struct {
		name string
		code int // 0: accepted
		text string
	}{
		{"localhost", 0, ""},
		{"LOCALHOST", 0, ""},
		{"127.0.0.1", 0, ""},
		{"::1", 0, ""},
		{"example.com", 62, "hostname mismatch"},
		{"localhost.evil.example", 62, "hostname mismatch"},
		{"127.0.0.2", 64, "IP address mismatch"},
	}
	cctx := clientContext(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ours, _ := handshakeVsGoServer(t, cctx, tc.name, goServerConfig(p))
			if tc.code == 0 {
				require.NoError(t, ours)
				return
			}
			requireVerifyError(t, ours, tc.code, tc.text)
		})
	}
}

func TestOldProtocolVersionsRefused(t *testing.T) {
	p := pki()
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		t.Run(tls.VersionName(v)+" server", func(t *testing.T) {
			cfg := goServerConfig(p)
			cfg.MinVersion, cfg.MaxVersion = v, v
			ours, theirs := handshakeVsGoServer(t, clientContext(t), "localhost", cfg)
			require.Error(t, ours)
			se := asError(t, ours)
			require.Equal(t, sslerr.KindSSL, se.Kind)
			require.NotEmpty(t, se.Entries)
			t.Logf("ours: %v; theirs: %v", ours, theirs)
			require.Error(t, theirs)
		})
		t.Run(tls.VersionName(v)+" client", func(t *testing.T) {
			a, b := memconn.Pipe()
			defer a.Close()
			cfg := goClientConfig(p)
			cfg.MinVersion, cfg.MaxVersion = v, v
			peer := startGoPeer(t, tls.Client(a, cfg), func(tc *tls.Conn) error { return tc.Handshake() })
			d := newDriver(t, mustEngine(t, serverContext(t), ""), b, nil)
			err := d.handshake()
			require.Error(t, err)
			require.Contains(t, err.Error(), "unsupported protocol")
			d.flush()
			theirs := peer.wait()
			require.ErrorContains(t, theirs, "protocol version")
		})
	}
	t.Run("cannot be configured", func(t *testing.T) {
		x := mustContext(t, &Config{Role: RoleClient})
		require.ErrorIs(t, x.SetVersions(tls.VersionTLS11, tls.VersionTLS13), ErrInvalid)
		require.ErrorIs(t, x.SetVersions(tls.VersionTLS10, 0), ErrInvalid)
		require.ErrorIs(t, x.SetVersions(0x0300, 0), ErrInvalid, "SSL 3.0")
	})
}

func TestClientCertificates(t *testing.T) {
	p := pki()
	requireCert := func(c *Config) { c.ClientAuth = tls.RequireAndVerifyClientCert; c.CAPEM = p.CAPEM }
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			serve := func(t *testing.T, clientCert *testpki.Pair) (server error, client error, st ConnectionState) {
				a, b := memconn.Pipe()
				defer a.Close()
				cfg := goClientConfig(p)
				if clientCert != nil {
					cfg.Certificates = []tls.Certificate{clientCert.TLS()}
				}
				peer := startGoPeer(t, tls.Client(a, cfg), func(tc *tls.Conn) error {
					if err := tc.Handshake(); err != nil {
						return err
					}
					// TLS 1.3 clients learn the verdict on their first read.
					_, err := tc.Read(make([]byte, 1))
					if errors.Is(err, io.EOF) {
						return nil
					}
					return err
				})
				d := newDriver(t, mustEngine(t, serverContext(t, v.mod, requireCert), ""), b, nil)
				server = d.handshake()
				if server == nil {
					st = d.e.ConnectionState()
					server = d.shutdown()
				} else {
					d.flush()
				}
				b.Close()
				return server, peer.wait(), st
			}
			t.Run("valid client certificate", func(t *testing.T) {
				serr, cerr, st := serve(t, &p.Client)
				require.NoError(t, serr)
				require.NoError(t, cerr)
				require.NotEmpty(t, st.PeerCertificates)
				require.Equal(t, "sslbio test client", st.PeerCertificates[0].Subject.CommonName)
			})
			t.Run("no client certificate", func(t *testing.T) {
				serr, cerr, _ := serve(t, nil)
				require.Error(t, serr)
				require.Contains(t, serr.Error(), "peer did not return a certificate")
				require.Error(t, cerr)
				t.Logf("client sees: %v", cerr)
			})
			t.Run("certificate from another CA", func(t *testing.T) {
				serr, cerr, _ := serve(t, &otherPKI().Client)
				require.ErrorIs(t, serr, ErrVerify)
				require.Contains(t, serr.Error(), "certificate verify failed")
				require.Error(t, cerr)
			})
		})
	}

	t.Run("sslbio client presents its certificate to crypto/tls", func(t *testing.T) {
		cfg := goServerConfig(p)
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = p.Pool()
		withCert := clientContext(t, func(c *Config) { c.CertPEM, c.KeyPEM = p.Client.CertPEM, p.Client.KeyPEM })
		ours, theirs := handshakeVsGoServer(t, withCert, "localhost", cfg)
		require.NoError(t, ours)
		require.NoError(t, theirs)

		// Without one, crypto/tls refuses (TLS 1.3: our first read says so).
		a, b := memconn.Pipe()
		defer a.Close()
		peer := startGoPeer(t, tls.Server(b, cfg), func(tc *tls.Conn) error { return tc.Handshake() })
		d := newDriver(t, mustEngine(t, clientContext(t), "localhost"), a, nil)
		err := d.handshake()
		if err == nil {
			_, err = d.read(make([]byte, 1))
		}
		require.Error(t, err)
		require.NotErrorIs(t, err, io.EOF)
		require.Contains(t, err.Error(), "certificate required")
		require.ErrorContains(t, peer.wait(), "client didn't provide a certificate")
	})
}
