// Command gotls-peer is Go's crypto/tls as an interop client or server,
// speaking the same script and flags as sslbio-peer (interop/internal/peer).
package main

import (
	"os"

	"github.com/sslbio/sslbio/interop/internal/peer"
)

func main() {
	peer.Main(&peer.GoTLS{}, peer.ParseFlags("gotls-peer", os.Args[1:]))
}
