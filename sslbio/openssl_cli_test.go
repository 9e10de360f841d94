package sslbio

// Interoperability with openssl(1): `openssl s_server` and `openssl
// s_client` processes over 127.0.0.1, killed at test end.

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// startSServer runs `openssl s_server` on a free port and waits until it
// listens; returns the process and its address.
func startSServer(t *testing.T, extra ...string) (*opensslProc, string) {
	t.Helper()
	f := pkiFiles(t, pki())
	for attempt := 0; ; attempt++ {
		addr := net.JoinHostPort("127.0.0.1", freePort(t))
		args := append([]string{"s_server", "-accept", addr, "-cert", f.serverCert, "-key", f.serverKey,
			"-naccept", "1"}, extra...)
		p := startOpenSSL(t, args...)
		p.waitOutput(t, "ACCEPT")
		select {
		case <-p.exited: // lost the port to someone else: try another
			require.Less(t, attempt, 3, "s_server cannot listen:\n%s", p.out.String())
			continue
		case <-time.After(20 * time.Millisecond):
		}
		return p, addr
	}
}

// opensslVersions: the flag that pins openssl(1) to each version.
var opensslVersions = []struct {
	name string
	flag string
	want uint16
}{{"TLS1.3", "-tls1_3", tls.VersionTLS13}, {"TLS1.2", "-tls1_2", tls.VersionTLS12}}

func TestOpenSSLServer(t *testing.T) {
	opensslPath(t)
	for _, v := range opensslVersions {
		t.Run(v.name+"/Dial", func(t *testing.T) {
			srv, addr := startSServer(t, "-rev", v.flag)
			c, err := Dial("tcp", addr, clientContext(t))
			require.NoError(t, err)
			defer c.Close()
			c.SetDeadline(time.Now().Add(testTimeout))
			require.Equal(t, v.want, c.ConnectionState().Version)
			_, err = c.Write([]byte("hello sslbio\n"))
			require.NoError(t, err)
			line, err := bufio.NewReader(c).ReadString('\n')
			require.NoError(t, err)
			require.Equal(t, "oiblss olleh\n", line)
			require.NoError(t, c.Close())
			srv.waitOutput(t, "CONNECTION CLOSED")
		})
		t.Run(v.name+"/Engine", func(t *testing.T) {
			_, addr := startSServer(t, "-rev", v.flag)
			nc, err := net.DialTimeout("tcp", addr, testTimeout)
			require.NoError(t, err)
			defer nc.Close()
			d := newDriver(t, mustEngine(t, clientContext(t), "localhost"), nc, newRand(t))
			require.NoError(t, d.handshake())
			require.Equal(t, v.want, d.e.ConnectionState().Version)
			require.NoError(t, d.write([]byte("abc\n")))
			got := make([]byte, 4)
			require.NoError(t, d.readFull(got))
			require.Equal(t, "cba\n", string(got))
		})
	}
}

func TestOpenSSLServerRequiresClientCert(t *testing.T) {
	opensslPath(t)
	p := pki()
	f := pkiFiles(t, p)
	t.Run("with certificate", func(t *testing.T) {
		_, addr := startSServer(t, "-rev", "-Verify", "2", "-CAfile", f.ca)
		cctx := clientContext(t, func(c *Config) { c.CertPEM, c.KeyPEM = p.Client.CertPEM, p.Client.KeyPEM })
		c, err := Dial("tcp", addr, cctx)
		require.NoError(t, err)
		defer c.Close()
		c.SetDeadline(time.Now().Add(testTimeout))
		_, err = c.Write([]byte("ab\n"))
		require.NoError(t, err)
		line, err := bufio.NewReader(c).ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "ba\n", line)
	})
	t.Run("without", func(t *testing.T) {
		_, addr := startSServer(t, "-rev", "-Verify", "2", "-CAfile", f.ca)
		c, err := Dial("tcp", addr, clientContext(t))
		if err == nil { // TLS 1.3: the refusal arrives after our handshake
			defer c.Close()
			c.SetDeadline(time.Now().Add(testTimeout))
			_, err = c.Read(make([]byte, 1))
		}
		require.Error(t, err)
		require.NotErrorIs(t, err, io.EOF)
		require.Contains(t, err.Error(), "certificate required")
	})
}

func TestOpenSSLServerUntrusted(t *testing.T) {
	opensslPath(t)
	_, addr := startSServer(t, "-rev")
	_, err := Dial("tcp", addr, clientContext(t, func(c *Config) { c.CAPEM = otherPKI().CAPEM }))
	require.ErrorIs(t, err, ErrVerify)
	require.Contains(t, err.Error(), "certificate verify failed")
	require.Contains(t, err.Error(), "(verify 20)") // s_server sends the leaf alone
}

// TestOpenSSLServerDiesMidStream: the peer process is killed after
// sending some data; the end of the stream is a truncation.
func TestOpenSSLServerDiesMidStream(t *testing.T) {
	opensslPath(t)
	srv, addr := startSServer(t) // interactive: stdin goes to the client
	c, err := Dial("tcp", addr, clientContext(t))
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(testTimeout))
	srv.waitOutput(t, "CIPHER is ")
	_, err = srv.stdin.Write([]byte("first part\n"))
	require.NoError(t, err)
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "first part\n", line)
	require.NoError(t, srv.cmd.Process.Kill())
	srv.waitExit(t)
	_, err = br.ReadString('\n')
	require.ErrorIs(t, err, ErrTruncated, "a killed peer never sent close_notify")
}

// TestOpenSSLServerRenegotiationRefused: s_server asks for a renegotiation
// (HelloRequest, TLS 1.2); the engine refuses it, so no second handshake
// ever completes.
func TestOpenSSLServerRenegotiationRefused(t *testing.T) {
	opensslPath(t)
	srv, addr := startSServer(t, "-tls1_2")
	c, err := Dial("tcp", addr, clientContext(t))
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(testTimeout))
	srv.waitOutput(t, "CIPHER is ")
	_, err = srv.stdin.Write([]byte("before\n"))
	require.NoError(t, err)
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "before\n", line)
	_, err = srv.stdin.Write([]byte("r\nafter\n")) // renegotiate, then more data
	require.NoError(t, err)
	line, err = br.ReadString('\n')
	t.Logf("after the HelloRequest: %q, %v", line, err)
	if err == nil {
		require.Equal(t, "after\n", line)
	} else {
		// OpenSSL servers give up on a refused renegotiation with a fatal
		// alert; that is an error, never a clean EOF.
		require.NotErrorIs(t, err, io.EOF)
		require.Contains(t, err.Error(), "alert")
	}
	c.Close()
	srv.waitExit(t)
	require.Contains(t, srv.out.String(), "1 server accepts that finished", "only the first handshake completed")
}

// startSClient runs `openssl s_client` against addr.
func startSClient(t *testing.T, addr string, extra ...string) *opensslProc {
	t.Helper()
	f := pkiFiles(t, pki())
	args := append([]string{"s_client", "-connect", addr, "-CAfile", f.ca, "-verify_return_error",
		"-verify_hostname", "localhost", "-servername", "localhost"}, extra...)
	return startOpenSSL(t, args...)
}

// acceptOne accepts one connection on ln within the test timeout.
func acceptOne(t *testing.T, ln net.Listener) *Conn {
	t.Helper()
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			c = nil
		}
		ch <- c
	}()
	select {
	case c := <-ch:
		require.NotNil(t, c)
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(testTimeout))
		return c.(*Conn)
	case <-time.After(testTimeout):
		ln.Close()
		t.Fatal("no connection")
		return nil
	}
}

// sClientPing runs s_client with args against a server Conn of sctx and
// checks that a line typed into s_client arrives.
func sClientPing(t *testing.T, sctx *Context, args ...string) (*opensslProc, *Conn, *bufio.Reader) {
	t.Helper()
	ln, err := Listen("tcp", "127.0.0.1:0", sctx)
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	cl := startSClient(t, ln.Addr().String(), args...)
	s := acceptOne(t, ln)
	br := bufio.NewReader(s)
	_, err = cl.stdin.Write([]byte("ping\n"))
	require.NoError(t, err)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ping\n", line)
	return cl, s, br
}

func TestOpenSSLClient(t *testing.T) {
	opensslPath(t)
	for _, v := range opensslVersions {
		t.Run(v.name, func(t *testing.T) {
			sctx := serverContext(t, func(c *Config) { c.NextProtos = []string{"h2"} })
			cl, s, br := sClientPing(t, sctx, v.flag, "-alpn", "h2", "-quiet", "-no_ign_eof")
			st := s.ConnectionState()
			require.Equal(t, v.want, st.Version)
			require.Equal(t, "h2", st.NegotiatedProtocol)
			_, err := s.Write([]byte("pong\n"))
			require.NoError(t, err)
			cl.waitOutput(t, "pong")
			// End of stdin: s_client sends close_notify, a clean EOF here.
			cl.stdin.Close()
			rest, err := io.ReadAll(br)
			require.NoError(t, err, "s_client closed cleanly")
			require.Empty(t, rest)
			cl.waitExit(t)
		})
	}
}

func TestOpenSSLClientResumes(t *testing.T) {
	opensslPath(t)
	ln, err := Listen("tcp", "127.0.0.1:0", serverContext(t))
	require.NoError(t, err)
	defer ln.Close()
	sess := t.TempDir() + "/session.pem"
	for i, flag := range []string{"-sess_out", "-sess_in"} {
		cl := startSClient(t, ln.Addr().String(), flag, sess)
		s := acceptOne(t, ln)
		_, err = s.Write([]byte("hi\n")) // lets s_client read the ticket
		require.NoError(t, err)
		cl.waitOutput(t, "hi\n")
		cl.stdin.Close()
		_, err = io.ReadAll(s)
		require.NoError(t, err)
		cl.waitExit(t)
		if i == 0 {
			require.Contains(t, cl.out.String(), "New, TLSv1.3")
		} else {
			require.Contains(t, cl.out.String(), "Reused, TLSv1.3")
			require.True(t, s.ConnectionState().DidResume)
		}
	}
}

func TestOpenSSLClientOldVersionRefused(t *testing.T) {
	opensslPath(t)
	ln, err := Listen("tcp", "127.0.0.1:0", serverContext(t))
	require.NoError(t, err)
	defer ln.Close()
	cl := startSClient(t, ln.Addr().String(), "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
	s := acceptOne(t, ln)
	err = s.Handshake()
	require.Error(t, err)
	require.Contains(t, err.Error(), "unsupported protocol")
	require.NotErrorIs(t, err, io.EOF)
	cl.waitExit(t)
	require.Contains(t, cl.out.String(), "Cipher is (NONE)", "s_client got no session")
}

// TestOpenSSLServerConnSession: a client Conn's session and key update
// against s_server, which sends its TLS 1.3 ticket only after reading the
// client's Finished: Session reads it from the socket.
func TestOpenSSLServerConnSession(t *testing.T) {
	opensslPath(t)
	for _, v := range opensslVersions {
		t.Run(v.name, func(t *testing.T) {
			srv, addr := startSServer(t, "-rev", v.flag, "-naccept", "2")
			cctx := clientContext(t)
			dial := func(session []byte) (*Conn, *bufio.Reader) {
				raw, err := net.DialTimeout("tcp", addr, testTimeout)
				require.NoError(t, err)
				c, err := Client(raw, cctx, "localhost")
				require.NoError(t, err)
				t.Cleanup(func() { c.Close() })
				c.SetDeadline(time.Now().Add(testTimeout))
				if session != nil {
					require.NoError(t, c.SetSession(session))
				}
				return c, bufio.NewReader(c)
			}
			line := func(c *Conn, br *bufio.Reader, s string) {
				t.Helper()
				_, err := c.Write([]byte(s + "\n"))
				require.NoError(t, err)
				got, err := br.ReadString('\n')
				require.NoError(t, err)
				require.Equal(t, reverse(s)+"\n", got)
			}

			c, br := dial(nil)
			sess, err := c.Session() // runs the handshake first
			require.NoError(t, err)
			require.NotEmpty(t, sess, "the ticket was read")
			st := c.ConnectionState()
			require.Equal(t, v.want, st.Version)
			require.False(t, st.DidResume)
			require.NotEmpty(t, st.Group)
			require.Positive(t, st.CipherBits)
			line(c, br, "before the key update")
			err = c.KeyUpdate(true)
			if v.want == tls.VersionTLS13 {
				require.NoError(t, err)
				for i := 0; i < 3; i++ { // both ways under the new keys
					line(c, br, "after the key update "+string(rune('a'+i)))
				}
			} else {
				require.ErrorIs(t, err, ErrInvalid)
				require.Contains(t, err.Error(), "TLS 1.3")
				line(c, br, "still fine")
			}
			require.NoError(t, c.Close())

			c2, br2 := dial(sess)
			require.NoError(t, c2.Handshake())
			require.True(t, c2.ConnectionState().DidResume, "s_server resumed the session")
			line(c2, br2, "resumed")
			require.NoError(t, c2.Close())
			srv.waitExit(t)
		})
	}
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// TestOpenSSLClientConnKeyUpdate: a server Conn sends a KeyUpdate asking
// s_client to update too; data flows both ways afterwards. The server sees
// s_client's SNI and certificate.
func TestOpenSSLClientConnKeyUpdate(t *testing.T) {
	opensslPath(t)
	p := pki()
	f := pkiFiles(t, p)
	sctx := serverContext(t, func(c *Config) { c.ClientAuth = tls.RequireAndVerifyClientCert; c.CAPEM = p.CAPEM })
	cl, s, br := sClientPing(t, sctx, "-tls1_3", "-cert", f.clientCert, "-key", f.clientKey,
		"-quiet", "-no_ign_eof")
	st := s.ConnectionState()
	require.Equal(t, uint16(tls.VersionTLS13), st.Version)
	require.Equal(t, "localhost", st.ServerName, "s_client's -servername")
	chain := s.PeerChain()
	require.NotEmpty(t, chain)
	require.Equal(t, p.Client.TLS().Certificate[0], chain[0])
	require.Equal(t, "sslbio test client", st.PeerCertificates[0].Subject.CommonName)

	for i := 0; i < 3; i++ {
		require.NoError(t, s.KeyUpdate(i != 1))
		msg := "pong " + string(rune('a'+i))
		_, err := s.Write([]byte(msg + "\n"))
		require.NoError(t, err)
		cl.waitOutput(t, msg)
		_, err = cl.stdin.Write([]byte("again " + msg + "\n"))
		require.NoError(t, err)
		got, err := br.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "again "+msg+"\n", got)
	}
	cl.stdin.Close() // s_client sends close_notify
	rest, err := io.ReadAll(br)
	require.NoError(t, err)
	require.Empty(t, rest)
	cl.waitExit(t)
}
