package sslbio

import (
	"crypto/tls"
	"crypto/x509"
	"io"
)

// Role says which side of the handshake a Context's engines play.
type Role int

const (
	// RoleClient engines send the ClientHello and verify the server.
	RoleClient Role = 1 // SSLBIO_CLIENT
	// RoleServer engines answer ClientHellos with a certificate.
	RoleServer Role = 2 // SSLBIO_SERVER
)

func (r Role) String() string {
	switch r {
	case RoleClient:
		return "client"
	case RoleServer:
		return "server"
	}
	return "invalid role"
}

// Config configures a Context. Field names follow crypto/tls where they fit.
// PEM fields and file fields may be mixed; PEM wins when both are set.
type Config struct {
	Role Role

	CertFile string // certificate chain, leaf first (PEM file)
	KeyFile  string // private key (PEM file)
	CertPEM  []byte
	KeyPEM   []byte

	// Trust anchors. A client with neither uses the system store.
	CAFile string
	CAPEM  []byte

	// NextProtos lists ALPN protocols in preference order.
	NextProtos []string

	// MinVersion and MaxVersion take crypto/tls constants (tls.VersionTLS12,
	// tls.VersionTLS13); 0 means the default (TLS 1.2 .. highest). Versions
	// below TLS 1.2 are refused.
	MinVersion uint16
	MaxVersion uint16

	// InsecureSkipVerify turns off the client's certificate and host name
	// checks. For tests only.
	InsecureSkipVerify bool

	// ClientAuth is the server's policy for client certificates, with
	// crypto/tls's meaning: tls.NoClientCert (default, none asked for),
	// tls.RequestClientCert (asked for, not required, not verified),
	// tls.RequireAnyClientCert (required, not verified),
	// tls.VerifyClientCertIfGiven (asked for, verified if sent) and
	// tls.RequireAndVerifyClientCert (required and verified against CAFile
	// and CAPEM).
	ClientAuth tls.ClientAuthType

	// CipherList is the OpenSSL cipher string for TLS 1.2 and
	// CipherSuites the TLS 1.3 suites ("TLS_AES_128_GCM_SHA256:...");
	// empty keeps OpenSSL's defaults.
	CipherList   string
	CipherSuites string

	// AllowRaggedEOF treats transport EOF without close_notify as a clean
	// close (io.EOF) after the handshake, like Python's suppress_ragged_eofs.
	// Off by default: such an EOF is ErrTruncated.
	AllowRaggedEOF bool

	// GetContextForClient (servers) is called with what the client's
	// ClientHello asked for, before the handshake goes on, in the goroutine
	// that drives the handshake (Handshake, Read or Write of the Engine or
	// Conn). It returns nil, nil to go on with this Context, another server
	// Context to go on with its certificate, ALPN protocols, client
	// certificate policy and hooks instead, or an error to abort the
	// handshake with a fatal alert: unrecognized_name when the error wraps
	// ErrUnrecognizedName, handshake_failure otherwise. The handshake's
	// error then wraps the hook's error.
	GetContextForClient func(*ClientHelloInfo) (*Context, error)

	// KeyLogWriter receives the TLS secrets in NSS key log format, one line
	// per Write ending in "\n", as crypto/tls writes them (Wireshark reads
	// them). It is written from the goroutine that drives a handshake, at
	// the end of the engine call that derived the secrets; lines of
	// several connections of one Context are written one at a time. It
	// defeats TLS's protection: debugging only.
	KeyLogWriter io.Writer

	// VerifyPeerCertificate, as crypto/tls's: called after the normal
	// verification of the peer's certificates passed (or, with
	// InsecureSkipVerify or a server's RequestClientCert or
	// RequireAnyClientCert, without it), with the certificates the peer
	// sent (DER, leaf first) and the chains crypto/x509 builds from them to
	// CAFile and CAPEM (or the system pool), nil when it builds none or no
	// verification was asked for. Its error aborts the handshake, and the
	// handshake's error wraps it. It runs in the goroutine that drives the
	// handshake. A server calls it only when the client sent a certificate,
	// once OpenSSL finished its side of the handshake: a TLS 1.3 client may
	// then consider the handshake complete, and sees a refusal as the end of
	// the connection, without an alert; a TLS 1.2 client gets a
	// bad_certificate alert instead of the server's last flight. The server
	// sends no application data and no session ticket before the answer (on
	// TLS 1.2, where the ticket would be sealed before it, no ticket at all,
	// so such clients do not resume).
	VerifyPeerCertificate func(rawCerts [][]byte, verifiedChains [][]*x509.Certificate) error
}
