package sslbio

// STARTTLS (rule 3: bytes fed before the handshake starts are kept). The
// asyncio start_tls race: the client's first TLS bytes arrive in the same
// segment as its last plaintext line, before the server started TLS.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pipelinedConn sends prefix together with the first Write, in ONE write
// on the underlying connection, and reports that write on sent.
type pipelinedConn struct {
	net.Conn
	prefix []byte
	once   sync.Once
	sent   chan []byte
}

func (c *pipelinedConn) Write(p []byte) (int, error) {
	first := false
	c.once.Do(func() { first = true })
	if !first {
		return c.Conn.Write(p)
	}
	one := append(append([]byte(nil), c.prefix...), p...)
	_, err := c.Conn.Write(one)
	c.sent <- one
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// readLineAfter waits for the client's pipelined write, then reads the
// plaintext line through a bufio.Reader, which also swallows what followed.
func readLineAfter(t *testing.T, sent chan []byte, raw net.Conn) *bufio.Reader {
	t.Helper()
	var first []byte
	select {
	case first = <-sent:
	case <-time.After(testTimeout):
		t.Fatal("client never wrote")
	}
	require.True(t, bytes.HasPrefix(first, []byte("OK\r\n\x16\x03")),
		"the line and a TLS handshake record went out in one write")
	br := bufio.NewReader(raw)
	raw.SetReadDeadline(time.Now().Add(testTimeout))
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "OK\r\n", line)
	// Loopback delivers a small write whole; this is the race's precondition.
	for br.Buffered() < len(first)-len(line) {
		_, err := br.Peek(br.Buffered() + 1)
		require.NoError(t, err)
	}
	require.Equal(t, len(first)-len(line), br.Buffered(), "the ClientHello sits in the reader's buffer")
	raw.SetReadDeadline(time.Time{})
	return br
}

func TestStartTLSServerUpgradeKeepsBufferedClientHello(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			cn, sn := tr.pair(t)
			pc := &pipelinedConn{Conn: cn, prefix: []byte("OK\r\n"), sent: make(chan []byte, 1)}
			peer := startGoPeer(t, tls.Client(pc, goClientConfig(pki())), func(tc *tls.Conn) error {
				if _, err := tc.Write([]byte("ping")); err != nil {
					return err
				}
				buf := make([]byte, 4)
				if _, err := io.ReadFull(tc, buf); err != nil {
					return err
				}
				if string(buf) != "pong" {
					return io.ErrUnexpectedEOF
				}
				return tc.Close()
			})
			br := readLineAfter(t, pc.sent, sn)
			s, err := Upgrade(sn, br, serverContext(t), "ignored for servers")
			require.NoError(t, err)
			defer s.Close()
			require.NoError(t, s.Handshake())
			buf := make([]byte, 4)
			_, err = io.ReadFull(s, buf)
			require.NoError(t, err)
			require.Equal(t, "ping", string(buf))
			_, err = s.Write([]byte("pong"))
			require.NoError(t, err)
			require.NoError(t, peer.wait())
		})
	}
}

// TestStartTLSLosingBufferedBytesHangs is the control: ignoring the bytes
// the reader buffered (the seed's bug) leaves the server waiting for a
// ClientHello that already came.
func TestStartTLSLosingBufferedBytesHangs(t *testing.T) {
	cn, sn := tcpPair(t)
	pc := &pipelinedConn{Conn: cn, prefix: []byte("OK\r\n"), sent: make(chan []byte, 1)}
	tc := tls.Client(pc, goClientConfig(pki()))
	tc.SetDeadline(time.Now().Add(testTimeout))
	go tc.Handshake()
	br := readLineAfter(t, pc.sent, sn)
	require.Positive(t, br.Buffered())
	s, err := Upgrade(sn, nil, serverContext(t), "") // forgets br
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, s.HandshakeContext(ctx), context.DeadlineExceeded)
	tc.Close()
}

func TestStartTLSClientUpgrade(t *testing.T) {
	cn, sn := tcpPair(t)
	done := make(chan error, 1)
	go func() {
		// Plaintext greeting, then TLS on the same connection.
		if _, err := sn.Write([]byte("220 ready, say STARTTLS\r\n")); err != nil {
			done <- err
			return
		}
		br := bufio.NewReader(sn)
		if _, err := br.ReadString('\n'); err != nil {
			done <- err
			return
		}
		if _, err := sn.Write([]byte("OK\r\n")); err != nil {
			done <- err
			return
		}
		tc := tls.Server(sn, goServerConfig(pki()))
		tc.SetDeadline(time.Now().Add(testTimeout))
		done <- echo(tc)
	}()
	br := bufio.NewReader(cn)
	greeting, err := br.ReadString('\n')
	require.NoError(t, err)
	require.Contains(t, greeting, "STARTTLS")
	_, err = cn.Write([]byte("STARTTLS\r\n"))
	require.NoError(t, err)
	ok, err := br.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "OK\r\n", ok)
	c, err := Upgrade(cn, br, clientContext(t), "localhost")
	require.NoError(t, err)
	_, err = c.Write([]byte("secret"))
	require.NoError(t, err, "Write runs the handshake")
	buf := make([]byte, 6)
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err)
	require.Equal(t, "secret", string(buf))
	require.Equal(t, "localhost", c.ConnectionState().ServerName)
	require.NoError(t, c.Close())
	require.NoError(t, <-done)
}

// TestStartTLSEngineFeedBeforeHandshake is the engine-level equivalent:
// the server engine gets the ClientHello (byte by byte, and with the
// client's first application bytes queued behind it) before anyone called
// Handshake on it.
func TestStartTLSEngineFeedBeforeHandshake(t *testing.T) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			c := mustEngine(t, clientContext(t, v.mod), "localhost")
			s := mustEngine(t, serverContext(t), "")
			require.ErrorIs(t, c.Handshake(), ErrWantRead)
			hello := make([]byte, 4096)
			n, err := c.Drain(hello)
			require.NoError(t, err)
			hello = hello[:n]
			for i := range hello {
				m, err := s.Feed(hello[i : i+1])
				require.NoError(t, err)
				require.Equal(t, 1, m)
			}
			require.Zero(t, s.PendingOut(), "nothing happens before the server starts")
			l := newLink(t, c, s, newRand(t))
			l.handshake()
			require.Equal(t, v.go_, s.ConnectionState().Version)
			require.Equal(t, "hi", string(l.transfer(c, s, []byte("hi"))))
		})
	}
}
