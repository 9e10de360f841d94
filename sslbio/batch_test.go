package sslbio

// The batched calls WriteDrain and FeedRead: an Engine driven by them alone
// against crypto/tls (both roles) and against another Engine, with
// ciphertext in random pieces and out buffers too small for what is
// pending; the handshake's ErrWantRead with a flight drained, io.EOF after
// close_notify, a fatal error whose alert stays for Drain, zero-length
// arguments and a closed Engine.

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	sslerr "github.com/sslbio/sslbio/error"
	"github.com/sslbio/sslbio/internal/memconn"
	"github.com/stretchr/testify/require"
)

// ---- an Engine over a net.Conn, batched calls only ----

// batchIO runs an Engine over a net.Conn with the batched calls alone, as
// an io.Reader and io.Writer: WriteDrain sends (WriteDrain(nil, out) is a
// plain drain), FeedRead receives. Ciphertext is read and fed in random
// 1..maxPiece byte pieces, writes are cut at random, and out holds
// 0..maxOut bytes, so a drain often leaves ciphertext pending. It returns
// errors instead of failing the test, so it may run in any goroutine.
type batchIO struct {
	e       *Engine
	nc      net.Conn
	rng     *rand.Rand
	maxOut  int
	out     []byte
	rbuf    []byte
	scratch []byte
	pending []byte // read from nc, not yet accepted by FeedRead
	early   []byte // plaintext FeedRead returned while a write waited for the peer

	hsFlights   int // WriteDrain calls that returned ErrWantRead with ciphertext drained
	leftPending int // WriteDrain calls that filled out and left ciphertext pending
}

func newBatchIO(e *Engine, nc net.Conn, rng *rand.Rand, maxOut int) *batchIO {
	return &batchIO{e: e, nc: nc, rng: rng, maxOut: maxOut, out: make([]byte, maxOut),
		rbuf: make([]byte, 64*1024), scratch: make([]byte, 16*1024)}
}

// upTo is a random size in 1..n (n >= 1).
func (b *batchIO) upTo(n int) int { return 1 + b.rng.IntN(n) }

// send writes out[:d], what WriteDrain put there, to the peer.
func (b *batchIO) send(out []byte, d int) error {
	if d < 0 || d > len(out) {
		return fmt.Errorf("WriteDrain drained %d into %d bytes", d, len(out))
	}
	if d == len(out) && d > 0 && b.e.PendingOut() > 0 {
		b.leftPending++
	}
	if d == 0 {
		return nil
	}
	b.nc.SetWriteDeadline(time.Now().Add(testTimeout))
	_, err := b.nc.Write(out[:d])
	return err
}

// flush drains everything pending with zero-length WriteDrain calls.
func (b *batchIO) flush() error {
	for i := 0; i < 1<<22; i++ {
		out := b.out[:b.upTo(b.maxOut)]
		n, d, err := b.e.WriteDrain(nil, out)
		if err != nil || n != 0 {
			return fmt.Errorf("WriteDrain(nil) = %d, %d, %v", n, d, err)
		}
		if d == 0 {
			if p := b.e.PendingOut(); p != 0 {
				return fmt.Errorf("drained 0 with %d bytes pending", p)
			}
			return nil
		}
		if err := b.send(out, d); err != nil {
			return err
		}
	}
	return errors.New("flush never ends")
}

// feedRead offers a random piece of what is pending to FeedRead, keeps
// what it did not accept, and flushes what the engine produced meanwhile
// (handshake flights, key update replies). Reading the socket is fill's job.
func (b *batchIO) feedRead(p []byte) (int, error) {
	in := b.pending[:min(len(b.pending), b.upTo(maxPiece))]
	fed, n, err := b.e.FeedRead(in, p)
	if fed < 0 || fed > len(in) || n < 0 || n > len(p) {
		return 0, fmt.Errorf("FeedRead(%d, %d bytes) = %d, %d", len(in), len(p), fed, n)
	}
	b.pending = b.pending[fed:]
	if ferr := b.flush(); ferr != nil && (err == nil || isWant(err)) {
		err = ferr
	}
	return n, err
}

// fill reads the socket once (a random size) when nothing is pending.
func (b *batchIO) fill() error {
	if len(b.pending) > 0 {
		return nil
	}
	b.nc.SetReadDeadline(time.Now().Add(testTimeout))
	n, err := b.nc.Read(b.rbuf[:b.upTo(len(b.rbuf))])
	b.pending = append(b.pending[:0], b.rbuf[:n]...)
	if n == 0 && err != nil {
		return fmt.Errorf("transport ended before the peer's close_notify: %w", err)
	}
	return nil
}

// Read returns plaintext or the error that ended the stream (io.EOF after
// the peer's close_notify).
func (b *batchIO) Read(p []byte) (int, error) {
	if len(b.early) > 0 {
		n := copy(p, b.early)
		b.early = b.early[n:]
		return n, nil
	}
	for i := 0; i < 1<<22; i++ {
		n, err := b.feedRead(p)
		if !errors.Is(err, ErrWantRead) {
			return n, err
		}
		if err := b.fill(); err != nil {
			return 0, err
		}
	}
	return 0, errors.New("read never ends")
}

// receive feeds the next piece of the peer's ciphertext (reading the socket
// when none is pending) for a write that waits for the peer; plaintext
// that arrives meanwhile is kept for Read.
func (b *batchIO) receive() error {
	if err := b.fill(); err != nil {
		return err
	}
	n, err := b.feedRead(b.scratch)
	b.early = append(b.early, b.scratch[:n]...)
	if err != nil && !errors.Is(err, ErrWantRead) {
		return err
	}
	return nil
}

// Write writes all of p in random pieces, then flushes.
func (b *batchIO) Write(p []byte) (int, error) {
	total := len(p)
	for i := 0; len(p) > 0; i++ {
		if i >= 1<<22 {
			return total - len(p), errors.New("write never ends")
		}
		// Empty out buffers too, but never for the first call: a client's
		// first WriteDrain starts the handshake and must drain some of its
		// flight (hsFlights; an empty one made that check fail 1 run in 100).
		out := b.out[:b.rng.IntN(b.maxOut+1)]
		if i == 0 {
			out = b.out[:b.upTo(b.maxOut)]
		}
		n, d, err := b.e.WriteDrain(p[:b.upTo(len(p))], out)
		if serr := b.send(out, d); serr != nil {
			return total - len(p), serr
		}
		p = p[n:]
		switch {
		case err == nil:
		case errors.Is(err, ErrWantWrite): // output full: nothing taken, the drain made room
		case errors.Is(err, ErrWantRead): // the handshake waits for the peer
			if d > 0 {
				b.hsFlights++
			}
			if err := b.flush(); err != nil {
				return total - len(p), err
			}
			if err := b.receive(); err != nil {
				return total - len(p), err
			}
		default:
			return total - len(p), err
		}
	}
	return total, b.flush()
}

// shutdown sends close_notify (without waiting for the peer's).
func (b *batchIO) shutdown() error { return sendCloseNotify(b.e, b.flush) }

// echoUntilEOF copies everything back until the peer's close_notify, then
// answers with its own.
func (b *batchIO) echoUntilEOF() error {
	if _, err := io.Copy(b, b); err != nil {
		return err
	}
	return b.shutdown()
}

// batchRoundTrip writes msg, reads the echo back and checks it, then
// closes: our close_notify ends the echo, the peer's is a clean EOF.
func batchRoundTrip(t *testing.T, b *batchIO, msg []byte) {
	t.Helper()
	n, err := b.Write(msg)
	require.NoError(t, err)
	require.Equal(t, len(msg), n)
	got := make([]byte, len(msg))
	_, err = io.ReadFull(b, got)
	require.NoError(t, err)
	require.True(t, bytes.Equal(msg, got), "echo differs")
	require.NoError(t, b.shutdown())
	rest, err := io.ReadAll(b) // FeedRead's io.EOF
	require.NoError(t, err)
	require.Empty(t, rest)
	require.NoError(t, b.e.Shutdown(), "both close_notify exchanged")
}

func memPair(t testing.TB) (net.Conn, net.Conn) {
	a, b := memconn.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

const batchMaxOut = 300 // out buffers of 0..300 bytes: a record never fits

func TestBatchEngineClientVsGoServer(t *testing.T) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			cn, sn := memPair(t)
			peer := startGoPeer(t, tls.Server(sn, goServerConfig(pki())), echo)
			e := mustEngine(t, clientContext(t, v.mod), "localhost")
			b := newBatchIO(e, cn, newRand(t), batchMaxOut)
			batchRoundTrip(t, b, pattern(11, 256*1024+5))
			require.Positive(t, b.hsFlights, "WriteDrain drove the handshake: ErrWantRead with its flight drained")
			require.Positive(t, b.leftPending)
			st := e.ConnectionState()
			require.True(t, st.HandshakeComplete)
			require.Equal(t, v.go_, st.Version)
			require.NoError(t, peer.wait())
		})
	}
}

func TestBatchGoClientVsEngineServer(t *testing.T) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			cn, sn := memPair(t)
			e := mustEngine(t, serverContext(t, v.mod), "")
			b := newBatchIO(e, sn, newRand(t), batchMaxOut)
			done := make(chan error, 1)
			go func() { done <- b.echoUntilEOF() }()

			tc := tls.Client(cn, goClientConfig(pki()))
			tc.SetDeadline(time.Now().Add(testTimeout))
			msg := pattern(12, 256*1024+7)
			goEchoRoundTrip(t, tc, msg)
			require.NoError(t, <-done)
			require.Equal(t, v.go_, tc.ConnectionState().Version)
			require.Equal(t, v.go_, e.ConnectionState().Version)
			require.Positive(t, b.leftPending)
		})
	}
}

// Two Engines, both on batched calls only, 1 MiB echoed in random pieces.
func TestBatchEngineToEngineRandomChunks(t *testing.T) {
	cn, sn := memPair(t)
	rng := newRand(t)
	seed := rng.Uint64()
	srv := newBatchIO(mustEngine(t, serverContext(t), ""), sn, rand.New(rand.NewPCG(seed, ^seed)), 100)
	done := make(chan error, 1)
	go func() { done <- srv.echoUntilEOF() }()
	cli := newBatchIO(mustEngine(t, clientContext(t), "localhost"), cn, rng, 100)
	batchRoundTrip(t, cli, pattern(13, 1<<20))
	require.NoError(t, <-done)
	require.Positive(t, cli.hsFlights)
	require.Positive(t, cli.leftPending)
	require.Positive(t, srv.leftPending)
}

// ---- one engine pair in memory, call by call ----

var batchNote = []byte("batched")

// batchHop moves msg (one record) from -> to with one WriteDrain and one
// FeedRead, each doing its whole job in that call, and checks the bytes.
func batchHop(t *testing.T, from, to *Engine, msg []byte) {
	t.Helper()
	out := make([]byte, 32*1024)
	n, d, err := from.WriteDrain(msg, out)
	require.NoError(t, err)
	require.Equal(t, len(msg), n)
	require.Greater(t, d, len(msg))
	require.Zero(t, from.PendingOut())
	p := make([]byte, len(msg)+10)
	fed, n, err := to.FeedRead(out[:d], p)
	require.NoError(t, err)
	require.Equal(t, d, fed)
	require.Equal(t, msg, p[:n])
}

// drainAll drains e completely (plain Drain) and returns the ciphertext.
func drainAll(t *testing.T, e *Engine) []byte {
	t.Helper()
	var all []byte
	buf := make([]byte, 4096)
	for {
		n, err := e.Drain(buf)
		require.NoError(t, err)
		if n == 0 {
			return all
		}
		all = append(all, buf[:n]...)
	}
}

func TestBatchHandshakeWantReadDrains(t *testing.T) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			c := mustEngine(t, clientContext(t, v.mod), "localhost")
			s := mustEngine(t, serverContext(t), "")
			out, p := make([]byte, 16*1024), make([]byte, 64)
			// Before the handshake: ErrWantRead, nothing taken, the ClientHello drained.
			n, d, err := c.WriteDrain(batchNote, out)
			require.ErrorIs(t, err, ErrWantRead)
			require.Zero(t, n)
			require.Positive(t, d)
			require.Zero(t, c.PendingOut())
			require.Equal(t, []byte{22, 3}, out[:2], "a handshake record")
			require.Equal(t, byte(1), out[5], "holding a ClientHello")
			require.Equal(t, d, 5+(int(out[3])<<8|int(out[4])), "whole")
			hello := bytes.Clone(out[:d])
			// Asking again: still waiting, nothing new to send.
			n, d, err = c.WriteDrain(batchNote, out)
			require.ErrorIs(t, err, ErrWantRead)
			require.Zero(t, n+d)
			// The server takes it with FeedRead and drains its flight with WriteDrain.
			fed, n, err := s.FeedRead(hello, p)
			require.ErrorIs(t, err, ErrWantRead)
			require.Equal(t, len(hello), fed)
			require.Zero(t, n)
			n, d, err = s.WriteDrain(batchNote, out)
			require.ErrorIs(t, err, ErrWantRead)
			require.Zero(t, n)
			require.Positive(t, d)
			require.Equal(t, []byte{22, 3}, out[:2])
			require.Equal(t, byte(2), out[5], "a ServerHello")
			// The rest of the handshake, with batched calls too.
			fed, _, err = c.FeedRead(out[:d], p)
			require.Equal(t, d, fed)
			require.ErrorIs(t, err, ErrWantRead)
			batchFinishHandshake(t, c, s)
			require.Equal(t, v.go_, c.ConnectionState().Version)
			for i := range 100 {
				batchHop(t, c, s, pattern(uint64(i), 64))
				batchHop(t, s, c, pattern(uint64(i)+1000, 64))
			}
		})
	}
}

// batchFinishHandshake completes a handshake the client already answered,
// with WriteDrain and FeedRead only: each side writes a message (drained
// with any flight it owes) and reads the other's.
func batchFinishHandshake(t *testing.T, c, s *Engine) {
	t.Helper()
	out, p := make([]byte, 32*1024), make([]byte, 64)
	wrote, read := map[*Engine]bool{}, map[*Engine]bool{}
	var wire = map[*Engine][]byte{} // ciphertext for an engine
	peer := map[*Engine]*Engine{c: s, s: c}
	for i := 0; i < 10 && !(read[c] && read[s]); i++ {
		for _, e := range []*Engine{c, s} {
			if !wrote[e] {
				n, d, err := e.WriteDrain(batchNote, out)
				if err != nil {
					require.ErrorIs(t, err, ErrWantRead)
				}
				wrote[e] = n == len(batchNote)
				wire[peer[e]] = append(wire[peer[e]], out[:d]...)
			}
			fed, n, err := e.FeedRead(wire[e], p)
			wire[e] = wire[e][fed:]
			if err != nil {
				require.ErrorIs(t, err, ErrWantRead)
				continue
			}
			require.Equal(t, batchNote, p[:n])
			read[e] = true
		}
	}
	require.True(t, read[c] && read[s], "handshake and first messages did not complete")
	require.Zero(t, c.PendingOut()+s.PendingOut())
}

func TestBatchFeedReadEOF(t *testing.T) {
	l := enginePair(t, nil, nil, nil)
	out, p := make([]byte, 4096), make([]byte, 64)
	n, d, err := l.c.WriteDrain([]byte("bye"), out)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	wire := bytes.Clone(out[:d])
	require.ErrorIs(t, l.c.Shutdown(), ErrWantRead)
	// WriteDrain after our close_notify: refused, and the close_notify stays for Drain.
	notify := l.c.PendingOut()
	require.Positive(t, notify)
	n, d, err = l.c.WriteDrain([]byte("more"), out)
	require.ErrorIs(t, err, ErrInvalid)
	require.Zero(t, n+d)
	require.Equal(t, notify, l.c.PendingOut())
	wire = append(wire, drainAll(t, l.c)...)

	// Data and close_notify in one FeedRead: the data, then io.EOF (sticky).
	fed, n, err := l.s.FeedRead(wire, p)
	require.NoError(t, err)
	require.Equal(t, len(wire), fed)
	require.Equal(t, "bye", string(p[:n]))
	for range 2 {
		fed, n, err = l.s.FeedRead(nil, p)
		require.Equal(t, io.EOF, err)
		require.Zero(t, fed+n)
	}
	// Half-close: the server still writes; then its close_notify is the client's io.EOF.
	batchHop(t, l.s, l.c, []byte("late reply"))
	require.NoError(t, l.s.Shutdown())
	n, d, err = l.s.WriteDrain(nil, out)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Positive(t, d)
	fed, n, err = l.c.FeedRead(out[:d], p)
	require.Equal(t, io.EOF, err)
	require.Equal(t, d, fed)
	require.Zero(t, n)
	require.NoError(t, l.c.Shutdown())
}

func TestBatchFatalErrorLeavesAlert(t *testing.T) {
	l := enginePair(t, nil, nil, nil)
	out, p := make([]byte, 4096), make([]byte, 64)
	junk := pattern(21, 600)
	copy(junk, []byte{23, 3, 3, 2, 0}) // an application data record header
	fed, n, err := l.c.FeedRead(junk, p)
	require.Equal(t, len(junk), fed)
	require.Zero(t, n)
	require.Error(t, err)
	require.False(t, isWant(err), "garbage is an error, not a wait: %v", err)
	se := asError(t, err)
	require.Equal(t, sslerr.KindSSL, se.Kind)
	require.Equal(t, "read", se.Op)
	require.NotEmpty(t, se.Entries)

	// The alert waits for Drain; WriteDrain on the dead engine drains nothing.
	alert := l.c.PendingOut()
	require.Positive(t, alert)
	n, d, err := l.c.WriteDrain([]byte("x"), out)
	require.Error(t, err)
	require.False(t, isWant(err))
	require.Zero(t, n+d)
	require.Equal(t, alert, l.c.PendingOut())
	_, _, err2 := l.c.FeedRead(nil, p)
	require.Equal(t, err.Error(), err2.Error(), "sticky")
	sent := drainAll(t, l.c)
	require.Len(t, sent, alert)

	// The peer hears the alert and is dead too.
	fed, n, err = l.s.FeedRead(sent, p)
	require.Equal(t, len(sent), fed)
	require.Zero(t, n)
	require.ErrorContains(t, err, "alert")
	n, d, err = l.s.WriteDrain([]byte("x"), out)
	require.Error(t, err)
	require.Zero(t, n+d)
}

func TestBatchZeroLengthArguments(t *testing.T) {
	l := enginePair(t, nil, nil, nil)
	out, p := make([]byte, 4096), make([]byte, 64)
	for _, z := range [][]byte{nil, {}} {
		n, d, err := l.c.WriteDrain(z, z)
		require.NoError(t, err)
		require.Zero(t, n+d)
		n, d, err = l.c.WriteDrain(z, out) // a plain drain, nothing pending
		require.NoError(t, err)
		require.Zero(t, n+d)
		fed, n, err := l.c.FeedRead(z, z)
		require.NoError(t, err)
		require.Zero(t, fed+n)
		fed, n, err = l.c.FeedRead(z, p) // a plain read, nothing there
		require.ErrorIs(t, err, ErrWantRead)
		require.Zero(t, fed+n)

		// No out: the write alone, its ciphertext stays pending for a plain drain.
		n, d, err = l.c.WriteDrain(batchNote, z)
		require.NoError(t, err)
		require.Equal(t, len(batchNote), n)
		require.Zero(t, d)
		pending := l.c.PendingOut()
		require.Greater(t, pending, len(batchNote))
		n, d, err = l.c.WriteDrain(z, out)
		require.NoError(t, err)
		require.Zero(t, n)
		require.Equal(t, pending, d)
		// No p: the feed alone; a plain read gets the data afterwards.
		fed, n, err = l.s.FeedRead(out[:d], z)
		require.NoError(t, err)
		require.Equal(t, d, fed)
		require.Zero(t, n)
		fed, n, err = l.s.FeedRead(z, p)
		require.NoError(t, err)
		require.Zero(t, fed)
		require.Equal(t, batchNote, p[:n])
	}
	batchHop(t, l.s, l.c, []byte("still fine"))
}

func TestBatchClosedEngine(t *testing.T) {
	l := enginePair(t, nil, nil, nil)
	require.NoError(t, l.c.Close())
	buf := make([]byte, 16)
	for _, args := range [][2][]byte{{buf, buf}, {nil, buf}, {buf, nil}, {nil, nil}} {
		n, d, err := l.c.WriteDrain(args[0], args[1])
		require.ErrorIs(t, err, ErrClosed)
		require.Zero(t, n+d)
		fed, n, err := l.c.FeedRead(args[0], args[1])
		require.ErrorIs(t, err, ErrClosed)
		require.Zero(t, fed+n)
	}
}

// After FeedEOF, FeedRead with nothing to feed is a plain read: the data
// that arrived before the EOF, then ErrTruncated (io.EOF when close_notify
// came first); feeding more is refused.
func TestBatchFeedReadAfterFeedEOF(t *testing.T) {
	p := make([]byte, 64)
	t.Run("truncated", func(t *testing.T) {
		l := enginePair(t, nil, nil, nil)
		_, err := l.c.Write([]byte("tail"))
		require.NoError(t, err)
		l.pump()
		require.NoError(t, l.s.FeedEOF())
		fed, n, err := l.s.FeedRead([]byte("x"), p)
		require.ErrorIs(t, err, ErrInvalid, "feed after FeedEOF")
		require.Zero(t, fed+n)
		for _, in := range [][]byte{nil, {}} {
			fed, n, err = l.s.FeedRead(in, p)
			if n > 0 {
				require.NoError(t, err)
				require.Equal(t, "tail", string(p[:n]))
				fed, n, err = l.s.FeedRead(in, p)
			}
			require.ErrorIs(t, err, ErrTruncated)
			require.Zero(t, fed+n)
		}
	})
	t.Run("closed", func(t *testing.T) {
		l := enginePair(t, nil, nil, nil)
		require.ErrorIs(t, l.c.Shutdown(), ErrWantRead)
		l.pump()
		require.NoError(t, l.s.FeedEOF())
		_, _, err := l.s.FeedRead(nil, p)
		require.Equal(t, io.EOF, err)
	})
}
