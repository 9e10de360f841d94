package sslbio_test

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log"

	"github.com/sslbio/sslbio/internal/testpki"
	"github.com/sslbio/sslbio/sslbio"
)

// One listener, a certificate per name: GetContextForClient picks the
// Context from the ClientHello, in the goroutine that runs the handshake.
func ExampleConfig_virtualHosts() {
	p := testpki.Get()
	site := func(pair testpki.Pair) *sslbio.Context {
		x, err := sslbio.NewContext(&sslbio.Config{Role: sslbio.RoleServer, CertPEM: pair.CertPEM, KeyPEM: pair.KeyPEM})
		if err != nil {
			log.Fatal(err)
		}
		return x
	}
	sites := map[string]*sslbio.Context{
		"a.example": site(p.IssueServer("a.example")),
		"b.example": site(p.IssueServer("b.example")),
	}
	front, err := sslbio.NewContext(&sslbio.Config{
		Role: sslbio.RoleServer, CertPEM: p.Server.CertPEM, KeyPEM: p.Server.KeyPEM,
		GetContextForClient: func(hello *sslbio.ClientHelloInfo) (*sslbio.Context, error) {
			if x, ok := sites[hello.ServerName]; ok {
				return x, nil
			}
			return nil, fmt.Errorf("%q: %w", hello.ServerName, sslbio.ErrUnrecognizedName)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := sslbio.Listen("tcp", "127.0.0.1:0", front)
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				c.(*sslbio.Conn).Handshake()
				c.Close()
			}()
		}
	}()
	for _, name := range []string{"b.example", "c.example"} {
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{ServerName: name, RootCAs: p.Pool()})
		if err != nil {
			fmt.Println(name, err)
			continue
		}
		fmt.Println(name, c.ConnectionState().PeerCertificates[0].Subject.CommonName)
		c.Close()
	}
	// Output:
	// b.example b.example
	// c.example remote error: tls: unrecognized name
}

// A client that trusts one self-signed server by its public key: the
// callback decides instead of a CA.
func ExampleConfig_pinnedKey() {
	server := testpki.SelfSigned("pinned.example")
	leaf, _ := x509.ParseCertificate(server.TLS().Certificate[0])
	pin := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	errPin := errors.New("unexpected server key")
	client, err := sslbio.NewContext(&sslbio.Config{
		Role:               sslbio.RoleClient,
		InsecureSkipVerify: true, // no CA: the pin alone decides
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			cert, err := x509.ParseCertificate(raw[0])
			if err != nil {
				return err
			}
			if sha256.Sum256(cert.RawSubjectPublicKeyInfo) != pin {
				return errPin
			}
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{server.TLS()}})
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	c, err := sslbio.Dial("tcp", ln.Addr().String(), client)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	fmt.Println(c.ConnectionState().PeerCertificates[0].Subject.CommonName)
	// Output: pinned.example
}
