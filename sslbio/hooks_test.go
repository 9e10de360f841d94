package sslbio

// GetContextForClient: one listener serving several names and an ALPN-only
// choice, reached by crypto/tls and openssl s_client; and the same hook on
// the sans-IO Engine.

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/sslbio/sslbio/internal/testpki"
	"github.com/stretchr/testify/require"
)

// accepted is what the server side of one accepted connection saw.
type accepted struct {
	state ConnectionState
	err   error // of the handshake
}

// serveAll accepts connections on ln until it closes: each handshakes,
// reports, then echoes until the client's close.
func serveAll(t *testing.T, ln net.Listener) <-chan accepted {
	out := make(chan accepted, 16)
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				c := nc.(*Conn)
				defer c.Close()
				c.SetDeadline(time.Now().Add(testTimeout))
				err := c.Handshake()
				out <- accepted{c.ConnectionState(), err}
				if err == nil {
					io.Copy(c, c)
				}
			}()
		}
	}()
	return out
}

func nextAccepted(t *testing.T, ch <-chan accepted) accepted {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(testTimeout):
		t.Fatal("the server side reported nothing")
		return accepted{}
	}
}

// sniServer is a server Context with three more behind it: alpha.test
// (ALPN h2, http/1.1), beta.test (ALPN b/1, client certificate required)
// and, chosen by ALPN alone, one for clients offering only "acme-tls/1".
// Other names are refused with unrecognized_name; no name keeps the front
// context (localhost).
type sniServer struct {
	front             *Context
	alpha, beta, acme testpki.Pair
	hellos            chan ClientHelloInfo
}

func newSNIServer(t *testing.T, mods ...func(*Config)) *sniServer {
	p := pki()
	s := &sniServer{
		alpha:  p.IssueServer("alpha.test"),
		beta:   p.IssueServer("beta.test"),
		acme:   p.IssueServer("alpha.test"), // another certificate for the same name
		hellos: make(chan ClientHelloInfo, 16),
	}
	ctx := func(pair testpki.Pair, cm func(*Config)) *Context {
		cfg := &Config{Role: RoleServer, CertPEM: pair.CertPEM, KeyPEM: pair.KeyPEM}
		cm(cfg)
		for _, m := range mods {
			m(cfg)
		}
		return mustContext(t, cfg)
	}
	alpha := ctx(s.alpha, func(c *Config) { c.NextProtos = []string{"h2", "http/1.1"} })
	beta := ctx(s.beta, func(c *Config) {
		c.NextProtos = []string{"b/1"}
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.CAPEM = p.CAPEM
	})
	acme := ctx(s.acme, func(c *Config) { c.NextProtos = []string{"acme-tls/1"} })
	s.front = ctx(p.Server, func(c *Config) {
		c.GetContextForClient = func(hi *ClientHelloInfo) (*Context, error) {
			s.hellos <- *hi
			if slices.Equal(hi.SupportedProtos, []string{"acme-tls/1"}) {
				return acme, nil
			}
			switch hi.ServerName {
			case "alpha.test":
				return alpha, nil
			case "beta.test":
				return beta, nil
			case "", "localhost":
				return nil, nil
			}
			return nil, fmt.Errorf("no site %q: %w", hi.ServerName, ErrUnrecognizedName)
		}
	})
	return s
}

func leafDER(pair testpki.Pair) []byte { return pair.TLS().Certificate[0] }

func TestGetContextForClientListen(t *testing.T) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			p := pki()
			s := newSNIServer(t, v.mod)
			ln, err := Listen("tcp", "127.0.0.1:0", s.front)
			require.NoError(t, err)
			defer ln.Close()
			results := serveAll(t, ln)
			dial := func(cfg *tls.Config) (*tls.Conn, error) {
				nc, err := net.DialTimeout("tcp", ln.Addr().String(), testTimeout)
				require.NoError(t, err)
				tc := tls.Client(nc, cfg)
				tc.SetDeadline(time.Now().Add(testTimeout))
				return tc, tc.Handshake()
			}
			// served checks a client got leaf (verified: chain and name) and
			// proto, that data goes both ways, and returns the server's side.
			served := func(tc *tls.Conn, leaf []byte, proto string) accepted {
				t.Helper()
				cs := tc.ConnectionState()
				require.NotEmpty(t, cs.VerifiedChains, "chain and name verified by crypto/tls")
				require.Equal(t, leaf, cs.PeerCertificates[0].Raw)
				require.Equal(t, proto, cs.NegotiatedProtocol)
				require.Equal(t, v.go_, cs.Version)
				_, err := tc.Write([]byte("ping"))
				require.NoError(t, err)
				got := make([]byte, 4)
				_, err = io.ReadFull(tc, got)
				require.NoError(t, err)
				require.Equal(t, "ping", string(got))
				tc.Close()
				a := nextAccepted(t, results)
				require.NoError(t, a.err)
				require.Equal(t, proto, a.state.NegotiatedProtocol)
				return a
			}

			t.Run("alpha.test", func(t *testing.T) {
				tc, err := dial(&tls.Config{ServerName: "alpha.test", RootCAs: p.Pool(), NextProtos: []string{"http/1.1"}})
				require.NoError(t, err)
				a := served(tc, leafDER(s.alpha), "http/1.1")
				require.Equal(t, "alpha.test", a.state.ServerName)
				hi := <-s.hellos
				require.Equal(t, ClientHelloInfo{ServerName: "alpha.test", SupportedProtos: []string{"http/1.1"}}, hi)
			})

			t.Run("beta.test with client certificate", func(t *testing.T) {
				tc, err := dial(&tls.Config{ServerName: "beta.test", RootCAs: p.Pool(), NextProtos: []string{"b/1"},
					Certificates: []tls.Certificate{p.Client.TLS()}})
				require.NoError(t, err)
				a := served(tc, leafDER(s.beta), "b/1")
				require.Equal(t, "beta.test", a.state.ServerName)
				require.Len(t, a.state.PeerCertificates, 2, "the client's chain")
				require.Equal(t, "sslbio test client", a.state.PeerCertificates[0].Subject.CommonName)
				<-s.hellos
			})

			t.Run("beta.test without client certificate", func(t *testing.T) {
				tc, err := dial(&tls.Config{ServerName: "beta.test", RootCAs: p.Pool()})
				if err == nil { // TLS 1.3: the client finishes first, the refusal comes after
					_, err = tc.Read(make([]byte, 1))
				}
				require.ErrorContains(t, err, "remote error", "the server's alert")
				tc.Close()
				a := nextAccepted(t, results)
				require.Error(t, a.err)
				<-s.hellos
			})

			t.Run("no SNI keeps the front context", func(t *testing.T) {
				nc, err := net.DialTimeout("tcp", ln.Addr().String(), testTimeout)
				require.NoError(t, err)
				tc := tls.Client(nc, &tls.Config{RootCAs: p.Pool(), ServerName: "127.0.0.1"}) // an IP: no SNI
				tc.SetDeadline(time.Now().Add(testTimeout))
				require.NoError(t, tc.Handshake())
				a := served(tc, leafDER(p.Server), "")
				require.Empty(t, a.state.ServerName)
				require.Equal(t, ClientHelloInfo{}, <-s.hellos)
			})

			t.Run("unknown name refused", func(t *testing.T) {
				tc, err := dial(&tls.Config{ServerName: "gamma.test", RootCAs: p.Pool()})
				require.Error(t, err)
				require.Contains(t, err.Error(), "unrecognized name")
				tc.Close()
				a := nextAccepted(t, results)
				require.ErrorIs(t, a.err, ErrUnrecognizedName)
				require.Contains(t, a.err.Error(), `no site "gamma.test"`)
				require.Equal(t, "gamma.test", (<-s.hellos).ServerName)
			})

			t.Run("acme-tls/1 chosen by ALPN", func(t *testing.T) {
				tc, err := dial(&tls.Config{ServerName: "alpha.test", RootCAs: p.Pool(), NextProtos: []string{"acme-tls/1"}})
				require.NoError(t, err)
				require.NotEqual(t, leafDER(s.alpha), leafDER(s.acme))
				served(tc, leafDER(s.acme), "acme-tls/1")
				<-s.hellos
			})
		})
	}
}

func TestGetContextForClientOpenSSLClient(t *testing.T) {
	opensslPath(t)
	p := pki()
	f := pkiFiles(t, p)
	s := newSNIServer(t)
	ln, err := Listen("tcp", "127.0.0.1:0", s.front)
	require.NoError(t, err)
	defer ln.Close()
	results := serveAll(t, ln)
	for _, c := range []struct {
		name  string
		extra []string
	}{
		{"alpha.test", []string{"-alpn", "h2"}},
		{"beta.test", []string{"-cert", f.clientCert, "-key", f.clientKey}},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"s_client", "-connect", ln.Addr().String(), "-CAfile", f.ca,
				"-verify_return_error", "-verify_hostname", c.name, "-servername", c.name}, c.extra...)
			cl := startOpenSSL(t, args...)
			a := nextAccepted(t, results)
			require.NoError(t, a.err)
			require.Equal(t, c.name, a.state.ServerName)
			cl.waitOutput(t, "Verify return code: 0 (ok)")
			// "subject=CN = x" on OpenSSL 3.0, "subject=CN=x" on 3.5.
			require.Regexp(t, `subject=CN ?= ?`+regexp.QuoteMeta(c.name)+`\n`, cl.out.String())
			_, err := cl.stdin.Write([]byte("hello\n"))
			require.NoError(t, err)
			cl.waitOutput(t, "\nhello\n") // echoed (what s_client sends is not printed)
			cl.stdin.Close()
			cl.waitExit(t)
			<-s.hellos
		})
	}
	t.Run("unknown name", func(t *testing.T) {
		cl := startOpenSSL(t, "s_client", "-connect", ln.Addr().String(), "-CAfile", f.ca, "-servername", "gamma.test")
		cl.stdin.Close()
		a := nextAccepted(t, results)
		require.ErrorIs(t, a.err, ErrUnrecognizedName)
		cl.waitExit(t)
		require.Contains(t, cl.out.String(), "unrecognized name")
		<-s.hellos
	})
}

// The hook on the sans-IO Engine, in memory: switch, keep and refuse, with
// the hook's error in the engine's error.
func TestGetContextForClientEngine(t *testing.T) {
	s := newSNIServer(t)
	for _, c := range []struct {
		name, proto string
		wantLeaf    []byte
	}{
		{"alpha.test", "h2", leafDER(s.alpha)},
		{"localhost", "", leafDER(pki().Server)},
		{"alpha.test", "acme-tls/1", leafDER(s.acme)},
	} {
		cctx := clientContext(t, func(cfg *Config) {
			if c.proto != "" {
				cfg.NextProtos = []string{c.proto}
			}
		})
		l := newLink(t, mustEngine(t, cctx, c.name), mustEngine(t, s.front, ""), newRand(t))
		l.handshake()
		require.Equal(t, c.wantLeaf, l.c.PeerChain()[0])
		require.Equal(t, c.proto, l.s.ConnectionState().NegotiatedProtocol)
		require.Equal(t, c.name, l.s.ConnectionState().ServerName)
		require.Equal(t, []byte("both ways"), l.transfer(l.s, l.c, []byte("both ways")))
		<-s.hellos
	}

	// Refused: the server's error wraps the hook's, the client reads the alert.
	l := newLink(t, mustEngine(t, clientContext(t), "gamma.test"), mustEngine(t, s.front, ""), nil)
	err := l.tryHandshake()
	require.ErrorIs(t, err, ErrUnrecognizedName, "the server's error wraps the hook's")
	asError(t, err)
	_, err = l.s.Read(make([]byte, 1))
	require.ErrorIs(t, err, ErrUnrecognizedName, "also later: the engine is dead")
	require.ErrorContains(t, l.c.Handshake(), "unrecognized name", "the client got the alert")
	<-s.hellos
}

// A hook error not wrapping ErrUnrecognizedName sends handshake_failure;
// a client Context returned by the hook is refused with internal_error.
func TestGetContextForClientOtherErrors(t *testing.T) {
	errNo := errors.New("not today")
	for _, c := range []struct {
		name      string
		hook      func(*ClientHelloInfo) (*Context, error)
		wantErr   error
		wantAlert string
	}{
		{"error", func(*ClientHelloInfo) (*Context, error) { return nil, errNo }, errNo, "handshake failure"},
		{"client context", func(*ClientHelloInfo) (*Context, error) { return clientContext(t), nil }, ErrInvalid, "internal error"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sctx := serverContext(t, func(cfg *Config) { cfg.GetContextForClient = c.hook })
			cn, sn := tcpPair(t)
			peer := startGoPeer(t, tls.Client(cn, goClientConfig(pki())), func(tc *tls.Conn) error { return tc.Handshake() })
			srv, err := Server(sn, sctx)
			require.NoError(t, err)
			err = srv.Handshake()
			require.ErrorIs(t, err, c.wantErr)
			require.Contains(t, peer.wait().Error(), c.wantAlert)
		})
	}
	_, err := NewContext(&Config{Role: RoleClient, GetContextForClient: func(*ClientHelloInfo) (*Context, error) { return nil, nil }})
	require.ErrorIs(t, err, ErrInvalid, "a server hook")
}

// A server engine that GetContextForClient moved to another context comes
// back to its own with Reset: the next client is asked about again and gets
// the engine's own certificate.
func TestGetContextForClientEngineReset(t *testing.T) {
	s := newSNIServer(t)
	srv := mustEngine(t, s.front, "")
	require.NoError(t, s.front.Close(), "the engine keeps its context")
	for i, name := range []string{"alpha.test", "localhost", "alpha.test", "gamma.test", "localhost"} {
		if i > 0 {
			require.NoError(t, srv.Reset(""))
		}
		l := newLink(t, mustEngine(t, clientContext(t), name), srv, nil)
		err := l.tryHandshake()
		require.Equal(t, name, (<-s.hellos).ServerName, "connection %d asked about", i)
		if name == "gamma.test" {
			require.ErrorIs(t, err, ErrUnrecognizedName)
			continue
		}
		require.NoError(t, err, "connection %d", i)
		want := "localhost"
		if name == "alpha.test" {
			want = "alpha.test"
		}
		require.Equal(t, want, l.c.ConnectionState().PeerCertificates[0].Subject.CommonName)
	}
}

// The batched calls answer the pauses too: a server that only calls
// FeedRead and a client that only calls WriteDrain.
func TestHooksThroughBatchedCalls(t *testing.T) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			log := &syncBuffer{}
			s := newSNIServer(t, func(c *Config) { c.KeyLogWriter = log })
			c := mustEngine(t, clientContext(t, v.mod), "alpha.test")
			srv := mustEngine(t, s.front, "")
			msg := []byte("batched")
			var c2s, got []byte
			out, p := make([]byte, 32*1024), make([]byte, 1024)
			sent := false
			for i := 0; len(got) < len(msg); i++ {
				require.Less(t, i, 100, "no progress")
				if !sent {
					n, d, err := c.WriteDrain(msg, out)
					c2s = append(c2s, out[:d]...)
					if err == nil {
						require.Equal(t, len(msg), n)
						sent = true
					} else {
						require.True(t, isWant(err), "%v", err)
					}
				}
				fed, n, err := srv.FeedRead(c2s, p)
				c2s = c2s[fed:]
				got = append(got, p[:n]...)
				if err != nil {
					require.True(t, isWant(err), "%v", err)
				}
				for {
					d, err := srv.Drain(out)
					require.NoError(t, err)
					if d == 0 {
						break
					}
					_, err = c.Feed(out[:d])
					require.NoError(t, err)
				}
			}
			require.Equal(t, msg, got)
			require.Equal(t, "alpha.test", (<-s.hellos).ServerName)
			require.Equal(t, leafDER(s.alpha), c.PeerChain()[0])
			require.Len(t, keyLines(t, log.String()), lineCount(v.go_))
		})
	}
}
