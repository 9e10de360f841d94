// Command gobench runs the benchmark scenarios of bench/README.md for the Go
// subjects — the sslbio Go API ("go"), Go's crypto/tls over memconn
// ("cryptotls") and github.com/libp2p/go-openssl over memconn ("goopenssl")
// — and prints one JSON line per measure, in the format of the C programs
// (bench/c/scenarios.h):
//
//	{"subject": "go", "measure": "bulk", "value": 1234.5, "unit": "MB/s", ...}
//
// Every subject moves ciphertext between a client and a server in one
// process, through memory; see bench/README.md for the scenarios.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

const (
	bulkSize  = 16 * 1024
	pingSize  = 64
	maxRounds = 16
)

// A subject makes environments: a client and a server configuration
// sharing one certificate set, with TLS_AES_128_GCM_SHA256 or the library's
// default TLS 1.3 suite.
type subject interface {
	newEnv(certs string, defaultSuite bool) (env, error)
}

type env interface {
	// pair returns an established, idle connection (one byte went each way,
	// so the client has read its session ticket).
	pair() (pair, error)
	// handshake makes one full handshake and discards both endpoints.
	handshake() error
	// resumer starts a chain of resumed handshakes.
	resumer() (resumer, error)
	suite() (string, error)
	note() string
	close()
}

type pair interface {
	bulk(msg, rbuf []byte) error // bulkSize bytes client -> server
	ping(msg, rbuf []byte) error // pingSize bytes there and back
	close()
}

// A reuser's engines can be reset for a new connection (sslbio's
// Engine.Reset); the other subjects have no such call and skip
// handshake-reuse.
type reuser interface {
	// reusedPair returns a client and server that handshake returns to
	// new connections each time it runs, on the same engines.
	reusedPair() (handshake func() error, done func(), err error)
}

// A resumer resumes with the previous connection's ticket (TLS 1.3 tickets
// are single-use), reads the new ticket, and frees the previous client only
// then (OpenSSL marks the session of an SSL freed without close_notify not
// resumable).
type resumer interface {
	step() error
	close()
}

var subjects = map[string]subject{
	"go":        sslbioSubject{},
	"cryptotls": cryptoTLSSubject{},
	"goopenssl": goOpenSSLSubject{},
}

type result struct {
	Subject string  `json:"subject"`
	Measure string  `json:"measure"`
	Value   float64 `json:"value"`
	Unit    string  `json:"unit"`
	Suite   string  `json:"suite,omitempty"`
	// memory
	Conns     int     `json:"conns,omitempty"`
	RSSBefore float64 `json:"rss_before_kib,omitempty"`
	RSSAfter  float64 `json:"rss_after_kib,omitempty"`
	// scaling
	OneThread  float64 `json:"one_thread,omitempty"`
	TwoThreads float64 `json:"two_threads,omitempty"`
	Of         string  `json:"of,omitempty"`
	Clock      string  `json:"clock,omitempty"`
	Note       string  `json:"note,omitempty"`
}

var allMeasures = []string{"bulk", "bulk-default", "pingpong", "handshake", "handshake-reuse", "resume", "memory", "scale-bulk", "scale-handshake"}

func main() {
	subj := flag.String("subject", "go", "go, cryptotls or goopenssl")
	measures := flag.String("measure", "all", "all or comma-separated of "+strings.Join(allMeasures, ", "))
	duration := flag.Float64("duration", 1.0, "seconds per timed run")
	conns := flag.Int("conns", 10000, "connections for the memory measure")
	certs := flag.String("certs", "build/certs", "directory with ca.pem, server.pem, server.key")
	label := flag.String("label", "", "subject name to print (default: -subject)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile (go tool pprof) to this file")
	move := flag.String("move", "copy", "go subject: copy (Drain + Feed) or zerocopy (Drain into the peer's FeedBuffer)")
	clock := flag.String("clock", "wall", "wall, or cpu: single-thread rates per CPU second of the process\n(robust on a shared machine)")
	flag.IntVar(&iterations, "iterations", 0, "> 0: that many operations per timed run instead of a duration\n(deterministic work for valgrind --tool=callgrind; run it with GODEBUG=asyncpreemptoff=1)")
	flag.Parse()
	s, ok := subjects[*subj]
	cpuClock = *clock == "cpu"
	zeroCopy = *move == "zerocopy"
	if !ok || *duration <= 0 || *conns <= 0 || (*clock != "cpu" && *clock != "wall") {
		flag.Usage()
		os.Exit(2)
	}
	name := *subj
	if *label != "" {
		name = *label
	}
	want := map[string]bool{}
	for _, m := range strings.Split(*measures, ",") {
		if m == "all" {
			for _, a := range allMeasures {
				want[a] = true
			}
			continue
		}
		want[m] = true
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(name, s, want, filepath.Clean(*certs), time.Duration(*duration*float64(time.Second)), *conns); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

func emit(r result) {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	os.Stdout.Write(append(b, '\n'))
}

func run(name string, s subject, want map[string]bool, certs string, d time.Duration, conns int) error {
	e, err := s.newEnv(certs, false)
	if err != nil {
		return err
	}
	defer e.close()
	suite, err := e.suite()
	if err != nil {
		return err
	}
	out := func(r result) {
		r.Subject = name
		if cpuClock && r.Measure != "memory" && !strings.HasPrefix(r.Measure, "scale") {
			r.Clock = "cpu"
		}
		if r.Suite == "" && r.Measure != "memory" && !strings.HasPrefix(r.Measure, "scale") {
			r.Suite = suite
		}
		r.Note = e.note()
		emit(r)
	}
	if want["bulk"] {
		v, err := timed(bulkOp(e), 1, d)
		if err != nil {
			return fmt.Errorf("bulk: %w", err)
		}
		out(result{Measure: "bulk", Value: v / 1e6, Unit: "MB/s"})
	}
	if want["bulk-default"] {
		de, err := s.newEnv(certs, true)
		if err != nil {
			return err
		}
		dsuite, err := de.suite()
		if err != nil {
			return err
		}
		v, err := timed(bulkOp(de), 1, d)
		de.close()
		if err != nil {
			return fmt.Errorf("bulk-default: %w", err)
		}
		out(result{Measure: "bulk-default", Value: v / 1e6, Unit: "MB/s", Suite: dsuite})
	}
	if want["pingpong"] {
		v, err := timed(pingOp(e), 1, d)
		if err != nil {
			return fmt.Errorf("pingpong: %w", err)
		}
		out(result{Measure: "pingpong", Value: v, Unit: "rt/s"})
	}
	if want["handshake"] {
		v, err := timed(handshakeOp(e), 1, d)
		if err != nil {
			return fmt.Errorf("handshake: %w", err)
		}
		out(result{Measure: "handshake", Value: v, Unit: "hs/s"})
	}
	if r, ok := e.(reuser); ok && want["handshake-reuse"] {
		v, err := timed(reuseOp(r), 1, d)
		if err != nil {
			return fmt.Errorf("handshake-reuse: %w", err)
		}
		out(result{Measure: "handshake-reuse", Value: v, Unit: "hs/s"})
	}
	if want["resume"] {
		v, err := timed(resumeOp(e), 1, d)
		if err != nil {
			return fmt.Errorf("resume: %w", err)
		}
		out(result{Measure: "resume", Value: v, Unit: "hs/s"})
	}
	if want["memory"] {
		r, err := memory(e, conns)
		if err != nil {
			return fmt.Errorf("memory: %w", err)
		}
		out(r)
	}
	for _, sc := range []struct {
		name, of string
		op       func() (func() (float64, error), func(), error)
	}{{"scale-bulk", "bulk", bulkOp(e)}, {"scale-handshake", "handshake", handshakeOp(e)}} {
		if !want[sc.name] {
			continue
		}
		one, err := timed(sc.op, 1, d)
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		two, err := timed(sc.op, 2, d)
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		out(result{Measure: sc.name, Value: two / one, Unit: "x", OneThread: one, TwoThreads: two, Of: sc.of})
	}
	return nil
}

// An opMaker prepares one worker: its operation (returning units of work)
// and its cleanup.
type opMaker func() (func() (float64, error), func(), error)

func bulkOp(e env) opMaker {
	return func() (func() (float64, error), func(), error) {
		p, err := e.pair()
		if err != nil {
			return nil, nil, err
		}
		reserve(p)
		msg, rbuf := filled(bulkSize), make([]byte, bulkSize)
		return func() (float64, error) { return bulkSize, p.bulk(msg, rbuf) }, p.close, nil
	}
}

func pingOp(e env) opMaker {
	return func() (func() (float64, error), func(), error) {
		p, err := e.pair()
		if err != nil {
			return nil, nil, err
		}
		reserve(p)
		msg, rbuf := filled(pingSize), make([]byte, pingSize)
		return func() (float64, error) { return 1, p.ping(msg, rbuf) }, p.close, nil
	}
}

func handshakeOp(e env) opMaker {
	return func() (func() (float64, error), func(), error) {
		return func() (float64, error) { return 1, e.handshake() }, func() {}, nil
	}
}

func reuseOp(r reuser) opMaker {
	return func() (func() (float64, error), func(), error) {
		hs, done, err := r.reusedPair()
		if err != nil {
			return nil, nil, err
		}
		return func() (float64, error) { return 1, hs() }, done, nil
	}
}

func resumeOp(e env) opMaker {
	return func() (func() (float64, error), func(), error) {
		r, err := e.resumer()
		if err != nil {
			return nil, nil, err
		}
		return func() (float64, error) { return 1, r.step() }, r.close, nil
	}
}

// reserve gives a pair that moves ciphertext itself its own transit buffer
// for a timed loop (pairs kept for the memory measure have none).
func reserve(p pair) {
	if r, ok := p.(interface{ reserveTransit() }); ok {
		r.reserveTransit()
	}
}

func filled(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a'
	}
	return b
}

// iterations, when > 0, replaces the duration of timed runs by a count.
var iterations int

// cpuClock measures single-worker runs in CPU time of the whole process
// (garbage collector, sysmon and spinning Ms included: CPU the program
// really burns); scaling runs stay on the wall clock. GOMAXPROCS is left
// alone: at 1, sysmon takes the P of long cgo calls and the sslbio Go API
// loses 10-40%; crypto/tls handshakes gain instead (no M spins waiting for
// the peer goroutine).
var cpuClock bool

type clockFunc func() time.Duration

func wallClock() clockFunc {
	t0 := time.Now()
	return func() time.Duration { return time.Since(t0) }
}

// processCPU is the CPU time of the whole process (all threads: garbage
// collector included).
func processCPU() time.Duration {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 2 /* CLOCK_PROCESS_CPUTIME_ID */, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}

func cpuClockFunc() clockFunc {
	t0 := processCPU()
	return func() time.Duration { return processCPU() - t0 }
}

// timed runs workers in parallel goroutines for d after a warm-up of d/10
// and returns the units per second summed over them. Operations run in
// batches that double until one takes a millisecond, so reading the clock
// costs nothing.
func timed(mk opMaker, workers int, d time.Duration) (float64, error) {
	clockNow := wallClock
	if cpuClock && workers == 1 {
		clockNow = cpuClockFunc
	}
	var wg sync.WaitGroup
	rates := make([]float64, workers)
	errs := make([]error, workers)
	start := make(chan struct{})
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			op, cleanup, err := mk()
			if err != nil {
				errs[i] = err
				<-start
				return
			}
			defer cleanup()
			<-start
			run := func(n int) (float64, error) {
				var work float64
				for ; n > 0; n-- {
					w, err := op()
					if err != nil {
						return work, err
					}
					work += w
				}
				return work, nil
			}
			if iterations > 0 {
				elapsed := clockNow()
				work, err := run(iterations)
				errs[i], rates[i] = err, work/elapsed().Seconds()
				return
			}
			warm := max(d/10, 20*time.Millisecond)
			for elapsed := clockNow(); elapsed() < warm; {
				if _, err := run(1); err != nil {
					errs[i] = err
					return
				}
			}
			var work float64
			elapsed, batch := clockNow(), 1
			for t := time.Duration(0); t < d; {
				w, err := run(batch)
				if err != nil {
					errs[i] = err
					return
				}
				work += w
				// Yield once per batch (about a millisecond), as a goroutine
				// serving a network does. One that runs 10 ms on the same
				// schedule tick is force-preempted by sysmon, which for a
				// goroutine inside a cgo call means taking its P away: the
				// sslbio Go API then loses ~10% to P hand-offs and wake-ups.
				runtime.Gosched()
				t0 := t
				if t = elapsed(); t-t0 < time.Millisecond {
					batch *= 2
				}
			}
			rates[i] = work / elapsed().Seconds()
		}(i)
	}
	close(start)
	wg.Wait()
	var sum float64
	for i := range rates {
		if errs[i] != nil {
			return 0, errs[i]
		}
		sum += rates[i]
	}
	return sum, nil
}

// memory establishes n connections and reports the RSS growth per endpoint
// (2n endpoints), after a GC that returns freed memory to the OS.
func memory(e env, n int) (result, error) {
	for i := 0; i < 16; i++ { // lazily built tables are not per connection
		p, err := e.pair()
		if err != nil {
			return result{}, err
		}
		p.close()
	}
	settleHeap()
	before := rss()
	ps := make([]pair, 0, n)
	for i := 0; i < n; i++ {
		p, err := e.pair()
		if err != nil {
			return result{}, err
		}
		ps = append(ps, p)
	}
	settleHeap()
	after := rss()
	for _, p := range ps {
		p.close()
	}
	return result{Measure: "memory", Value: float64(after-before) / 1024 / float64(2*n), Unit: "KiB/conn",
		Conns: n, RSSBefore: float64(before) / 1024, RSSAfter: float64(after) / 1024}, nil
}

func settleHeap() {
	runtime.GC()
	debug.FreeOSMemory()
}

// rss is the resident set size in bytes (/proc/self/statm).
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}
