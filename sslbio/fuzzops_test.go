package sslbio

// Operation-sequence fuzzing of the Go face, the same idea as the C target
// (fuzz/c/fuzz_ops.h): an input is a list of operations on an established
// pair (TLS 1.3 or TLS 1.2, by the first byte) — feed k bytes (whole,
// split, a byte flipped), drain into an n-byte buffer, Write/Read with odd
// sizes, WriteDrain/FeedRead, KeyUpdate, Shutdown from either side,
// FeedEOF, Wants, the zero-copy regions with partial commits — and a model checks that each side reads exactly the
// bytes the other wrote, in order; that an untampered connection never
// fails; that a failed side keeps failing with the same error; that
// PendingOut and Wants agree. FuzzOpsConn does the same for the net.Conn
// adapter over an in-memory pipe. Go cannot fork, so each input pays for a
// handshake: these runs are far slower than the C target's.

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/sslbio/sslbio/internal/memconn"
)

type opsIn struct{ b []byte }

func (in *opsIn) u8() int {
	if len(in.b) == 0 {
		return 0
	}
	v := in.b[0]
	in.b = in.b[1:]
	return int(v)
}
func (in *opsIn) u16() int { return in.u8()<<8 | in.u8() }

// opsPat is byte i of what side `who` writes.
func opsPat(who int, i int) byte { return byte((i*131+who*17)>>1 ^ i>>9) }

type opsSide struct {
	e                 *Engine
	who               int
	written, read     int
	wire              []byte // drained from this side, not yet fed to the peer
	tampered, eof     bool   // this side's incoming stream was altered / FeedEOF
	mayFail, shutdown bool
	failed            error
}

func opsFatal(err error) bool { return err != nil && !isWant(err) && !errors.Is(err, io.EOF) }

func FuzzOps(f *testing.F) {
	ctxs := [][2]*Context{
		{clientContext(f), serverContext(f)},
		{clientContext(f, tls12), serverContext(f, tls12)},
	}
	f.Add([]byte{0, 2, 0, 100, 1, 0, 0x40, 0, 0x83, 0x10, 0, 20, 3, 0, 50})
	f.Add([]byte{1, 5, 6, 20, 0x83, 0, 9, 0x86, 20, 3, 0, 9})
	f.Add([]byte{0, 4, 1, 0x42, 0x20, 0, 0x83, 0, 0x44, 0xa3, 0x10, 0, 0xff, 0xff, 8, 7, 3, 0, 9})
	f.Add([]byte{0, 2, 1, 0, 1, 0x40, 0, 0x80, 0x10, 0x20, 0x5, 0x83, 0, 99, 0x87, 0x83, 0, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		x := ctxs[int(data[0])%len(ctxs)]
		in := &opsIn{data[1:]}
		ce, err := x[0].NewEngine("localhost")
		if err != nil {
			t.Fatal(err)
		}
		defer ce.Close()
		se, err := x[1].NewEngine("")
		if err != nil {
			t.Fatal(err)
		}
		defer se.Close()
		s := [2]*opsSide{{e: ce, who: 0}, {e: se, who: 1}}
		buf := make([]byte, 40000)
		drain := func(me *opsSide, piece int) {
			before := me.e.PendingOut()
			n, err := me.e.Drain(buf[:piece])
			if err != nil {
				t.Fatalf("side %d: drain: %v", me.who, err)
			}
			me.wire = append(me.wire, buf[:n]...)
			if after := me.e.PendingOut(); after != before-n {
				t.Fatalf("side %d: PendingOut %d after draining %d of %d", me.who, after, n, before)
			}
		}
		feed := func(me *opsSide, k int) {
			peer := s[1-me.who]
			if me.eof || k <= 0 || len(peer.wire) == 0 {
				return
			}
			if k > len(peer.wire) {
				k = len(peer.wire)
			}
			n, err := me.e.Feed(peer.wire[:k])
			if err != nil || n > k {
				t.Fatalf("side %d: feed %d of %d: %v", me.who, n, k, err)
			}
			peer.wire = peer.wire[n:]
		}
		// check records a call's error: fatal ones must be allowed and sticky.
		check := func(me *opsSide, op string, err error) {
			if me.failed != nil {
				if err == nil || err.Error() != me.failed.Error() {
					t.Fatalf("side %d: %s on a failed engine: %v (failed with %v)", me.who, op, err, me.failed)
				}
				return
			}
			if errors.Is(err, ErrInvalid) && (op == "write" && me.shutdown || op == "key update" || op == "shutdown") {
				return
			}
			if opsFatal(err) {
				if !me.tampered && !me.eof && !me.mayFail {
					t.Fatalf("side %d: %s failed on an untampered connection: %v", me.who, op, err)
				}
				me.failed = err
				s[1-me.who].mayFail = true
			}
			if errors.Is(err, io.EOF) && !me.tampered && !s[1-me.who].shutdown {
				t.Fatalf("side %d: %s: io.EOF but the peer never shut down", me.who, op)
			}
		}
		got := func(me *opsSide, p []byte) {
			peer := s[1-me.who]
			if me.read+len(p) > peer.written {
				t.Fatalf("side %d read %d bytes past the %d written", me.who, me.read+len(p)-peer.written, peer.written)
			}
			for i, b := range p {
				if b != opsPat(peer.who, me.read+i) {
					t.Fatalf("side %d: plaintext differs at offset %d", me.who, me.read+i)
				}
			}
			me.read += len(p)
		}
		fill := func(me *opsSide, n int) []byte {
			p := make([]byte, n)
			for i := range p {
				p[i] = opsPat(me.who, me.written+i)
			}
			return p
		}
		pump := func(rounds int) {
			for r := 0; r < rounds; r++ {
				for w := 0; w < 2; w++ {
					me := s[w]
					if me.failed == nil {
						n, err := me.e.Read(buf)
						check(me, "read", err)
						got(me, buf[:n])
					}
					drain(me, len(buf))
					feed(s[1-w], 1<<30)
				}
			}
		}
		pump(6)
		for w := 0; w < 2; w++ {
			if err := s[w].e.Handshake(); err != nil {
				t.Fatalf("side %d: no handshake: %v", w, err)
			}
		}
		for ops := 0; len(in.b) > 0 && ops < 64; ops++ {
			op := in.u8()
			me := s[op>>7]
			peer := s[1-me.who]
			fl := op >> 5 & 3
			switch op & 0x1f {
			case 0: // feed: whole, split, a byte flipped
				k := in.u16()
				switch fl {
				case 1:
					at := in.u16() % (k + 1)
					feed(me, at)
					feed(me, k-at)
				case 2:
					at := in.u16()
					if len(peer.wire) > 0 && !me.eof {
						peer.wire[at%len(peer.wire)] ^= 0x20
						me.tampered = true
					}
					feed(me, k)
				default:
					feed(me, k)
				}
			case 1:
				drain(me, in.u16()%20000+1)
			case 2, 3: // Write, or WriteDrain
				p := fill(me, in.u16()%(map[bool]int{true: 36000, false: 2000}[fl&2 != 0])+1)
				var n int
				var err error
				if op&0x1f == 3 {
					out := make([]byte, in.u16()%20000)
					var d int
					n, d, err = me.e.WriteDrain(p, out)
					me.wire = append(me.wire, out[:d]...)
				} else {
					n, err = me.e.Write(p)
				}
				check(me, "write", err)
				me.written += n
			case 4, 5: // Read, or FeedRead
				p := buf[:in.u16()%20000+1]
				var n int
				var err error
				if op&0x1f == 5 && !me.eof {
					k := min(in.u16(), len(peer.wire))
					var fed int
					fed, n, err = me.e.FeedRead(peer.wire[:k], p)
					peer.wire = peer.wire[fed:]
				} else {
					n, err = me.e.Read(p)
				}
				check(me, "read", err)
				got(me, p[:n])
			case 6:
				check(me, "key update", me.e.KeyUpdate(fl&1 != 0))
			case 7:
				err := me.e.Shutdown()
				if err == nil || errors.Is(err, ErrWantRead) {
					me.shutdown = true
				}
				check(me, "shutdown", err)
			case 8:
				if err := me.e.FeedEOF(); err != nil {
					t.Fatal(err)
				}
				me.eof = true
			case 9:
				w := me.e.Wants()
				if (w&WantsWrite != 0) != (me.e.PendingOut() > 0) {
					t.Fatalf("side %d: Wants %d, PendingOut %d", me.who, w, me.e.PendingOut())
				}
			case 11: // zero-copy feed, partial commit
				room, err := me.e.FeedBuffer()
				if me.eof {
					break
				}
				if err != nil {
					t.Fatalf("side %d: FeedBuffer: %v", me.who, err)
				}
				k := min(in.u16(), len(room), len(peer.wire))
				copy(room, peer.wire[:k])
				if err := me.e.FeedCommit(k); err != nil {
					t.Fatalf("side %d: FeedCommit(%d): %v", me.who, k, err)
				}
				peer.wire = peer.wire[k:]
			case 12: // zero-copy drain, partial commit
				region, err := me.e.DrainBuffer()
				if err != nil {
					t.Fatalf("side %d: DrainBuffer: %v", me.who, err)
				}
				k := min(in.u16(), len(region))
				me.wire = append(me.wire, region[:k]...)
				if err := me.e.DrainCommit(k); err != nil {
					t.Fatalf("side %d: DrainCommit(%d): %v", me.who, k, err)
				}
			case 10: // drop what is on this side's wire
				if len(me.wire) > 0 {
					me.wire = me.wire[:0]
					peer.tampered = true
				}
			default:
				pump(1)
			}
		}
		// Pump until a round changes nothing (feeds take 17 KiB, reads a record).
		for r := 0; r < 200; r++ {
			before := [...]int{s[0].read, s[1].read, len(s[0].wire), len(s[1].wire), ce.PendingOut(), se.PendingOut()}
			pump(1)
			if before == [...]int{s[0].read, s[1].read, len(s[0].wire), len(s[1].wire), ce.PendingOut(), se.PendingOut()} {
				break
			}
		}
		for w := 0; w < 2; w++ {
			me, peer := s[w], s[1-w]
			if me.failed != nil || peer.failed != nil || me.tampered || me.eof || me.mayFail {
				continue
			}
			if me.read != peer.written {
				t.Fatalf("honest side %d read %d of the %d bytes written", w, me.read, peer.written)
			}
		}
	})
}

// FuzzOpsConn: the net.Conn adapter over an in-memory pipe: writes of odd
// sizes from either side, reads of what was written, KeyUpdate, CloseWrite.
func FuzzOpsConn(f *testing.F) {
	cx, sx := clientContext(f), serverContext(f)
	cx12, sx12 := clientContext(f, tls12), serverContext(f, tls12)
	f.Add([]byte{0, 0, 1, 0, 0x81, 0, 0x20, 1, 0, 2, 0x82, 0x21, 2})
	f.Add([]byte{1, 0x80, 0x40, 0, 1, 0x41, 0, 3, 0x81, 0x80, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		x := [2]*Context{cx, sx}
		if data[0]&1 == 1 {
			x = [2]*Context{cx12, sx12}
		}
		in := &opsIn{data[1:]}
		a, b := memconn.Pipe()
		cc, err := Client(a, x[0], "localhost")
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		sc, err := Server(b, x[1])
		if err != nil {
			t.Fatal(err)
		}
		defer sc.Close()
		deadline := time.Now().Add(20 * time.Second)
		cc.SetDeadline(deadline)
		sc.SetDeadline(deadline)
		errc := make(chan error, 1)
		go func() { errc <- sc.Handshake() }()
		if err := cc.Handshake(); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		conns := [2]*Conn{cc, sc}
		var written, read [2]int
		var closed [2]bool
		buf := make([]byte, 70000)
		for ops := 0; len(in.b) > 0 && ops < 32; ops++ {
			op := in.u8()
			who := op >> 7
			me := conns[who]
			switch op & 3 {
			case 0: // Write n bytes (the pipe buffers them)
				if closed[who] {
					if _, err := me.Write([]byte{1}); err == nil {
						t.Fatal("Write after CloseWrite succeeded")
					}
					break
				}
				p := make([]byte, in.u16()+1)
				for i := range p {
					p[i] = opsPat(who, written[who]+i)
				}
				n, err := me.Write(p)
				if err != nil || n != len(p) {
					t.Fatalf("side %d: Write %d of %d: %v", who, n, len(p), err)
				}
				written[who] += n
			case 1: // Read up to n of what the peer wrote
				want := min(in.u16()+1, written[1-who]-read[who])
				for want > 0 {
					n, err := me.Read(buf[:want])
					if err != nil {
						t.Fatalf("side %d: Read: %v", who, err)
					}
					for i := 0; i < n; i++ {
						if buf[i] != opsPat(1-who, read[who]+i) {
							t.Fatalf("side %d: plaintext differs at offset %d", who, read[who]+i)
						}
					}
					read[who] += n
					want -= n
				}
			case 2:
				if !closed[who] {
					if err := me.KeyUpdate(op&0x20 != 0); err != nil && !errors.Is(err, ErrInvalid) {
						t.Fatalf("side %d: KeyUpdate: %v", who, err)
					}
				}
			case 3:
				if !closed[who] {
					if err := me.CloseWrite(); err != nil {
						t.Fatalf("side %d: CloseWrite: %v", who, err)
					}
					closed[who] = true
				}
			}
		}
		// Everything written arrives, then io.EOF after a CloseWrite.
		for who := 0; who < 2; who++ {
			for read[who] < written[1-who] {
				n, err := conns[who].Read(buf[:min(len(buf), written[1-who]-read[who])])
				if err != nil {
					t.Fatalf("side %d: Read: %v", who, err)
				}
				read[who] += n
			}
			if closed[1-who] {
				if _, err := conns[who].Read(buf[:1]); err != io.EOF {
					t.Fatalf("side %d: after the peer's CloseWrite: %v, want io.EOF", who, err)
				}
			}
		}
	})
}
