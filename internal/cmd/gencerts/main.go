// Command gencerts writes the test PKI (internal/testpki) as PEM files into
// a folder, for the C and Python tests and the examples:
// ca.pem, server.pem (chain), server.key, client.pem, client.key, and
// other-ca.pem (a CA that signed nothing here, to make verification fail).
package main

import (
	"flag"
	"log"
	"os"
	"path/filepath"

	"github.com/sslbio/sslbio/internal/testpki"
)

func main() {
	dir := flag.String("dir", "build/certs", "output folder")
	flag.Parse()
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatal(err)
	}
	p := testpki.New("sslbio test CA")
	other := testpki.New("sslbio unrelated CA")
	files := map[string][]byte{
		"ca.pem":       p.CAPEM,
		"server.pem":   p.Server.CertPEM,
		"server.key":   p.Server.KeyPEM,
		"client.pem":   p.Client.CertPEM,
		"client.key":   p.Client.KeyPEM,
		"other-ca.pem": other.CAPEM,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(*dir, name), data, 0o600); err != nil {
			log.Fatal(err)
		}
	}
}
