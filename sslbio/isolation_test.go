package sslbio

// Rule 1 (error queue discipline) and rule 8 (a shared context): errors
// never travel between engines, goroutines or OS threads.

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	sslerr "github.com/sslbio/sslbio/error"
	"github.com/sslbio/sslbio/internal/errqueue"
	"github.com/stretchr/testify/require"
)

// handshakePair runs a client and a server engine against each other in
// memory, without testing.T (safe in any goroutine). When one side fails,
// its last ciphertext (the alert) is still delivered so the other side
// reports its own error. yield runs between steps.
func handshakePair(c, s *Engine, yield func()) (cerr, serr error) {
	cerr, serr = ErrWantRead, ErrWantRead
	buf := make([]byte, 32*1024)
	move := func(from, to *Engine) error {
		for {
			n, err := from.Drain(buf)
			if err != nil || n == 0 {
				return err
			}
			for off := 0; off < n; {
				k, err := to.Feed(buf[off:n])
				if err != nil {
					return nil // the receiver is dead; its error says why
				}
				if k == 0 {
					return fmt.Errorf("peer full during the handshake")
				}
				off += k
			}
		}
	}
	for i := 0; i < 50; i++ {
		if isWant(cerr) {
			cerr = c.Handshake()
		}
		yield()
		if err := move(c, s); err != nil {
			return err, err
		}
		if isWant(serr) {
			serr = s.Handshake()
		}
		yield()
		if err := move(s, c); err != nil {
			return err, err
		}
		if !isWant(cerr) && !isWant(serr) {
			return cerr, serr
		}
		if !isWant(cerr) && cerr != nil && i > 2 {
			return cerr, serr // the server may wait forever after a client failure
		}
	}
	return cerr, serr
}

// checkKind checks an error's kind and message against what this goroutine
// provoked; a message from any other goroutine's failure is a leak.
func checkKind(err error, kind sslerr.Kind, must []string, mustNot []string) error {
	var se *Error
	if !errors.As(err, &se) {
		return fmt.Errorf("want *sslbio.Error of kind %v, got %v (%T)", kind, err, err)
	}
	if se.Kind != kind {
		return fmt.Errorf("want kind %v, got %v: %v", kind, se.Kind, err)
	}
	msg := err.Error()
	for _, s := range must {
		if !strings.Contains(msg, s) {
			return fmt.Errorf("message %q lacks %q", msg, s)
		}
	}
	for _, s := range mustNot {
		if strings.Contains(msg, s) {
			return fmt.Errorf("message %q has a foreign %q", msg, s)
		}
	}
	for _, en := range se.Entries {
		if strings.Contains(en.Data, errqueue.Marker) {
			return fmt.Errorf("stale entry leaked: %+v", en)
		}
	}
	return nil
}

func TestErrorIsolationAcrossGoroutines(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	sctx := serverContext(t)
	good := clientContext(t)
	wrongCA := clientContext(t, func(c *Config) { c.CAPEM = otherPKI().CAPEM })

	const workers, rounds = 64, 3
	verifyMsg := []string{"certificate verify failed", "unable to get local issuer certificate (verify 20)"}
	httpMsg := []string{"http request"}
	alertMsg := []string{"alert unknown ca"}
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			report := func(r int, format string, args ...any) {
				errs <- fmt.Errorf("worker %d round %d: %s", w, r, fmt.Sprintf(format, args...))
			}
			for r := 0; r < rounds; r++ {
				cctx := good
				if w%4 == 1 {
					cctx = wrongCA
				}
				c, err := cctx.NewEngine("localhost")
				if err != nil {
					report(r, "client: %v", err)
					return
				}
				s, err := sctx.NewEngine("")
				if err != nil {
					report(r, "server: %v", err)
					return
				}
				switch w % 4 {
				case 0, 2: // succeed and talk
					ce, se := handshakePair(c, s, runtime.Gosched)
					if ce != nil || se != nil {
						report(r, "healthy pair failed: client %v, server %v", ce, se)
					} else {
						msg := fmt.Sprintf("worker %d round %d", w, r)
						n, err := c.Write([]byte(msg))
						buf := make([]byte, 4096)
						if err == nil {
							n, err = c.Drain(buf)
						}
						if err == nil {
							_, err = s.Feed(buf[:n])
						}
						runtime.Gosched()
						if err == nil {
							n, err = s.Read(buf)
						}
						if err != nil || string(buf[:n]) != msg {
							report(r, "data: %q, %v", buf[:n], err)
						}
					}
				case 1: // client rejects the server's chain
					ce, se := handshakePair(c, s, runtime.Gosched)
					if err := checkKind(ce, sslerr.KindVerify, verifyMsg, append(httpMsg, alertMsg...)); err != nil {
						report(r, "client: %v", err)
					} else if !errors.Is(ce, ErrVerify) || asErr(ce).VerifyResult != 20 {
						report(r, "client: not a verify 20 error: %v", ce)
					}
					if err := checkKind(se, sslerr.KindSSL, alertMsg, append(httpMsg, verifyMsg...)); err != nil {
						report(r, "server: %v", err)
					} else if asErr(se).VerifyResult != 0 {
						report(r, "server: foreign verify result: %v", se)
					}
				case 3: // the server gets plaintext HTTP instead of TLS
					_, err := s.Feed([]byte("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"))
					runtime.Gosched()
					if err == nil {
						err = s.Handshake()
					}
					if err := checkKind(err, sslerr.KindSSL, httpMsg, append(verifyMsg, alertMsg...)); err != nil {
						report(r, "server: %v", err)
					}
					// The healthy client next to it is untouched.
					if err := c.Handshake(); !errors.Is(err, ErrWantRead) {
						report(r, "client of a failed server: %v", err)
					}
				}
				c.Close()
				s.Close()
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func asErr(err error) *Error {
	var se *Error
	errors.As(err, &se)
	if se == nil {
		return &Error{}
	}
	return se
}

// TestStaleErrorNeverSurfaces leaves an entry on the thread's queue before
// engine calls on the same thread, as careless code sharing the thread
// would: the engine must neither fail because of it nor report it, and its
// own failures must leave the queue empty.
func TestStaleErrorNeverSurfaces(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer errqueue.Clear()

	// A call that would merely want more input must not turn into an error
	// (SSL_get_error reads the queue when it is not cleared first).
	c := mustEngine(t, clientContext(t), "localhost")
	s := mustEngine(t, serverContext(t), "")
	errqueue.Push()
	require.True(t, errqueue.Pending())
	require.ErrorIs(t, c.Handshake(), ErrWantRead)
	require.False(t, errqueue.Pending(), "the engine clears the queue before its call")

	// A whole handshake and data exchange with a stale entry before each call.
	ce, se := handshakePair(c, s, errqueue.Push)
	require.NoError(t, ce)
	require.NoError(t, se)
	errqueue.Push()
	n, err := c.Write([]byte("x"))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	errqueue.Push()
	_, err = c.Read(make([]byte, 8))
	require.ErrorIs(t, err, ErrWantRead)

	// A real failure reports its own entries, not the stale one.
	bad := mustEngine(t, serverContext(t), "")
	_, err = bad.Feed([]byte("GET / HTTP/1.1\r\n\r\n"))
	require.NoError(t, err)
	errqueue.Push()
	err = bad.Handshake()
	require.NoError(t, checkKind(err, sslerr.KindSSL, []string{"http request"}, []string{"bad record type"}))
	require.NotEmpty(t, asError(t, err).Entries)
	require.False(t, errqueue.Pending(), "the failure's entries were moved out of the thread's queue")

	// Failed context setters leave nothing behind either.
	_, err = NewContext(&Config{Role: RoleServer, CertPEM: []byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")})
	require.Error(t, err)
	require.False(t, errqueue.Pending(), "a failed setter leaves the queue empty")

	// And the healthy engine on this thread is still fine.
	require.NoError(t, s.Handshake())
}

// TestErrorsSurviveThreadHops runs every step of a failing handshake in a
// goroutine that locks its OS thread and exits without unlocking, which
// destroys that thread: the error must have been captured completely
// inside the C call, since no later call can reach that thread's queue.
func TestErrorsSurviveThreadHops(t *testing.T) {
	c := mustEngine(t, clientContext(t, func(c *Config) { c.CAPEM = otherPKI().CAPEM }), "localhost")
	s := mustEngine(t, serverContext(t), "")
	onDyingThread := func(fn func()) {
		done := make(chan struct{})
		go func() {
			runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
			defer close(done)
			fn()
		}()
		<-done
	}
	var ce, se error = ErrWantRead, ErrWantRead
	buf := make([]byte, 32*1024)
	move := func(from, to *Engine) {
		n, err := from.Drain(buf)
		require.NoError(t, err)
		if n > 0 {
			k, err := to.Feed(buf[:n])
			if err == nil {
				require.Equal(t, n, k)
			}
		}
	}
	for i := 0; i < 10 && (isWant(ce) || isWant(se)); i++ {
		if isWant(ce) {
			onDyingThread(func() { ce = c.Handshake() })
		}
		move(c, s)
		if isWant(se) {
			onDyingThread(func() { se = s.Handshake() })
		}
		move(s, c)
	}
	require.ErrorIs(t, ce, ErrVerify)
	cerr := asError(t, ce)
	require.Equal(t, 20, cerr.VerifyResult) // the server omits its self-signed root: issuer unknown
	require.Equal(t, "unable to get local issuer certificate", cerr.VerifyString)
	require.NotEmpty(t, cerr.Entries)
	require.Equal(t, "certificate verify failed", cerr.Entries[0].ReasonString)
	require.NotZero(t, cerr.Entries[0].Code)
	require.Equal(t, "handshake", cerr.Op)
	require.Contains(t, se.Error(), "alert unknown ca")
	// The error is sticky and the same from any thread.
	onDyingThread(func() { ce = c.Handshake() })
	require.Equal(t, cerr.Error(), ce.Error())
}
