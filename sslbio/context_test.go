package sslbio

// Rule 8: a context is shared by many engines and goroutines, frozen by
// its first engine, and reference counted across handles.

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestContextSharedByConcurrentEngines(t *testing.T) {
	// A fresh context: the first NewEngine calls race to freeze it.
	x := mustContext(t, &Config{Role: RoleClient, CAPEM: pki().CAPEM})
	sctx := serverContext(t)
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := x.NewEngine("localhost")
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			s, err := sctx.NewEngine("")
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			ce, se := handshakePair(c, s, func() {})
			if ce != nil {
				errs <- ce
			} else if se != nil {
				errs <- se
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.ErrorIs(t, x.SetNextProtos([]string{"h2"}), ErrInvalid, "frozen")
}

func TestContextHandleIsReferenceCounted(t *testing.T) {
	p := pki()
	x, err := NewContext(&Config{Role: RoleServer, CertPEM: p.Server.CertPEM, KeyPEM: p.Server.KeyPEM})
	require.NoError(t, err)
	h := x.Handle()
	require.NotNil(t, h)
	y, err := ContextFromHandle(h) // its own reference
	require.NoError(t, err)
	require.Equal(t, RoleServer, y.Role())
	require.NoError(t, x.Close()) // the first owner lets go
	s, err := y.NewEngine("")
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, y.Close()) // the engine keeps the context alive
	c := mustEngine(t, clientContext(t), "localhost")
	l := newLink(t, c, s, nil)
	l.handshake()
	require.Equal(t, "alive", string(l.transfer(c, s, []byte("alive"))))

	_, err = ContextFromHandle(nil)
	require.ErrorIs(t, err, ErrInvalid)
}
