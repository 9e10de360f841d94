package sslbio

/*
#include "sslbio.h"
*/
import "C"

import (
	"crypto/tls"
	"crypto/x509"
	"runtime"
)

// ConnectionState describes a connection, named like crypto/tls's.
type ConnectionState struct {
	Version            uint16 // tls.VersionTLS13, ...
	HandshakeComplete  bool
	DidResume          bool
	CipherSuite        uint16 // IANA number, as crypto/tls's constants
	CipherName         string // OpenSSL's name ("TLS_AES_128_GCM_SHA256")
	CipherBits         int    // secret bits of the cipher (128, 256)
	Group              string // key exchange group, OpenSSL's name ("x25519", "secp256r1")
	NegotiatedProtocol string // ALPN, "" if none
	// ServerName is the name a client asked for: on a client the one it was
	// made for, on a server the SNI the client sent ("" if none).
	ServerName       string
	PeerCertificates []*x509.Certificate
	// TLSUnique is the tls-unique channel binding (RFC 5929) on TLS 1.2,
	// nil on TLS 1.3, as crypto/tls's.
	TLSUnique []byte

	// ekm is the engine's exporter, for ExportKeyingMaterial (exporter.go);
	// nil before the handshake completed.
	ekm func(label string, context []byte, length int) ([]byte, error)
}

// ConnectionState reports the negotiated parameters (zero before the
// handshake completes).
func (e *Engine) ConnectionState() ConnectionState {
	var cs ConnectionState
	if e.c == nil {
		return cs
	}
	defer runtime.KeepAlive(e)
	cs.HandshakeComplete = C.sslbio_conn_is_handshake_done(e.c) != 0
	if !cs.HandshakeComplete {
		return cs
	}
	cs.Version = uint16(C.sslbio_conn_protocol_version(e.c))
	cs.CipherSuite = uint16(C.sslbio_conn_cipher_id(e.c))
	cs.CipherBits = int(C.sslbio_conn_cipher_bits(e.c))
	cs.DidResume = C.sslbio_conn_session_reused(e.c) != 0
	cs.CipherName = C.GoString(C.sslbio_conn_cipher(e.c))
	cs.Group = C.GoString(C.sslbio_conn_group(e.c))
	cs.NegotiatedProtocol = C.GoString(C.sslbio_conn_alpn(e.c))
	cs.ServerName = C.GoString(C.sslbio_conn_server_name(e.c))
	for _, der := range e.PeerChain() {
		if cert, err := x509.ParseCertificate(der); err == nil {
			cs.PeerCertificates = append(cs.PeerCertificates, cert)
		}
	}
	e.addExporters(&cs)
	return cs
}

// PeerChain is the DER of every certificate the peer sent, leaf first (nil
// if none).
func (e *Engine) PeerChain() [][]byte {
	if e.c == nil {
		return nil
	}
	defer runtime.KeepAlive(e)
	n := int(C.sslbio_conn_peer_cert_count(e.c))
	var chain [][]byte
	for i := 0; i < n; i++ {
		need := C.sslbio_conn_peer_cert_der(e.c, C.size_t(i), nil, 0)
		if need <= 0 {
			break
		}
		der := make([]byte, int(need))
		C.sslbio_conn_peer_cert_der(e.c, C.size_t(i), bytesPtr(der), C.size_t(len(der)))
		chain = append(chain, der)
	}
	return chain
}

// awaitsTicket reports whether the session may still become resumable: a
// TLS 1.3 client learns its ticket after the handshake.
func (e *Engine) awaitsTicket() bool {
	if e.c == nil || e.role != RoleClient {
		return false
	}
	defer runtime.KeepAlive(e)
	return C.sslbio_conn_protocol_version(e.c) == C.int(tls.VersionTLS13)
}
