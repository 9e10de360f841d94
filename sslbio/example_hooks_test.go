package sslbio_test

import (
	"crypto/tls"
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
