package sslbio

// Exporters (RFC 5705 / RFC 8446 7.5) and tls-unique: byte for byte what
// crypto/tls computes on the same connection.

import (
	"crypto/tls"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// exporterInputs are the label/context/length triples compared.
var exporterInputs = []struct {
	name    string
	label   string
	context []byte
	length  int
}{
	{"no context", "EXPERIMENTAL sslbio", nil, 32},
	{"empty context", "EXPERIMENTAL sslbio", []byte{}, 32},
	{"context", "EXPERIMENTAL sslbio", []byte("a context value"), 32},
	{"long", "EXPORTER-Channel-Binding", nil, 100},
}

// goExports is what the crypto/tls side computed on its connection.
type goExports struct {
	ekm       [][]byte
	tlsUnique []byte
	version   uint16
}

// exportsOf computes every exporterInputs value with ekm.
func exportsOf(t *testing.T, ekm func(string, []byte, int) ([]byte, error)) [][]byte {
	t.Helper()
	var out [][]byte
	for _, in := range exporterInputs {
		b, err := ekm(in.label, in.context, in.length)
		require.NoError(t, err, in.name)
		require.Len(t, b, in.length)
		out = append(out, b)
	}
	return out
}

func TestExportersMatchGoPeer(t *testing.T) {
	for _, v := range versions {
		for _, role := range []Role{RoleServer, RoleClient} {
			for _, api := range []string{"Conn", "Engine"} {
				t.Run(v.name+"/"+role.String()+"/"+api, func(t *testing.T) {
					p := pki()
					cn, sn := tcpPair(t)
					got := make(chan goExports, 1)
					// The Go side: handshake, export, then the echo.
					goSide := func(tc *tls.Conn) error {
						if err := tc.Handshake(); err != nil {
							return err
						}
						cs := tc.ConnectionState()
						var g goExports
						g.version, g.tlsUnique = cs.Version, cs.TLSUnique
						for _, in := range exporterInputs {
							b, err := cs.ExportKeyingMaterial(in.label, in.context, in.length)
							if err != nil {
								return err
							}
							g.ekm = append(g.ekm, b)
						}
						got <- g
						if role == RoleServer {
							return sendAndReadEcho(tc)
						}
						return echo(tc)
					}
					var peer *goPeer
					var x *Context
					nc, name := cn, "localhost"
					if role == RoleServer {
						peer = startGoPeer(t, tls.Client(cn, goClientConfig(p)), goSide)
						x, nc, name = serverContext(t, v.mod), sn, ""
					} else {
						peer = startGoPeer(t, tls.Server(sn, goServerConfig(p)), goSide)
						x = clientContext(t, v.mod)
					}
					var st ConnectionState
					if api == "Conn" {
						c, err := newConn(nc, x, name, nil)
						require.NoError(t, err)
						_, err = c.ConnectionState().ExportKeyingMaterial("EXPERIMENTAL x", nil, 8)
						require.ErrorIs(t, err, ErrInvalid, "before the handshake")
						require.NoError(t, c.Handshake())
						st = c.ConnectionState()
						runEcho(t, role, c.Read, func(b []byte) error { _, err := c.Write(b); return err }, c.CloseWrite)
						defer func() {
							require.NoError(t, c.Close())
							_, err := st.ExportKeyingMaterial("EXPERIMENTAL x", nil, 8)
							require.ErrorIs(t, err, ErrClosed, "the state asks the engine, closed now")
						}()
					} else {
						e := mustEngine(t, x, name)
						_, err := e.ExportKeyingMaterial("EXPERIMENTAL x", nil, 8)
						require.ErrorIs(t, err, ErrInvalid, "before the handshake")
						require.Contains(t, err.Error(), "needs a completed handshake")
						require.Nil(t, e.TLSUnique())
						d := newDriver(t, e, nc, newRand(t))
						require.NoError(t, d.handshake())
						st = e.ConnectionState()
						direct := exportsOf(t, e.ExportKeyingMaterial)
						require.Equal(t, direct, exportsOf(t, st.ExportKeyingMaterial))
						runEcho(t, role, d.read, d.write, d.shutdown)
					}
					g := <-got
					require.NoError(t, peer.wait())
					require.Equal(t, v.go_, g.version)
					require.Equal(t, g.ekm, exportsOf(t, st.ExportKeyingMaterial), "same keying material as crypto/tls")
					if v.go_ == tls.VersionTLS12 {
						require.NotEqual(t, g.ekm[0], g.ekm[1], "TLS 1.2: no context is not an empty one")
						require.Len(t, st.TLSUnique, 12)
						require.Equal(t, g.tlsUnique, st.TLSUnique)
						_, err := st.ExportKeyingMaterial("master secret", nil, 8)
						require.ErrorIs(t, err, ErrInvalid, "a reserved label")
					} else {
						require.Nil(t, st.TLSUnique)
						require.Nil(t, g.tlsUnique)
					}
				})
			}
		}
	}
}

func TestExporterBadCalls(t *testing.T) {
	var zero ConnectionState
	_, err := zero.ExportKeyingMaterial("EXPERIMENTAL x", nil, 8)
	require.ErrorIs(t, err, ErrInvalid)
	require.Contains(t, err.Error(), "needs a completed handshake")

	l := enginePair(t, nil, nil, nil)
	_, err = l.c.ExportKeyingMaterial("EXPERIMENTAL x", nil, 0)
	require.ErrorIs(t, err, ErrInvalid)
	a, err := l.c.ExportKeyingMaterial("EXPERIMENTAL x", []byte("c"), 16)
	require.NoError(t, err)
	b, err := l.s.ExportKeyingMaterial("EXPERIMENTAL x", []byte("c"), 16)
	require.NoError(t, err)
	require.Equal(t, a, b)
	// A NUL byte would cut the label short in C: the keying material of
	// "EXPERIMENTAL x" instead of crypto/tls's for the whole label.
	_, err = l.c.ExportKeyingMaterial("EXPERIMENTAL x\x00y", nil, 16)
	require.ErrorIs(t, err, ErrInvalid)
	_, err = l.s.ConnectionState().ExportKeyingMaterial("\x00", nil, 16)
	require.ErrorIs(t, err, ErrInvalid)
	require.NoError(t, l.c.Close())
	_, err = l.c.ExportKeyingMaterial("EXPERIMENTAL x", nil, 8)
	require.ErrorIs(t, err, ErrClosed)
	require.Nil(t, l.c.TLSUnique())
}

// sendAndReadEcho is a crypto/tls client's part against runEcho's server.
func sendAndReadEcho(tc *tls.Conn) error {
	if _, err := tc.Write([]byte("keys")); err != nil {
		return err
	}
	if err := tc.CloseWrite(); err != nil {
		return err
	}
	got, err := io.ReadAll(tc)
	if err == nil && string(got) != "keys" {
		err = fmt.Errorf("echo %q", got)
	}
	return err
}

// runEcho plays sslbio's part against the Go peer: a server echoes one
// message back until the close; a client sends one and reads it back.
func runEcho(t *testing.T, role Role, read func([]byte) (int, error), write func([]byte) error, closeWrite func() error) {
	t.Helper()
	buf := make([]byte, 64)
	if role == RoleClient {
		require.NoError(t, write([]byte("keys")))
		n, err := read(buf)
		require.NoError(t, err)
		require.Equal(t, "keys", string(buf[:n]))
		require.NoError(t, closeWrite())
		return
	}
	n, err := read(buf)
	require.NoError(t, err)
	require.NoError(t, write(buf[:n]))
	require.NoError(t, closeWrite())
}
