package sslbio

// Fuzz targets for both roles: arbitrary ciphertext fed in arbitrary
// pieces, with Handshake and Read in between. The seed corpus is real
// flights captured from handshakes made in the fuzz setup. Under plain
// `go test` only the seeds run.

import (
	"crypto/tls"
	"errors"
	"io"
	"testing"
	"time"

	sslerr "github.com/sslbio/sslbio/error"
	"github.com/sslbio/sslbio/internal/memconn"
	"github.com/stretchr/testify/require"
)

// captureFlights runs a whole engine↔engine connection (handshake, data
// both ways, close_notify both ways) and returns each direction's bytes.
func captureFlights(tb testing.TB, cmods, smods []func(*Config)) (c2s, s2c []byte) {
	tb.Helper()
	c := mustEngine(tb, clientContext(tb, cmods...), "localhost")
	s := mustEngine(tb, serverContext(tb, smods...), "")
	buf := make([]byte, 64*1024)
	move := func(from, to *Engine, rec *[]byte) {
		for {
			n, err := from.Drain(buf)
			require.NoError(tb, err)
			if n == 0 {
				return
			}
			*rec = append(*rec, buf[:n]...)
			k, err := to.Feed(buf[:n])
			require.NoError(tb, err)
			require.Equal(tb, n, k)
		}
	}
	var ce, se error = ErrWantRead, ErrWantRead
	for i := 0; i < 20 && (ce != nil || se != nil); i++ {
		ce = c.Handshake()
		move(c, s, &c2s)
		se = s.Handshake()
		move(s, c, &s2c)
	}
	require.NoError(tb, ce)
	require.NoError(tb, se)
	for _, w := range []struct {
		from, to *Engine
		rec      *[]byte
		msg      string
	}{{c, s, &c2s, "request"}, {s, c, &s2c, "response"}} {
		_, err := w.from.Write([]byte(w.msg))
		require.NoError(tb, err)
		move(w.from, w.to, w.rec)
		n, err := w.to.Read(buf)
		require.NoError(tb, err)
		require.Equal(tb, w.msg, string(buf[:n]))
	}
	require.ErrorIs(tb, c.Shutdown(), ErrWantRead)
	move(c, s, &c2s)
	_, err := s.Read(buf)
	require.ErrorIs(tb, err, io.EOF)
	require.NoError(tb, s.Shutdown())
	move(s, c, &s2c)
	return c2s, s2c
}

// goClientHello is the first flight of a crypto/tls client.
func goClientHello(tb testing.TB) []byte {
	a, b := memconn.Pipe()
	defer a.Close()
	defer b.Close()
	tc := tls.Client(a, goClientConfig(pki()))
	go tc.Handshake()
	b.SetReadDeadline(time.Now().Add(testTimeout))
	buf := make([]byte, 8192)
	n, err := b.Read(buf)
	require.NoError(tb, err)
	return buf[:n]
}

// goServerFlight is a crypto/tls server's answer to hello.
func goServerFlight(tb testing.TB, hello []byte, cfg *tls.Config) []byte {
	a, b := memconn.Pipe()
	defer a.Close()
	defer b.Close()
	go tls.Server(a, cfg).Handshake()
	_, err := b.Write(hello)
	require.NoError(tb, err)
	return drainAvailable(b)
}

// fuzzFeed feeds data to e in pieces of the given size (0: all at once),
// keeping what Feed does not accept, and runs op after each piece; it
// checks the engine's promises on the way.
func fuzzFeed(t *testing.T, e *Engine, data []byte, piece int, op func() error) {
	out := make([]byte, 32*1024)
	check := func(err error) bool { // true: stop, the engine is done
		if err == nil || isWant(err) {
			return false
		}
		if errors.Is(err, io.EOF) {
			return true
		}
		var se *Error
		if !errors.As(err, &se) {
			t.Fatalf("error of type %T: %v", err, err)
		}
		if se.Kind == sslerr.KindNone || se.Error() == "" {
			t.Fatalf("error without a kind or message: %#v", se)
		}
		return true
	}
	limit := 2*len(data) + 100
	for i := 0; len(data) > 0; i++ {
		if i > limit {
			t.Fatal("feeding makes no progress")
		}
		k := len(data)
		if piece > 0 {
			k = min(k, piece)
		}
		n, err := e.Feed(data[:k])
		if err != nil {
			check(err)
			return
		}
		if n < 0 || n > k {
			t.Fatalf("Feed accepted %d of %d", n, k)
		}
		data = data[n:]
		done := check(op())
		for {
			m, err := e.Drain(out)
			if err != nil {
				t.Fatalf("Drain: %v", err)
			}
			if m == 0 {
				break
			}
		}
		if e.PendingOut() != 0 {
			t.Fatal("PendingOut after a full drain")
		}
		if done {
			return
		}
	}
	e.FeedEOF()
	_ = e.Wants()
	check(op())
}

// fuzzOp alternates Handshake and Read calls, as applications do.
func fuzzOp(e *Engine) func() error {
	buf := make([]byte, 4096)
	return func() error {
		if !e.ConnectionState().HandshakeComplete {
			if err := e.Handshake(); err != nil {
				return err
			}
		}
		for i := 0; i < 64; i++ {
			if _, err := e.Read(buf); err != nil {
				return err
			}
		}
		return nil
	}
}

func FuzzServerFeed(f *testing.F) {
	c2s13, _ := captureFlights(f, []func(*Config){tls13}, nil)
	c2s12, _ := captureFlights(f, []func(*Config){tls12}, nil)
	goHello := goClientHello(f)
	for _, piece := range []uint16{0, 1, 5, 700} {
		f.Add(c2s13, piece)
		f.Add(c2s12, piece)
		f.Add(goHello, piece)
	}
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"), uint16(0))
	f.Add([]byte{}, uint16(0))
	f.Add(goHello[:len(goHello)/2], uint16(0))
	sctx := serverContext(f)
	f.Fuzz(func(t *testing.T, data []byte, piece uint16) {
		e, err := sctx.NewEngine("")
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		fuzzFeed(t, e, data, int(piece), fuzzOp(e))
	})
}

func FuzzClientFeed(f *testing.F) {
	_, s2c13 := captureFlights(f, []func(*Config){tls13}, nil)
	_, s2c12 := captureFlights(f, []func(*Config){tls12}, nil)
	// A crypto/tls server's answer to one of our ClientHellos.
	probe := mustEngine(f, clientContext(f), "localhost")
	require.ErrorIs(f, probe.Handshake(), ErrWantRead)
	hello := make([]byte, 8192)
	n, err := probe.Drain(hello)
	require.NoError(f, err)
	goFlight := goServerFlight(f, hello[:n], goServerConfig(pki()))
	require.NotEmpty(f, goFlight)
	for _, piece := range []uint16{0, 1, 7, 700} {
		f.Add(s2c13, piece)
		f.Add(s2c12, piece)
		f.Add(goFlight, piece)
	}
	f.Add([]byte{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28}, uint16(0)) // a fatal alert
	f.Add([]byte{}, uint16(0))
	cctx := clientContext(f)
	f.Fuzz(func(t *testing.T, data []byte, piece uint16) {
		e, err := cctx.NewEngine("localhost")
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		if err := e.Handshake(); !errors.Is(err, ErrWantRead) {
			t.Fatalf("first Handshake: %v", err)
		}
		fuzzFeed(t, e, data, int(piece), fuzzOp(e))
	})
}
