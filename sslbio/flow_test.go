package sslbio

// Rules 3, 4 and 5: nothing lost under backpressure and paused readers,
// partial writes, data in the handshake's last flight readable at once,
// and Wants() driving an edge-triggered loop.

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"net"
	"testing"
	"time"

	"github.com/sslbio/sslbio/internal/memconn"
	"github.com/stretchr/testify/require"
)

const (
	flowMessages = 2000
	flowMsgSize  = 16 * 1024
)

// flowBase is the material messages are cut from.
var flowBase = pattern(99, 2*flowMsgSize)

// flowMessage fills m (flowMsgSize bytes) with message seq: an 8-byte
// sequence number, a CRC-32 of the body, a body that differs per seq.
func flowMessage(m []byte, seq uint64) {
	off := int(seq*7919) % flowMsgSize
	copy(m[12:], flowBase[off:])
	binary.BigEndian.PutUint64(m[:8], seq)
	binary.BigEndian.PutUint32(m[8:12], crc32.ChecksumIEEE(m[12:]))
}

// checkFlowMessage verifies m is intact and is message want.
func checkFlowMessage(t testing.TB, m []byte, want uint64) {
	seq := binary.BigEndian.Uint64(m[:8])
	if seq != want {
		t.Fatalf("message %d arrived where %d was due (lost or reordered)", seq, want)
	}
	if crc32.ChecksumIEEE(m[12:]) != binary.BigEndian.Uint32(m[8:12]) {
		t.Fatalf("message %d corrupted", seq)
	}
}

// writeFlow writes every message to w.
func writeFlow(w io.Writer) error {
	m := make([]byte, flowMsgSize)
	for seq := uint64(0); seq < flowMessages; seq++ {
		flowMessage(m, seq)
		if _, err := w.Write(m); err != nil {
			return err
		}
	}
	return nil
}

// readFlow reads every message from r, calling pause between messages.
func readFlow(t testing.TB, r io.Reader, pause func(seq uint64)) {
	m := make([]byte, flowMsgSize)
	for seq := uint64(0); seq < flowMessages; seq++ {
		if _, err := io.ReadFull(r, m); err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		checkFlowMessage(t, m, seq)
		pause(seq)
	}
}

// driverReader reads plaintext through a driver; while paused it keeps
// pulling ciphertext from the socket into the engine until the engine
// refuses more (backpressure), and does not read plaintext.
type driverReader struct{ d *driver }

func (r driverReader) Read(p []byte) (int, error) { return r.d.read(p) }

// stall keeps feeding without reading plaintext until Feed accepts less
// than offered, as a paused reader in an event loop would.
func (d *driver) stall() {
	start := d.partial
	for i := 0; d.partial == start && i < 1000; i++ {
		if err := d.fill(); err != nil {
			d.t.Fatalf("fill while paused: %v", err)
		}
	}
}

func TestPauseResumeNothingLost(t *testing.T) {
	p := pki()
	t.Run("Engine reader vs crypto/tls writer over TCP", func(t *testing.T) {
		cn, sn := tcpPair(t)
		peer := startGoPeer(t, tls.Server(sn, goServerConfig(p)), func(tc *tls.Conn) error {
			if err := writeFlow(tc); err != nil {
				return err
			}
			return tc.Close()
		})
		d := newDriver(t, mustEngine(t, clientContext(t), "localhost"), cn, newRand(t))
		require.NoError(t, d.handshake())
		pauses := 0
		readFlow(t, driverReader{d}, func(seq uint64) {
			if seq%50 == 7 {
				pauses++
				d.stall()
				time.Sleep(time.Millisecond) // let the sender fill the socket
			}
		})
		_, err := d.readAll()
		require.ErrorIs(t, err, io.EOF)
		require.Positive(t, d.partial, "the engine pushed back at least once")
		t.Logf("%d pauses, %d partial feeds", pauses, d.partial)
		require.NoError(t, peer.wait())
	})
	t.Run("Conn reader vs crypto/tls writer over TCP", func(t *testing.T) {
		cn, sn := tcpPair(t)
		peer := startGoPeer(t, tls.Client(cn, goClientConfig(p)), func(tc *tls.Conn) error {
			if err := writeFlow(tc); err != nil {
				return err
			}
			if err := tc.CloseWrite(); err != nil {
				return err
			}
			// Read what the server sent (tickets, close_notify): closing
			// with unread data would reset the connection.
			_, err := io.Copy(io.Discard, tc)
			return err
		})
		s, err := Server(sn, serverContext(t))
		require.NoError(t, err)
		defer s.Close()
		readFlow(t, s, func(seq uint64) {
			if seq%100 == 3 {
				time.Sleep(2 * time.Millisecond)
			}
		})
		n, err := s.Read(make([]byte, 1))
		require.Zero(t, n)
		require.ErrorIs(t, err, io.EOF)
		require.NoError(t, s.Close())
		require.NoError(t, peer.wait())
	})
	t.Run("Conn writer vs pausing crypto/tls reader in memory", func(t *testing.T) {
		cn, sn := memconn.Pipe()
		defer cn.Close()
		c, err := Client(cn, clientContext(t), "localhost")
		require.NoError(t, err)
		werr := make(chan error, 1)
		go func() {
			err := writeFlow(c)
			if err == nil {
				err = c.CloseWrite()
			}
			werr <- err
		}()
		tc := tls.Server(sn, goServerConfig(p))
		tc.SetDeadline(time.Now().Add(testTimeout))
		readFlow(t, tc, func(seq uint64) {
			if seq%200 == 5 {
				time.Sleep(2 * time.Millisecond)
			}
		})
		_, err = tc.Read(make([]byte, 1))
		require.ErrorIs(t, err, io.EOF)
		require.NoError(t, <-werr)
		require.NoError(t, c.Close())
	})
}

func TestPartialWrites(t *testing.T) {
	l := enginePair(t, nil, nil, nil)
	msg := pattern(8, 1<<20)
	n, err := l.c.Write(msg)
	require.NoError(t, err)
	require.Positive(t, n)
	require.Less(t, n, len(msg), "a write larger than the engine's buffer is accepted in part")
	out := l.c.PendingOut()
	require.Positive(t, out)
	// Without draining, the engine is full: it says so rather than
	// buffering without bound.
	sawFull := false
	for i := 0; i < 64 && !sawFull; i++ {
		m, err := l.c.Write(msg[n:])
		if errors.Is(err, ErrWantWrite) {
			sawFull = true
			break
		}
		require.NoError(t, err)
		n += m
	}
	require.True(t, sawFull, "Write reports ErrWantWrite when the output is full")
	// The rest goes through with draining; nothing is lost or doubled.
	got := l.transferFrom(l.c, l.s, msg, n)
	require.Equal(t, len(msg), len(got))
	require.True(t, bytes.Equal(msg, got))
}

func TestFeedBackpressure(t *testing.T) {
	l := enginePair(t, nil, nil, nil)
	msg := pattern(9, 300*1024)
	// Collect the client's ciphertext for all of msg.
	var wire []byte
	buf := make([]byte, 32*1024)
	for off := 0; off < len(msg); {
		n, err := l.c.Write(msg[off:])
		if err != nil {
			require.ErrorIs(t, err, ErrWantWrite)
		}
		off += n
		for {
			k, err := l.c.Drain(buf)
			require.NoError(t, err)
			if k == 0 {
				break
			}
			wire = append(wire, buf[:k]...)
		}
	}
	require.Greater(t, len(wire), len(msg))
	n, err := l.s.Feed(wire)
	require.NoError(t, err)
	require.Positive(t, n)
	require.Less(t, n, len(wire), "Feed takes what fits and says so")
	m, err := l.s.Feed(wire[n:])
	require.NoError(t, err)
	require.Zero(t, m, "a full engine accepts nothing, without an error")
	rest := wire[n:]
	var got []byte
	for i := 0; len(got) < len(msg); i++ {
		require.Less(t, i, 100000)
		k, err := l.s.Read(buf)
		if errors.Is(err, ErrWantRead) {
			require.NotEmpty(t, rest, "the engine wants more only when some is left")
			a, ferr := l.s.Feed(rest)
			require.NoError(t, ferr)
			rest = rest[a:]
			continue
		}
		require.NoError(t, err)
		got = append(got, buf[:k]...)
	}
	require.Empty(t, rest)
	require.True(t, bytes.Equal(msg, got))
}

// etStep runs e's handshake over nc. After writing its flight number
// lastFlight it waits until the peer says it wrote its final flight AND
// application data, and reads that all in one go; it returns what is then
// readable without touching the socket again.
func etStep(t *testing.T, e *Engine, nc net.Conn, lastFlight int, wrote <-chan struct{}) (got []byte, sameFlight bool) {
	t.Helper()
	buf := make([]byte, 256*1024)
	flights := 0
	bigRead := false
	for i := 0; ; i++ {
		require.Less(t, i, 100)
		err := e.Handshake()
		if e.PendingOut() > 0 {
			n, derr := e.Drain(buf)
			require.NoError(t, derr)
			require.Zero(t, e.PendingOut())
			_, werr := nc.Write(buf[:n])
			require.NoError(t, werr)
			flights++
		}
		if err == nil {
			break
		}
		require.ErrorIs(t, err, ErrWantRead)
		require.False(t, bigRead, "the peer's whole last flight was fed, yet the handshake wants more")
		if flights == lastFlight {
			select {
			case <-wrote:
			case <-time.After(testTimeout):
				t.Fatal("peer never wrote its data")
			}
			bigRead = true
		}
		nc.SetReadDeadline(time.Now().Add(testTimeout))
		n, rerr := nc.Read(buf)
		require.NoError(t, rerr)
		k, ferr := e.Feed(buf[:n])
		require.NoError(t, ferr)
		require.Equal(t, n, k)
	}
	if !bigRead { // the handshake finished before the peer's data came
		select {
		case <-wrote:
		case <-time.After(testTimeout):
			t.Fatal("peer never wrote its data")
		}
		nc.SetReadDeadline(time.Now().Add(testTimeout))
		n, rerr := nc.Read(buf)
		require.NoError(t, rerr)
		k, ferr := e.Feed(buf[:n])
		require.NoError(t, ferr)
		require.Equal(t, n, k)
	}
	// Edge-triggered: no new readiness event will come; everything must be
	// readable now.
	require.NotZero(t, e.Wants()&HasPlaintext, "Wants must report the buffered plaintext")
	for i := 0; ; i++ {
		require.Less(t, i, 1000)
		n, err := e.Read(buf)
		if err != nil {
			require.ErrorIs(t, err, ErrWantRead)
			break
		}
		got = append(got, buf[:n]...)
	}
	return got, bigRead
}

func TestAppDataInLastHandshakeFlight(t *testing.T) {
	p := pki()
	data := []byte("application data right behind the Finished message")
	t.Run("server, TLS 1.3: client Finished + data", func(t *testing.T) {
		cn, sn := memconn.Pipe()
		defer sn.Close()
		wrote, hold := make(chan struct{}), make(chan struct{})
		peer := startGoPeer(t, tls.Client(cn, goClientConfig(p)), func(tc *tls.Conn) error {
			if err := tc.Handshake(); err != nil {
				return err
			}
			_, err := tc.Write(data)
			close(wrote)
			<-hold // keep the connection open: no close_notify behind the data
			return err
		})
		s := mustEngine(t, serverContext(t, tls13), "")
		got, same := etStep(t, s, sn, 1, wrote)
		require.True(t, same, "the Finished and the data were fed together")
		require.Equal(t, string(data), string(got))
		close(hold)
		require.NoError(t, peer.wait())
	})
	t.Run("client, TLS 1.2: server Finished + data", func(t *testing.T) {
		cn, sn := memconn.Pipe()
		defer cn.Close()
		wrote, hold := make(chan struct{}), make(chan struct{})
		peer := startGoPeer(t, tls.Server(sn, goServerConfig(p)), func(tc *tls.Conn) error {
			if err := tc.Handshake(); err != nil {
				return err
			}
			_, err := tc.Write(data)
			close(wrote)
			<-hold // keep the connection open: no close_notify behind the data
			return err
		})
		c := mustEngine(t, clientContext(t, tls12), "localhost")
		got, same := etStep(t, c, cn, 2, wrote)
		require.True(t, same, "the Finished and the data were fed together")
		require.Equal(t, string(data), string(got))
		close(hold)
		require.NoError(t, peer.wait())
	})
	t.Run("client, TLS 1.3: ticket + data", func(t *testing.T) {
		cn, sn := memconn.Pipe()
		defer cn.Close()
		wrote, hold := make(chan struct{}), make(chan struct{})
		peer := startGoPeer(t, tls.Server(sn, goServerConfig(p)), func(tc *tls.Conn) error {
			if err := tc.Handshake(); err != nil {
				return err
			}
			_, err := tc.Write(data)
			close(wrote)
			<-hold // keep the connection open: no close_notify behind the data
			return err
		})
		c := mustEngine(t, clientContext(t, tls13), "localhost")
		got, _ := etStep(t, c, cn, 2, wrote)
		require.Equal(t, string(data), string(got))
		close(hold)
		require.NoError(t, peer.wait())
	})
	t.Run("Conn server, TLS 1.3", func(t *testing.T) {
		cn, sn := memconn.Pipe()
		wrote, hold := make(chan struct{}), make(chan struct{})
		peer := startGoPeer(t, tls.Client(cn, goClientConfig(p)), func(tc *tls.Conn) error {
			if err := tc.Handshake(); err != nil {
				return err
			}
			_, err := tc.Write(data)
			close(wrote)
			<-hold
			return err
		})
		s, err := Server(sn, serverContext(t))
		require.NoError(t, err)
		defer s.Close()
		require.NoError(t, s.Handshake())
		<-wrote
		buf := make([]byte, 1024)
		n, err := s.Read(buf)
		require.NoError(t, err)
		require.Equal(t, string(data), string(buf[:n]))
		close(hold)
		require.NoError(t, peer.wait())
	})
}

// TestWantsEdgeTriggeredLoop drives two engines only by what Wants says,
// checking the bits at each step of a connection's life.
func TestWantsEdgeTriggeredLoop(t *testing.T) {
	c := mustEngine(t, clientContext(t), "localhost")
	s := mustEngine(t, serverContext(t), "")
	require.Zero(t, c.Wants()&(WantsWrite|HasPlaintext), "a fresh client has nothing to send or read yet")
	require.Equal(t, WantsRead, s.Wants(), "a fresh server waits for a ClientHello")

	require.ErrorIs(t, c.Handshake(), ErrWantRead)
	require.Equal(t, WantsRead|WantsWrite, c.Wants(), "ClientHello pending; then the reply is needed")

	// The loop: act on Wants only, like an epoll edge-triggered loop.
	msg := pattern(10, 100*1024)
	var c2s, s2c []byte
	var got []byte
	sent := 0
	buf := make([]byte, 20*1024)
	for i := 0; len(got) < len(msg); i++ {
		require.Less(t, i, 10000, "loop does not converge")
		for _, side := range []struct {
			e        *Engine
			out, in  *[]byte
			isServer bool
		}{{c, &c2s, &s2c, false}, {s, &s2c, &c2s, true}} {
			e := side.e
			w := e.Wants()
			if w&WantsRead != 0 && len(*side.in) > 0 {
				n, err := e.Feed(*side.in)
				require.NoError(t, err)
				*side.in = (*side.in)[n:]
				w = e.Wants()
			}
			if w&HasPlaintext != 0 || (!side.isServer && sent < len(msg)) {
				if side.isServer {
					for {
						n, err := e.Read(buf)
						if err != nil {
							require.ErrorIs(t, err, ErrWantRead)
							break
						}
						got = append(got, buf[:n]...)
					}
				} else if err := e.Handshake(); err == nil && sent < len(msg) {
					n, err := e.Write(msg[sent:])
					if err != nil {
						require.ErrorIs(t, err, ErrWantWrite)
					}
					sent += n
				} else if err != nil {
					require.True(t, isWant(err), "%v", err)
				}
			}
			if e.Wants()&WantsWrite != 0 {
				for {
					n, err := e.Drain(buf)
					require.NoError(t, err)
					if n == 0 {
						break
					}
					*side.out = append(*side.out, buf[:n]...)
				}
				require.Zero(t, e.Wants()&WantsWrite, "drained: nothing pending")
			}
		}
	}
	require.True(t, bytes.Equal(msg, got))
	require.True(t, c.ConnectionState().HandshakeComplete)
	require.Equal(t, WantsRead, s.Wants()&(WantsRead|HasPlaintext), "all read: the server waits")

	// A close or a cut is "readable" (like a socket at EOF).
	require.ErrorIs(t, c.Shutdown(), ErrWantRead)
	n, err := c.Drain(buf)
	require.NoError(t, err)
	_, err = s.Feed(buf[:n])
	require.NoError(t, err)
	require.NotZero(t, s.Wants()&HasPlaintext)
	_, err = s.Read(buf)
	require.ErrorIs(t, err, io.EOF)
	require.NoError(t, c.FeedEOF())
	require.NotZero(t, c.Wants()&HasPlaintext)
	_, err = c.Read(buf)
	require.ErrorIs(t, err, ErrTruncated)
}
