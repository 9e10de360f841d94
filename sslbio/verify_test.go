package sslbio

// VerifyPeerCertificate and the client certificate policies, against
// crypto/tls peers over TCP, through the Conn adapter and the Engine.

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"

	"github.com/sslbio/sslbio/internal/testpki"
	"github.com/stretchr/testify/require"
)

var apis = []string{"Conn", "Engine"}

// handshakeOver runs sslbio's handshake over nc through api ("Conn": the
// net.Conn adapter, "Engine": the sans-IO engine), closes, and returns the
// state and the handshake's error.
func handshakeOver(t *testing.T, api string, x *Context, nc net.Conn, name string) (ConnectionState, error) {
	t.Helper()
	if api == "Conn" {
		c, err := newConn(nc, x, name, nil)
		require.NoError(t, err)
		err = c.Handshake()
		st := c.ConnectionState()
		c.Close()
		return st, err
	}
	d := newDriver(t, mustEngine(t, x, name), nc, newRand(t))
	err := d.handshake()
	st := d.e.ConnectionState()
	if err == nil {
		require.NoError(t, d.shutdown())
	}
	nc.Close()
	return st, err
}

// goHandshake is a crypto/tls peer's part: the handshake, then reading to
// the end; its error is the handshake's or the read's.
func goHandshake(tc *tls.Conn) error {
	err := tc.Handshake()
	if err == nil {
		_, err = io.Copy(io.Discard, tc)
	}
	return err
}

// spkiPin is the SHA-256 of a certificate's public key.
func spkiPin(t *testing.T, pair testpki.Pair) [32]byte {
	leaf, err := x509.ParseCertificate(pair.TLS().Certificate[0])
	require.NoError(t, err)
	return sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
}

var errPinMismatch = errors.New("public key pin mismatch")

// pinVerifier accepts exactly the leaf whose public key hashes to pin and
// records what it was called with.
type pinVerifier struct {
	pin    [32]byte
	mu     sync.Mutex
	calls  int
	raw    [][]byte
	chains [][]*x509.Certificate
}

func (v *pinVerifier) verify(raw [][]byte, chains [][]*x509.Certificate) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.calls++
	v.raw, v.chains = raw, chains
	if len(raw) == 0 {
		return errPinMismatch
	}
	leaf, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return err
	}
	if got := sha256.Sum256(leaf.RawSubjectPublicKeyInfo); got != v.pin {
		return fmt.Errorf("%w: %x", errPinMismatch, got[:8])
	}
	return nil
}

func (v *pinVerifier) seen() (int, [][]byte, [][]*x509.Certificate) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.calls, v.raw, v.chains
}

// A client pins a self-signed server by the SHA-256 of its public key:
// InsecureSkipVerify with VerifyPeerCertificate, as with crypto/tls.
func TestVerifyPinSelfSignedServer(t *testing.T) {
	pinned, impostor := testpki.SelfSigned("pinned.test"), testpki.SelfSigned("pinned.test")
	for _, v := range versions {
		for _, api := range apis {
			t.Run(v.name+"/"+api, func(t *testing.T) {
				pv := &pinVerifier{pin: spkiPin(t, pinned)}
				cfg := &Config{Role: RoleClient, InsecureSkipVerify: true, VerifyPeerCertificate: pv.verify}
				v.mod(cfg)
				x := mustContext(t, cfg)

				cn, sn := tcpPair(t)
				peer := startGoPeer(t, tls.Server(sn, &tls.Config{Certificates: []tls.Certificate{pinned.TLS()}}), goHandshake)
				st, err := handshakeOver(t, api, x, cn, "pinned.test")
				require.NoError(t, err)
				require.NoError(t, peer.wait())
				require.Equal(t, v.go_, st.Version)
				calls, raw, chains := pv.seen()
				require.Equal(t, 1, calls)
				require.Equal(t, [][]byte{pinned.TLS().Certificate[0]}, raw)
				require.Nil(t, chains, "InsecureSkipVerify: no verified chains")

				cn, sn = tcpPair(t)
				peer = startGoPeer(t, tls.Server(sn, &tls.Config{Certificates: []tls.Certificate{impostor.TLS()}}), goHandshake)
				_, err = handshakeOver(t, api, x, cn, "pinned.test")
				require.ErrorIs(t, err, errPinMismatch, "the handshake error wraps the callback's")
				require.ErrorIs(t, err, ErrVerify)
				require.Contains(t, err.Error(), "public key pin mismatch")
				perr := peer.wait()
				require.Error(t, perr, "the server got an alert")
				if v.go_ == tls.VersionTLS12 {
					// The certificate failed OpenSSL's own checks too (self-signed):
					// its alert for that stays (TestVerifyPinAlertOpenSSLServer).
					require.ErrorContains(t, perr, "remote error: tls: unknown certificate authority")
				} // TLS 1.3: OpenSSL sends it before its handshake keys, which crypto/tls cannot read
			})
		}
	}
}

// After the normal verification passed, the callback gets the chains
// crypto/x509 builds and may still refuse; when the normal verification
// fails it is not called.
func TestVerifyPeerCertificateAfterVerification(t *testing.T) {
	p := pki()
	errNope := errors.New("nope")
	for _, v := range versions {
		for _, api := range apis {
			t.Run(v.name+"/"+api, func(t *testing.T) {
				var calls int
				var refuse bool
				var gotRaw [][]byte
				var gotChains [][]*x509.Certificate
				x := clientContext(t, v.mod, func(c *Config) {
					c.VerifyPeerCertificate = func(raw [][]byte, chains [][]*x509.Certificate) error {
						calls++
						gotRaw, gotChains = raw, chains
						if refuse {
							return errNope
						}
						return nil
					}
				})
				run := func(scfg *tls.Config) (error, error) {
					cn, sn := tcpPair(t)
					peer := startGoPeer(t, tls.Server(sn, scfg), goHandshake)
					_, err := handshakeOver(t, api, x, cn, "localhost")
					return err, peer.wait()
				}
				err, perr := run(goServerConfig(p))
				require.NoError(t, err)
				require.NoError(t, perr)
				require.Equal(t, 1, calls)
				require.Equal(t, p.Server.TLS().Certificate, gotRaw, "leaf and CA, as sent")
				require.Len(t, gotChains, 1)
				require.Len(t, gotChains[0], 2)
				require.True(t, gotChains[0][1].Equal(p.CA), "the chain ends at the configured CA")

				refuse = true
				err, perr = run(goServerConfig(p))
				require.ErrorIs(t, err, errNope)
				require.Error(t, perr)
				require.Equal(t, 2, calls)

				err, _ = run(goServerConfig(otherPKI()))
				require.ErrorIs(t, err, ErrVerify)
				require.NotErrorIs(t, err, errNope)
				require.Equal(t, 19, asError(t, err).VerifyResult, "OpenSSL's own verdict: an unknown root")
				require.Equal(t, 2, calls, "not called when the normal verification failed")
			})
		}
	}
}

// Servers: ClientAuth keeps crypto/tls's meaning (RequireAnyClientCert and
// RequestClientCert do not verify), and VerifyPeerCertificate pins a client
// certificate from an unknown CA.
func TestVerifyClientCertificates(t *testing.T) {
	p, other := pki(), otherPKI()
	type clientCert int
	const (
		noCert clientCert = iota
		knownCA
		unknownCA
	)
	cases := []struct {
		auth tls.ClientAuthType
		pin  bool // VerifyPeerCertificate pins the unknown CA's client key
		cert clientCert
		ok   bool
	}{
		{tls.RequireAnyClientCert, false, unknownCA, true},
		{tls.RequireAnyClientCert, false, noCert, false},
		{tls.RequireAnyClientCert, true, unknownCA, true},
		{tls.RequireAnyClientCert, true, knownCA, false}, // a valid chain, but not the pinned key
		{tls.RequestClientCert, false, unknownCA, true},
		{tls.RequestClientCert, false, noCert, true},
		{tls.VerifyClientCertIfGiven, false, noCert, true},
		{tls.VerifyClientCertIfGiven, false, unknownCA, false},
		{tls.VerifyClientCertIfGiven, true, knownCA, false}, // verified, then refused by the pin
		{tls.RequireAndVerifyClientCert, false, knownCA, true},
		{tls.RequireAndVerifyClientCert, false, unknownCA, false},
	}
	for _, v := range versions {
		for _, api := range apis {
			for _, c := range cases {
				name := fmt.Sprintf("%s/%s/%s/pin=%v/cert=%d", v.name, api, c.auth, c.pin, c.cert)
				t.Run(name, func(t *testing.T) {
					pv := &pinVerifier{pin: spkiPin(t, other.Client)}
					x := serverContext(t, v.mod, func(cfg *Config) {
						cfg.ClientAuth = c.auth
						cfg.CAPEM = p.CAPEM
						if c.pin {
							cfg.VerifyPeerCertificate = pv.verify
						}
					})
					ccfg := goClientConfig(p)
					switch c.cert {
					case knownCA:
						ccfg.Certificates = []tls.Certificate{p.Client.TLS()}
					case unknownCA:
						ccfg.Certificates = []tls.Certificate{other.Client.TLS()}
					}
					cn, sn := tcpPair(t)
					peer := startGoPeer(t, tls.Client(cn, ccfg), goHandshake)
					st, err := handshakeOver(t, api, x, sn, "")
					perr := peer.wait()
					calls, raw, chains := pv.seen()
					if c.ok {
						require.NoError(t, err)
						require.NoError(t, perr)
						if c.cert != noCert {
							require.NotEmpty(t, st.PeerCertificates)
							require.True(t, bytes.Equal(ccfg.Certificates[0].Certificate[0], st.PeerCertificates[0].Raw))
						}
						if c.pin {
							require.Equal(t, 1, calls)
							require.Nil(t, chains, "no verification asked for: no chains")
						}
						return
					}
					require.Error(t, err)
					if c.pin && c.cert != noCert && v.go_ == tls.VersionTLS13 {
						// Refused by the callback: the server decides after OpenSSL
						// finished its side, so a TLS 1.3 client sees a completed
						// handshake and then the end of the connection, no alert.
						t.Logf("client: %v", perr)
					} else if c.pin && c.cert != noCert {
						// TLS 1.2: the server's last flight is dropped and a
						// bad_certificate alert sent instead (unless the socket's
						// close overtakes it).
						require.Error(t, perr, "the client's handshake is refused")
					} else {
						require.Error(t, perr, "the client sees the refusal")
					}
					if c.pin && c.cert != noCert {
						require.ErrorIs(t, err, errPinMismatch, "the server's error wraps the callback's")
						require.Equal(t, ccfg.Certificates[0].Certificate, raw)
						if c.auth == tls.VerifyClientCertIfGiven {
							require.Len(t, chains, 1, "verified first: chains from crypto/x509")
						}
					}
				})
			}
		}
	}
}

// The alert a pin refusal sends, as openssl s_server reads it (also on
// TLS 1.3, where OpenSSL sends it before its handshake keys).
func TestVerifyPinAlertOpenSSLServer(t *testing.T) {
	opensslPath(t)
	pinned, impostor := testpki.SelfSigned("pinned.test"), testpki.SelfSigned("pinned.test")
	dir := t.TempDir()
	cert, key := dir+"/impostor.pem", dir+"/impostor.key"
	require.NoError(t, os.WriteFile(cert, impostor.CertPEM, 0o600))
	require.NoError(t, os.WriteFile(key, impostor.KeyPEM, 0o600))
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			pv := &pinVerifier{pin: spkiPin(t, pinned)}
			cfg := &Config{Role: RoleClient, InsecureSkipVerify: true, VerifyPeerCertificate: pv.verify}
			v.mod(cfg)
			srv, addr := startSServer(t, "-cert", cert, "-key", key) // the later -cert wins
			c, err := Dial("tcp", addr, mustContext(t, cfg))
			require.ErrorIs(t, err, errPinMismatch)
			require.Nil(t, c)
			srv.waitOutput(t, "SSL alert number")
			require.Regexp(t, `alert (bad certificate|unknown ca|certificate unknown)`, srv.out.String())
		})
	}
}
