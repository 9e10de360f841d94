package sslbio

// Interoperability with Go's crypto/tls, both roles, in memory and over TCP,
// with the sans-IO Engine (ciphertext in random 1..700 byte pieces) and with
// the net.Conn adapter (Client, Server, Dial, Listen).

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/sslbio/sslbio/internal/memconn"
	"github.com/stretchr/testify/require"
)

// transports are the two ways a test connects to a peer.
var transports = []struct {
	name string
	pair func(testing.TB) (net.Conn, net.Conn)
}{
	{"memconn", func(t testing.TB) (net.Conn, net.Conn) {
		a, b := memconn.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		return a, b
	}},
	{"tcp", tcpPair},
}

var versions = []struct {
	name string
	mod  func(*Config)
	go_  uint16
}{
	{"TLS1.3", tls13, tls.VersionTLS13},
	{"TLS1.2", tls12, tls.VersionTLS12},
}

func TestEngineClientVsGoServer(t *testing.T) {
	for _, tr := range transports {
		for _, v := range versions {
			t.Run(tr.name+"/"+v.name, func(t *testing.T) {
				p := pki()
				cn, sn := tr.pair(t)
				scfg := goServerConfig(p)
				scfg.NextProtos = []string{"h2", "http/1.1"}
				peer := startGoPeer(t, tls.Server(sn, scfg), echo)

				cctx := clientContext(t, v.mod, func(c *Config) { c.NextProtos = []string{"http/1.1", "h2"} })
				d := newDriver(t, mustEngine(t, cctx, "localhost"), cn, newRand(t))
				require.NoError(t, d.handshake())
				st := d.e.ConnectionState()
				require.True(t, st.HandshakeComplete)
				require.Equal(t, v.go_, st.Version)
				require.Equal(t, "h2", st.NegotiatedProtocol, "server's preference wins")
				require.Equal(t, "localhost", st.ServerName)
				require.NotZero(t, st.CipherSuite)
				require.NotEmpty(t, tls.CipherSuiteName(st.CipherSuite))
				require.NotEmpty(t, st.PeerCertificates)
				require.Equal(t, "localhost", st.PeerCertificates[0].Subject.CommonName)

				msg := pattern(1, 100*1024+17)
				require.NoError(t, d.write(msg))
				got := make([]byte, len(msg))
				require.NoError(t, d.readFull(got))
				require.True(t, bytes.Equal(msg, got), "echo differs")

				// Our close_notify ends the echo; its close_notify is a clean EOF.
				require.NoError(t, d.shutdown())
				rest, err := d.readAll()
				require.ErrorIs(t, err, io.EOF)
				require.Empty(t, rest)
				require.NoError(t, d.e.Shutdown(), "both close_notify exchanged")
				require.NoError(t, peer.wait())
			})
		}
	}
}

// serveEcho runs an echo server on an engine driver until the client's
// close_notify, then answers with its own.
func serveEcho(d *driver) error {
	if err := d.handshake(); err != nil {
		return err
	}
	buf := make([]byte, 8*1024)
	for {
		n, err := d.read(buf)
		if n > 0 {
			if werr := d.write(buf[:n]); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return d.shutdown()
		}
		if err != nil {
			return err
		}
	}
}

func TestGoClientVsEngineServer(t *testing.T) {
	for _, tr := range transports {
		for _, v := range versions {
			t.Run(tr.name+"/"+v.name, func(t *testing.T) {
				p := pki()
				cn, sn := tr.pair(t)
				sctx := serverContext(t, v.mod, func(c *Config) { c.NextProtos = []string{"h2"} })
				srv := newDriver(t, mustEngine(t, sctx, ""), sn, newRand(t))
				done := make(chan error, 1)
				go func() { done <- serveEcho(srv) }()

				ccfg := goClientConfig(p)
				ccfg.NextProtos = []string{"h2"}
				tc := tls.Client(cn, ccfg)
				require.NoError(t, tc.Handshake())
				cs := tc.ConnectionState()
				require.Equal(t, v.go_, cs.Version)
				require.Equal(t, "h2", cs.NegotiatedProtocol)

				msg := pattern(2, 64*1024+3)
				goEchoRoundTrip(t, tc, msg)
				require.NoError(t, <-done)
				st := srv.e.ConnectionState()
				require.Equal(t, v.go_, st.Version)
				require.Equal(t, "h2", st.NegotiatedProtocol)
				require.Empty(t, st.PeerCertificates, "no client certificate was asked for")
			})
		}
	}
}

func TestConnClientVsGoServer(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			p := pki()
			cn, sn := tr.pair(t)
			peer := startGoPeer(t, tls.Server(sn, goServerConfig(p)), echo)
			c, err := Client(cn, clientContext(t), "localhost")
			require.NoError(t, err)
			defer c.Close()
			require.NoError(t, c.Handshake())
			require.NoError(t, c.Handshake(), "a second Handshake is a no-op")
			require.Equal(t, uint16(tls.VersionTLS13), c.ConnectionState().Version)
			require.Equal(t, cn, c.NetConn())
			require.Equal(t, cn.LocalAddr(), c.LocalAddr())
			require.Equal(t, cn.RemoteAddr(), c.RemoteAddr())

			msg := pattern(3, 200*1024)
			werr := make(chan error, 1)
			go func() {
				_, err := c.Write(msg)
				werr <- err
			}()
			got := make([]byte, len(msg))
			_, err = io.ReadFull(c, got)
			require.NoError(t, err)
			require.NoError(t, <-werr)
			require.True(t, bytes.Equal(msg, got))
			require.NoError(t, c.CloseWrite())
			n, err := c.Read(got)
			require.Zero(t, n)
			require.ErrorIs(t, err, io.EOF)
			require.NoError(t, peer.wait())
		})
	}
}

func TestConnServerVsGoClient(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			p := pki()
			cn, sn := tr.pair(t)
			s, err := Server(sn, serverContext(t))
			require.NoError(t, err)
			defer s.Close()
			done := make(chan error, 1)
			go func() {
				_, err := io.Copy(s, s) // echo until close_notify
				if err == nil {
					err = s.Close()
				}
				done <- err
			}()
			tc := tls.Client(cn, goClientConfig(p))
			msg := pattern(4, 50*1024)
			go tc.Write(msg)
			got := make([]byte, len(msg))
			_, err = io.ReadFull(tc, got)
			require.NoError(t, err)
			require.True(t, bytes.Equal(msg, got))
			require.NoError(t, tc.CloseWrite())
			rest, err := io.ReadAll(tc)
			require.NoError(t, err, "clean close from the sslbio server")
			require.Empty(t, rest)
			require.NoError(t, <-done)
		})
	}
}

func TestDialAndListenVsGoTLS(t *testing.T) {
	p := pki()
	t.Run("Dial to tls.Listen", func(t *testing.T) {
		ln, err := tls.Listen("tcp", "127.0.0.1:0", goServerConfig(p))
		require.NoError(t, err)
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			startGoPeer(t, c.(*tls.Conn), echo)
		}()
		c, err := Dial("tcp", ln.Addr().String(), clientContext(t))
		require.NoError(t, err, "the certificate is valid for 127.0.0.1")
		defer c.Close()
		require.True(t, c.ConnectionState().HandshakeComplete, "Dial completes the handshake")
		_, err = c.Write([]byte("ping"))
		require.NoError(t, err)
		buf := make([]byte, 4)
		_, err = io.ReadFull(c, buf)
		require.NoError(t, err)
		require.Equal(t, "ping", string(buf))
	})
	t.Run("tls.Dial to Listen", func(t *testing.T) {
		ln, err := Listen("tcp", "127.0.0.1:0", serverContext(t))
		require.NoError(t, err)
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			_, ok := c.(*Conn)
			if !ok {
				return
			}
			io.Copy(c, c)
		}()
		cfg := goClientConfig(p)
		cfg.ServerName = "127.0.0.1"
		tc, err := tls.Dial("tcp", ln.Addr().String(), cfg)
		require.NoError(t, err)
		defer tc.Close()
		_, err = tc.Write([]byte("pong"))
		require.NoError(t, err)
		buf := make([]byte, 4)
		_, err = io.ReadFull(tc, buf)
		require.NoError(t, err)
		require.Equal(t, "pong", string(buf))
	})
	t.Run("Dial verifies the chain", func(t *testing.T) {
		ln, err := tls.Listen("tcp", "127.0.0.1:0", goServerConfig(p))
		require.NoError(t, err)
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err == nil {
				c.(*tls.Conn).Handshake()
				c.Close()
			}
		}()
		c, err := Dial("tcp", ln.Addr().String(), clientContext(t, func(c *Config) { c.CAPEM = otherPKI().CAPEM }))
		require.ErrorIs(t, err, ErrVerify)
		require.Nil(t, c)
	})
}
