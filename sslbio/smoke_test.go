package sslbio

import (
	"testing"

	"github.com/sslbio/sslbio/internal/testpki"
	"github.com/stretchr/testify/require"
)

func TestSmokeEngineToEngine(t *testing.T) {
	p := testpki.Get()
	sctx, err := NewContext(&Config{Role: RoleServer, CertPEM: p.Server.CertPEM, KeyPEM: p.Server.KeyPEM, NextProtos: []string{"h2"}})
	require.NoError(t, err)
	cctx, err := NewContext(&Config{Role: RoleClient, CAPEM: p.CAPEM, NextProtos: []string{"h2", "http/1.1"}})
	require.NoError(t, err)
	s, err := sctx.NewEngine("")
	require.NoError(t, err)
	c, err := cctx.NewEngine("localhost")
	require.NoError(t, err)
	buf := make([]byte, 64*1024)
	move := func(from, to *Engine) {
		for {
			n, err := from.Drain(buf)
			require.NoError(t, err)
			if n == 0 {
				return
			}
			m, err := to.Feed(buf[:n])
			require.NoError(t, err)
			require.Equal(t, n, m)
		}
	}
	for i := 0; i < 10; i++ {
		ce := c.Handshake()
		move(c, s)
		se := s.Handshake()
		move(s, c)
		if ce == nil && se == nil {
			break
		}
	}
	require.NoError(t, c.Handshake())
	require.NoError(t, s.Handshake())
	st := c.ConnectionState()
	t.Logf("%+v", st)
	require.Equal(t, "h2", st.NegotiatedProtocol)
	n, err := c.Write([]byte("hello"))
	require.NoError(t, err)
	require.Equal(t, 5, n)
	move(c, s)
	n, err = s.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "hello", string(buf[:n]))
}
