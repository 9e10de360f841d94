// Command gosoak churns connections through sslbio's Go API: SOAK_GOROUTINES
// (default 2) client goroutines, each with its server goroutine, run
// sslbio.Client/sslbio.Server connections one after another over in-memory
// conns, with random message sizes (1 byte .. 64 KiB), random directions,
// random pauses, a sha256 of every byte both ways, close_notify from a
// random side and now and then a truncation that must surface as
// ErrTruncated. Every fourth connection uses a raw Engine with
// Reset-based reuse instead of the adapters.
//
//	SOAK_SECONDS=60 go run ./soak/gosoak        (quick: time-bound)
//	SOAK_CONNS=100000 go run ./soak/gosoak      (long: count-bound)
//
// RSS (/proc/self/statm) and the Go heap are printed at the start (after a
// warm-up), periodically and at the end; the run fails if RSS grew by more
// than SOAK_RSS_SLACK_MB (default 32) after the warm-up.
package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	sslerr "github.com/sslbio/sslbio/error"
	"github.com/sslbio/sslbio/internal/memconn"
	"github.com/sslbio/sslbio/internal/testpki"
	"github.com/sslbio/sslbio/sslbio"
)

var (
	conns, bytesMoved, truncs, failures, engineConns atomic.Int64
	clientCtx, serverCtx                             *sslbio.Context
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func rssKiB() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var pages, resident int64
	fmt.Sscan(string(b), &pages, &resident)
	return resident * int64(os.Getpagesize()) / 1024
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "gosoak: FAIL: "+format+"\n", a...)
	if failures.Add(1) > 10 {
		os.Exit(1)
	}
}

// msgs is the script of one connection: who sends how much.
type msg struct {
	fromClient bool
	n          int
}

func script(r *rand.Rand) []msg {
	out := make([]msg, r.IntN(8))
	for i := range out {
		n := 1 + r.IntN(2048)
		if r.IntN(4) == 0 {
			n = 1 + r.IntN(65536)
		}
		out[i] = msg{fromClient: r.IntN(2) == 0, n: n}
	}
	return out
}

func pattern(seed uint64, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(seed + uint64(i)*131)
	}
	return b
}

// side runs its half of the script over c: it sends its messages and reads
// the peer's, hashing both ways. Messages go strictly in script order, so
// neither side writes while the other waits for something else.
func side(c net.Conn, isClient bool, sc []msg, seed uint64, pause func(), sent, got hash.Hash) error {
	for i, m := range sc {
		if m.fromClient == isClient {
			p := pattern(seed+uint64(i), m.n)
			sent.Write(p)
			if _, err := c.Write(p); err != nil {
				return fmt.Errorf("write %d: %w", i, err)
			}
		} else {
			buf := make([]byte, m.n)
			if _, err := io.ReadFull(c, buf); err != nil {
				return fmt.Errorf("read %d: %w", i, err)
			}
			got.Write(buf)
		}
		pause()
	}
	return nil
}

// oneConn runs one adapter connection; mode 0: client closes first, 1:
// server closes first, 2: truncation (the server's transport ends).
func oneConn(r *rand.Rand) {
	a, b := memconn.Pipe()
	deadline := time.Now().Add(20 * time.Second)
	a.SetDeadline(deadline)
	b.SetDeadline(deadline)
	sc := script(r)
	seed := r.Uint64()
	mode := r.IntN(5)
	if mode > 2 {
		mode = 0
	}
	pause := func() {
		switch x := r.IntN(1000); {
		case x < 3:
			time.Sleep(time.Duration(r.IntN(300)) * time.Microsecond)
		case x < 20:
			runtime.Gosched()
		}
	}
	var cs, cg, ss, sg = sha256.New(), sha256.New(), sha256.New(), sha256.New()
	var wg sync.WaitGroup
	var serr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		s, err := sslbio.Server(b, serverCtx)
		if err != nil {
			serr = err
			return
		}
		defer s.Close()
		if err := s.Handshake(); err != nil {
			serr = err
			return
		}
		if err := side(s, false, sc, seed, func() {}, ss, sg); err != nil {
			serr = err
			return
		}
		one := make([]byte, 1)
		switch mode {
		case 0: // wait for the client's close_notify
			if _, err := s.Read(one); err != io.EOF {
				serr = fmt.Errorf("server: want io.EOF, got %v", err)
			}
		case 1: // close first, then the client answers
			if err := s.CloseWrite(); err != nil {
				serr = err
				return
			}
			if _, err := s.Read(one); err != io.EOF {
				serr = fmt.Errorf("server: want the client's close_notify, got %v", err)
			}
		case 2: // the transport dies under the server: ErrTruncated
			// Both directions die, the client's first: so the alert the
			// client's OpenSSL sends on the EOF cannot reach us either.
			a.(interface{ CloseWrite() error }).CloseWrite()
			b.(interface{ CloseWrite() error }).CloseWrite()
			if _, err := s.Read(one); !errors.Is(err, sslerr.ErrTruncated) {
				serr = fmt.Errorf("server: want ErrTruncated, got %v", err)
			}
		}
	}()
	c, err := sslbio.Client(a, clientCtx, "localhost")
	if err != nil {
		fail("client: %v", err)
		a.Close()
		wg.Wait()
		return
	}
	cerr := c.Handshake()
	if cerr == nil {
		cerr = side(c, true, sc, seed, pause, cs, cg)
	}
	if cerr == nil {
		one := make([]byte, 1)
		switch mode {
		case 0:
			if err := c.CloseWrite(); err != nil {
				cerr = err
			}
		case 1:
			if _, err := c.Read(one); err != io.EOF {
				cerr = fmt.Errorf("client: want io.EOF, got %v", err)
			}
		case 2:
			if _, err := c.Read(one); !errors.Is(err, sslerr.ErrTruncated) {
				cerr = fmt.Errorf("client: want ErrTruncated, got %v", err)
			}
		}
	}
	if mode == 2 {
		c.NetConn().Close() // no close_notify on a dead transport
	}
	c.Close()
	wg.Wait()
	b.Close()
	if cerr != nil || serr != nil {
		fail("connection: client %v, server %v", cerr, serr)
		return
	}
	if !bytes.Equal(cs.Sum(nil), sg.Sum(nil)) || !bytes.Equal(ss.Sum(nil), cg.Sum(nil)) {
		fail("checksum mismatch")
		return
	}
	if mode == 2 {
		truncs.Add(1)
	}
	var total int64
	for _, m := range sc {
		total += int64(m.n)
	}
	bytesMoved.Add(total)
	conns.Add(1)
}

// engineConn runs one connection on raw engines, reusing them via Reset.
type enginePair struct{ c, s *sslbio.Engine }

func (p *enginePair) run(r *rand.Rand) {
	if p.c == nil || r.IntN(3) == 0 {
		if p.c != nil {
			p.c.Close()
			p.s.Close()
		}
		var err error
		if p.c, err = clientCtx.NewEngine("localhost"); err != nil {
			fail("engine: %v", err)
			return
		}
		if p.s, err = serverCtx.NewEngine(""); err != nil {
			fail("engine: %v", err)
			return
		}
	} else {
		if err := p.c.Reset("localhost"); err != nil {
			fail("reset: %v", err)
			return
		}
		if err := p.s.Reset(""); err != nil {
			fail("reset: %v", err)
			return
		}
	}
	buf := make([]byte, 18*1024)
	move := func(from, to *sslbio.Engine) {
		for from.PendingOut() > 0 {
			n, _ := from.Drain(buf[:1+r.IntN(len(buf)-1)])
			for off := 0; off < n; {
				k, err := to.Feed(buf[off:n])
				if err != nil {
					fail("feed: %v", err)
					return
				}
				if k == 0 {
					tmp := make([]byte, 16384)
					to.Read(tmp)
				}
				off += k
			}
		}
	}
	for i := 0; i < 20 && !(p.c.ConnectionState().HandshakeComplete && p.s.ConnectionState().HandshakeComplete); i++ {
		p.c.Handshake()
		move(p.c, p.s)
		p.s.Handshake()
		move(p.s, p.c)
	}
	data := pattern(r.Uint64(), 1+r.IntN(65536))
	sum := sha256.Sum256(data)
	h := sha256.New()
	tmp := make([]byte, 16384)
	for off := 0; off < len(data); {
		n, err := p.c.Write(data[off:])
		if err != nil && !errors.Is(err, sslerr.ErrWantWrite) {
			fail("engine write: %v", err)
			return
		}
		off += n
		move(p.c, p.s)
		for {
			k, err := p.s.Read(tmp)
			h.Write(tmp[:k])
			if err != nil {
				break
			}
		}
	}
	if !bytes.Equal(h.Sum(nil), sum[:]) {
		fail("engine checksum mismatch")
		return
	}
	p.c.Shutdown()
	move(p.c, p.s)
	if _, err := p.s.Read(tmp); err != io.EOF {
		fail("engine: server wanted io.EOF, got %v", err)
		return
	}
	bytesMoved.Add(int64(len(data)))
	engineConns.Add(1)
	conns.Add(1)
}

func main() {
	seconds := envInt("SOAK_SECONDS", 60)
	target := int64(envInt("SOAK_CONNS", 0))
	workers := envInt("SOAK_GOROUTINES", 2)
	slack := int64(envInt("SOAK_RSS_SLACK_MB", 32))
	pki := testpki.Get()
	var err error
	if clientCtx, err = sslbio.NewContext(&sslbio.Config{Role: sslbio.RoleClient, CAPEM: pki.CAPEM}); err != nil {
		panic(err)
	}
	if serverCtx, err = sslbio.NewContext(&sslbio.Config{Role: sslbio.RoleServer, CertPEM: pki.Server.CertPEM, KeyPEM: pki.Server.KeyPEM}); err != nil {
		panic(err)
	}
	rss0 := rssKiB()
	run := func(stop func() bool, seed uint64) {
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				r := rand.New(rand.NewPCG(seed, uint64(w)))
				var ep enginePair
				for n := 0; !stop(); n++ {
					if n%4 == 3 {
						ep.run(r)
					} else {
						oneConn(r)
					}
				}
				if ep.c != nil {
					ep.c.Close()
					ep.s.Close()
				}
			}(w)
		}
		wg.Wait()
	}
	// Warm-up, then measure.
	run(func() bool { return conns.Load() >= 200 }, 1)
	conns.Store(0)
	bytesMoved.Store(0)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rssStart, heapStart := rssKiB(), ms.HeapAlloc
	fmt.Printf("gosoak: Go API, %d goroutines (+ their server goroutines), %s; RSS %d KiB at launch,"+
		" %d KiB after warm-up; Go heap %d KiB\n", workers, map[bool]string{true: "count-bound", false: "time-bound"}[target > 0],
		rss0, rssStart, heapStart/1024)
	t0 := time.Now()
	end := t0.Add(time.Duration(seconds) * time.Second)
	stop := func() bool {
		if failures.Load() > 0 {
			return true
		}
		if target > 0 {
			return conns.Load() >= target
		}
		return time.Now().After(end)
	}
	done := make(chan struct{})
	maxRSS := rssStart
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				rss := rssKiB()
				maxRSS = max(maxRSS, rss)
				fmt.Printf("gosoak:   %6.0fs %8d connections %10.1f MiB  RSS %d KiB\n", time.Since(t0).Seconds(),
					conns.Load(), float64(bytesMoved.Load())/1048576, rss)
			}
		}
	}()
	run(stop, 2)
	close(done)
	took := time.Since(t0)
	runtime.GC()
	runtime.ReadMemStats(&ms)
	rssEnd := rssKiB()
	maxRSS = max(maxRSS, rssEnd)
	n := conns.Load()
	fmt.Printf("gosoak: %d connections churned in %.1fs (%.0f/s; %d on raw engines with Reset reuse), %.1f MiB of"+
		" plaintext sha256-checked, %d truncations reported as ErrTruncated, %d failures, %d goroutines now\n",
		n, took.Seconds(), float64(n)/took.Seconds(), engineConns.Load(), float64(bytesMoved.Load())/1048576,
		truncs.Load(), failures.Load(), runtime.NumGoroutine())
	fmt.Printf("gosoak: RSS start %d KiB, end %d KiB (max %d KiB, growth %+d KiB, allowed %d MiB); Go heap %d -> %d KiB\n",
		rssStart, rssEnd, maxRSS, rssEnd-rssStart, slack, heapStart/1024, ms.HeapAlloc/1024)
	if failures.Load() > 0 || n == 0 || rssEnd-rssStart > slack*1024 {
		fmt.Println("gosoak: FAILED")
		os.Exit(1)
	}
	fmt.Println("gosoak: OK")
}
