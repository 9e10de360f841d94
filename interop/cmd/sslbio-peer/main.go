// Command sslbio-peer is sslbio (the Go API) as an interop client or server:
// an echo (or tiny HTTPS) peer for foreign TLS stacks. See
// interop/internal/peer for the script and the flags; it runs over the
// net.Conn adapters (sslbio.Client, sslbio.Server), sessions and key
// updates included.
//
//	sslbio-peer --role server --port 4433 --client-cert --alpn h2
//	sslbio-peer --role client --port 4433 --tls13 --key-update --resume
package main

import (
	"os"

	"github.com/sslbio/sslbio/interop/internal/peer"
)

func main() {
	peer.Main(&peer.SSLBio{}, peer.ParseFlags("sslbio-peer", os.Args[1:]))
}
