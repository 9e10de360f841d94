package sslbio

// Benchmarks of the Go API beside Go's crypto/tls, in one process, in
// memory. Each BenchmarkX has sub-benchmarks:
//
//	sslbio          two Engines; ciphertext moves with Drain + Feed
//	sslbio-zerocopy two Engines; Drain straight into the peer's FeedBuffer
//	sslbio-reset    handshakes reuse two Engines with Reset
//	cryptotls       two tls.Conn over internal/memconn
//
// BenchmarkPingPongBatched is BenchmarkPingPong's sslbio case with the
// batched calls: one WriteDrain and one FeedRead per hop instead of
// Write, Drain, Feed and Read.
//
// Same work on both sides: TLS 1.3, TLS_AES_128_GCM_SHA256, X25519, an
// ECDSA P-256 server certificate from internal/testpki, the client verifies
// the chain and the host name, one session ticket per connection, the
// server sends its leaf certificate alone.
//
//	go test -run '^$' -bench . -benchtime 2s ./sslbio
//
// bench/ (make bench) measures the same scenarios for every subject,
// including the C API, Python and plain C on OpenSSL.
//
// internal/memconn drops its buffer whenever it empties, so every 16 KiB
// record costs crypto/tls an allocation and garbage collection: its bulk
// figure here is far below its real speed until memconn recycles buffers
// (bench/internal/memconn has that fix; make bench uses it).

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/sslbio/sslbio/internal/memconn"
	"github.com/sslbio/sslbio/internal/testpki"
)

const (
	benchBulkSize = 16 * 1024
	benchPingSize = 64
	benchSuite    = "TLS_AES_128_GCM_SHA256"
)

// ---- sslbio side ----

type benchEnv struct {
	client, server *Context
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	p := testpki.Get()
	cctx, err := NewContext(&Config{Role: RoleClient, CAPEM: p.CAPEM, CipherSuites: benchSuite})
	if err != nil {
		b.Fatal(err)
	}
	sctx, err := NewContext(&Config{Role: RoleServer, CertPEM: p.Server.CertPEM, KeyPEM: p.Server.KeyPEM, CipherSuites: benchSuite})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cctx.Close(); sctx.Close() })
	return &benchEnv{client: cctx, server: sctx}
}

// benchPair is a client and a server Engine and the way ciphertext moves
// between them.
type benchPair struct {
	c, s     *Engine
	zeroCopy bool
	buf      []byte
}

func (e *benchEnv) engines(b *testing.B, zeroCopy bool) *benchPair {
	c, err := e.client.NewEngine("localhost")
	if err != nil {
		b.Fatal(err)
	}
	s, err := e.server.NewEngine("")
	if err != nil {
		b.Fatal(err)
	}
	return &benchPair{c: c, s: s, zeroCopy: zeroCopy, buf: make([]byte, 64*1024)}
}

func (p *benchPair) close() {
	p.c.Close()
	p.s.Close()
}

// move hands all ciphertext pending in from to to.
func (p *benchPair) move(from, to *Engine) error {
	if p.zeroCopy {
		return benchMoveZeroCopy(from, to)
	}
	for {
		n, err := from.Drain(p.buf)
		if err != nil || n == 0 {
			return err
		}
		for off := 0; off < n; {
			m, err := to.Feed(p.buf[off:n])
			if err != nil {
				return err
			}
			if m == 0 {
				return errors.New("peer engine full")
			}
			off += m
		}
		if n < len(p.buf) {
			return nil // Drain took everything pending
		}
	}
}

// benchMoveZeroCopy drains from straight into to's feed buffer: one copy.
func benchMoveZeroCopy(from, to *Engine) error {
	for {
		dst, err := to.FeedBuffer()
		if err != nil {
			return err
		}
		if len(dst) == 0 {
			return errors.New("peer engine full")
		}
		n, err := from.Drain(dst)
		if err != nil || n == 0 {
			return err
		}
		if err := to.FeedCommit(n); err != nil {
			return err
		}
		if n < len(dst) {
			return nil
		}
	}
}

func benchIsWant(err error) bool {
	return errors.Is(err, ErrWantRead) || errors.Is(err, ErrWantWrite)
}

func (p *benchPair) handshake(b *testing.B) {
	for i := 0; i < 16; i++ {
		ce := p.c.Handshake()
		if ce != nil && !benchIsWant(ce) {
			b.Fatal("client handshake: ", ce)
		}
		if err := p.move(p.c, p.s); err != nil {
			b.Fatal(err)
		}
		se := p.s.Handshake()
		if se != nil && !benchIsWant(se) {
			b.Fatal("server handshake: ", se)
		}
		if err := p.move(p.s, p.c); err != nil {
			b.Fatal(err)
		}
		if ce == nil && se == nil {
			return
		}
	}
	b.Fatal("handshake did not finish")
}

func (p *benchPair) send(b *testing.B, from, to *Engine, msg []byte) {
	for off := 0; off < len(msg); {
		n, err := from.Write(msg[off:])
		if err != nil && !benchIsWant(err) {
			b.Fatal(err)
		}
		off += n
		if err := p.move(from, to); err != nil {
			b.Fatal(err)
		}
	}
}

func benchRecv(b *testing.B, e *Engine, buf []byte) {
	for off := 0; off < len(buf); {
		n, err := e.Read(buf[off:])
		if err != nil {
			b.Fatalf("read after %d of %d bytes: %v", off, len(buf), err)
		}
		off += n
	}
}

// settle sends one byte each way (the client reads its session ticket on
// the way), then both ends read until they would block: idle.
func (p *benchPair) settle(b *testing.B) {
	one := []byte{'x'}
	p.send(b, p.c, p.s, one)
	benchRecv(b, p.s, one)
	p.send(b, p.s, p.c, one)
	benchRecv(b, p.c, one)
	for _, e := range []*Engine{p.s, p.c} {
		if _, err := e.Read(one); !errors.Is(err, ErrWantRead) {
			b.Fatal("idle read: ", err)
		}
	}
}

func (e *benchEnv) established(b *testing.B, zeroCopy bool) *benchPair {
	p := e.engines(b, zeroCopy)
	p.handshake(b)
	p.settle(b)
	if cs := p.c.ConnectionState(); cs.CipherName != benchSuite || cs.Version != tls.VersionTLS13 {
		b.Fatalf("negotiated %s %#x", cs.CipherName, cs.Version)
	}
	b.Cleanup(p.close)
	return p
}

// ---- crypto/tls side ----

type benchTLS struct {
	client, server *tls.Config
}

func newBenchTLS() *benchTLS {
	p := testpki.Get()
	curves := []tls.CurveID{tls.X25519} // Go would offer X25519MLKEM768 first
	leaf := p.Server.TLS()
	leaf.Certificate = leaf.Certificate[:1] // sslbio drops the self-signed root it was given
	return &benchTLS{
		client: &tls.Config{RootCAs: p.Pool(), ServerName: "localhost", CurvePreferences: curves},
		server: &tls.Config{Certificates: []tls.Certificate{leaf}, CurvePreferences: curves},
	}
}

type benchTLSPair struct {
	c, s   *tls.Conn
	ca, sa net.Conn
}

// connect handshakes two tls.Conn; the server runs in its own goroutine
// (crypto/tls has no sans-IO API).
func (t *benchTLS) connect(b *testing.B, ccfg *tls.Config) *benchTLSPair {
	a, s := memconn.Pipe()
	p := &benchTLSPair{c: tls.Client(a, ccfg), s: tls.Server(s, t.server), ca: a, sa: s}
	done := make(chan error, 1)
	go func() { done <- p.s.Handshake() }()
	cerr := p.c.Handshake()
	if serr := <-done; cerr != nil || serr != nil {
		b.Fatalf("handshake: client %v, server %v", cerr, serr)
	}
	return p
}

// close drops the transport without close_notify, like Engine.Close.
func (p *benchTLSPair) close() {
	p.ca.Close()
	p.sa.Close()
}

func (p *benchTLSPair) settle(b *testing.B) {
	one := []byte{'x'}
	if _, err := p.c.Write(one); err != nil {
		b.Fatal(err)
	}
	if _, err := io.ReadFull(p.s, one); err != nil {
		b.Fatal(err)
	}
	if _, err := p.s.Write(one); err != nil {
		b.Fatal(err)
	}
	if _, err := io.ReadFull(p.c, one); err != nil {
		b.Fatal(err)
	}
}

func (t *benchTLS) established(b *testing.B) *benchTLSPair {
	p := t.connect(b, t.client)
	p.settle(b)
	if cs := p.c.ConnectionState(); tls.CipherSuiteName(cs.CipherSuite) != benchSuite {
		b.Fatalf("negotiated %s", tls.CipherSuiteName(cs.CipherSuite))
	}
	b.Cleanup(p.close)
	return p
}

// ---- benchmarks ----

// BenchmarkBulk: 16 KiB writes client -> server (MB/s).
func BenchmarkBulk(b *testing.B) {
	msg, rbuf := make([]byte, benchBulkSize), make([]byte, benchBulkSize)
	for _, zc := range []bool{false, true} {
		name := "sslbio"
		if zc {
			name = "sslbio-zerocopy"
		}
		b.Run(name, func(b *testing.B) {
			p := newBenchEnv(b).established(b, zc)
			b.SetBytes(benchBulkSize)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p.send(b, p.c, p.s, msg)
				benchRecv(b, p.s, rbuf)
			}
		})
	}
	b.Run("cryptotls", func(b *testing.B) {
		p := newBenchTLS().established(b)
		b.SetBytes(benchBulkSize)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := p.c.Write(msg); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(p.s, rbuf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPingPong: 64 bytes client -> server -> client (one op = one
// round trip).
func BenchmarkPingPong(b *testing.B) {
	msg, rbuf := make([]byte, benchPingSize), make([]byte, benchPingSize)
	for _, zc := range []bool{false, true} {
		name := "sslbio"
		if zc {
			name = "sslbio-zerocopy"
		}
		b.Run(name, func(b *testing.B) {
			p := newBenchEnv(b).established(b, zc)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p.send(b, p.c, p.s, msg)
				benchRecv(b, p.s, rbuf)
				p.send(b, p.s, p.c, rbuf)
				benchRecv(b, p.c, rbuf)
			}
		})
	}
	b.Run("cryptotls", func(b *testing.B) {
		p := newBenchTLS().established(b)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := p.c.Write(msg); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(p.s, rbuf); err != nil {
				b.Fatal(err)
			}
			if _, err := p.s.Write(rbuf); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(p.c, rbuf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPingPongBatched: BenchmarkPingPong with WriteDrain + FeedRead,
// half the cgo calls per hop.
func BenchmarkPingPongBatched(b *testing.B) {
	msg, rbuf := make([]byte, benchPingSize), make([]byte, benchPingSize)
	b.Run("sslbio", func(b *testing.B) {
		p := newBenchEnv(b).established(b, false)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			p.batchedHop(b, p.c, p.s, msg, rbuf)
			p.batchedHop(b, p.s, p.c, rbuf, rbuf)
		}
	})
}

// batchedHop sends msg from -> to with one WriteDrain and reads it into
// rbuf with one FeedRead: a ping-pong message is one record, drained whole
// into p.buf and fed whole.
func (p *benchPair) batchedHop(b *testing.B, from, to *Engine, msg, rbuf []byte) {
	n, d, err := from.WriteDrain(msg, p.buf)
	if err != nil || n != len(msg) || d == len(p.buf) {
		b.Fatalf("write_drain: %d of %d bytes, %d drained: %v", n, len(msg), d, err)
	}
	fed, m, err := to.FeedRead(p.buf[:d], rbuf)
	if err != nil || fed != d || m != len(rbuf) {
		b.Fatalf("feed_read: fed %d of %d, read %d of %d bytes: %v", fed, d, m, len(rbuf), err)
	}
}

// BenchmarkHandshake: full TLS 1.3 handshakes (one op = one handshake,
// both endpoints; reported also as hs/s).
func BenchmarkHandshake(b *testing.B) {
	b.Run("sslbio", func(b *testing.B) {
		e := newBenchEnv(b)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			p := e.engines(b, false)
			p.handshake(b)
			p.close()
		}
		benchPerSecond(b, "hs/s")
	})
	b.Run("sslbio-reset", func(b *testing.B) {
		e := newBenchEnv(b)
		p := e.engines(b, false)
		defer p.close()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := p.c.Reset("localhost"); err != nil {
				b.Fatal(err)
			}
			if err := p.s.Reset(""); err != nil {
				b.Fatal(err)
			}
			p.handshake(b)
		}
		benchPerSecond(b, "hs/s")
	})
	b.Run("cryptotls", func(b *testing.B) {
		t := newBenchTLS()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			t.connect(b, t.client).close()
		}
		benchPerSecond(b, "hs/s")
	})
}

// BenchmarkResume: resumed TLS 1.3 handshakes. Tickets are single-use, so
// each handshake resumes with the ticket of the previous connection, which
// the client reads right after its handshake (and the previous client is
// closed only then: OpenSSL marks the session of an SSL freed without
// close_notify not resumable).
func BenchmarkResume(b *testing.B) {
	rbuf := make([]byte, 16)
	b.Run("sslbio", func(b *testing.B) {
		e := newBenchEnv(b)
		prev := e.established(b, false)
		sess := benchSession(b, prev.c)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			p := e.engines(b, false)
			if err := p.c.SetSession(sess); err != nil {
				b.Fatal(err)
			}
			p.handshake(b)
			sess = benchTakeTicket(b, p.c, rbuf, i == 0 || i == b.N-1)
			p.s.Close()
			prev.c.Close()
			prev = p
		}
		b.StopTimer()
		prev.c.Close()
		benchPerSecond(b, "hs/s")
	})
	b.Run("sslbio-reset", func(b *testing.B) {
		// Sessions travel as DER copies, so one pair of engines can be
		// reset and resumed over and over.
		e := newBenchEnv(b)
		sess := benchSession(b, e.established(b, false).c)
		p := e.engines(b, false)
		defer p.close()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := p.c.Reset("localhost"); err != nil {
				b.Fatal(err)
			}
			if err := p.s.Reset(""); err != nil {
				b.Fatal(err)
			}
			if err := p.c.SetSession(sess); err != nil {
				b.Fatal(err)
			}
			p.handshake(b)
			sess = benchTakeTicket(b, p.c, rbuf, i == 0 || i == b.N-1)
		}
		benchPerSecond(b, "hs/s")
	})
	b.Run("cryptotls", func(b *testing.B) {
		t := newBenchTLS()
		cfg := t.client.Clone()
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
		prev := t.connect(b, cfg)
		prev.settle(b) // the cache now holds the ticket
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			p := t.connect(b, cfg)
			if !p.c.ConnectionState().DidResume {
				b.Fatal("handshake did not resume")
			}
			// Take the new ticket: a read with an expired deadline returns
			// once the buffered records are processed.
			p.c.SetReadDeadline(time.Unix(1, 0))
			if _, err := p.c.Read(rbuf); !errors.Is(err, os.ErrDeadlineExceeded) {
				b.Fatal("reading the new ticket: ", err)
			}
			prev.close()
			prev = p
		}
		b.StopTimer()
		prev.close()
		benchPerSecond(b, "hs/s")
	})
}

func benchSession(b *testing.B, c *Engine) []byte {
	sess, err := c.Session()
	if err != nil || sess == nil {
		b.Fatalf("no session: %v", err)
	}
	return sess
}

// benchTakeTicket reads the ticket that followed a resumed handshake and
// returns the new session; check verifies the handshake did resume
// (ConnectionState parses certificates: not on every iteration).
func benchTakeTicket(b *testing.B, c *Engine, rbuf []byte, check bool) []byte {
	if check && !c.ConnectionState().DidResume {
		b.Fatal("handshake did not resume")
	}
	if _, err := c.Read(rbuf); !errors.Is(err, ErrWantRead) {
		b.Fatal("reading the new ticket: ", err)
	}
	return benchSession(b, c)
}

func benchPerSecond(b *testing.B, unit string) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, unit)
	}
}
