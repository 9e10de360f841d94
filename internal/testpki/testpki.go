// Package testpki makes a throwaway PKI for tests, examples and benchmarks:
// an ECDSA P-256 root CA, a server certificate for localhost/127.0.0.1/::1
// and a client certificate, all in PEM.
package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"sync"
	"time"
)

// Pair is a certificate and its key in PEM.
type Pair struct {
	CertPEM []byte // leaf first, then its issuer
	KeyPEM  []byte
}

// TLS returns the pair as a crypto/tls certificate.
func (p Pair) TLS() tls.Certificate {
	c, err := tls.X509KeyPair(p.CertPEM, p.KeyPEM)
	if err != nil {
		panic(err)
	}
	return c
}

// PKI is a CA with one server and one client certificate.
type PKI struct {
	CAPEM  []byte
	CA     *x509.Certificate
	Server Pair // CN=localhost, SAN localhost, 127.0.0.1, ::1
	Client Pair // CN=sslbio test client

	caKey *ecdsa.PrivateKey
}

// IssueServer issues a server certificate from the CA for the given DNS
// names (the first is also the common name).
func (p *PKI) IssueServer(names ...string) Pair {
	return issue(p.CA, p.caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: names[0]},
		DNSNames:    names,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, p.CAPEM)
}

// Pool returns a pool holding the CA.
func (p *PKI) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.CA)
	return pool
}

var (
	once   sync.Once
	shared *PKI
)

// Get returns a PKI made once per process.
func Get() *PKI {
	once.Do(func() { shared = New("sslbio test CA") })
	return shared
}

// New makes a fresh PKI whose CA has the given common name.
func New(caName string) *PKI {
	caKey := newKey()
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: caName, Organization: []string{"sslbio tests"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		panic(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p := &PKI{CAPEM: pemBlock("CERTIFICATE", caDER), CA: ca, caKey: caKey}
	p.Server = issue(ca, caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, p.CAPEM)
	p.Client = issue(ca, caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "sslbio test client"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, p.CAPEM)
	return p
}

// SelfSigned makes a self-signed server certificate for name, with a key
// of its own.
func SelfSigned(name string) Pair {
	key := newKey()
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: name},
		DNSNames:    []string{name},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	return sign(key, tmpl, tmpl, key, nil)
}

func issue(ca *x509.Certificate, caKey *ecdsa.PrivateKey, tmpl *x509.Certificate, caPEM []byte) Pair {
	return sign(newKey(), tmpl, ca, caKey, caPEM)
}

// sign makes tmpl, for key, a certificate signed by parent's parentKey,
// followed in CertPEM by chainPEM.
func sign(key *ecdsa.PrivateKey, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, chainPEM []byte) Pair {
	tmpl.SerialNumber = serial()
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(5 * 365 * 24 * time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		panic(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err)
	}
	return Pair{
		CertPEM: append(pemBlock("CERTIFICATE", der), chainPEM...),
		KeyPEM:  pemBlock("PRIVATE KEY", keyDER),
	}
}

func newKey() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		panic(err)
	}
	return n
}

func pemBlock(kind string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
}
