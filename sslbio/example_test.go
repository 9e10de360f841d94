package sslbio_test

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"

	"github.com/sslbio/sslbio/internal/memconn"
	"github.com/sslbio/sslbio/internal/testpki"
	"github.com/sslbio/sslbio/sslbio"
)

// contexts returns a server and a client context from the test PKI.
func contexts() (server, client *sslbio.Context) {
	p := testpki.Get()
	server, err := sslbio.NewContext(&sslbio.Config{
		Role: sslbio.RoleServer, CertPEM: p.Server.CertPEM, KeyPEM: p.Server.KeyPEM,
	})
	if err != nil {
		log.Fatal(err)
	}
	client, err = sslbio.NewContext(&sslbio.Config{Role: sslbio.RoleClient, CAPEM: p.CAPEM})
	if err != nil {
		log.Fatal(err)
	}
	return server, client
}

// move carries ciphertext from one engine to the other, the way a program
// moves it between an engine and a socket: Drain until nothing is pending,
// Feed what arrived and keep what Feed did not accept.
func move(from, to *sslbio.Engine, pending []byte) []byte {
	buf := make([]byte, 16*1024)
	for {
		n, err := from.Drain(buf)
		if err != nil {
			log.Fatal(err)
		}
		if n == 0 {
			break
		}
		pending = append(pending, buf[:n]...)
	}
	n, err := to.Feed(pending)
	if err != nil {
		log.Fatal(err)
	}
	return pending[n:]
}

// A client and a server engine talk through memory: the sans-IO loop of
// Handshake, Drain and Feed.
func ExampleContext_NewEngine() {
	sctx, cctx := contexts()
	defer sctx.Close()
	defer cctx.Close()
	client, err := cctx.NewEngine("localhost") // SNI and the name to verify
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	server, err := sctx.NewEngine("")
	if err != nil {
		log.Fatal(err)
	}
	defer server.Close()

	var toServer, toClient []byte
	for {
		cerr := client.Handshake()
		toServer = move(client, server, toServer)
		serr := server.Handshake()
		toClient = move(server, client, toClient)
		if cerr == nil && serr == nil {
			break
		}
		if !errors.Is(cerr, sslbio.ErrWantRead) && cerr != nil {
			log.Fatal(cerr)
		}
		if !errors.Is(serr, sslbio.ErrWantRead) && serr != nil {
			log.Fatal(serr)
		}
	}
	st := client.ConnectionState()
	fmt.Println(tls.VersionName(st.Version), st.PeerCertificates[0].Subject.CommonName)

	if _, err := client.Write([]byte("hello")); err != nil {
		log.Fatal(err)
	}
	toServer = move(client, server, toServer)
	buf := make([]byte, 64)
	n, err := server.Read(buf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("server read %q\n", buf[:n])
	_, err = server.Read(buf)
	fmt.Println("then:", err)
	// Output:
	// TLS 1.3 localhost
	// server read "hello"
	// then: sslbio: want read
}

// Feed takes what fits and says how much; the caller keeps the rest.
func ExampleEngine_Feed() {
	sctx, _ := contexts()
	server, err := sctx.NewEngine("")
	if err != nil {
		log.Fatal(err)
	}
	defer server.Close()
	flood := make([]byte, 100*1024) // more than an engine buffers
	n, err := server.Feed(flood)
	fmt.Println(err, n > 0 && n < len(flood))
	rest := flood[n:]
	// A real program would now call Handshake or Read, then feed rest.
	_ = rest
	// Output: <nil> true
}

// After the peer's close_notify, Read returns io.EOF; a transport EOF
// without it is ErrTruncated.
func ExampleEngine_FeedEOF() {
	_, cctx := contexts()
	client, err := cctx.NewEngine("localhost")
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	fmt.Println(client.Handshake()) // the ClientHello is ready to Drain
	client.FeedEOF()                // ...but the connection ends
	err = client.Handshake()
	fmt.Println(errors.Is(err, sslbio.ErrTruncated), errors.Is(err, io.EOF))
	// Output:
	// sslbio: want read
	// true false
}

// Client and Server wrap any net.Conn, like crypto/tls.
func ExampleClient() {
	sctx, cctx := contexts()
	a, b := memconn.Pipe()
	go func() {
		s, err := sslbio.Server(b, sctx)
		if err != nil {
			log.Fatal(err)
		}
		defer s.Close()
		line, _ := bufio.NewReader(s).ReadString('\n')
		fmt.Fprintf(s, "you said %s", line)
	}()
	c, err := sslbio.Client(a, cctx, "localhost")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "hello\n")
	reply, err := io.ReadAll(c) // up to the server's close_notify
	fmt.Printf("%s%v\n", reply, err)
	// Output:
	// you said hello
	// <nil>
}

// Listen and Dial work like crypto/tls's.
func ExampleListen() {
	sctx, cctx := contexts()
	ln, err := sslbio.Listen("tcp", "127.0.0.1:0", sctx)
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c) // echo until the client's close_notify
	}()
	c, err := sslbio.Dial("tcp", ln.Addr().String(), cctx) // verified for 127.0.0.1
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("ping"))
	c.CloseWrite()
	echoed, err := io.ReadAll(c)
	fmt.Println(string(echoed), err)
	// Output: ping <nil>
}

// Upgrade switches a plaintext conversation to TLS (STARTTLS). The client
// sends its ClientHello right behind its last plaintext line; the server's
// bufio.Reader swallowed it together with the line, and Upgrade hands it to
// the engine.
func ExampleUpgrade() {
	sctx, cctx := contexts()
	a, b := memconn.Pipe()
	done := make(chan struct{})
	go func() { // server
		defer close(done)
		r := bufio.NewReader(b)
		line, _ := r.ReadString('\n')
		fmt.Println("server got:", strings.TrimSpace(line))
		s, err := sslbio.Upgrade(b, r, sctx, "")
		if err != nil {
			log.Fatal(err)
		}
		defer s.Close()
		msg, err := io.ReadAll(s)
		fmt.Printf("server got over TLS: %s (%v)\n", msg, err)
	}()
	// Client: the plaintext line, then TLS on the same connection.
	a.Write([]byte("STARTTLS\r\n"))
	c, err := sslbio.Upgrade(a, nil, cctx, "localhost")
	if err != nil {
		log.Fatal(err)
	}
	c.Write([]byte("secret"))
	c.Close()
	<-done
	// Output:
	// server got: STARTTLS
	// server got over TLS: secret (<nil>)
}

var _ net.Conn = (*sslbio.Conn)(nil)
