package sslbio

/*
#include "sslbio.h"
#include "info_internal.h"
*/
import "C"

import (
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
	NegotiatedProtocol string // ALPN, "" if none
	ServerName         string // what a client asked for
	PeerCertificates   []*x509.Certificate
}

// ConnectionState reports the negotiated parameters (zero before the
// handshake completes).
func (e *Engine) ConnectionState() ConnectionState {
	var cs ConnectionState
	if e.c == nil {
		return cs
	}
	defer runtime.KeepAlive(e)
	var st C.sslbio__state
	C.sslbio__conn_state(e.c, &st)
	cs.HandshakeComplete = st.handshake_done != 0
	if !cs.HandshakeComplete {
		return cs
	}
	cs.Version = uint16(st.version)
	cs.CipherSuite = uint16(st.cipher_id)
	cs.DidResume = st.did_resume != 0
	cs.CipherName = C.GoString(C.sslbio_conn_cipher(e.c))
	cs.NegotiatedProtocol = C.GoString(C.sslbio_conn_alpn(e.c))
	if e.role == RoleClient {
		cs.ServerName = C.GoString(C.sslbio__conn_server_name(e.c))
	}
	for i := 0; i < int(st.peer_certs); i++ {
		n := C.sslbio__conn_peer_cert_der(e.c, C.int(i), nil, 0)
		if n <= 0 {
			break
		}
		der := make([]byte, int(n))
		C.sslbio__conn_peer_cert_der(e.c, C.int(i), bytesPtr(der), C.size_t(len(der)))
		if cert, err := x509.ParseCertificate(der); err == nil {
			cs.PeerCertificates = append(cs.PeerCertificates, cert)
		}
	}
	return cs
}
