package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/sslbio/sslbio/sslbio"
)

// sslbioSubject drives two sslbio Engines through the Go API: after each
// call, the pending ciphertext is drained from one engine and fed to the
// other (Drain into a 64 KiB buffer, then Feed: two cgo calls per move;
// -move zerocopy drains into the peer's FeedBuffer instead). The bulk and
// ping-pong loops use the batched calls (WriteDrain, FeedRead; see pass and
// passDirect).
type sslbioSubject struct{}

type sslbioEnv struct {
	client, server *sslbio.Context
}

func (sslbioSubject) newEnv(certs string, defaultSuite bool) (env, error) {
	suites := "TLS_AES_128_GCM_SHA256"
	if defaultSuite {
		suites = ""
	}
	ca, err := os.ReadFile(filepath.Join(certs, "ca.pem"))
	if err != nil {
		return nil, err
	}
	cctx, err := sslbio.NewContext(&sslbio.Config{Role: sslbio.RoleClient, CAPEM: ca, CipherSuites: suites})
	if err != nil {
		return nil, err
	}
	sctx, err := sslbio.NewContext(&sslbio.Config{
		Role:         sslbio.RoleServer,
		CertFile:     filepath.Join(certs, "server.pem"),
		KeyFile:      filepath.Join(certs, "server.key"),
		CipherSuites: suites,
	})
	if err != nil {
		return nil, err
	}
	return &sslbioEnv{client: cctx, server: sctx}, nil
}

func (e *sslbioEnv) note() string { return "" }

func (e *sslbioEnv) close() {
	e.client.Close()
	e.server.Close()
}

type sslbioPair struct {
	c, s *sslbio.Engine
	buf  []byte // ciphertext in transit: own buffer once reserved, else pooled
}

// transit lends buffers to pairs outside the hot loops, so the memory
// measure counts the engines, not the benchmark's buffers.
var transit = sync.Pool{New: func() any { b := make([]byte, 64*1024); return &b }}

// reserveTransit gives the pair its own buffer for a timed loop.
func (p *sslbioPair) reserveTransit() { p.buf = make([]byte, 64*1024) }

func (e *sslbioEnv) engines() (*sslbioPair, error) {
	c, err := e.client.NewEngine("localhost")
	if err != nil {
		return nil, err
	}
	s, err := e.server.NewEngine("")
	if err != nil {
		c.Close()
		return nil, err
	}
	return &sslbioPair{c: c, s: s}, nil
}

// zeroCopy makes move drain straight into the peer's FeedBuffer (-move).
var zeroCopy bool

// move drains everything pending in from and feeds it to to.
func (p *sslbioPair) move(from, to *sslbio.Engine) error {
	if zeroCopy {
		return moveZeroCopy(from, to)
	}
	buf := p.buf
	if buf == nil {
		bp := transit.Get().(*[]byte)
		defer transit.Put(bp)
		buf = *bp
	}
	for {
		n, err := from.Drain(buf)
		if err != nil || n == 0 {
			return err
		}
		if err := feedAll(to, buf[:n]); err != nil {
			return err
		}
		if n < len(buf) {
			return nil // Drain takes all that is pending when it fits
		}
	}
}

// feedAll feeds all of ct to to.
func feedAll(to *sslbio.Engine, ct []byte) error {
	for off := 0; off < len(ct); {
		m, err := to.Feed(ct[off:])
		if err != nil {
			return err
		}
		if m == 0 {
			return errors.New("peer engine full")
		}
		off += m
	}
	return nil
}

// pass writes msg on from and reads len(rbuf) bytes of it on to with the
// batched calls: WriteDrain then FeedRead, two cgo calls when the message
// fits one record (four for Write, Drain, Feed, Read). Anything the two
// calls leave is finished the long way.
func (p *sslbioPair) pass(from, to *sslbio.Engine, msg, rbuf []byte) error {
	if zeroCopy {
		if err := p.send(from, to, msg); err != nil {
			return err
		}
		return recvFull(to, rbuf)
	}
	buf := p.buf
	n, d, err := from.WriteDrain(msg, buf)
	if err != nil && !isWant(err) {
		return err
	}
	fed, got, err := to.FeedRead(buf[:d], rbuf)
	if err != nil && !errors.Is(err, sslbio.ErrWantRead) {
		return err
	}
	if n == len(msg) && fed == d && got == len(rbuf) && d < len(buf) {
		return nil
	}
	if err := feedAll(to, buf[fed:d]); err != nil {
		return err
	}
	return p.finish(from, to, msg[n:], rbuf[got:])
}

// passDirect is pass with the ciphertext drained straight into to's feed
// buffer: FeedBuffer, WriteDrain, FeedCommit, Read. Four cgo calls, but one
// copy of the ciphertext instead of two, which is what a 16 KiB record
// costs: the bulk loop's way.
func (p *sslbioPair) passDirect(from, to *sslbio.Engine, msg, rbuf []byte) error {
	dst, err := to.FeedBuffer()
	if err != nil {
		return err
	}
	n, d, err := from.WriteDrain(msg, dst)
	if err != nil && !isWant(err) {
		return err
	}
	if err := to.FeedCommit(d); err != nil {
		return err
	}
	got, err := to.Read(rbuf)
	if err != nil && !errors.Is(err, sslbio.ErrWantRead) {
		return err
	}
	if n == len(msg) && d < len(dst) && got == len(rbuf) {
		return nil
	}
	return p.finish(from, to, msg[n:], rbuf[got:])
}

// finish completes what pass or passDirect left: the ciphertext still
// pending on from, the rest of the message, the rest of the read.
func (p *sslbioPair) finish(from, to *sslbio.Engine, msgRest, rbufRest []byte) error {
	if err := p.move(from, to); err != nil {
		return err
	}
	if err := p.send(from, to, msgRest); err != nil {
		return err
	}
	return recvFull(to, rbufRest)
}

// moveZeroCopy drains from straight into to's feed buffer: one copy, three
// cgo calls per region (Drain + Feed is two copies, two calls).
func moveZeroCopy(from, to *sslbio.Engine) error {
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

func isWant(err error) bool {
	return errors.Is(err, sslbio.ErrWantRead) || errors.Is(err, sslbio.ErrWantWrite)
}

func (p *sslbioPair) handshake() error {
	for i := 0; i < maxRounds; i++ {
		ce := p.c.Handshake()
		if ce != nil && !isWant(ce) {
			return fmt.Errorf("client handshake: %w", ce)
		}
		if err := p.move(p.c, p.s); err != nil {
			return err
		}
		se := p.s.Handshake()
		if se != nil && !isWant(se) {
			return fmt.Errorf("server handshake: %w", se)
		}
		if err := p.move(p.s, p.c); err != nil {
			return err
		}
		if ce == nil && se == nil {
			return nil
		}
	}
	return errors.New("handshake did not finish")
}

func (p *sslbioPair) send(from, to *sslbio.Engine, msg []byte) error {
	for off := 0; off < len(msg); {
		n, err := from.Write(msg[off:])
		if err != nil && !isWant(err) {
			return err
		}
		off += n
		if err := p.move(from, to); err != nil {
			return err
		}
	}
	return nil
}

func recvFull(e *sslbio.Engine, buf []byte) error {
	for off := 0; off < len(buf); {
		n, err := e.Read(buf[off:])
		if err != nil {
			return fmt.Errorf("read after %d of %d bytes: %w", off, len(buf), err)
		}
		off += n
	}
	return nil
}

func (p *sslbioPair) settle() error {
	b := []byte{'x'}
	if err := p.send(p.c, p.s, b); err != nil {
		return err
	}
	if err := recvFull(p.s, b); err != nil {
		return err
	}
	if err := p.send(p.s, p.c, b); err != nil {
		return err
	}
	if err := recvFull(p.c, b); err != nil {
		return err
	}
	// Read until it would block, as an event loop does: both sides idle.
	for _, e := range []*sslbio.Engine{p.s, p.c} {
		if _, err := e.Read(b); !errors.Is(err, sslbio.ErrWantRead) {
			return fmt.Errorf("idle read: %v", err)
		}
	}
	return nil
}

func (e *sslbioEnv) newPair() (*sslbioPair, error) {
	p, err := e.engines()
	if err != nil {
		return nil, err
	}
	if err := p.handshake(); err != nil {
		p.close()
		return nil, err
	}
	if err := p.settle(); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func (e *sslbioEnv) pair() (pair, error) { return e.newPair() }

func (p *sslbioPair) bulk(msg, rbuf []byte) error { return p.passDirect(p.c, p.s, msg, rbuf) }

func (p *sslbioPair) ping(msg, rbuf []byte) error {
	if err := p.pass(p.c, p.s, msg, rbuf); err != nil {
		return err
	}
	return p.pass(p.s, p.c, msg, rbuf) // the echo: rbuf holds msg now
}

func (p *sslbioPair) close() {
	p.c.Close()
	p.s.Close()
}

func (e *sslbioEnv) handshake() error {
	p, err := e.engines()
	if err != nil {
		return err
	}
	defer p.close()
	return p.handshake()
}

// reusedPair: Engine.Reset on both engines, then a full handshake.
func (e *sslbioEnv) reusedPair() (func() error, func(), error) {
	p, err := e.engines()
	if err != nil {
		return nil, nil, err
	}
	hs := func() error {
		if err := p.c.Reset("localhost"); err != nil {
			return err
		}
		if err := p.s.Reset(""); err != nil {
			return err
		}
		return p.handshake()
	}
	return hs, p.close, nil
}

func (e *sslbioEnv) suite() (string, error) {
	p, err := e.newPair()
	if err != nil {
		return "", err
	}
	defer p.close()
	return p.c.ConnectionState().CipherName, nil
}

type sslbioResumer struct {
	e     *sslbioEnv
	prev  *sslbioPair
	sess  []byte
	rbuf  []byte
	steps int
}

func (e *sslbioEnv) resumer() (resumer, error) {
	p, err := e.newPair()
	if err != nil {
		return nil, err
	}
	sess, err := p.c.Session()
	if err != nil || sess == nil {
		p.close()
		return nil, fmt.Errorf("no session after the first handshake: %v", err)
	}
	return &sslbioResumer{e: e, prev: p, sess: sess, rbuf: make([]byte, 16)}, nil
}

func (r *sslbioResumer) step() error {
	p, err := r.e.engines()
	if err != nil {
		return err
	}
	if err := p.c.SetSession(r.sess); err != nil {
		p.close()
		return err
	}
	if err := p.handshake(); err != nil {
		p.close()
		return err
	}
	// ConnectionState parses the peer's certificates: check now and then.
	if r.steps++; r.steps%64 == 1 && !p.c.ConnectionState().DidResume {
		p.close()
		return errors.New("handshake did not resume")
	}
	if _, err := p.c.Read(r.rbuf); !errors.Is(err, sslbio.ErrWantRead) {
		p.close()
		return fmt.Errorf("reading the new ticket: %v", err)
	}
	sess, err := p.c.Session()
	if err != nil || sess == nil {
		p.close()
		return fmt.Errorf("no session after a resumed handshake: %v", err)
	}
	r.sess = sess
	p.s.Close()
	r.prev.close()
	r.prev = p
	return nil
}

func (r *sslbioResumer) close() { r.prev.close() }
