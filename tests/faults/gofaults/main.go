// Command gofaults runs sslbio's Go net.Conn adapters (sslbio.Client and
// sslbio.Server) over connections that misbehave: 1-byte reads and writes,
// reads and writes that fail at byte k, an EOF at byte k, a peer that stops
// answering (deadline). For every k of a sweep over the whole connection,
// each side must return (no hang: deadlines bound everything), report an
// error rather than bad data, see a truncation as ErrTruncated (never
// io.EOF), and leave no goroutine behind.
//
//	go run ./tests/faults/gofaults [-stride 3]
package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/sslbio/sslbio/internal/memconn"
	"github.com/sslbio/sslbio/internal/testpki"
	"github.com/sslbio/sslbio/sslbio"
)

var errInjected = errors.New("injected transport failure")

// faultConn wraps a net.Conn and breaks it as told.
type faultConn struct {
	net.Conn
	maxChunk    int // at most this many bytes per Read/Write (0: no limit)
	failReadAt  int // Read fails once this many bytes were read (-1: never)
	failWriteAt int // Write fails once this many bytes were written (-1: never)
	eofAt       int // Read returns io.EOF after this many bytes (-1: never)
	nread       int
	nwritten    int
	mu          sync.Mutex
}

func (f *faultConn) Read(p []byte) (int, error) {
	f.mu.Lock()
	limit := len(p)
	if f.maxChunk > 0 && limit > f.maxChunk {
		limit = f.maxChunk
	}
	if f.failReadAt >= 0 {
		if f.nread >= f.failReadAt {
			f.mu.Unlock()
			return 0, errInjected
		}
		limit = min(limit, f.failReadAt-f.nread)
	}
	if f.eofAt >= 0 {
		if f.nread >= f.eofAt {
			f.mu.Unlock()
			return 0, io.EOF
		}
		limit = min(limit, f.eofAt-f.nread)
	}
	f.mu.Unlock()
	n, err := f.Conn.Read(p[:limit])
	f.mu.Lock()
	f.nread += n
	f.mu.Unlock()
	return n, err
}

func (f *faultConn) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		f.mu.Lock()
		limit := len(p) - done
		if f.maxChunk > 0 && limit > f.maxChunk {
			limit = f.maxChunk
		}
		if f.failWriteAt >= 0 {
			if f.nwritten >= f.failWriteAt {
				f.mu.Unlock()
				return done, errInjected
			}
			limit = min(limit, f.failWriteAt-f.nwritten)
		}
		f.mu.Unlock()
		n, err := f.Conn.Write(p[done : done+limit])
		f.mu.Lock()
		f.nwritten += n
		f.mu.Unlock()
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

type outcome struct {
	err      error
	got      []byte
	clean    bool // io.EOF after close_notify
	finished bool
}

var (
	clientCtx, serverCtx *sslbio.Context
	payload              = bytes.Repeat([]byte("sslbio fault injection 0123456789\n"), 100) // 3.4 KB
)

// run one connection: the client sends payload and reads the echo, then
// closes; the server echoes until EOF. fc/fs break the client's/server's
// side of the connection.
func run(fc, fs func(net.Conn) net.Conn) (cli, srv outcome) {
	a, b := memconn.Pipe()
	ca, cb := fc(a), fs(b)
	deadline := time.Now().Add(5 * time.Second)
	ca.SetDeadline(deadline)
	cb.SetDeadline(deadline)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer cb.Close()
		s, err := sslbio.Server(cb, serverCtx)
		if err != nil {
			srv.err = err
			return
		}
		defer s.Close()
		buf := make([]byte, 4096)
		for {
			n, err := s.Read(buf)
			srv.got = append(srv.got, buf[:n]...)
			if n > 0 {
				if _, werr := s.Write(buf[:n]); werr != nil {
					srv.err = werr
					return
				}
			}
			if err == io.EOF {
				srv.clean = true
				srv.finished = true
				return
			}
			if err != nil {
				srv.err = err
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		defer ca.Close()
		c, err := sslbio.Client(ca, clientCtx, "localhost")
		if err != nil {
			cli.err = err
			return
		}
		defer c.Close()
		if _, err := c.Write(payload); err != nil {
			cli.err = err
			return
		}
		buf := make([]byte, 4096)
		for len(cli.got) < len(payload) {
			n, err := c.Read(buf)
			cli.got = append(cli.got, buf[:n]...)
			if err != nil {
				cli.err = err
				return
			}
		}
		if err := c.CloseWrite(); err != nil {
			cli.err = err
			return
		}
		n, err := c.Read(buf)
		if n == 0 && err == io.EOF {
			cli.clean = true
		}
		cli.finished = true
	}()
	wg.Wait()
	return cli, srv
}

var failures int

func check(ok bool, format string, a ...any) {
	if !ok {
		failures++
		fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", a...)
		if failures > 20 {
			os.Exit(1)
		}
	}
}

func plain(c net.Conn) net.Conn { return c }

func main() {
	stride := flag.Int("stride", 3, "byte offsets between two fault points")
	flag.Parse()
	pki := testpki.Get()
	var err error
	clientCtx, err = sslbio.NewContext(&sslbio.Config{Role: sslbio.RoleClient, CAPEM: pki.CAPEM})
	if err != nil {
		panic(err)
	}
	serverCtx, err = sslbio.NewContext(&sslbio.Config{Role: sslbio.RoleServer, CertPEM: pki.Server.CertPEM, KeyPEM: pki.Server.KeyPEM})
	if err != nil {
		panic(err)
	}
	began := time.Now()
	baseline := runtime.NumGoroutine()
	sum := sha256.Sum256(payload)

	// 1-byte reads and writes on both sides: everything arrives.
	one := func(c net.Conn) net.Conn {
		return &faultConn{Conn: c, maxChunk: 1, failReadAt: -1, failWriteAt: -1, eofAt: -1}
	}
	cli, srv := run(one, one)
	check(cli.err == nil && srv.err == nil && cli.clean && srv.clean, "1-byte I/O: client %v, server %v", cli.err, srv.err)
	check(sha256.Sum256(cli.got) == sum, "1-byte I/O: echo damaged")
	fmt.Printf("gofaults: 1-byte reads/writes on both sides: %d bytes echoed intact, close_notify both ways\n", len(cli.got))

	// Measure the streams, then break them at every stride-th byte.
	var clientOut, serverOut int
	{
		var fcRef, fsRef *faultConn
		cli, srv = run(func(c net.Conn) net.Conn {
			fcRef = &faultConn{Conn: c, failReadAt: -1, failWriteAt: -1, eofAt: -1}
			return fcRef
		}, func(c net.Conn) net.Conn {
			fsRef = &faultConn{Conn: c, failReadAt: -1, failWriteAt: -1, eofAt: -1}
			return fsRef
		})
		check(cli.err == nil && srv.err == nil, "clean run: %v %v", cli.err, srv.err)
		clientOut, serverOut = fcRef.nwritten, fsRef.nwritten
	}
	runs, truncations, errs, slow := 0, 0, 0, 0
	for side := 0; side < 2; side++ {
		for kind := 0; kind < 3; kind++ {
			// Write faults cut this side's own stream; read faults and EOF
			// the peer's.
			streams := [2]int{clientOut, serverOut}
			span := streams[1-side]
			if kind == 1 {
				span = streams[side]
			}
			for at := 0; at <= span+1; at += *stride {
				f := func(c net.Conn) net.Conn {
					fc := &faultConn{Conn: c, failReadAt: -1, failWriteAt: -1, eofAt: -1}
					switch kind {
					case 0:
						fc.failReadAt = at
					case 1:
						fc.failWriteAt = at
					case 2:
						fc.eofAt = at
					}
					return fc
				}
				var cli, srv outcome
				t0 := time.Now()
				if side == 0 {
					cli, srv = run(f, plain)
				} else {
					cli, srv = run(plain, f)
				}
				runs++
				what := fmt.Sprintf("%s %s at byte %d", []string{"client", "server"}[side],
					[]string{"read fails", "write fails", "EOF"}[kind], at)
				if d := time.Since(t0); d > time.Second {
					slow++
					check(false, "%s: took %v (client %v, server %v)", what, d.Round(time.Millisecond), cli.err, srv.err)
				}
				// Never wrong data: what arrived is a prefix of what was sent.
				check(bytes.HasPrefix(payload, cli.got), "%s: client got damaged data", what)
				check(bytes.HasPrefix(payload, srv.got), "%s: server got damaged data", what)
				for _, o := range []outcome{cli, srv} {
					if o.err != nil {
						errs++
						if errors.Is(o.err, sslbio.ErrTruncated) {
							truncations++
						}
					}
				}
				// The client's transport ends inside the server's stream: that
				// is a truncation, never a clean io.EOF.
				if side == 0 && kind == 2 && at < serverOut && !cli.finished {
					check(errors.Is(cli.err, sslbio.ErrTruncated), "%s: client error %v, want ErrTruncated", what, cli.err)
				}
				// The client finished only if the whole echo arrived intact.
				if cli.finished {
					check(len(cli.got) == len(payload), "%s: client finished with %d bytes", what, len(cli.got))
				}
			}
		}
	}
	// A peer that never answers: the handshake ends at the deadline.
	{
		a, b := memconn.Pipe()
		a.SetDeadline(time.Now().Add(300 * time.Millisecond))
		c, _ := sslbio.Client(a, clientCtx, "localhost")
		err := c.Handshake()
		check(err != nil && errors.Is(err, os.ErrDeadlineExceeded), "silent peer: %v", err)
		c.Close()
		b.Close()
		fmt.Printf("gofaults: silent peer: Handshake returned at the deadline: %v\n", err)
	}
	time.Sleep(100 * time.Millisecond)
	runtime.GC()
	leaked := runtime.NumGoroutine() - baseline
	check(leaked <= 0, "%d goroutines left behind", leaked)
	fmt.Printf("gofaults: %d connections with a read error, write error or EOF at byte k (stride %d) on either side:"+
		" %d errors reported (%d as ErrTruncated), never damaged data, never a truncation as io.EOF, no hang,"+
		" %d goroutines left (%.1fs)\n", runs, *stride, errs, truncations, max(leaked, 0), time.Since(began).Seconds())
	if failures > 0 {
		fmt.Printf("gofaults: %d FAILURES\n", failures)
		os.Exit(1)
	}
}
