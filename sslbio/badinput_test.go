package sslbio

// Rule 7's second half and rule 8: bad input and calls in the wrong state
// get a clear error, never a panic or a crash.

import (
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"

	sslerr "github.com/sslbio/sslbio/error"
	"github.com/sslbio/sslbio/internal/memconn"
	"github.com/stretchr/testify/require"
)

func TestGarbageCiphertext(t *testing.T) {
	junk := make([]byte, 2000)
	_, err := rand.Read(junk)
	require.NoError(t, err)
	cases := []struct {
		name  string
		feed  []byte
		setup func(t *testing.T) *Engine
	}{
		{"server gets HTTP", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), func(t *testing.T) *Engine {
			return mustEngine(t, serverContext(t), "")
		}},
		{"server gets random bytes", append([]byte{0x16, 0x03, 0x01, 0x07, 0xd0}, junk...), func(t *testing.T) *Engine {
			return mustEngine(t, serverContext(t), "")
		}},
		{"client gets random bytes after its hello", junk, func(t *testing.T) *Engine {
			c := mustEngine(t, clientContext(t), "localhost")
			require.ErrorIs(t, c.Handshake(), ErrWantRead)
			c.Drain(make([]byte, 4096))
			return c
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.setup(t)
			var err error
			buf := make([]byte, 1024)
			for off, i := 0, 0; off < len(tc.feed) && i < 100; i++ {
				n, ferr := e.Feed(tc.feed[off:])
				if ferr != nil {
					err = ferr
					break
				}
				off += n
				if _, err = e.Read(buf); !errors.Is(err, ErrWantRead) {
					break
				}
			}
			require.Error(t, err)
			require.False(t, isWant(err), "garbage is an error, not a wait: %v", err)
			se := asError(t, err)
			require.Equal(t, sslerr.KindSSL, se.Kind)
			require.NotEmpty(t, se.Entries, "OpenSSL's reasons are carried along")
			require.NotEmpty(t, se.Entries[0].ReasonString)
			require.Contains(t, err.Error(), se.Entries[0].ReasonString)
			require.Equal(t, 1, se.SSLError, "SSL_ERROR_SSL")
			t.Logf("%v", err)
			// The engine is dead; every call says so again, nothing crashes.
			_, err2 := e.Read(buf)
			require.Equal(t, err.Error(), err2.Error())
			_, err2 = e.Write([]byte("x"))
			require.Error(t, err2)
			require.Error(t, e.Handshake())
			// An alert may be queued for the peer; draining is fine.
			_, err = e.Drain(buf)
			require.NoError(t, err)
		})
	}
}

func TestNilAndEmptyBuffers(t *testing.T) {
	l := enginePair(t, nil, nil, nil)
	for _, p := range [][]byte{nil, {}} {
		n, err := l.c.Feed(p)
		require.NoError(t, err)
		require.Zero(t, n)
		n, err = l.c.Drain(p)
		require.NoError(t, err)
		require.Zero(t, n)
		n, err = l.c.Read(p)
		require.NoError(t, err)
		require.Zero(t, n)
		n, err = l.c.Write(p)
		require.NoError(t, err)
		require.Zero(t, n)
		require.ErrorIs(t, l.c.SetSession(p), ErrInvalid)
	}
	require.ErrorIs(t, l.c.FeedCommit(-1), ErrInvalid)
	require.ErrorIs(t, l.c.DrainCommit(-1), ErrInvalid)
	require.ErrorIs(t, l.c.FeedCommit(1<<30), ErrInvalid, "commit beyond the offered region")
	require.ErrorIs(t, l.c.DrainCommit(1<<30), ErrInvalid, "commit beyond the pending region")
	require.NoError(t, l.c.FeedCommit(0))
	require.NoError(t, l.c.DrainCommit(0))
	// Still healthy after all that.
	require.Equal(t, "ok", string(l.transfer(l.c, l.s, []byte("ok"))))

	// The net.Conn adapter too.
	a, b := memconn.Pipe()
	defer a.Close()
	defer b.Close()
	peer := startGoPeer(t, tls.Server(b, goServerConfig(pki())), echo)
	c, err := Client(a, clientContext(t), "localhost")
	require.NoError(t, err)
	n, err := c.Write(nil)
	require.NoError(t, err)
	require.Zero(t, n)
	n, err = c.Read(nil)
	require.NoError(t, err)
	require.Zero(t, n)
	require.NoError(t, c.Close())
	require.NoError(t, peer.wait())
}

func TestCallsAfterClose(t *testing.T) {
	l := enginePair(t, nil, nil, nil)
	e := l.c
	require.NoError(t, e.Close())
	require.NoError(t, e.Close(), "Close twice is fine")
	buf := make([]byte, 16)
	errs := map[string]error{}
	_, errs["Feed"] = e.Feed(buf)
	_, errs["Drain"] = e.Drain(buf)
	_, errs["Read"] = e.Read(buf)
	_, errs["Write"] = e.Write(buf)
	errs["Handshake"] = e.Handshake()
	errs["Shutdown"] = e.Shutdown()
	errs["FeedEOF"] = e.FeedEOF()
	errs["KeyUpdate"] = e.KeyUpdate(true)
	_, errs["Session"] = e.Session()
	errs["SetSession"] = e.SetSession([]byte{1})
	_, errs["FeedBuffer"] = e.FeedBuffer()
	errs["FeedCommit"] = e.FeedCommit(1)
	_, errs["DrainBuffer"] = e.DrainBuffer()
	errs["DrainCommit"] = e.DrainCommit(1)
	errs["Reset"] = e.Reset("localhost")
	for name, err := range errs {
		require.ErrorIsf(t, err, ErrClosed, "%s after Close", name)
	}
	require.Zero(t, e.PendingOut())
	require.Zero(t, e.Wants())
	require.Equal(t, ConnectionState{}, e.ConnectionState())
	require.Nil(t, e.Handle())

	// A closed Context.
	x, err := NewContext(&Config{Role: RoleClient, CAPEM: pki().CAPEM})
	require.NoError(t, err)
	require.NoError(t, x.Close())
	require.NoError(t, x.Close())
	_, err = x.NewEngine("localhost")
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, x.SetVersions(0, 0), ErrClosed)
	require.Nil(t, x.Handle())
	// Engines outlive the Context value that made them (reference counted).
	y, err := NewContext(&Config{Role: RoleServer, CertPEM: pki().Server.CertPEM, KeyPEM: pki().Server.KeyPEM})
	require.NoError(t, err)
	s := mustEngine(t, y, "")
	require.NoError(t, y.Close())
	c := mustEngine(t, clientContext(t), "localhost")
	newLink(t, c, s, nil).handshake()
}

func TestWriteBeforeHandshakeDrivesIt(t *testing.T) {
	c := mustEngine(t, clientContext(t), "localhost")
	s := mustEngine(t, serverContext(t), "")
	_, err := c.Write([]byte("early"))
	require.ErrorIs(t, err, ErrWantRead, "the handshake needs the server first")
	require.Positive(t, c.PendingOut(), "the ClientHello was produced")
	_, err = s.Read(make([]byte, 10))
	require.ErrorIs(t, err, ErrWantRead, "Read on a server drives its handshake as well")
	l := newLink(t, c, s, nil)
	var n int
	for i := 0; i < 20; i++ {
		l.pump()
		if n, err = c.Write([]byte("early")); err == nil {
			break
		}
		require.True(t, isWant(err), "%v", err)
		_, err = s.Read(make([]byte, 10))
		require.True(t, isWant(err), "%v", err)
	}
	require.Equal(t, 5, n)
	l.pump()
	buf := make([]byte, 10)
	n, err = s.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "early", string(buf[:n]))
	require.True(t, c.ConnectionState().HandshakeComplete)

	// Against crypto/tls, through the driver: write first, no Handshake call.
	a, b := memconn.Pipe()
	defer a.Close()
	peer := startGoPeer(t, tls.Server(b, goServerConfig(pki())), echo)
	d := newDriver(t, mustEngine(t, clientContext(t), "localhost"), a, newRand(t))
	require.NoError(t, d.write([]byte("first words")))
	got := make([]byte, 11)
	require.NoError(t, d.readFull(got))
	require.Equal(t, "first words", string(got))
	require.NoError(t, d.shutdown())
	_, err = d.readAll()
	require.ErrorIs(t, err, io.EOF)
	require.NoError(t, peer.wait())
}

func TestWrongStateCalls(t *testing.T) {
	c := mustEngine(t, clientContext(t), "localhost")
	require.ErrorIs(t, c.Shutdown(), ErrInvalid, "shutdown before the handshake")
	require.ErrorIs(t, c.KeyUpdate(false), ErrInvalid, "key update before the handshake")
	sess, err := c.Session()
	require.NoError(t, err)
	require.Nil(t, sess, "no session before the handshake")
	require.Equal(t, ConnectionState{}, c.ConnectionState())

	l := enginePair(t, []func(*Config){tls12}, nil, nil)
	require.ErrorIs(t, l.c.KeyUpdate(true), ErrInvalid, "key update is TLS 1.3 only")
	se := asError(t, l.c.KeyUpdate(true))
	require.Contains(t, se.Error(), "TLS 1.3")
	// The engine is still usable after refused calls.
	require.Equal(t, "still fine", string(l.transfer(l.c, l.s, []byte("still fine"))))
}

func TestContextFrozenAfterFirstEngine(t *testing.T) {
	x := clientContext(t)
	require.NoError(t, x.SetNextProtos([]string{"h2"}), "setters work before the first engine")
	require.NoError(t, x.SetVersions(tls.VersionTLS12, tls.VersionTLS13))
	mustEngine(t, x, "localhost")
	for name, err := range map[string]error{
		"SetNextProtos": x.SetNextProtos([]string{"http/1.1"}),
		"SetVersions":   x.SetVersions(tls.VersionTLS13, 0),
		"SetCiphers":    x.SetCiphers("ECDHE+AESGCM", "TLS_AES_128_GCM_SHA256"),
		"SetVerify":     x.SetVerify(0),
	} {
		require.ErrorIsf(t, err, ErrInvalid, "%s after freeze", name)
		require.Containsf(t, err.Error(), "frozen", "%s names the reason", name)
	}
	// The frozen context still makes working engines with its old settings.
	c := mustEngine(t, x, "localhost")
	s := mustEngine(t, serverContext(t, func(c *Config) { c.NextProtos = []string{"http/1.1", "h2"} }), "")
	newLink(t, c, s, nil).handshake()
	require.Equal(t, "h2", c.ConnectionState().NegotiatedProtocol, "the refused setter changed nothing")
}

func TestBadConfigs(t *testing.T) {
	p := pki()
	cases := []struct {
		name string
		cfg  *Config
		is   error
	}{
		{"nil config", nil, ErrInvalid},
		{"no role", &Config{}, ErrInvalid},
		{"bad role", &Config{Role: 7}, ErrInvalid},
		{"TLS 1.1 minimum", &Config{Role: RoleClient, MinVersion: tls.VersionTLS11}, ErrInvalid},
		{"TLS 1.1 maximum", &Config{Role: RoleServer, MaxVersion: tls.VersionTLS11}, ErrInvalid},
		{"min above max", &Config{Role: RoleClient, MinVersion: tls.VersionTLS13, MaxVersion: tls.VersionTLS12}, ErrInvalid},
		{"garbage cert", &Config{Role: RoleServer, CertPEM: []byte("nope"), KeyPEM: p.Server.KeyPEM}, nil},
		{"key of another cert", &Config{Role: RoleServer, CertPEM: p.Server.CertPEM, KeyPEM: p.Client.KeyPEM}, nil},
		{"missing cert file", &Config{Role: RoleServer, CertFile: "/nonexistent/cert.pem"}, nil},
		{"garbage CA", &Config{Role: RoleClient, CAPEM: []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")}, nil},
		{"bad cipher list", &Config{Role: RoleClient, CipherList: "NOT-A-CIPHER"}, nil},
		{"bad ALPN", &Config{Role: RoleClient, NextProtos: []string{""}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x, err := NewContext(tc.cfg)
			require.Error(t, err)
			require.Nil(t, x)
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			}
			se := asError(t, err)
			require.NotEqual(t, sslerr.KindNone, se.Kind)
			require.NotEmpty(t, err.Error())
			t.Logf("%v", err)
		})
	}
	// A verifying client needs a name to check.
	x := mustContext(t, &Config{Role: RoleClient})
	_, err := x.NewEngine("")
	require.Error(t, err)
	require.Contains(t, err.Error(), "server name")
}

func TestWrongRoleContext(t *testing.T) {
	a, b := memconn.Pipe()
	defer a.Close()
	defer b.Close()
	cctx, sctx := clientContext(t), serverContext(t)
	_, err := Client(a, sctx, "localhost")
	require.ErrorIs(t, err, ErrInvalid)
	_, err = Server(a, cctx)
	require.ErrorIs(t, err, ErrInvalid)
	_, err = Client(a, nil, "localhost")
	require.ErrorIs(t, err, ErrInvalid)
	_, err = Server(nil, sctx)
	require.ErrorIs(t, err, ErrInvalid)
	_, err = Listen("tcp", "127.0.0.1:0", cctx)
	require.ErrorIs(t, err, ErrInvalid)
	_, err = Upgrade(a, nil, nil, "")
	require.ErrorIs(t, err, ErrInvalid)
	_, err = Dial("tcp", "no-port", cctx)
	require.Error(t, err)
	var ae *net.AddrError
	require.ErrorAs(t, err, &ae)

	// Engines: a server engine cannot take a session; a client's role shows.
	s := mustEngine(t, sctx, "")
	require.ErrorIs(t, s.SetSession([]byte{0x30, 0x00}), ErrInvalid)
	require.Equal(t, RoleClient, cctx.Role())
	require.Equal(t, RoleServer, sctx.Role())
	require.Equal(t, "client", RoleClient.String())
	require.Equal(t, "server", RoleServer.String())
	require.Equal(t, "invalid role", Role(0).String())
}

func TestSetSessionMisuse(t *testing.T) {
	// A real session for "localhost" from a TLS 1.3 handshake.
	l := enginePair(t, nil, nil, nil)
	require.Equal(t, "ticket", string(l.transfer(l.s, l.c, []byte("ticket")))) // reads the ticket
	sess, err := l.c.Session()
	require.NoError(t, err)
	require.NotEmpty(t, sess)

	cctx := clientContext(t)
	t.Run("another server name", func(t *testing.T) {
		for _, name := range []string{"127.0.0.1", "evil.example"} {
			other := mustEngine(t, cctx, name)
			err := other.SetSession(sess)
			require.ErrorIs(t, err, ErrInvalid, name)
			require.Contains(t, err.Error(), "localhost")
		}
	})
	t.Run("issued for an IP address", func(t *testing.T) {
		c := mustEngine(t, cctx, "127.0.0.1") // no SNI for addresses
		l := newLink(t, c, mustEngine(t, serverContext(t), ""), nil)
		l.handshake()
		l.transfer(l.s, c, []byte("ticket"))
		ipSess, err := c.Session()
		require.NoError(t, err)
		require.NotEmpty(t, ipSess)
		for _, name := range []string{"::1", "10.1.2.3", "localhost"} {
			require.ErrorIs(t, mustEngine(t, cctx, name).SetSession(ipSess), ErrInvalid, name)
		}
		require.NoError(t, mustEngine(t, cctx, "127.0.0.1").SetSession(ipSess))
	})
	t.Run("same name, any case", func(t *testing.T) {
		require.NoError(t, mustEngine(t, cctx, "LocalHost").SetSession(sess))
	})
	t.Run("after the handshake started", func(t *testing.T) {
		c := mustEngine(t, cctx, "localhost")
		require.ErrorIs(t, c.Handshake(), ErrWantRead)
		require.ErrorIs(t, c.SetSession(sess), ErrInvalid)
	})
	t.Run("malformed", func(t *testing.T) {
		c := mustEngine(t, cctx, "localhost")
		require.ErrorIs(t, c.SetSession([]byte("not a DER session")), ErrInvalid)
		require.ErrorIs(t, c.SetSession(sess[:len(sess)/2]), ErrInvalid)
		// Still usable after refused sessions.
		newLink(t, c, mustEngine(t, serverContext(t), ""), nil).handshake()
	})
}
