package sslbio

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	sslerr "github.com/sslbio/sslbio/error"
)

// Conn is a TLS connection over a net.Conn, driven by an Engine: a net.Conn
// itself, like *tls.Conn. Read and Write may be called from two goroutines
// at once; the handshake runs on first use or by Handshake.
type Conn struct {
	conn net.Conn

	engMu sync.Mutex // guards eng: the engine is single-threaded
	eng   *Engine

	hsMu   sync.Mutex // serializes the handshake; guards hsErr
	hsDone atomic.Bool
	hsErr  error

	readMu sync.Mutex // one reader of plaintext at a time (Read, Session's wait); guards plain
	plain  []byte     // plaintext Session read while waiting for a ticket: Read returns it first

	inMu   sync.Mutex // one goroutine reads the socket at a time; guards in*
	inBuf  []byte
	inLeft []byte // ciphertext read from the socket, not yet accepted by Feed

	outMu   sync.Mutex // drain and send in order; guards out*
	outBuf  []byte
	outLeft []byte // ciphertext drained but not yet written to the socket

	closed atomic.Bool
}

// cipherBufSize holds one full TLS record and then some.
const cipherBufSize = 18 * 1024

// Client returns a TLS client over conn; serverName is sent as SNI and
// verified against the server's certificate. The handshake runs on first
// use; call Handshake to run it now.
func Client(conn net.Conn, ctx *Context, serverName string) (*Conn, error) {
	if ctx == nil || ctx.Role() != RoleClient {
		return nil, sslerr.Invalid("client", "needs a Context with RoleClient")
	}
	return newConn(conn, ctx, serverName, nil)
}

// Server returns a TLS server over conn.
func Server(conn net.Conn, ctx *Context) (*Conn, error) {
	if ctx == nil || ctx.Role() != RoleServer {
		return nil, sslerr.Invalid("server", "needs a Context with RoleServer")
	}
	return newConn(conn, ctx, "", nil)
}

func newConn(conn net.Conn, ctx *Context, serverName string, buffered []byte) (*Conn, error) {
	if conn == nil {
		return nil, sslerr.Invalid("new conn", "nil net.Conn")
	}
	eng, err := ctx.NewEngine(serverName)
	if err != nil {
		return nil, err
	}
	c := &Conn{conn: conn, eng: eng}
	if len(buffered) > 0 {
		c.inLeft = append([]byte(nil), buffered...)
	}
	return c, nil
}

// Handshake runs the TLS handshake if it has not run yet.
func (c *Conn) Handshake() error {
	return c.HandshakeContext(context.Background())
}

// HandshakeContext runs the handshake; if ctx ends first, the connection is
// closed (as crypto/tls does) and ctx's error is returned.
func (c *Conn) HandshakeContext(ctx context.Context) error {
	if c.hsDone.Load() {
		return nil
	}
	if ctx.Done() != nil {
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			select {
			case <-ctx.Done():
				c.conn.Close()
			case <-stop:
			}
		}()
	}
	err := c.handshake()
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (c *Conn) handshake() error {
	c.hsMu.Lock()
	defer c.hsMu.Unlock()
	if c.hsDone.Load() || c.hsErr != nil {
		return c.hsErr
	}
	err := c.pump(func(e *Engine) (int, error) { return 0, e.Handshake() }, false)
	if err != nil {
		c.hsErr = err
		return err
	}
	c.hsDone.Store(true)
	return nil
}

// pump runs op until it succeeds or fails for good: draining after every
// call, reading the socket when the engine wants ciphertext. When op
// succeeded but sending failed, the send error is returned only if sending
// is what the caller asked for (Write); for the handshake and Read the
// ciphertext stays queued and the next Write reports the error, so a peer
// that sent its data and left at once (before our TLS 1.3 session ticket
// could reach it) is still read to the end.
func (c *Conn) pump(op func(*Engine) (int, error), mustSend bool) error {
	for {
		c.engMu.Lock()
		_, err := op(c.eng)
		c.engMu.Unlock()
		ferr := c.flush()
		if ferr != nil && err == nil && mustSend {
			return ferr
		}
		switch {
		case err == nil:
			return nil
		case errors.Is(err, sslerr.ErrWantWrite):
			if ferr != nil {
				return ferr // the engine's output cannot drain: retrying would spin
			}
			continue // flush drained it
		case errors.Is(err, sslerr.ErrWantRead):
			if ferr != nil && !c.hsDone.Load() {
				// Our handshake flight did not go out: the peer will never
				// answer it, so waiting to read would hang (until a deadline,
				// if there is one). Report the send error now.
				return ferr
			}
			if ferr := c.fill(); ferr != nil {
				return ferr
			}
		default:
			return err
		}
	}
}

// flush drains the engine and writes the ciphertext to the socket in
// order. Unwritten bytes (a write deadline, say) stay for the next flush.
func (c *Conn) flush() error {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	for {
		if len(c.outLeft) > 0 {
			n, err := c.conn.Write(c.outLeft)
			c.outLeft = c.outLeft[n:]
			if err != nil {
				return err
			}
			continue
		}
		if c.outBuf == nil {
			c.outBuf = make([]byte, cipherBufSize)
		}
		c.engMu.Lock()
		n, err := c.eng.Drain(c.outBuf)
		c.engMu.Unlock()
		if err != nil || n == 0 {
			return err
		}
		c.outLeft = c.outBuf[:n]
	}
}

// fill reads ciphertext from the socket (unless some is waiting) and feeds
// what the engine accepts; the rest waits for the next fill.
func (c *Conn) fill() error {
	c.inMu.Lock()
	defer c.inMu.Unlock()
	if len(c.inLeft) == 0 {
		if c.inBuf == nil {
			c.inBuf = make([]byte, cipherBufSize)
		}
		n, err := c.conn.Read(c.inBuf)
		c.inLeft = c.inBuf[:n]
		if n == 0 {
			if err == io.EOF {
				c.engMu.Lock()
				ferr := c.eng.FeedEOF()
				c.engMu.Unlock()
				return ferr // the engine now reports the close or truncation
			}
			if err == nil {
				return nil
			}
			return err
		}
	}
	c.engMu.Lock()
	n, err := c.eng.Feed(c.inLeft)
	c.engMu.Unlock()
	c.inLeft = c.inLeft[n:]
	return err
}

// Read reads plaintext; io.EOF after the peer's close_notify, an error
// matching ErrTruncated if the connection ended without one.
func (c *Conn) Read(p []byte) (int, error) {
	if err := c.Handshake(); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	c.readMu.Lock()
	defer c.readMu.Unlock()
	if len(c.plain) > 0 {
		n := copy(p, c.plain)
		c.plain = c.plain[n:]
		if len(c.plain) == 0 {
			c.plain = nil
		}
		return n, nil
	}
	var n int
	err := c.pump(func(e *Engine) (int, error) {
		var err error
		n, err = e.Read(p)
		return n, err
	}, false)
	return n, err
}

// Write writes all of p, or returns how much was written and why not.
func (c *Conn) Write(p []byte) (int, error) {
	if err := c.Handshake(); err != nil {
		return 0, err
	}
	done := 0
	for done < len(p) {
		var n int
		err := c.pump(func(e *Engine) (int, error) {
			var err error
			n, err = e.Write(p[done:])
			return n, err
		}, true)
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// CloseWrite sends close_notify; the connection can still be read
// (TLS 1.3 half-close).
func (c *Conn) CloseWrite() error {
	if !c.hsDone.Load() {
		return sslerr.Invalid("close write", "CloseWrite before the handshake completed")
	}
	c.engMu.Lock()
	err := c.eng.Shutdown()
	c.engMu.Unlock()
	if ferr := c.flush(); ferr != nil {
		return ferr
	}
	if err != nil && !errors.Is(err, sslerr.ErrWantRead) {
		return err
	}
	return nil
}

// Close sends close_notify (if the handshake completed, waiting at most five
// seconds) and closes the connection. A second Close returns net.ErrClosed.
func (c *Conn) Close() error {
	if c.closed.Swap(true) {
		return net.ErrClosed
	}
	var alertErr error
	if c.hsDone.Load() {
		c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		alertErr = c.CloseWrite()
	}
	err := c.conn.Close()
	c.engMu.Lock()
	c.eng.Close()
	c.engMu.Unlock()
	if err == nil && alertErr != nil && !errors.Is(alertErr, sslerr.ErrClosed) {
		err = alertErr
	}
	return err
}

// ConnectionState reports the negotiated parameters, as
// Engine.ConnectionState (zero before the handshake completes).
func (c *Conn) ConnectionState() ConnectionState {
	c.engMu.Lock()
	defer c.engMu.Unlock()
	cs := c.eng.ConnectionState()
	cs.guardExporter(&c.engMu)
	return cs
}

// PeerChain is the DER of every certificate the peer sent, leaf first (nil
// if none), as Engine.PeerChain.
func (c *Conn) PeerChain() [][]byte {
	c.engMu.Lock()
	defer c.engMu.Unlock()
	return c.eng.PeerChain()
}

// KeyUpdate sends a TLS 1.3 KeyUpdate, asking the peer to update its keys
// too when updatePeer is set; it runs the handshake first if needed. The
// peer's answer is read by Read, like any record. Over TLS 1.2 it fails
// with an error matching ErrInvalid.
func (c *Conn) KeyUpdate(updatePeer bool) error {
	if err := c.Handshake(); err != nil {
		return err
	}
	return c.pump(func(e *Engine) (int, error) { return 0, e.KeyUpdate(updatePeer) }, true)
}

// SetSession resumes a session from Session (of this Conn's process or
// another: it is plain DER) on a client, before the handshake. A session
// issued for another server name, a server Conn and a handshake that
// already started are refused.
func (c *Conn) SetSession(der []byte) error {
	c.engMu.Lock()
	defer c.engMu.Unlock()
	return c.eng.SetSession(der)
}

// Session returns the DER of the connection's session for SetSession on a
// later client, or nil while none is resumable; it runs the handshake
// first if needed.
//
// A TLS 1.3 server sends its session ticket after the handshake, so a
// TLS 1.3 client whose session is not resumable yet reads the connection
// until the ticket arrived. Application data that comes first is kept for
// Read, and ends the wait (nil: call Session again after reading it); so
// do the peer's close (nil) and a failure or the read deadline (the
// error): set a read deadline when the server may issue no ticket at all.
// Session waits for a Read in progress to return.
func (c *Conn) Session() ([]byte, error) {
	if err := c.Handshake(); err != nil {
		return nil, err
	}
	c.engMu.Lock()
	sess, err := c.eng.Session()
	wait := sess == nil && err == nil && c.eng.awaitsTicket()
	c.engMu.Unlock()
	if !wait {
		return sess, err
	}
	c.readMu.Lock()
	defer c.readMu.Unlock()
	if len(c.plain) == 0 {
		err = c.awaitTicket(&sess)
	}
	if err == nil && sess == nil { // data came first (the ticket may have come before it)
		c.engMu.Lock()
		sess, err = c.eng.Session()
		c.engMu.Unlock()
	}
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	return sess, err
}

// awaitTicket reads records until the session is resumable (*sess set) or
// plaintext arrived (kept in c.plain); call with readMu held.
func (c *Conn) awaitTicket(sess *[]byte) error {
	buf := make([]byte, 16*1024)
	return c.pump(func(e *Engine) (int, error) {
		n, rerr := e.Read(buf)
		if n > 0 {
			c.plain = append(c.plain, buf[:n]...)
			return n, nil
		}
		if errors.Is(rerr, sslerr.ErrWantRead) { // the ticket may have come in this read
			if s, serr := e.Session(); s != nil || serr != nil {
				*sess = s
				return 0, serr
			}
		}
		return 0, rerr
	}, false)
}

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.conn }

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// RemoteAddr returns the remote network address.
func (c *Conn) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// SetDeadline sets the read and write deadlines of the underlying conn.
// Ciphertext not yet written when a write deadline passes is kept and sent
// by the next call.
func (c *Conn) SetDeadline(t time.Time) error { return c.conn.SetDeadline(t) }

// SetReadDeadline sets the read deadline of the underlying conn.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline of the underlying conn.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }
