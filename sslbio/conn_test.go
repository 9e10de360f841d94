package sslbio

// The net.Conn adapter: concurrent Read and Write, deadlines without data
// loss, HandshakeContext cancellation, Close.

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sslbio/sslbio/internal/memconn"
	"github.com/stretchr/testify/require"
)

func TestConnConcurrentReadWrite(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name+"/vs crypto/tls echo", func(t *testing.T) {
			cn, sn := tr.pair(t)
			peer := startGoPeer(t, tls.Server(sn, goServerConfig(pki())), echo)
			c, err := Client(cn, clientContext(t), "localhost")
			require.NoError(t, err)
			defer c.Close()
			const msgs, size = 200, 8 * 1024
			werr := make(chan error, 1)
			go func() {
				for i := 0; i < msgs; i++ {
					if _, err := c.Write(pattern(uint64(i), size)); err != nil {
						werr <- err
						return
					}
				}
				werr <- nil
			}()
			buf := make([]byte, size)
			for i := 0; i < msgs; i++ {
				_, err := io.ReadFull(c, buf)
				require.NoError(t, err, "message %d", i)
				require.True(t, bytes.Equal(pattern(uint64(i), size), buf), "message %d", i)
			}
			require.NoError(t, <-werr)
			require.NoError(t, c.CloseWrite())
			_, err = c.Read(buf)
			require.ErrorIs(t, err, io.EOF)
			require.NoError(t, peer.wait())
		})
		t.Run(tr.name+"/sslbio both ends, full duplex", func(t *testing.T) {
			cn, sn := tr.pair(t)
			c, err := Client(cn, clientContext(t), "localhost")
			require.NoError(t, err)
			defer c.Close()
			s, err := Server(sn, serverContext(t))
			require.NoError(t, err)
			defer s.Close()
			up, down := pattern(20, 1<<20), pattern(21, 1<<20)
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			send := func(w *Conn, p []byte) {
				defer wg.Done()
				_, err := w.Write(p)
				if err == nil {
					err = w.CloseWrite()
				}
				errs <- err
			}
			recv := func(r *Conn, want []byte) {
				defer wg.Done()
				got, err := io.ReadAll(r)
				if err == nil && !bytes.Equal(want, got) {
					err = errors.New("data differs")
				}
				errs <- err
			}
			wg.Add(4)
			go send(c, up)
			go send(s, down)
			go recv(c, down)
			go recv(s, up)
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
		})
	}
}

// forwardUntil copies from src to dst until done is closed; it closes
// stopped when it no longer touches either.
func forwardUntil(src, dst net.Conn, done <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	buf := make([]byte, 64*1024)
	for {
		select {
		case <-done:
			return
		default:
		}
		src.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return
		}
	}
}

// drainAvailable reads what src has until it stays quiet for a moment.
func drainAvailable(src net.Conn) []byte {
	var out []byte
	buf := make([]byte, 64*1024)
	for {
		src.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, err := src.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out
		}
	}
}

// TestConnReadDeadlineMidRecord: half a record arrives, the read deadline
// passes, the rest arrives; the next Read returns the whole message.
func TestConnReadDeadlineMidRecord(t *testing.T) {
	peerEnd, proxyUp := memconn.Pipe()     // crypto/tls server ↔ proxy
	proxyDown, clientEnd := memconn.Pipe() // proxy ↔ sslbio client
	defer peerEnd.Close()
	defer clientEnd.Close()
	go io.Copy(proxyUp, proxyDown) // client → server untouched
	send := make(chan []byte)
	cfg := goServerConfig(pki())
	cfg.DynamicRecordSizingDisabled = true // the message goes out as ONE record
	peer := startGoPeer(t, tls.Server(peerEnd, cfg), func(tc *tls.Conn) error {
		if err := tc.Handshake(); err != nil {
			return err
		}
		for p := range send {
			if _, err := tc.Write(p); err != nil {
				return err
			}
		}
		return nil
	})
	c, err := Client(clientEnd, clientContext(t), "localhost")
	require.NoError(t, err)
	defer c.Close()
	hsDone, stopped := make(chan struct{}), make(chan struct{})
	go forwardUntil(proxyUp, proxyDown, hsDone, stopped)
	require.NoError(t, c.Handshake())
	close(hsDone)
	<-stopped

	msg := pattern(30, 10*1024)
	send <- msg
	wire := drainAvailable(proxyUp)
	require.Greater(t, len(wire), len(msg), "one record (plus any ticket) captured")
	half := len(wire) - len(msg)/2
	_, err = proxyDown.Write(wire[:half])
	require.NoError(t, err)

	require.NoError(t, c.SetReadDeadline(time.Now().Add(50*time.Millisecond)))
	buf := make([]byte, len(msg))
	n, err := c.Read(buf)
	require.Zero(t, n, "half a record yields nothing")
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	require.True(t, ne.Timeout(), "%v", err)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)

	_, err = proxyDown.Write(wire[half:])
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Time{}))
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err, "the connection carries on after a timeout")
	require.True(t, bytes.Equal(msg, buf), "nothing lost around the timeout")

	// And a plain timeout with nothing on the wire, twice in a row.
	for i := 0; i < 2; i++ {
		require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Millisecond)))
		_, err = c.Read(buf)
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	}
	close(send)
	require.NoError(t, peer.wait())
}

// TestConnWriteDeadlineKeepsCiphertext: a write deadline passes while the
// peer is not reading; after it, the rest is written and the peer gets
// exactly the data, nothing lost or doubled.
func TestConnWriteDeadlineKeepsCiphertext(t *testing.T) {
	cn, sn := tcpPair(t)
	for _, c := range []net.Conn{cn, sn} {
		c.(*net.TCPConn).SetReadBuffer(32 * 1024)
		c.(*net.TCPConn).SetWriteBuffer(32 * 1024)
	}
	msg := pattern(31, 4<<20)
	start := make(chan struct{})
	peer := startGoPeer(t, tls.Server(sn, goServerConfig(pki())), func(tc *tls.Conn) error {
		if err := tc.Handshake(); err != nil {
			return err
		}
		<-start
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(tc, got); err != nil {
			return err
		}
		if !bytes.Equal(msg, got) {
			return errors.New("data differs after the write timeout")
		}
		return nil
	})
	c, err := Client(cn, clientContext(t), "localhost")
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Handshake())
	require.NoError(t, c.SetWriteDeadline(time.Now().Add(100*time.Millisecond)))
	n, err := c.Write(msg)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded, "the peer is not reading")
	require.Less(t, n, len(msg))
	// Again, with the deadline still passed (until the engine's own buffer
	// is full too): the same error, at once.
	for i := 0; i < 4; i++ {
		again := make(chan error, 1)
		go func() {
			m, err := c.Write(msg[n:])
			n += m
			again <- err
		}()
		select {
		case err := <-again:
			require.ErrorIs(t, err, os.ErrDeadlineExceeded)
		case <-time.After(5 * time.Second):
			t.Fatal("Write spins after its deadline passed")
		}
	}
	close(start)
	require.NoError(t, c.SetWriteDeadline(time.Time{}))
	m, err := c.Write(msg[n:])
	require.NoError(t, err)
	require.Equal(t, len(msg)-n, m)
	require.NoError(t, peer.wait())
}

func TestHandshakeContextCancellation(t *testing.T) {
	t.Run("deadline, client", func(t *testing.T) {
		a, b := memconn.Pipe() // b never answers
		defer b.Close()
		c, err := Client(a, clientContext(t), "localhost")
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		err = c.HandshakeContext(ctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Less(t, time.Since(start), 5*time.Second)
		_, err = c.Write([]byte("x"))
		require.Error(t, err, "the connection is gone")
		_, err = b.Read(make([]byte, 1024))
		require.NoError(t, err, "the ClientHello had been sent")
		c.Close()
	})
	t.Run("cancel, server", func(t *testing.T) {
		a, b := tcpPair(t) // a never speaks
		s, err := Server(b, serverContext(t))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			time.Sleep(50 * time.Millisecond)
			cancel()
		}()
		require.ErrorIs(t, s.HandshakeContext(ctx), context.Canceled)
		_, err = a.Read(make([]byte, 1))
		require.Error(t, err, "the transport was closed")
		s.Close()
	})
	t.Run("already done", func(t *testing.T) {
		a, b := memconn.Pipe()
		defer a.Close()
		peer := startGoPeer(t, tls.Server(b, goServerConfig(pki())), echo)
		c, err := Client(a, clientContext(t), "localhost")
		require.NoError(t, err)
		require.NoError(t, c.HandshakeContext(context.Background()))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		require.NoError(t, c.HandshakeContext(ctx), "nothing to cancel")
		require.NoError(t, c.Close())
		require.NoError(t, peer.wait())
	})
}

func TestConnClose(t *testing.T) {
	t.Run("twice", func(t *testing.T) {
		a, b := memconn.Pipe()
		peer := startGoPeer(t, tls.Server(b, goServerConfig(pki())), func(tc *tls.Conn) error {
			_, err := io.ReadAll(tc) // ends with our close_notify
			return err
		})
		c, err := Client(a, clientContext(t), "localhost")
		require.NoError(t, err)
		require.NoError(t, c.Handshake())
		require.NoError(t, c.Close())
		require.ErrorIs(t, c.Close(), net.ErrClosed)
		_, err = c.Write([]byte("x"))
		require.Error(t, err)
		_, err = c.Read(make([]byte, 1))
		require.Error(t, err)
		_ = c.ConnectionState() // no panic on a closed Conn
		require.NoError(t, peer.wait(), "Close sent close_notify")
	})
	t.Run("before the handshake", func(t *testing.T) {
		a, b := memconn.Pipe()
		defer b.Close()
		c, err := Client(a, clientContext(t), "localhost")
		require.NoError(t, err)
		require.NoError(t, c.Close())
		require.ErrorIs(t, c.Close(), net.ErrClosed)
		require.Error(t, c.Handshake())
	})
	t.Run("while a Read blocks", func(t *testing.T) {
		a, b := memconn.Pipe()
		defer b.Close()
		peer := startGoPeer(t, tls.Server(b, goServerConfig(pki())), func(tc *tls.Conn) error {
			if err := tc.Handshake(); err != nil {
				return err
			}
			_, err := io.ReadAll(tc)
			return err
		})
		c, err := Client(a, clientContext(t), "localhost")
		require.NoError(t, err)
		require.NoError(t, c.Handshake())
		rerr := make(chan error, 1)
		go func() {
			_, err := c.Read(make([]byte, 10))
			rerr <- err
		}()
		time.Sleep(20 * time.Millisecond)
		c.Close()
		select {
		case err := <-rerr:
			require.Error(t, err)
		case <-time.After(testTimeout):
			t.Fatal("Read stayed blocked after Close")
		}
		peer.wait()
	})
}

// gatedConn holds reads back once something was written, until gate is
// closed: the server answers the ClientHello, then sees nothing more
// until the client has finished, sent its data and left.
type gatedConn struct {
	net.Conn
	mu    sync.Mutex
	wrote bool
	gate  chan struct{}
}

func (g *gatedConn) Write(p []byte) (int, error) {
	g.mu.Lock()
	g.wrote = true
	g.mu.Unlock()
	return g.Conn.Write(p)
}

func (g *gatedConn) Read(p []byte) (int, error) {
	g.mu.Lock()
	wrote := g.wrote
	g.mu.Unlock()
	if wrote {
		<-g.gate
	}
	return g.Conn.Read(p)
}

// TestConnPeerSendsAndClosesAtOnce: a client sends its request and closes
// right after its handshake (TLS 1.3: before the server could send its
// session ticket). The server must still read the request and the clean
// close: failing to send the ticket to a departed peer is no reason to
// lose what that peer sent.
func TestConnPeerSendsAndClosesAtOnce(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			cn, sn := tr.pair(t)
			gate := make(chan struct{})
			peer := startGoPeer(t, tls.Client(cn, goClientConfig(pki())), func(tc *tls.Conn) error {
				defer close(gate)
				if _, err := tc.Write([]byte("request")); err != nil {
					return err
				}
				return tc.Close() // close_notify, and the transport is gone
			})
			s, err := Server(&gatedConn{Conn: sn, gate: gate}, serverContext(t))
			require.NoError(t, err)
			defer s.Close()
			got, err := io.ReadAll(s)
			require.NoError(t, err)
			require.Equal(t, "request", string(got))
			require.NoError(t, peer.wait())
		})
	}
}
