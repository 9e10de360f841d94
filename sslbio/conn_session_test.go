package sslbio

// The net.Conn adapter's sessions (Session, SetSession), key updates and
// connection facts (ConnectionState, PeerChain) against crypto/tls over
// 127.0.0.1 TCP.

import (
	"bytes"
	"crypto/tls"
	"io"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// connVsGoServer connects an sslbio client Conn over TCP to a crypto/tls
// server running fn.
func connVsGoServer(t *testing.T, cctx *Context, scfg *tls.Config, fn func(*tls.Conn) error) (*Conn, *goPeer) {
	t.Helper()
	a, b := tcpPair(t)
	peer := startGoPeer(t, tls.Server(b, scfg), fn)
	c, err := Client(a, cctx, "localhost")
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(testTimeout))
	return c, peer
}

// connVsGoClient serves an sslbio server Conn over TCP to a crypto/tls
// client running fn.
func connVsGoClient(t *testing.T, sctx *Context, ccfg *tls.Config, fn func(*tls.Conn) error) (*Conn, *goPeer) {
	t.Helper()
	a, b := tcpPair(t)
	peer := startGoPeer(t, tls.Client(a, ccfg), fn)
	s, err := Server(b, sctx)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	s.SetDeadline(time.Now().Add(testTimeout))
	return s, peer
}

// connEcho writes msg on c and reads its echo back.
func connEcho(t *testing.T, c *Conn, msg []byte) {
	t.Helper()
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(msg)
		werr <- err
	}()
	got := make([]byte, len(msg))
	_, err := io.ReadFull(c, got)
	require.NoError(t, err)
	require.NoError(t, <-werr)
	require.True(t, bytes.Equal(msg, got), "echo differs")
}

// connClose sends close_notify and reads the peer's: a clean end.
func connClose(t *testing.T, c *Conn, peer *goPeer) {
	t.Helper()
	require.NoError(t, c.CloseWrite())
	n, err := c.Read(make([]byte, 1))
	require.Zero(t, n)
	require.ErrorIs(t, err, io.EOF)
	require.NoError(t, peer.wait())
}

func TestConnSessionResumesVsGoServer(t *testing.T) {
	p := pki()
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			scfg := goServerConfig(p) // one Config: one ticket key
			cctx := clientContext(t, v.mod)
			states := make(chan tls.ConnectionState, 1)

			c, peer := connVsGoServer(t, cctx, scfg, handshakeThen(states, echo))
			sess, err := c.Session() // runs the handshake; TLS 1.3: reads the ticket
			require.NoError(t, err)
			require.NotEmpty(t, sess)
			require.False(t, c.ConnectionState().DidResume)
			require.False(t, (<-states).DidResume)
			connEcho(t, c, pattern(30, 10*1024)) // nothing lost on the way
			again, err := c.Session()
			require.NoError(t, err)
			require.NotEmpty(t, again)
			connClose(t, c, peer)

			c2, peer2 := connVsGoServer(t, clientContext(t, v.mod), scfg, handshakeThen(states, echo))
			require.NoError(t, c2.SetSession(sess)) // from another Conn of another Context
			require.NoError(t, c2.Handshake())
			st, theirs := c2.ConnectionState(), <-states
			require.True(t, st.DidResume, "resumed with the first Conn's session")
			require.True(t, theirs.DidResume, "crypto/tls agrees")
			require.Equal(t, "localhost", theirs.ServerName, "SNI sent on resumption")
			require.Equal(t, "localhost", st.ServerName)
			require.Equal(t, v.go_, st.Version)
			require.Equal(t, theirs.CipherSuite, st.CipherSuite)
			require.NotEmpty(t, st.PeerCertificates, "the verified chain comes with the session")
			connEcho(t, c2, pattern(31, 10*1024))
			connClose(t, c2, peer2)
		})
	}
}

// TestConnSessionKeepsData: Session reads records while it waits for a
// TLS 1.3 ticket; application data among them is Read afterwards.
func TestConnSessionKeepsData(t *testing.T) {
	p := pki()
	greet := func(tc *tls.Conn) error {
		if _, err := tc.Write([]byte("greeting before anything")); err != nil {
			return err
		}
		return echo(tc)
	}
	t.Run("data then no ticket", func(t *testing.T) {
		scfg := goServerConfig(p)
		scfg.SessionTicketsDisabled = true
		c, peer := connVsGoServer(t, clientContext(t), scfg, greet)
		sess, err := c.Session()
		require.NoError(t, err)
		require.Nil(t, sess, "no ticket: the data ended the wait")
		sess, err = c.Session()
		require.NoError(t, err)
		require.Nil(t, sess, "data still unread: no second wait")
		got := make([]byte, len("greeting before anything"))
		_, err = io.ReadFull(c, got)
		require.NoError(t, err)
		require.Equal(t, "greeting before anything", string(got))
		connEcho(t, c, pattern(32, 40*1024))
		connClose(t, c, peer)
	})
	t.Run("ticket then data", func(t *testing.T) {
		c, peer := connVsGoServer(t, clientContext(t), goServerConfig(p), greet)
		require.NoError(t, c.Handshake())
		time.Sleep(50 * time.Millisecond) // let the greeting arrive behind the ticket
		sess, err := c.Session()
		require.NoError(t, err)
		require.NotEmpty(t, sess)
		got := make([]byte, len("greeting before anything"))
		_, err = io.ReadFull(c, got)
		require.NoError(t, err)
		require.Equal(t, "greeting before anything", string(got))
		connEcho(t, c, pattern(33, 1000))
		connClose(t, c, peer)
	})
	t.Run("beside a Read", func(t *testing.T) {
		c, peer := connVsGoServer(t, clientContext(t), goServerConfig(p), func(tc *tls.Conn) error {
			if err := tc.Handshake(); err != nil {
				return err
			}
			time.Sleep(100 * time.Millisecond)
			if _, err := tc.Write([]byte("late")); err != nil {
				return err
			}
			return echo(tc)
		})
		require.NoError(t, c.Handshake())
		got := make(chan string, 1)
		go func() {
			buf := make([]byte, 4)
			n, _ := io.ReadFull(c, buf)
			got <- string(buf[:n])
		}()
		time.Sleep(20 * time.Millisecond)
		sess, err := c.Session()
		require.NoError(t, err)
		require.NotEmpty(t, sess)
		require.Equal(t, "late", <-got)
		connClose(t, c, peer)
	})
	t.Run("peer closes without a ticket", func(t *testing.T) {
		scfg := goServerConfig(p)
		scfg.SessionTicketsDisabled = true
		c, peer := connVsGoServer(t, clientContext(t), scfg, func(tc *tls.Conn) error {
			if err := tc.Handshake(); err != nil {
				return err
			}
			return tc.CloseWrite()
		})
		sess, err := c.Session()
		require.NoError(t, err)
		require.Nil(t, sess)
		_, err = c.Read(make([]byte, 1))
		require.ErrorIs(t, err, io.EOF, "the close is still there for Read")
		require.NoError(t, peer.wait())
	})
	t.Run("read deadline bounds the wait", func(t *testing.T) {
		scfg := goServerConfig(p)
		scfg.SessionTicketsDisabled = true
		c, peer := connVsGoServer(t, clientContext(t), scfg, echo)
		require.NoError(t, c.Handshake())
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		sess, err := c.Session()
		require.Nil(t, sess)
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
		c.SetReadDeadline(time.Now().Add(testTimeout))
		connEcho(t, c, pattern(34, 5000)) // the connection still works
		connClose(t, c, peer)
	})
}

func TestConnSetSessionMisuse(t *testing.T) {
	p := pki()
	c, peer := connVsGoServer(t, clientContext(t), goServerConfig(p), echo)
	sess, err := c.Session()
	require.NoError(t, err)
	require.ErrorIs(t, c.SetSession(sess), ErrInvalid, "after the handshake")
	connClose(t, c, peer)

	a, b := tcpPair(t)
	s, err := Server(b, serverContext(t))
	require.NoError(t, err)
	defer s.Close()
	require.ErrorIs(t, s.SetSession(sess), ErrInvalid, "a server resumes nothing")
	c2, err := Client(a, clientContext(t), "127.0.0.1")
	require.NoError(t, err)
	defer c2.Close()
	require.ErrorIs(t, c2.SetSession(sess), ErrInvalid, "issued for another name")
	require.ErrorIs(t, c2.SetSession([]byte("garbage")), ErrInvalid)
	require.ErrorIs(t, c2.SetSession(nil), ErrInvalid)
}

func TestConnKeyUpdateVsGoTLS(t *testing.T) {
	p := pki()
	for _, role := range []string{"client", "server"} {
		t.Run(role, func(t *testing.T) {
			var c *Conn
			var peer *goPeer
			if role == "client" {
				c, peer = connVsGoServer(t, clientContext(t), goServerConfig(p), echo)
			} else {
				c, peer = connVsGoClient(t, serverContext(t), goClientConfig(p), echo)
			}
			for i := 0; i < 6; i++ { // the first one runs the handshake
				require.NoError(t, c.KeyUpdate(i%2 == 0), "round %d", i)
				connEcho(t, c, pattern(uint64(40+i), 20*1024))
			}
			connClose(t, c, peer)
		})
	}
	t.Run("TLS 1.2", func(t *testing.T) {
		c, peer := connVsGoServer(t, clientContext(t, tls12), goServerConfig(p), echo)
		err := c.KeyUpdate(true)
		require.ErrorIs(t, err, ErrInvalid)
		require.Contains(t, err.Error(), "key update needs a completed TLS 1.3 handshake")
		require.Equal(t, uint16(tls.VersionTLS12), c.ConnectionState().Version)
		connEcho(t, c, pattern(50, 5000)) // refused, not fatal
		connClose(t, c, peer)
	})
}

// TestConnStateVsGoClient: what a server Conn reports, against what the
// crypto/tls client saw: SNI, the client's whole chain, group, cipher,
// resumption.
func TestConnStateVsGoClient(t *testing.T) {
	p := pki()
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			sctx, ccfg := clientAuthPair(t, p, v.mod)
			states := make(chan tls.ConnectionState, 1)
			for i, resume := range []bool{false, true} {
				s, peer := connVsGoClient(t, sctx, ccfg, handshakeThen(states, echo))
				connEcho(t, s, pattern(uint64(60+i), 3000)) // the Go client reads its ticket here
				st, theirs := s.ConnectionState(), <-states
				requireStateMatches(t, st, theirs)
				require.Equal(t, resume, st.DidResume, "connection %d", i)
				requireServerView(t, st, s.PeerChain(), p, v.go_, resume)
				require.Equal(t, resume, theirs.DidResume)
				connClose(t, s, peer)
			}
		})
	}
}

// TestConnStateVsGoServer: the client Conn's view, with the server's
// whole chain.
func TestConnStateVsGoServer(t *testing.T) {
	p := pki()
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			states := make(chan tls.ConnectionState, 1)
			c, peer := connVsGoServer(t, clientContext(t, v.mod), goServerConfig(p), handshakeThen(states, echo))
			require.Equal(t, ConnectionState{}, c.ConnectionState(), "zero before the handshake")
			require.Nil(t, c.PeerChain())
			require.NoError(t, c.Handshake())
			st, theirs := c.ConnectionState(), <-states
			requireStateMatches(t, st, theirs)
			require.Equal(t, "localhost", st.ServerName)
			require.Equal(t, "localhost", theirs.ServerName)
			require.False(t, st.DidResume)
			require.Equal(t, p.Server.TLS().Certificate, c.PeerChain())
			require.Len(t, st.PeerCertificates, 2)
			connClose(t, c, peer)
		})
	}
}
