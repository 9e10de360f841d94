package sslbio

// Session ticket keys shared by server Contexts and rotated while in use,
// with crypto/tls clients resuming across them.

import (
	"crypto/tls"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// goResume connects a crypto/tls client to a Server on sctx, exchanges a
// byte (which also brings the TLS 1.3 ticket) and reports whether each end
// resumed.
func goResume(t *testing.T, sctx *Context, ccfg *tls.Config) (client, server bool) {
	t.Helper()
	a, b := tcpPair(t)
	s, err := Server(b, sctx)
	require.NoError(t, err)
	defer s.Close()
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(s, s)
		done <- err
	}()
	tc := tls.Client(a, ccfg)
	defer tc.Close()
	tc.SetDeadline(time.Now().Add(testTimeout))
	_, err = tc.Write([]byte("x"))
	require.NoError(t, err)
	_, err = io.ReadFull(tc, make([]byte, 1))
	require.NoError(t, err)
	require.NoError(t, tc.CloseWrite())
	require.NoError(t, <-done)
	return tc.ConnectionState().DidResume, s.ConnectionState().DidResume
}

func TestSessionTicketKeysShared(t *testing.T) {
	key := func(b byte) (k [32]byte) {
		for i := range k {
			k[i] = b + byte(i)
		}
		return k
	}
	k1, k2, k3 := key(1), key(2), key(3)
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			first, second, stranger := serverContext(t, v.mod), serverContext(t, v.mod), serverContext(t, v.mod)
			require.NoError(t, first.SetSessionTicketKeys([][32]byte{k1}))
			require.NoError(t, second.SetSessionTicketKeys([][32]byte{k1}))
			require.NoError(t, stranger.SetSessionTicketKeys([][32]byte{k3}))
			ccfg := goClientConfig(pki())
			ccfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
			step := func(what string, x *Context, want bool) {
				t.Helper()
				c, s := goResume(t, x, ccfg)
				require.Equal(t, want, c, "%s: client DidResume", what)
				require.Equal(t, want, s, "%s: server DidResume", what)
			}
			step("full handshake on the first", first, false)
			step("the second opens the first's ticket", second, true)
			step("a context with other keys", stranger, false)
			step("the stranger's ticket back on the first", first, false)

			// Rotation while in use: the second seals with k2 and still opens k1.
			require.NoError(t, second.SetSessionTicketKeys([][32]byte{k2, k1}))
			step("k1 ticket after rotation", second, true)
			step("k2 ticket, the first without k2", first, false)
			require.NoError(t, first.SetSessionTicketKeys([][32]byte{k2}))
			step("full handshake, ticket sealed with k2", first, false)
			step("the second opens k2", second, true)
			require.NoError(t, second.SetSessionTicketKeys([][32]byte{k3}))
			step("k2 retired", second, false)
		})
	}
}

func TestSessionTicketKeysBadCalls(t *testing.T) {
	require.ErrorIs(t, serverContext(t).SetSessionTicketKeys(nil), ErrInvalid)
	require.ErrorIs(t, clientContext(t).SetSessionTicketKeys([][32]byte{{1}}), ErrInvalid, "a server setting")
	x := serverContext(t)
	require.NoError(t, x.Close())
	require.ErrorIs(t, x.SetSessionTicketKeys([][32]byte{{1}}), ErrClosed)
}
