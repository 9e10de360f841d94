// Command sslbio-peer is sslbio (the Go API) as an interop client or server:
// an echo (or tiny HTTPS) peer for foreign TLS stacks. See
// interop/internal/peer for the script and the flags; --api picks the
// net.Conn adapters ("conn", the default) or a raw Engine loop ("engine",
// implied by --resume and --key-update, which need Session and KeyUpdate).
//
//	sslbio-peer --role server --port 4433 --client-cert --alpn h2
//	sslbio-peer --role client --port 4433 --tls13 --key-update --resume
package main

import (
	"os"

	"github.com/sslbio/sslbio/interop/internal/peer"
)

func main() {
	api := "conn"
	args := os.Args[1:]
	for i, a := range args {
		if a == "--api=engine" || a == "-api=engine" {
			api = "engine"
			args = append(args[:i:i], args[i+1:]...)
			break
		}
	}
	o := peer.ParseFlags("sslbio-peer", args)
	if o.Resume || o.KeyUpdate {
		api = "engine"
	}
	peer.Main(&peer.SSLBio{API: api}, o)
}
