package sslbio

// Key log: for one connection, the lines sslbio writes are the lines the
// peer writes itself (crypto/tls's KeyLogWriter, openssl -keylogfile).

import (
	"crypto/tls"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// keyLines splits a key log into its lines, sorted, checking each ends in
// a newline; lines whose label is in skip are left out.
func keyLines(t *testing.T, log string, skip ...string) []string {
	t.Helper()
	require.True(t, strings.HasSuffix(log, "\n"), "every line ends in a newline: %q", log)
	var out []string
	for _, line := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
		if !slices.Contains(skip, strings.Fields(line)[0]) {
			out = append(out, line)
		}
	}
	slices.Sort(out)
	return out
}

// lineCount is the number of NSS lines OpenSSL logs for a handshake.
func lineCount(version uint16) int {
	if version == tls.VersionTLS13 {
		return 5 // handshake and traffic secrets, both ways; the exporter secret
	}
	return 1 // CLIENT_RANDOM
}

func TestKeyLogMatchesGoPeer(t *testing.T) {
	for _, v := range versions {
		for _, role := range []Role{RoleServer, RoleClient} {
			for _, api := range []string{"Conn", "Engine"} {
				t.Run(v.name+"/"+role.String()+"/"+api, func(t *testing.T) {
					p := pki()
					ours, theirs := &syncBuffer{}, &syncBuffer{}
					withLog := func(c *Config) { c.KeyLogWriter = ours }
					cn, sn := tcpPair(t)
					var peer *goPeer
					var x *Context
					nc := cn
					name := "localhost"
					if role == RoleServer {
						cfg := goClientConfig(p)
						cfg.KeyLogWriter = theirs
						peer = startGoPeer(t, tls.Client(cn, cfg), sendAndReadEcho)
						x, nc, name = serverContext(t, v.mod, withLog), sn, ""
					} else {
						cfg := goServerConfig(p)
						cfg.KeyLogWriter = theirs
						peer = startGoPeer(t, tls.Server(sn, cfg), echo)
						x = clientContext(t, v.mod, withLog)
					}
					var version uint16
					if api == "Conn" {
						c, err := newConn(nc, x, name, nil)
						require.NoError(t, err)
						require.NoError(t, c.Handshake())
						require.Len(t, keyLines(t, ours.String()), lineCount(v.go_), "written when Handshake returns")
						version = c.ConnectionState().Version
						runEcho(t, role, c.Read, func(b []byte) error { _, err := c.Write(b); return err }, c.CloseWrite)
					} else {
						d := newDriver(t, mustEngine(t, x, name), nc, newRand(t))
						require.NoError(t, d.handshake())
						require.Len(t, keyLines(t, ours.String()), lineCount(v.go_), "written when Handshake returns")
						version = d.e.ConnectionState().Version
						runEcho(t, role, d.read, d.write, d.shutdown)
					}
					require.NoError(t, peer.wait())
					require.Equal(t, v.go_, version)
					// crypto/tls does not log the TLS 1.3 exporter secret.
					require.Equal(t, keyLines(t, theirs.String()), keyLines(t, ours.String(), "EXPORTER_SECRET"))
				})
			}
		}
	}
}

// Against openssl s_client -keylogfile: the same lines, the exporter
// secret included.
func TestKeyLogMatchesOpenSSLClient(t *testing.T) {
	opensslPath(t)
	for _, v := range []struct {
		flag string
		want uint16
	}{{"-tls1_3", tls.VersionTLS13}, {"-tls1_2", tls.VersionTLS12}} {
		t.Run(v.flag, func(t *testing.T) {
			ours := &syncBuffer{}
			ln, err := Listen("tcp", "127.0.0.1:0", serverContext(t, func(c *Config) { c.KeyLogWriter = ours }))
			require.NoError(t, err)
			defer ln.Close()
			file := t.TempDir() + "/keys.log"
			cl := startSClient(t, ln.Addr().String(), v.flag, "-keylogfile", file, "-quiet", "-no_ign_eof")
			s := acceptOne(t, ln)
			require.NoError(t, s.Handshake())
			_, err = s.Write([]byte("bye\n"))
			require.NoError(t, err)
			cl.waitOutput(t, "bye")
			cl.stdin.Close()
			cl.waitExit(t)
			theirs, err := os.ReadFile(file)
			require.NoError(t, err)
			var lines []string // the file has comment lines too
			for _, l := range strings.SplitAfter(string(theirs), "\n") {
				if l != "" && !strings.HasPrefix(l, "#") {
					lines = append(lines, l)
				}
			}
			require.Len(t, lines, lineCount(v.want))
			require.Equal(t, keyLines(t, strings.Join(lines, "")), keyLines(t, ours.String()))
		})
	}
}

// Engines of one Context on many goroutines share its key log: every
// connection's lines arrive whole, each once.
func TestKeyLogConcurrentConnections(t *testing.T) {
	ours := &syncBuffer{}
	ln, err := Listen("tcp", "127.0.0.1:0", serverContext(t, func(c *Config) { c.KeyLogWriter = ours }))
	require.NoError(t, err)
	defer ln.Close()
	results := serveAll(t, ln)
	const n = 16
	theirs := make([]*syncBuffer, n)
	errs := make(chan error, n)
	for i := range theirs {
		theirs[i] = &syncBuffer{}
		cfg := goClientConfig(pki())
		cfg.KeyLogWriter = theirs[i]
		go func() {
			tc, err := tls.Dial("tcp", ln.Addr().String(), cfg)
			if err == nil {
				tc.Close()
			}
			errs <- err
		}()
	}
	for range n {
		require.NoError(t, <-errs)
		require.NoError(t, nextAccepted(t, results).err)
	}
	all := keyLines(t, ours.String(), "EXPORTER_SECRET")
	var want []string
	for _, b := range theirs {
		want = append(want, keyLines(t, b.String())...)
	}
	slices.Sort(want)
	require.Equal(t, want, all)
}

// A TLS 1.3 key update's new traffic secret is written when KeyUpdate
// returns, by the Engine and by the Conn: not left for the Context's next
// engine call (another connection's, or none if this one closes first).
func TestKeyLogKeyUpdate(t *testing.T) {
	updated := func(t *testing.T, log *syncBuffer, before int) {
		t.Helper()
		lines := keyLines(t, log.String())
		require.Len(t, lines, before+1, "written when KeyUpdate returns")
		require.True(t, slices.ContainsFunc(lines, func(l string) bool {
			return strings.HasPrefix(l, "CLIENT_TRAFFIC_SECRET_N ")
		}), "the client's new secret")
	}
	t.Run("Engine", func(t *testing.T) {
		log := &syncBuffer{}
		l := enginePair(t, []func(*Config){func(c *Config) { c.KeyLogWriter = log }}, nil, nil)
		before := len(keyLines(t, log.String()))
		require.NoError(t, l.c.KeyUpdate(false))
		updated(t, log, before)
	})
	t.Run("Conn", func(t *testing.T) {
		log := &syncBuffer{}
		c, peer := connVsGoServer(t, clientContext(t, func(c *Config) { c.KeyLogWriter = log }), goServerConfig(pki()), echo)
		require.NoError(t, c.Handshake())
		before := len(keyLines(t, log.String()))
		require.NoError(t, c.KeyUpdate(false))
		updated(t, log, before)
		connClose(t, c, peer)
	})
}
