package sslbio

// What an Engine reports about its connection (ConnectionState, PeerChain)
// and about its failures (the parts of *sslerr.Error and the C library's
// message), checked against what crypto/tls saw.

import (
	"crypto/tls"
	"errors"
	"io"
	"strings"
	"testing"

	sslerr "github.com/sslbio/sslbio/error"
	"github.com/sslbio/sslbio/internal/memconn"
	"github.com/sslbio/sslbio/internal/testpki"
	"github.com/stretchr/testify/require"
)

// groupNames: crypto/tls's curve IDs by OpenSSL's group names (OpenSSL
// 3.0 spells X25519 in lower case; the comparison ignores case). OpenSSL
// 3.5 and crypto/tls both prefer the hybrid X25519MLKEM768.
var groupNames = map[tls.CurveID]string{
	tls.X25519: "x25519", tls.CurveP256: "secp256r1", tls.CurveP384: "secp384r1", tls.CurveP521: "secp521r1",
	tls.X25519MLKEM768: "X25519MLKEM768",
}

// cipherBits is the secret size of a crypto/tls suite.
func cipherBits(t *testing.T, suite uint16) int {
	t.Helper()
	name := tls.CipherSuiteName(suite)
	switch {
	case strings.Contains(name, "AES_128"):
		return 128
	case strings.Contains(name, "AES_256"), strings.Contains(name, "CHACHA20"):
		return 256
	}
	t.Fatalf("no key size known for %s", name)
	return 0
}

// requireStateMatches: our side of a connection agrees with crypto/tls's.
func requireStateMatches(t *testing.T, st ConnectionState, theirs tls.ConnectionState) {
	t.Helper()
	require.True(t, st.HandshakeComplete)
	require.Equal(t, theirs.Version, st.Version)
	require.Equal(t, theirs.CipherSuite, st.CipherSuite)
	require.NotEmpty(t, st.CipherName)
	require.Equal(t, cipherBits(t, theirs.CipherSuite), st.CipherBits)
	require.Equal(t, theirs.NegotiatedProtocol, st.NegotiatedProtocol)
	require.Equal(t, theirs.DidResume, st.DidResume)
	want, ok := groupNames[theirs.CurveID]
	require.Truef(t, ok, "crypto/tls negotiated %v", theirs.CurveID)
	require.Truef(t, strings.EqualFold(want, st.Group), "group %q, crypto/tls %v", st.Group, theirs.CurveID)
}

// handshakeThen reports the crypto/tls side's state after its handshake,
// then runs next.
func handshakeThen(states chan<- tls.ConnectionState, next func(*tls.Conn) error) func(*tls.Conn) error {
	return func(tc *tls.Conn) error {
		if err := tc.Handshake(); err != nil {
			return err
		}
		states <- tc.ConnectionState()
		return next(tc)
	}
}

func TestEngineStateVsGoServer(t *testing.T) {
	p := pki()
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			a, b := memconn.Pipe()
			defer a.Close()
			scfg := goServerConfig(p)
			scfg.NextProtos = []string{"h2"}
			scfg.CurvePreferences = []tls.CurveID{tls.CurveP256} // not the default
			states := make(chan tls.ConnectionState, 1)
			peer := startGoPeer(t, tls.Server(b, scfg), handshakeThen(states, echo))
			cctx := clientContext(t, v.mod, func(c *Config) { c.NextProtos = []string{"h2"} })
			d := newDriver(t, mustEngine(t, cctx, "localhost"), a, newRand(t))
			require.NoError(t, d.handshake())
			st, theirs := d.e.ConnectionState(), <-states
			requireStateMatches(t, st, theirs)
			require.Equal(t, "secp256r1", st.Group)
			require.Equal(t, "h2", st.NegotiatedProtocol)
			require.Equal(t, "localhost", st.ServerName)
			require.Equal(t, "localhost", theirs.ServerName)
			require.False(t, st.DidResume)
			// The whole chain crypto/tls sent (leaf and CA), in order.
			chain := p.Server.TLS().Certificate
			require.Len(t, chain, 2)
			require.Equal(t, chain, d.e.PeerChain())
			require.Len(t, st.PeerCertificates, 2)
			for i, c := range st.PeerCertificates {
				require.Equal(t, chain[i], c.Raw)
			}
			require.NoError(t, d.shutdown())
			_, err := d.readAll()
			require.ErrorIs(t, err, io.EOF)
			require.NoError(t, peer.wait())
		})
	}
}

// clientAuthPair: a server context that requires and verifies a client
// certificate, and a crypto/tls client config that presents the test
// PKI's client chain (leaf and CA) and keeps sessions.
func clientAuthPair(t *testing.T, p *testpki.PKI, mod func(*Config)) (*Context, *tls.Config) {
	sctx := serverContext(t, mod, func(c *Config) {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.CAPEM = p.CAPEM
	})
	ccfg := goClientConfig(p)
	ccfg.Certificates = []tls.Certificate{p.Client.TLS()}
	ccfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	return sctx, ccfg
}

func TestEngineStateVsGoClient(t *testing.T) {
	p := pki()
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			sctx, ccfg := clientAuthPair(t, p, v.mod)
			for i, resume := range []bool{false, true} {
				a, b := memconn.Pipe()
				srv := newDriver(t, mustEngine(t, sctx, ""), b, newRand(t))
				done := make(chan error, 1)
				go func() { done <- serveEcho(srv) }()
				tc := tls.Client(a, ccfg)
				require.NoError(t, tc.Handshake())
				theirs := tc.ConnectionState()
				goEchoRoundTrip(t, tc, pattern(uint64(70+i), 5000)) // reads the ticket too
				require.NoError(t, <-done)
				a.Close()
				st := srv.e.ConnectionState()
				requireStateMatches(t, st, theirs)
				require.Equal(t, resume, st.DidResume, "connection %d", i)
				requireServerView(t, st, srv.e.PeerChain(), p, v.go_, resume)
			}
		})
	}
	t.Run("no SNI", func(t *testing.T) {
		a, b := memconn.Pipe()
		defer a.Close()
		srv := newDriver(t, mustEngine(t, serverContext(t), ""), b, nil)
		done := make(chan error, 1)
		go func() { done <- serveEcho(srv) }()
		ccfg := goClientConfig(p)
		ccfg.ServerName = "127.0.0.1" // an address: crypto/tls sends no SNI
		tc := tls.Client(a, ccfg)
		goEchoRoundTrip(t, tc, []byte("x"))
		require.NoError(t, <-done)
		st := srv.e.ConnectionState()
		require.True(t, st.HandshakeComplete)
		require.Empty(t, st.ServerName)
		require.Nil(t, srv.e.PeerChain(), "no client certificate")
		require.Empty(t, st.PeerCertificates)
	})
}

// requireServerView checks what a server saw of a crypto/tls client that
// sent SNI "localhost" and the test PKI's client chain (leaf and CA).
func requireServerView(t *testing.T, st ConnectionState, chain [][]byte, p *testpki.PKI, version uint16, resumed bool) {
	t.Helper()
	sent := p.Client.TLS().Certificate
	require.Len(t, sent, 2)
	if !resumed {
		require.Equal(t, sent, chain, "the client's whole chain")
	} else {
		// A resumed session keeps the peer's leaf only (sslbio.h: "after a
		// resumption at least the leaf").
		require.Equal(t, sent[:len(chain)], chain)
	}
	require.Len(t, st.PeerCertificates, len(chain))
	require.Equal(t, "sslbio test client", st.PeerCertificates[0].Subject.CommonName)
	// Also after a TLS 1.2 resumption, where OpenSSL's session keeps no
	// name: the engine records the ClientHello's SNI itself.
	require.Equal(t, "localhost", st.ServerName, "the SNI crypto/tls sent")
}

// requireErrorParts checks err against the engine's record: the C
// library's message, and the parts errors.As exposes.
func requireErrorParts(t *testing.T, e *Engine, err error, kind sslerr.Kind, op string) *sslerr.Error {
	t.Helper()
	var se *sslerr.Error
	require.Truef(t, errors.As(err, &se), "%v (%T)", err, err)
	require.Equal(t, kind, se.Kind, "%v", err)
	require.Equal(t, op, se.Op)
	require.Equal(t, e.message(), err.Error(), "the C library's message, as C and Python see it")
	require.Equal(t, e.message(), se.Message)
	require.True(t, strings.HasPrefix(err.Error(), "sslbio: "+op+": "), "%q", err.Error())
	return se
}

func TestEngineErrorValues(t *testing.T) {
	p := pki()
	t.Run("verify failure", func(t *testing.T) {
		leafOnly := goServerConfig(p)
		leafOnly.Certificates[0].Certificate = leafOnly.Certificates[0].Certificate[:1]
		a, b := memconn.Pipe()
		defer a.Close()
		peer := startGoPeer(t, tls.Server(b, leafOnly), func(tc *tls.Conn) error { return tc.Handshake() })
		e := mustEngine(t, clientContext(t, func(c *Config) { c.CAPEM = otherPKI().CAPEM }), "localhost")
		d := newDriver(t, e, a, nil)
		err := d.handshake()
		require.ErrorIs(t, err, ErrVerify)
		se := requireErrorParts(t, e, err, sslerr.KindVerify, "handshake")
		require.Equal(t, "sslbio: handshake: certificate verify failed: unable to get local issuer certificate (verify 20)",
			err.Error())
		require.Equal(t, 20, se.VerifyResult)
		require.Equal(t, "unable to get local issuer certificate", se.VerifyString)
		require.Equal(t, 1, se.SSLError, "SSL_ERROR_SSL")
		require.Zero(t, se.Dropped)
		require.Len(t, se.Entries, 1)
		en := se.Entries[0]
		require.Equal(t, "SSL", en.LibraryName)
		require.Equal(t, "CERTIFICATE_VERIFY_FAILED", en.ReasonName)
		require.Equal(t, "SSL routines", en.LibraryString)
		require.Equal(t, "certificate verify failed", en.ReasonString)
		require.Equal(t, 20, en.Library, "ERR_LIB_SSL")
		require.Equal(t, 134, en.Reason, "SSL_R_CERTIFICATE_VERIFY_FAILED")
		require.NotEmpty(t, en.File)
		require.Positive(t, en.Line)
		// Sticky: the dead engine says the same again.
		_, err2 := e.Read(make([]byte, 8))
		require.Equal(t, err.Error(), err2.Error())
		d.flush() // the alert
		a.Close()
		require.Error(t, peer.wait())
	})
	t.Run("garbage", func(t *testing.T) {
		e := mustEngine(t, serverContext(t), "")
		_, err := e.Feed([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		require.NoError(t, err)
		err = e.Handshake()
		se := requireErrorParts(t, e, err, sslerr.KindSSL, "handshake")
		require.Equal(t, "sslbio: handshake: http request", err.Error())
		require.Len(t, se.Entries, 1)
		require.Equal(t, "SSL", se.Entries[0].LibraryName)
		require.Equal(t, "HTTP_REQUEST", se.Entries[0].ReasonName)
		require.Zero(t, se.VerifyResult)
		require.Empty(t, se.VerifyString)
	})
	t.Run("wrong state", func(t *testing.T) {
		e := mustEngine(t, clientContext(t), "localhost")
		err := e.KeyUpdate(false)
		require.ErrorIs(t, err, ErrInvalid)
		se := requireErrorParts(t, e, err, sslerr.KindInvalid, "key update")
		require.Equal(t, "sslbio: key update: key update needs a completed TLS 1.3 handshake", err.Error())
		require.Empty(t, se.Entries)
		require.Equal(t, "key update needs a completed TLS 1.3 handshake", se.Detail)
	})
	t.Run("net.Conn adapter", func(t *testing.T) {
		leafOnly := goServerConfig(p)
		leafOnly.Certificates[0].Certificate = leafOnly.Certificates[0].Certificate[:1]
		a, b := memconn.Pipe()
		defer a.Close()
		go tls.Server(b, leafOnly).Handshake()
		c, err := Client(a, clientContext(t, func(c *Config) { c.CAPEM = otherPKI().CAPEM }), "localhost")
		require.NoError(t, err)
		err = c.Handshake()
		require.ErrorIs(t, err, ErrVerify)
		se := requireErrorParts(t, c.eng, err, sslerr.KindVerify, "handshake")
		require.Equal(t, "CERTIFICATE_VERIFY_FAILED", se.Entries[0].ReasonName)
		require.Equal(t, "SSL", se.Entries[0].LibraryName)
	})
}
