package sslbio

/*
#include "sslbio.h"
*/
import "C"

import (
	"unsafe"

	sslerr "github.com/sslbio/sslbio/error"
)

// SetSessionTicketKeys sets the keys that seal and open the server's
// session tickets, as crypto/tls's Config.SetSessionTicketKeys: the first
// seals new tickets, every one opens them (a ticket opened by a later key
// is renewed with the first). Server Contexts, in this process or another,
// given the same keys resume each other's sessions. Unlike the other
// setters it may be called at any time, also while the Context is in use
// (rotation: put the new key first, keep the old ones after it for a
// while). Without it a server Context seals with a random key of its own.
func (x *Context) SetSessionTicketKeys(keys [][32]byte) error {
	if len(keys) == 0 {
		return sslerr.Invalid("context", "SetSessionTicketKeys needs at least one key")
	}
	flat := make([]byte, 0, 32*len(keys))
	for _, k := range keys {
		flat = append(flat, k[:]...)
	}
	defer clear(flat)
	return x.callBytes("session ticket keys", flat, func(c *C.sslbio_ctx, p *C.char, n C.size_t) C.int {
		return C.sslbio_ctx_set_ticket_keys(c, unsafe.Pointer(p), n)
	})
}
