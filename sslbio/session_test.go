package sslbio

// Session resumption, engine reuse (Reset), the zero-copy network side and
// TLS 1.3 key updates.

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"testing"

	"github.com/sslbio/sslbio/internal/memconn"
	"github.com/stretchr/testify/require"
)

func TestSessionResumptionVsGoServer(t *testing.T) {
	p := pki()
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			scfg := goServerConfig(p) // one Config: one ticket key
			cctx := clientContext(t, v.mod)
			connect := func(session []byte) (ConnectionState, []byte, bool) {
				a, b := memconn.Pipe()
				defer a.Close()
				resumed := make(chan bool, 1)
				peer := startGoPeer(t, tls.Server(b, scfg), func(tc *tls.Conn) error {
					if err := tc.Handshake(); err != nil {
						return err
					}
					resumed <- tc.ConnectionState().DidResume
					return echo(tc)
				})
				d := newDriver(t, mustEngine(t, cctx, "localhost"), a, newRand(t))
				if session != nil {
					require.NoError(t, d.e.SetSession(session))
				}
				require.NoError(t, d.handshake())
				require.NoError(t, d.write([]byte("hello")))
				buf := make([]byte, 5)
				require.NoError(t, d.readFull(buf)) // the ticket is read on the way
				sess, err := d.e.Session()
				require.NoError(t, err)
				require.NoError(t, d.shutdown())
				_, err = d.readAll()
				require.ErrorIs(t, err, io.EOF)
				require.NoError(t, peer.wait())
				return d.e.ConnectionState(), sess, <-resumed
			}
			st, sess, theirs := connect(nil)
			require.False(t, st.DidResume)
			require.False(t, theirs)
			require.NotEmpty(t, sess, "resumable after the ticket was read")
			st, _, theirs = connect(sess)
			require.True(t, st.DidResume, "resumed with the saved session")
			require.True(t, theirs, "crypto/tls agrees")
			require.Equal(t, v.go_, st.Version)
		})
	}
}

func TestSessionResumptionEngineToEngine(t *testing.T) {
	sctx := serverContext(t)
	cctx := clientContext(t)
	c := mustEngine(t, cctx, "localhost")
	s := mustEngine(t, sctx, "")
	l := newLink(t, c, s, newRand(t))
	l.handshake()
	sess, err := c.Session()
	require.NoError(t, err)
	require.Nil(t, sess, "TLS 1.3: not resumable before the ticket was read")
	require.Equal(t, "t", string(l.transfer(s, c, []byte("t"))))
	sess, err = c.Session()
	require.NoError(t, err)
	require.NotEmpty(t, sess)

	// The session moves to an engine of another context (another
	// "process"): it is plain DER.
	c2 := mustEngine(t, clientContext(t), "localhost")
	require.NoError(t, c2.SetSession(bytes.Clone(sess)))
	s2 := mustEngine(t, sctx, "")
	newLink(t, c2, s2, newRand(t)).handshake()
	require.True(t, c2.ConnectionState().DidResume)
	require.True(t, s2.ConnectionState().DidResume)
	require.NotEmpty(t, c2.ConnectionState().PeerCertificates, "the verified chain comes with the session")

	// A server with other ticket keys cannot resume it: full handshake.
	c3 := mustEngine(t, cctx, "localhost")
	require.NoError(t, c3.SetSession(sess))
	s3 := mustEngine(t, serverContext(t), "")
	newLink(t, c3, s3, nil).handshake()
	require.False(t, c3.ConnectionState().DidResume)
}

func TestSessionResumptionGoClient(t *testing.T) {
	p := pki()
	sctx := serverContext(t)
	ccfg := goClientConfig(p)
	ccfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	for i, wantResume := range []bool{false, true} {
		a, b := tcpPair(t)
		s, err := Server(b, sctx)
		require.NoError(t, err)
		done := make(chan error, 1)
		go func() {
			_, err := io.Copy(s, s)
			done <- err
		}()
		tc := tls.Client(a, ccfg)
		_, err = tc.Write([]byte("x"))
		require.NoError(t, err)
		_, err = io.ReadFull(tc, make([]byte, 1)) // reads the ticket too
		require.NoError(t, err)
		require.Equal(t, wantResume, tc.ConnectionState().DidResume, "connection %d", i)
		require.NoError(t, tc.CloseWrite())
		require.NoError(t, <-done)
		require.Equal(t, wantResume, s.ConnectionState().DidResume)
		s.Close()
		tc.Close()
	}
}

func TestEngineReset(t *testing.T) {
	sctx, cctx := serverContext(t), clientContext(t)
	c := mustEngine(t, cctx, "localhost")
	s := mustEngine(t, sctx, "")
	l := newLink(t, c, s, newRand(t))
	l.handshake()
	require.Equal(t, "one", string(l.transfer(c, s, []byte("one"))))
	require.Equal(t, "r", string(l.transfer(s, c, []byte("r"))))
	require.ErrorIs(t, c.Shutdown(), ErrWantRead)
	l.pump()

	// Second connection on the same engines: a full handshake, no resumption.
	require.NoError(t, c.Reset("localhost"))
	require.NoError(t, s.Reset(""))
	require.False(t, c.ConnectionState().HandshakeComplete)
	require.Zero(t, c.PendingOut())
	sess, err := c.Session()
	require.NoError(t, err)
	require.Nil(t, sess, "the session is forgotten")
	l = newLink(t, c, s, newRand(t))
	l.handshake()
	require.False(t, c.ConnectionState().DidResume)
	require.Equal(t, "two", string(l.transfer(c, s, []byte("two"))))

	// Reset revives a dead engine and one that saw FeedEOF.
	_, err = s.Feed([]byte("GET / HTTP/1.0\r\n\r\n"))
	require.NoError(t, err)
	_, err = s.Read(make([]byte, 8))
	require.Error(t, err)
	require.NoError(t, c.FeedEOF())
	require.NoError(t, s.Reset(""))
	require.NoError(t, c.Reset("127.0.0.1"))
	l = newLink(t, c, s, nil)
	l.handshake()
	require.Equal(t, "three", string(l.transfer(s, c, []byte("three"))))
	require.Equal(t, "127.0.0.1", c.ConnectionState().ServerName)

	// The new name is checked: the certificate is not valid for it.
	require.NoError(t, c.Reset("wrong.example"))
	require.NoError(t, s.Reset(""))
	require.ErrorIs(t, newLink(t, c, s, nil).tryHandshake(), ErrVerify)

	// Against crypto/tls: one engine, two connections.
	p := pki()
	require.NoError(t, c.Reset("localhost"))
	for i := 0; i < 2; i++ {
		if i > 0 {
			require.NoError(t, c.Reset("localhost"))
		}
		a, b := memconn.Pipe()
		peer := startGoPeer(t, tls.Server(b, goServerConfig(p)), echo)
		d := newDriver(t, c, a, newRand(t))
		require.NoError(t, d.write([]byte("again")))
		got := make([]byte, 5)
		require.NoError(t, d.readFull(got))
		require.Equal(t, "again", string(got))
		require.NoError(t, d.shutdown())
		_, err := d.readAll()
		require.ErrorIs(t, err, io.EOF)
		require.NoError(t, peer.wait())
		a.Close()
	}
}

// zcMove moves ciphertext from one engine to the other through their own
// buffers, committing random amounts (less than offered, sometimes).
func zcMove(t *testing.T, l *link, from, to *Engine) int {
	moved := 0
	for i := 0; i < 1000; i++ {
		src, err := from.DrainBuffer()
		require.NoError(t, err)
		if len(src) == 0 {
			require.Zero(t, from.PendingOut())
			return moved
		}
		dst, err := to.FeedBuffer()
		require.NoError(t, err)
		if len(dst) == 0 {
			return moved // the receiver is full: it must read first
		}
		n := min(len(src), len(dst), l.piece(len(src)))
		copy(dst, src[:n])
		require.NoError(t, to.FeedCommit(n))
		require.NoError(t, from.DrainCommit(n))
		moved += n
	}
	t.Fatal("zero-copy move does not end")
	return moved
}

func TestZeroCopyWholeConnection(t *testing.T) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			c := mustEngine(t, clientContext(t, v.mod), "localhost")
			s := mustEngine(t, serverContext(t), "")
			l := newLink(t, c, s, newRand(t))
			pump := func() {
				for zcMove(t, l, c, s)+zcMove(t, l, s, c) > 0 {
				}
			}
			var ce, se error = ErrWantRead, ErrWantRead
			for i := 0; i < 50 && (ce != nil || se != nil); i++ {
				if ce != nil {
					ce = c.Handshake()
				}
				if se != nil {
					se = s.Handshake()
				}
				pump()
				require.True(t, ce == nil || isWant(ce), "%v", ce)
				require.True(t, se == nil || isWant(se), "%v", se)
			}
			require.NoError(t, ce)
			require.NoError(t, se)

			msg := pattern(11, 512*1024)
			var got []byte
			buf := make([]byte, 16*1024)
			for off, i := 0, 0; len(got) < len(msg); i++ {
				require.Less(t, i, 100000)
				if off < len(msg) {
					n, err := c.Write(msg[off:])
					if err != nil {
						require.ErrorIs(t, err, ErrWantWrite)
					}
					off += n
				}
				pump()
				for {
					n, err := s.Read(buf)
					if err != nil {
						require.ErrorIs(t, err, ErrWantRead)
						break
					}
					got = append(got, buf[:n]...)
				}
			}
			require.True(t, bytes.Equal(msg, got))

			require.ErrorIs(t, c.Shutdown(), ErrWantRead)
			pump()
			_, err := s.Read(buf)
			require.ErrorIs(t, err, io.EOF)
			require.NoError(t, s.Shutdown())
			pump()
			require.NoError(t, c.Shutdown())
		})
	}
}

// TestZeroCopyOverTCP reads the socket straight into FeedBuffer and writes
// it straight from DrainBuffer, against crypto/tls.
func TestZeroCopyOverTCP(t *testing.T) {
	a, b := tcpPair(t)
	peer := startGoPeer(t, tls.Server(b, goServerConfig(pki())), echo)
	e := mustEngine(t, clientContext(t), "localhost")
	flush := func() {
		for {
			out, err := e.DrainBuffer()
			require.NoError(t, err)
			if len(out) == 0 {
				return
			}
			n, err := a.Write(out)
			require.NoError(t, err)
			require.NoError(t, e.DrainCommit(n))
		}
	}
	fill := func() {
		in, err := e.FeedBuffer()
		require.NoError(t, err)
		require.NotEmpty(t, in, "the engine wants input, so it has room")
		n, err := a.Read(in)
		require.NoError(t, err)
		require.NoError(t, e.FeedCommit(n))
	}
	run := func(op func() error) {
		for i := 0; ; i++ {
			require.Less(t, i, 10000)
			err := op()
			flush()
			if err == nil {
				return
			}
			require.ErrorIs(t, err, ErrWantRead)
			fill()
		}
	}
	run(e.Handshake)
	msg := pattern(12, 256*1024)
	for off := 0; off < len(msg); {
		run(func() error {
			n, err := e.Write(msg[off:])
			off += n
			if err != nil {
				require.ErrorIs(t, err, ErrWantWrite)
			}
			return nil
		})
	}
	got := make([]byte, 0, len(msg))
	buf := make([]byte, 16*1024)
	for len(got) < len(msg) {
		run(func() error {
			n, err := e.Read(buf)
			got = append(got, buf[:n]...)
			return err
		})
	}
	require.True(t, bytes.Equal(msg, got))
	require.ErrorIs(t, e.Shutdown(), ErrWantRead)
	flush()
	for i := 0; ; i++ {
		require.Less(t, i, 1000)
		_, err := e.Read(buf)
		if err == io.EOF {
			break
		}
		require.ErrorIs(t, err, ErrWantRead)
		fill()
	}
	require.NoError(t, peer.wait())
}

func TestKeyUpdateVsGoTLS(t *testing.T) {
	p := pki()
	for _, role := range []string{"client", "server"} {
		t.Run(role, func(t *testing.T) {
			a, b := memconn.Pipe()
			defer a.Close()
			var d *driver
			var peer *goPeer
			if role == "client" {
				peer = startGoPeer(t, tls.Server(b, goServerConfig(p)), echo)
				d = newDriver(t, mustEngine(t, clientContext(t), "localhost"), a, newRand(t))
			} else {
				peer = startGoPeer(t, tls.Client(b, goClientConfig(p)), echo)
				d = newDriver(t, mustEngine(t, serverContext(t), ""), a, newRand(t))
			}
			require.NoError(t, d.handshake())
			for i := 0; i < 6; i++ {
				require.NoError(t, d.e.KeyUpdate(i%2 == 0))
				require.Positive(t, d.e.PendingOut(), "the KeyUpdate message is queued")
				require.NoError(t, d.flush())
				msg := pattern(uint64(100+i), 20*1024)
				require.NoError(t, d.write(msg))
				got := make([]byte, len(msg))
				require.NoError(t, d.readFull(got), "round %d", i)
				require.True(t, bytes.Equal(msg, got), "round %d", i)
			}
			require.NoError(t, d.shutdown())
			_, err := d.readAll()
			require.ErrorIs(t, err, io.EOF)
			require.NoError(t, peer.wait())
		})
	}
}

var _ net.Conn = (*Conn)(nil)
