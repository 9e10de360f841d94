package sslbio

// Rule 2 (clean close vs truncation) and rule 6 (shutdown, half-close).

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"testing"

	sslerr "github.com/sslbio/sslbio/error"
	"github.com/sslbio/sslbio/internal/memconn"
	"github.com/stretchr/testify/require"
)

func requireTruncated(t *testing.T, err error) {
	t.Helper()
	require.ErrorIs(t, err, ErrTruncated)
	require.NotErrorIs(t, err, io.EOF, "a truncated stream must never look like a clean close")
	se := asError(t, err)
	require.Equal(t, sslerr.KindTruncated, se.Kind)
	require.Contains(t, err.Error(), "close_notify")
}

func TestCloseNotifyIsEOF(t *testing.T) {
	l := enginePair(t, nil, nil, newRand(t))
	got := l.transfer(l.s, l.c, []byte("last words"))
	require.Equal(t, "last words", string(got))

	require.ErrorIs(t, l.c.Shutdown(), ErrWantRead, "close_notify queued, the server's not here yet")
	require.Positive(t, l.c.PendingOut())
	l.pump()
	require.NotZero(t, l.s.Wants()&HasPlaintext, "a read would return the close now")
	buf := make([]byte, 64)
	n, err := l.s.Read(buf)
	require.Zero(t, n)
	require.ErrorIs(t, err, io.EOF)
	n, err = l.s.Read(buf)
	require.Zero(t, n)
	require.ErrorIs(t, err, io.EOF, "EOF is sticky")

	require.NoError(t, l.s.Shutdown(), "the client's close_notify already arrived")
	l.pump()
	_, err = l.c.Read(buf)
	require.ErrorIs(t, err, io.EOF)
	require.NoError(t, l.c.Shutdown(), "both close_notify exchanged")
	require.NoError(t, l.c.Shutdown(), "Shutdown again stays done")
}

func TestFeedEOFWithoutCloseNotifyIsTruncated(t *testing.T) {
	t.Run("after handshake", func(t *testing.T) {
		l := enginePair(t, nil, nil, newRand(t))
		_, err := l.s.Write([]byte("data before the cut"))
		require.NoError(t, err)
		l.pump()
		require.NoError(t, l.c.FeedEOF())
		_, err = l.c.Feed([]byte{1})
		require.ErrorIs(t, err, ErrInvalid, "feed after FeedEOF")
		require.NotZero(t, l.c.Wants()&HasPlaintext)
		buf := make([]byte, 64)
		n, err := l.c.Read(buf)
		require.NoError(t, err, "data that arrived before EOF is delivered first")
		require.Equal(t, "data before the cut", string(buf[:n]))
		_, err = l.c.Read(buf)
		requireTruncated(t, err)
		_, err = l.c.Read(buf)
		requireTruncated(t, err) // sticky
		_, err = l.c.Feed([]byte{1})
		require.Error(t, err, "feed after FeedEOF on a dead engine")
		require.NoError(t, l.c.FeedEOF(), "FeedEOF twice is harmless")
	})
	t.Run("during handshake", func(t *testing.T) {
		c := mustEngine(t, clientContext(t, func(c *Config) { c.AllowRaggedEOF = true }), "localhost")
		require.ErrorIs(t, c.Handshake(), ErrWantRead)
		require.NoError(t, c.FeedEOF())
		requireTruncated(t, c.Handshake()) // ragged EOF opt-in applies after the handshake only
	})
	t.Run("server sees client vanish", func(t *testing.T) {
		l := enginePair(t, nil, nil, newRand(t))
		require.NoError(t, l.s.FeedEOF())
		_, err := l.s.Read(make([]byte, 10))
		requireTruncated(t, err)
	})
}

func TestAllowRaggedEOF(t *testing.T) {
	l := enginePair(t, []func(*Config){func(c *Config) { c.AllowRaggedEOF = true }}, nil, newRand(t))
	_, err := l.s.Write([]byte("x"))
	require.NoError(t, err)
	l.pump()
	require.NoError(t, l.c.FeedEOF())
	buf := make([]byte, 8)
	n, err := l.c.Read(buf)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = l.c.Read(buf)
	require.ErrorIs(t, err, io.EOF, "opted in: transport EOF reads as a clean close")
	require.NotErrorIs(t, err, ErrTruncated)

	// The server did not opt in: the same event is a truncation there.
	require.NoError(t, l.s.FeedEOF())
	_, err = l.s.Read(buf)
	requireTruncated(t, err)
}

// relay is a man in the middle between two TCP connections: client→server
// bytes pass untouched, server→client bytes pass until limit, then it cuts
// both connections (a truncation attack). limit < 0 passes everything.
func relay(t *testing.T, limit int) (clientSide, serverSide net.Conn) {
	cc, rc := tcpPair(t) // client ↔ relay
	rs, sc := tcpPair(t) // relay ↔ server
	var once sync.Once
	cut := func() { once.Do(func() { rc.Close(); rs.Close() }) }
	go func() { io.Copy(rs, rc); rs.(*net.TCPConn).CloseWrite() }()
	go func() {
		if limit < 0 {
			io.Copy(rc, rs)
			rc.(*net.TCPConn).CloseWrite()
			return
		}
		io.CopyN(rc, rs, int64(limit))
		cut()
	}()
	t.Cleanup(cut)
	return cc, sc
}

func TestTruncationAttackOverTCP(t *testing.T) {
	p := pki()
	const total = 256 * 1024
	msg := pattern(5, total)
	serve := func(tc *tls.Conn) error {
		if _, err := tc.Write(msg); err != nil {
			return err
		}
		return tc.Close() // close_notify: the honest end of the stream
	}
	cases := []struct {
		name   string
		limit  int
		ragged bool
		want   error
	}{
		{"honest relay", -1, false, io.EOF},
		{"cut mid-stream", 100*1024 + 333, false, ErrTruncated},
		{"cut mid-stream, ragged EOF allowed", 100*1024 + 333, true, io.EOF},
	}
	for _, tc := range cases {
		for _, face := range []string{"Conn", "Engine"} {
			t.Run(tc.name+"/"+face, func(t *testing.T) {
				cn, sn := relay(t, tc.limit)
				peer := startGoPeer(t, tls.Server(sn, goServerConfig(p)), serve)
				cctx := clientContext(t, func(c *Config) { c.AllowRaggedEOF = tc.ragged })
				var got []byte
				var err error
				if face == "Conn" {
					c, cerr := Client(cn, cctx, "localhost")
					require.NoError(t, cerr)
					defer c.Close()
					got, err = io.ReadAll(c)
					if err == nil {
						err = io.EOF // ReadAll swallows the EOF it stopped at
					}
				} else {
					d := newDriver(t, mustEngine(t, cctx, "localhost"), cn, newRand(t))
					got, err = d.readAll()
				}
				require.True(t, bytes.HasPrefix(msg, got), "what arrived is an untampered prefix")
				if tc.want == io.EOF {
					require.ErrorIs(t, err, io.EOF)
					if tc.limit < 0 {
						require.Len(t, got, total)
					}
				} else {
					requireTruncated(t, err)
					require.Less(t, len(got), total)
				}
				if tc.limit < 0 {
					require.NoError(t, peer.wait())
				}
			})
		}
	}
}

// TestPeerForgetsCloseNotify: a crypto/tls server that closes its socket
// without tls.Conn.Close is a truncation, not a clean end.
func TestPeerForgetsCloseNotify(t *testing.T) {
	cn, sn := tcpPair(t)
	peer := startGoPeer(t, tls.Server(sn, goServerConfig(pki())), func(tc *tls.Conn) error {
		_, err := tc.Write([]byte("bye"))
		sn.Close()
		return err
	})
	c, err := Client(cn, clientContext(t), "localhost")
	require.NoError(t, err)
	defer c.Close()
	got, err := io.ReadAll(c)
	require.Equal(t, "bye", string(got))
	requireTruncated(t, err)
	require.NoError(t, peer.wait())
}

// TestHalfCloseEngine: after our close_notify the peer's data still reads
// (TLS 1.3 half-close), at the engine level against crypto/tls.
func TestHalfCloseEngine(t *testing.T) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			cn, sn := memconn.Pipe()
			defer cn.Close()
			response := pattern(6, 70*1024)
			peer := startGoPeer(t, tls.Server(sn, goServerConfig(pki())), func(tc *tls.Conn) error {
				req, err := io.ReadAll(tc) // until our close_notify
				if err != nil {
					return err
				}
				if string(req) != "request" {
					return errors.New("bad request " + string(req))
				}
				if _, err := tc.Write(response); err != nil {
					return err
				}
				return tc.Close()
			})
			d := newDriver(t, mustEngine(t, clientContext(t, v.mod), "localhost"), cn, newRand(t))
			require.NoError(t, d.write([]byte("request")))
			require.ErrorIs(t, d.e.Shutdown(), ErrWantRead)
			require.NoError(t, d.flush())
			_, err := d.e.Write([]byte("more"))
			require.ErrorIs(t, err, ErrInvalid, "no writing after close_notify")
			require.ErrorIs(t, d.e.Shutdown(), ErrWantRead, "the peer's close_notify has not arrived")
			got, err := d.readAll()
			require.ErrorIs(t, err, io.EOF)
			require.True(t, bytes.Equal(response, got), "got %d of %d bytes after half-close", len(got), len(response))
			require.NoError(t, d.e.Shutdown())
			require.NoError(t, peer.wait())
		})
	}
}

// TestHalfCloseConn: CloseWrite on the adapter, both directions, over TCP.
func TestHalfCloseConn(t *testing.T) {
	p := pki()
	response := pattern(7, 40*1024)
	t.Run("sslbio client CloseWrite", func(t *testing.T) {
		cn, sn := tcpPair(t)
		peer := startGoPeer(t, tls.Server(sn, goServerConfig(p)), func(tc *tls.Conn) error {
			if _, err := io.ReadAll(tc); err != nil {
				return err
			}
			if _, err := tc.Write(response); err != nil {
				return err
			}
			return tc.Close()
		})
		c, err := Client(cn, clientContext(t), "localhost")
		require.NoError(t, err)
		defer c.Close()
		require.ErrorIs(t, c.CloseWrite(), ErrInvalid, "CloseWrite before the handshake")
		_, err = c.Write([]byte("request"))
		require.NoError(t, err)
		require.NoError(t, c.CloseWrite())
		got, err := io.ReadAll(c)
		require.NoError(t, err)
		require.True(t, bytes.Equal(response, got))
		require.NoError(t, peer.wait())
	})
	t.Run("crypto/tls client CloseWrite", func(t *testing.T) {
		cn, sn := tcpPair(t)
		s, err := Server(sn, serverContext(t))
		require.NoError(t, err)
		done := make(chan error, 1)
		go func() {
			defer s.Close()
			req, err := io.ReadAll(s) // until the client's close_notify
			if err == nil && string(req) != "request" {
				err = errors.New("bad request")
			}
			if err == nil {
				_, err = s.Write(response)
			}
			done <- err
		}()
		tc := tls.Client(cn, goClientConfig(p))
		_, err = tc.Write([]byte("request"))
		require.NoError(t, err)
		require.NoError(t, tc.CloseWrite())
		got, err := io.ReadAll(tc)
		require.NoError(t, err)
		require.True(t, bytes.Equal(response, got))
		require.NoError(t, <-done)
	})
}
