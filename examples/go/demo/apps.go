package main

import (
	"crypto/sha256"
	"hash"
)

// app is the plaintext protocol on top of an engine.
type app interface {
	outgoing() []byte  // plaintext to send now (nil: nothing)
	wrote(n int)       // n bytes of outgoing() were accepted
	received(p []byte) // plaintext arrived
	wantsClose() bool  // the app is done sending: send close_notify
}

// sender streams a deterministic pattern and hashes what comes back.
type sender struct {
	total, sent, got   int
	next               []byte
	hashSent, hashRecv hash.Hash
}

func newSender(total int) *sender {
	return &sender{total: total, hashSent: sha256.New(), hashRecv: sha256.New()}
}

func (s *sender) outgoing() []byte {
	if s.next == nil && s.sent < s.total {
		s.next = make([]byte, min(16<<10, s.total-s.sent))
		for i := range s.next {
			s.next[i] = byte((s.sent + i) * 131 >> 3)
		}
	}
	return s.next
}

func (s *sender) wrote(n int) {
	s.hashSent.Write(s.next[:n])
	s.sent += n
	if s.next = s.next[n:]; len(s.next) == 0 {
		s.next = nil
	}
}

func (s *sender) received(p []byte) { s.hashRecv.Write(p); s.got += len(p) }
func (s *sender) wantsClose() bool  { return s.got >= s.total }

func (s *sender) verified() bool {
	return s.got == s.total && string(s.hashSent.Sum(nil)) == string(s.hashRecv.Sum(nil))
}

// echo sends back what it receives and closes when the peer closed.
type echo struct{ pending []byte }

func (e *echo) outgoing() []byte  { return e.pending }
func (e *echo) wrote(n int)       { e.pending = e.pending[n:] }
func (e *echo) received(p []byte) { e.pending = append(e.pending, p...) }
func (e *echo) wantsClose() bool  { return false } // answers the client's close_notify
