package main

import (
	"errors"
	"io"
	"syscall"

	"github.com/sslbio/sslbio/sslbio"
)

// peer is one socket and the engine that speaks TLS over it.
type peer struct {
	name string
	fd   int
	eng  *sslbio.Engine
	app  app

	socketEOF, sentClose, finished bool
	state                          sslbio.ConnectionState
	plainIn, plainOut              int
	cipherIn, cipherOut            int
	closeReason                    string
}

// pump does all the work that is possible now, in the order an ET loop
// needs: socket → engine, engine → application, application → engine,
// engine → socket, repeated until nothing moves.
func (p *peer) pump() error {
	for !p.finished {
		in, err := p.fromSocket()
		if err != nil {
			return err
		}
		moved, err := p.process()
		if err != nil {
			return err
		}
		out, err := p.toSocket()
		if err != nil {
			return err
		}
		if in+out == 0 && !moved {
			return nil // socket drained, nothing pending: wait for the next edge
		}
	}
	return nil
}

// fromSocket reads straight into the engine's buffer until EAGAIN, EOF or
// the engine is full (then process() makes room and the loop comes back).
func (p *peer) fromSocket() (int, error) {
	total := 0
	for !p.socketEOF {
		buf, err := p.eng.FeedBuffer()
		if err != nil || len(buf) == 0 {
			return total, err
		}
		n, err := syscall.Read(p.fd, buf)
		if err == syscall.EAGAIN {
			return total, nil
		}
		if err != nil {
			return total, err
		}
		if n == 0 {
			p.socketEOF = true
			return total, p.eng.FeedEOF()
		}
		if err := p.eng.FeedCommit(n); err != nil {
			return total, err
		}
		total += n
		p.cipherIn += n
	}
	return total, nil
}

// toSocket sends pending ciphertext straight from the engine's buffer.
func (p *peer) toSocket() (int, error) {
	total := 0
	for {
		buf, err := p.eng.DrainBuffer()
		if err != nil || len(buf) == 0 {
			return total, err
		}
		n, err := syscall.Write(p.fd, buf)
		if err == syscall.EAGAIN {
			return total, nil // EPOLLOUT will fire when there is room
		}
		if err != nil {
			return total, err
		}
		if err := p.eng.DrainCommit(n); err != nil {
			return total, err
		}
		total += n
		p.cipherOut += n
	}
}

// process runs the handshake, then reads until ErrWantRead (data may have
// come in the handshake's last flight) and writes what the app has.
func (p *peer) process() (bool, error) {
	moved := false
	if err := p.eng.Handshake(); err != nil {
		if errors.Is(err, sslbio.ErrWantRead) || errors.Is(err, sslbio.ErrWantWrite) {
			return false, nil
		}
		return false, err
	}
	if !p.state.HandshakeComplete {
		p.state = p.eng.ConnectionState()
	}
	buf := make([]byte, 16<<10)
	for {
		n, err := p.eng.Read(buf)
		if n > 0 {
			p.app.received(buf[:n])
			p.plainIn += n
			moved = true
			continue
		}
		if errors.Is(err, sslbio.ErrWantRead) {
			break
		}
		if err == io.EOF {
			return true, p.closed("peer sent close_notify (clean)")
		}
		if errors.Is(err, sslbio.ErrTruncated) {
			p.finished = true
			p.closeReason = "TRUNCATED: transport EOF without close_notify"
			return true, nil
		}
		return moved, err
	}
	for out := p.app.outgoing(); len(out) > 0 && !p.sentClose; out = p.app.outgoing() {
		n, err := p.eng.Write(out)
		if n > 0 {
			p.app.wrote(n)
			p.plainOut += n
			moved = true
		}
		if errors.Is(err, sslbio.ErrWantWrite) {
			break // toSocket makes room
		}
		if err != nil {
			return moved, err
		}
	}
	if p.app.wantsClose() && !p.sentClose {
		p.sentClose = true
		if err := p.eng.Shutdown(); err != nil && !errors.Is(err, sslbio.ErrWantRead) {
			return true, err
		}
		moved = true
	}
	return moved, nil
}

// closed answers the peer's close_notify with ours and finishes.
func (p *peer) closed(reason string) error {
	if !p.sentClose {
		p.sentClose = true
		if err := p.eng.Shutdown(); err != nil && !errors.Is(err, sslbio.ErrWantRead) {
			return err
		}
	}
	if _, err := p.toSocket(); err != nil {
		return err
	}
	p.closeReason = reason
	p.finished = true
	return syscall.Close(p.fd)
}
