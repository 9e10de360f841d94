package sslbio

// Shared test helpers: contexts from the test PKI, an in-memory link between
// two engines, a driver that runs an Engine over a real net.Conn moving
// ciphertext in random pieces, crypto/tls configurations, TCP pairs and
// openssl(1) processes.

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sslbio/sslbio/internal/testpki"
	"github.com/stretchr/testify/require"
)

// testTimeout bounds every blocking step of a test.
const testTimeout = 20 * time.Second

// maxPiece is the largest piece of ciphertext moved at once by the random
// movers: ciphertext travels in 1..maxPiece byte pieces.
const maxPiece = 700

func pki() *testpki.PKI { return testpki.Get() }

// otherPKI is a second, unrelated CA with its own server and client certs.
var otherPKI = sync.OnceValue(func() *testpki.PKI { return testpki.New("sslbio other CA") })

// newRand returns a seeded generator and logs the seed so a failure can be
// replayed.
func newRand(t testing.TB) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

func mustContext(t testing.TB, cfg *Config) *Context {
	t.Helper()
	x, err := NewContext(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { x.Close() })
	return x
}

// serverContext is a server context with the test PKI's server certificate;
// mods adjust the Config first.
func serverContext(t testing.TB, mods ...func(*Config)) *Context {
	t.Helper()
	p := pki()
	cfg := &Config{Role: RoleServer, CertPEM: p.Server.CertPEM, KeyPEM: p.Server.KeyPEM}
	for _, m := range mods {
		m(cfg)
	}
	return mustContext(t, cfg)
}

// clientContext is a client context trusting the test PKI's CA.
func clientContext(t testing.TB, mods ...func(*Config)) *Context {
	t.Helper()
	cfg := &Config{Role: RoleClient, CAPEM: pki().CAPEM}
	for _, m := range mods {
		m(cfg)
	}
	return mustContext(t, cfg)
}

func tls12(c *Config) { c.MaxVersion = tls.VersionTLS12 }
func tls13(c *Config) { c.MinVersion = tls.VersionTLS13 }

func mustEngine(t testing.TB, x *Context, name string) *Engine {
	t.Helper()
	e, err := x.NewEngine(name)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return e
}

// isWant reports whether err only asks for more I/O.
func isWant(err error) bool {
	return errors.Is(err, ErrWantRead) || errors.Is(err, ErrWantWrite)
}

// asError returns err as *Error, failing the test if it is not one.
func asError(t testing.TB, err error) *Error {
	t.Helper()
	var se *Error
	require.Truef(t, errors.As(err, &se), "error %v (%T) is not an *sslbio.Error", err, err)
	return se
}

// ---- two engines in memory ----

// link connects a client and a server engine through two byte queues and
// moves ciphertext in random 1..maxPiece pieces, honouring Feed's count.
type link struct {
	t        testing.TB
	c, s     *Engine
	rng      *rand.Rand // nil: move everything at once
	c2s, s2c []byte     // drained, not yet accepted by the peer
	buf      []byte
	partial  int // Feed calls that accepted less than offered
}

func newLink(t testing.TB, c, s *Engine, rng *rand.Rand) *link {
	return &link{t: t, c: c, s: s, rng: rng, buf: make([]byte, 32*1024)}
}

func (l *link) piece(n int) int {
	if l.rng == nil || n <= 1 {
		return n
	}
	return min(n, 1+l.rng.IntN(maxPiece))
}

// drainInto drains e completely onto q.
func (l *link) drainInto(e *Engine, q []byte) []byte {
	for i := 0; ; i++ {
		require.Less(l.t, i, 1<<20, "drain never ends")
		n, err := e.Drain(l.buf[:l.piece(len(l.buf))])
		require.NoError(l.t, err)
		if n == 0 {
			require.Zero(l.t, e.PendingOut(), "Drain returned 0 with ciphertext pending")
			return q
		}
		q = append(q, l.buf[:n]...)
	}
}

// feedFrom feeds q into e until it is empty or e is full; returns the rest.
func (l *link) feedFrom(e *Engine, q []byte) []byte {
	for len(q) > 0 {
		k := l.piece(len(q))
		n, err := e.Feed(q[:k])
		require.NoError(l.t, err)
		require.GreaterOrEqual(l.t, n, 0)
		require.LessOrEqual(l.t, n, k)
		q = q[n:]
		if n < k {
			l.partial++
			break // full: the caller reads, then feeds the rest
		}
	}
	return q
}

// pump moves everything both engines have pending, as far as the peer
// accepts.
func (l *link) pump() {
	l.c2s = l.feedFrom(l.s, l.drainInto(l.c, l.c2s))
	l.s2c = l.feedFrom(l.c, l.drainInto(l.s, l.s2c))
}

// handshake runs both handshakes to completion.
func (l *link) handshake() {
	l.t.Helper()
	require.NoError(l.t, l.tryHandshake())
}

// tryHandshake runs both handshakes until both finish or one fails; it
// returns the first hard error (client's first).
func (l *link) tryHandshake() error {
	var ce, se error = ErrWantRead, ErrWantRead
	for i := 0; i < 200; i++ {
		if ce != nil {
			ce = l.c.Handshake()
		}
		if se != nil {
			se = l.s.Handshake()
		}
		l.pump()
		if ce == nil && se == nil {
			return nil
		}
		if ce != nil && !isWant(ce) {
			return ce
		}
		if se != nil && !isWant(se) {
			return se
		}
	}
	l.t.Fatalf("handshake did not finish: client %v, server %v", ce, se)
	return nil
}

// transfer writes all of p on from, pumping as needed, and returns what
// to read.
func (l *link) transfer(from, to *Engine, p []byte) []byte {
	l.t.Helper()
	return l.transferFrom(from, to, p, 0)
}

// transferFrom is transfer when from already accepted p[:off].
func (l *link) transferFrom(from, to *Engine, p []byte, off int) []byte {
	l.t.Helper()
	var got []byte
	rbuf := make([]byte, 16*1024+1)
	for i := 0; len(got) < len(p); i++ {
		require.Less(l.t, i, 1<<20, "transfer never ends")
		if off < len(p) {
			n, err := from.Write(p[off:])
			if err != nil {
				require.ErrorIs(l.t, err, ErrWantWrite)
			}
			off += n
		}
		l.pump()
		for {
			n, err := to.Read(rbuf)
			if err != nil {
				require.ErrorIs(l.t, err, ErrWantRead)
				break
			}
			got = append(got, rbuf[:n]...)
		}
		l.pump()
	}
	return got
}

// enginePair makes a handshaken client/server pair from the test PKI.
func enginePair(t testing.TB, cmods, smods []func(*Config), rng *rand.Rand) *link {
	t.Helper()
	c := mustEngine(t, clientContext(t, cmods...), "localhost")
	s := mustEngine(t, serverContext(t, smods...), "")
	l := newLink(t, c, s, rng)
	l.handshake()
	return l
}

// ---- an engine over a net.Conn ----

// driver runs an Engine over a real net.Conn the way an application with a
// socket does: it drains after every call, reads the socket when the
// engine wants ciphertext and feeds what it read in random pieces, keeping
// what Feed did not accept.
type driver struct {
	t       testing.TB
	e       *Engine
	nc      net.Conn
	rng     *rand.Rand
	pending []byte // read from nc, not yet accepted by Feed
	rbuf    []byte
	dbuf    []byte
	eof     bool
	partial int // Feed calls that accepted less than offered
}

func newDriver(t testing.TB, e *Engine, nc net.Conn, rng *rand.Rand) *driver {
	return &driver{t: t, e: e, nc: nc, rng: rng, rbuf: make([]byte, 64*1024), dbuf: make([]byte, 32*1024)}
}

func (d *driver) piece(n int) int {
	if d.rng == nil || n <= 1 {
		return n
	}
	return min(n, 1+d.rng.IntN(maxPiece))
}

// flush drains the engine and writes the ciphertext to nc in random pieces.
func (d *driver) flush() error {
	for {
		n, err := d.e.Drain(d.dbuf[:d.piece(len(d.dbuf))])
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		d.nc.SetWriteDeadline(time.Now().Add(testTimeout))
		if _, err := d.nc.Write(d.dbuf[:n]); err != nil {
			return err
		}
	}
}

// feedPending feeds what is pending until the engine is full.
func (d *driver) feedPending() error {
	for len(d.pending) > 0 {
		k := d.piece(len(d.pending))
		n, err := d.e.Feed(d.pending[:k])
		if err != nil {
			return err
		}
		d.pending = d.pending[n:]
		if n < k {
			d.partial++
			return nil
		}
	}
	return nil
}

// fill gets more ciphertext into the engine: what is pending first,
// otherwise one read of the socket (a random size).
func (d *driver) fill() error {
	if len(d.pending) == 0 {
		if d.eof {
			return io.ErrUnexpectedEOF // the engine wants more after FeedEOF
		}
		d.nc.SetReadDeadline(time.Now().Add(testTimeout))
		n, err := d.nc.Read(d.rbuf[:d.piece(len(d.rbuf))])
		d.pending = append(d.pending[:0], d.rbuf[:n]...)
		if n == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				d.eof = true
				return d.e.FeedEOF()
			}
			return err
		}
	}
	return d.feedPending()
}

// run calls op until it succeeds or fails for good.
func (d *driver) run(op func() (int, error)) (int, error) {
	for i := 0; ; i++ {
		require.Less(d.t, i, 1<<22, "engine never settles")
		n, err := op()
		if ferr := d.flush(); ferr != nil && err == nil {
			return n, ferr
		}
		switch {
		case err == nil:
			return n, nil
		case errors.Is(err, ErrWantWrite):
		case errors.Is(err, ErrWantRead):
			if ferr := d.fill(); ferr != nil {
				return n, ferr
			}
		default:
			return n, err
		}
	}
}

func (d *driver) handshake() error {
	_, err := d.run(func() (int, error) { return 0, d.e.Handshake() })
	return err
}

// read returns plaintext (n > 0) or the error that ended the stream.
func (d *driver) read(p []byte) (int, error) {
	return d.run(func() (int, error) { return d.e.Read(p) })
}

func (d *driver) write(p []byte) error {
	for len(p) > 0 {
		n, err := d.run(func() (int, error) { return d.e.Write(p) })
		p = p[n:]
		if err != nil {
			return err
		}
	}
	return nil
}

// readFull reads exactly len(p) bytes.
func (d *driver) readFull(p []byte) error {
	for off := 0; off < len(p); {
		n, err := d.read(p[off:])
		off += n
		if err != nil {
			return err
		}
	}
	return nil
}

// readAll reads until an error and returns the data and that error.
func (d *driver) readAll() ([]byte, error) {
	var out []byte
	buf := make([]byte, 16*1024)
	for {
		n, err := d.read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out, err
		}
	}
}

// shutdown sends close_notify (without waiting for the peer's).
func (d *driver) shutdown() error { return sendCloseNotify(d.e, d.flush) }

// sendCloseNotify queues e's close_notify and sends it with flush, without
// waiting for the peer's (ErrWantRead is the expected answer).
func sendCloseNotify(e *Engine, flush func() error) error {
	err := e.Shutdown()
	if ferr := flush(); ferr != nil {
		return ferr
	}
	if err != nil && !errors.Is(err, ErrWantRead) {
		return err
	}
	return nil
}

// ---- crypto/tls peers ----

func goServerConfig(p *testpki.PKI) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{p.Server.TLS()}}
}

func goClientConfig(p *testpki.PKI) *tls.Config {
	return &tls.Config{RootCAs: p.Pool(), ServerName: "localhost"}
}

// goPeer runs fn on a crypto/tls connection in a goroutine; wait returns
// fn's error (bounded by testTimeout).
type goPeer struct {
	t    testing.TB
	done chan error
}

func startGoPeer(t testing.TB, tc *tls.Conn, fn func(*tls.Conn) error) *goPeer {
	p := &goPeer{t: t, done: make(chan error, 1)}
	tc.SetDeadline(time.Now().Add(testTimeout))
	go func() {
		defer tc.Close()
		p.done <- fn(tc)
	}()
	return p
}

func (p *goPeer) wait() error {
	p.t.Helper()
	select {
	case err := <-p.done:
		return err
	case <-time.After(testTimeout + 5*time.Second):
		p.t.Fatal("crypto/tls peer did not finish")
		return nil
	}
}

// echo copies everything back until EOF, then closes (close_notify; the
// peer may have closed the transport already, which is fine).
func echo(tc *tls.Conn) error {
	if _, err := io.Copy(tc, tc); err != nil {
		return err
	}
	tc.Close()
	return nil
}

// ---- TCP ----

// tcpPair returns two ends of a real TCP connection over 127.0.0.1.
func tcpPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	client, err = net.DialTimeout("tcp", ln.Addr().String(), testTimeout)
	require.NoError(t, err)
	r := <-ch
	require.NoError(t, r.err)
	t.Cleanup(func() { client.Close(); r.c.Close() })
	return client, r.c
}

// ---- openssl(1) ----

// syncBuffer collects a process's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type opensslProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *syncBuffer // stdout and stderr
	exited chan struct{}
}

func opensslPath(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl(1) not installed")
	}
	return path
}

// startOpenSSL runs `openssl args...`; the process is killed at test end.
func startOpenSSL(t testing.TB, args ...string) *opensslProc {
	t.Helper()
	cmd := exec.Command(opensslPath(t), args...)
	p := &opensslProc{cmd: cmd, out: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	p.stdin = stdin
	require.NoError(t, cmd.Start())
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stdin.Close()
		cmd.Process.Kill()
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
		}
		if t.Failed() {
			t.Logf("openssl %s output:\n%s", strings.Join(args, " "), p.out.String())
		}
	})
	return p
}

// waitOutput waits until the output contains s.
func (p *opensslProc) waitOutput(t testing.TB, s string) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !strings.Contains(p.out.String(), s) {
		select {
		case <-p.exited:
			require.Containsf(t, p.out.String(), s, "openssl exited")
			return
		case <-time.After(10 * time.Millisecond):
		}
		require.Truef(t, time.Now().Before(deadline), "openssl never printed %q; output:\n%s", s, p.out.String())
	}
}

// waitExit waits for the process to end.
func (p *opensslProc) waitExit(t testing.TB) {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(testTimeout):
		t.Fatalf("openssl did not exit; output:\n%s", p.out.String())
	}
}

// pkiFiles writes the PKI's PEMs into a temporary directory.
type pkiPaths struct{ ca, serverCert, serverKey, clientCert, clientKey string }

func pkiFiles(t testing.TB, p *testpki.PKI) pkiPaths {
	t.Helper()
	dir := t.TempDir()
	w := func(name string, b []byte) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, b, 0o600))
		return path
	}
	return pkiPaths{
		ca:         w("ca.pem", p.CAPEM),
		serverCert: w("server.pem", p.Server.CertPEM),
		serverKey:  w("server.key", p.Server.KeyPEM),
		clientCert: w("client.pem", p.Client.CertPEM),
		clientKey:  w("client.key", p.Client.KeyPEM),
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	return port
}

// pattern is deterministic test data: n bytes derived from seed.
func pattern(seed uint64, n int) []byte {
	b := make([]byte, n)
	x := seed*0x9e3779b97f4a7c15 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}

// goEchoRoundTrip writes msg on tc, then closes its write side, while
// reading everything that comes back; the echo must be msg, ended by the
// engine's close_notify.
func goEchoRoundTrip(t *testing.T, tc *tls.Conn, msg []byte) {
	t.Helper()
	werr := make(chan error, 1)
	go func() {
		_, err := tc.Write(msg)
		if err == nil {
			err = tc.CloseWrite()
		}
		werr <- err
	}()
	got, err := io.ReadAll(tc)
	require.NoError(t, err, "the engine's close_notify is a clean EOF for crypto/tls")
	require.True(t, bytes.Equal(msg, got), "echo differs (%d of %d bytes)", len(got), len(msg))
	require.NoError(t, <-werr)
}
