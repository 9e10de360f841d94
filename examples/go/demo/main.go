// Command demo runs an sslbio engine client and an sslbio engine server over
// a real TCP socket on 127.0.0.1, driven by one edge-triggered epoll loop
// written here: the application owns the sockets, the engines only see
// bytes. It prints what each side negotiated, the bytes moved and how each
// connection ended.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"syscall"

	"github.com/sslbio/sslbio/internal/testpki"
	"github.com/sslbio/sslbio/sslbio"
)

func main() {
	total := flag.Int("bytes", 4<<20, "plaintext bytes the client sends and the server echoes")
	flag.Parse()
	if err := run(*total); err != nil {
		log.Fatal(err)
	}
}

func run(total int) error {
	pki := testpki.Get()
	serverCtx, err := sslbio.NewContext(&sslbio.Config{Role: sslbio.RoleServer,
		CertPEM: pki.Server.CertPEM, KeyPEM: pki.Server.KeyPEM, NextProtos: []string{"echo/1"}})
	if err != nil {
		return err
	}
	clientCtx, err := sslbio.NewContext(&sslbio.Config{Role: sslbio.RoleClient,
		CAPEM: pki.CAPEM, NextProtos: []string{"echo/1"}})
	if err != nil {
		return err
	}
	lfd, port, err := listenLoopback()
	if err != nil {
		return err
	}
	defer syscall.Close(lfd)
	cfd, err := connectLoopback(port)
	if err != nil {
		return err
	}
	sfd, err := acceptOne(lfd)
	if err != nil {
		return err
	}
	fmt.Printf("demo: 127.0.0.1:%d, engine client and engine server on one epoll loop\n", port)

	clientEng, err := clientCtx.NewEngine("localhost")
	if err != nil {
		return err
	}
	serverEng, err := serverCtx.NewEngine("")
	if err != nil {
		return err
	}
	snd := newSender(total)
	peers := []*peer{
		{name: "client", fd: cfd, eng: clientEng, app: snd},
		{name: "server", fd: sfd, eng: serverEng, app: &echo{}},
	}
	if err := runLoop(peers); err != nil {
		return err
	}
	for _, p := range peers {
		p.report()
	}
	if !snd.verified() {
		return errors.New("demo: echoed bytes differ from the bytes sent")
	}
	fmt.Printf("demo: %d bytes echoed back and verified by SHA-256\n", snd.got)
	return nil
}

// report prints what one side negotiated and moved.
func (p *peer) report() {
	st := p.state
	subject := "(no certificate)"
	if len(st.PeerCertificates) > 0 {
		subject = st.PeerCertificates[0].Subject.String()
	}
	fmt.Printf("%s: %s %s alpn=%q peer=%q\n", p.name, versionName(st.Version), st.CipherName,
		st.NegotiatedProtocol, subject)
	fmt.Printf("%s: plaintext in=%d out=%d, ciphertext in=%d out=%d, close: %s\n", p.name,
		p.plainIn, p.plainOut, p.cipherIn, p.cipherOut, p.closeReason)
}

func versionName(v uint16) string {
	switch v {
	case 0x0304:
		return "TLSv1.3"
	case 0x0303:
		return "TLSv1.2"
	}
	return fmt.Sprintf("version 0x%04x", v)
}
