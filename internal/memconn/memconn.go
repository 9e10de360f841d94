// Package memconn is an in-memory, buffered, full-duplex net.Conn pair for
// tests and benchmarks. Unlike net.Pipe, a Write returns as soon as the bytes
// are buffered (like a socket with a large send buffer), so both sides can
// write at once without deadlock, and crypto/tls over it compares fairly
// with engines that move ciphertext through memory.
package memconn

import (
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// Pipe returns the two ends of a connection.
func Pipe() (net.Conn, net.Conn) {
	ab, ba := newQueue(), newQueue()
	return &end{in: ba, out: ab, name: "a"}, &end{in: ab, out: ba, name: "b"}
}

// bufPool recycles emptied queue buffers: a busy connection reuses one
// buffer, an idle one holds none.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, poolBufSize); return &b }}

const poolBufSize = 32 * 1024

// queue is one direction: bytes written by one end, read by the other.
type queue struct {
	mu       sync.Mutex
	cond     *sync.Cond
	bp       *[]byte // pooled buffer, nil while empty
	buf      []byte  // unread bytes are buf[off:]
	off      int
	closed   bool // writer closed: EOF after the buffer empties
	rclosed  bool // reader closed: writes fail
	deadline time.Time
}

func newQueue() *queue {
	q := &queue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

type end struct {
	in, out *queue
	name    string
}

type addr string

func (a addr) Network() string { return "mem" }
func (a addr) String() string  { return string(a) }

func (e *end) Read(p []byte) (int, error) {
	q := e.in
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.buf) == q.off {
		if q.rclosed {
			return 0, net.ErrClosed
		}
		if q.closed {
			return 0, io.EOF
		}
		if !q.deadline.IsZero() && !time.Now().Before(q.deadline) {
			return 0, os.ErrDeadlineExceeded
		}
		if !q.deadline.IsZero() {
			wake := time.AfterFunc(time.Until(q.deadline), func() {
				q.mu.Lock()
				q.cond.Broadcast()
				q.mu.Unlock()
			})
			q.cond.Wait()
			wake.Stop()
			continue
		}
		q.cond.Wait()
	}
	n := copy(p, q.buf[q.off:])
	q.off += n
	if q.off == len(q.buf) {
		if cap(q.buf) <= 2*poolBufSize {
			*q.bp = q.buf[:0]
			bufPool.Put(q.bp)
		}
		q.bp, q.buf, q.off = nil, nil, 0
	}
	return n, nil
}

func (e *end) Write(p []byte) (int, error) {
	q := e.out
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.rclosed {
		return 0, net.ErrClosed
	}
	if q.bp == nil {
		q.bp = bufPool.Get().(*[]byte)
		q.buf = (*q.bp)[:0]
	} else if q.off > 0 && q.off >= len(q.buf)/2 { // a lagging reader: compact
		q.buf = q.buf[:copy(q.buf, q.buf[q.off:])]
		q.off = 0
	}
	q.buf = append(q.buf, p...)
	q.cond.Broadcast()
	return len(p), nil
}

// CloseWrite sends EOF to the other end; reading still works.
func (e *end) CloseWrite() error {
	q := e.out
	q.mu.Lock()
	q.closed = true
	q.cond.Broadcast()
	q.mu.Unlock()
	return nil
}

func (e *end) Close() error {
	e.CloseWrite()
	q := e.in
	q.mu.Lock()
	q.rclosed = true
	q.cond.Broadcast()
	q.mu.Unlock()
	return nil
}

func (e *end) LocalAddr() net.Addr  { return addr(e.name) }
func (e *end) RemoteAddr() net.Addr { return addr("peer-of-" + e.name) }

func (e *end) SetDeadline(t time.Time) error {
	e.SetReadDeadline(t)
	return e.SetWriteDeadline(t)
}

func (e *end) SetReadDeadline(t time.Time) error {
	q := e.in
	q.mu.Lock()
	q.deadline = t
	q.cond.Broadcast()
	q.mu.Unlock()
	return nil
}

// SetWriteDeadline is accepted and ignored: writes never block.
func (e *end) SetWriteDeadline(t time.Time) error { return nil }
