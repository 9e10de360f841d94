package sslbio

import (
	"bufio"
	"net"

	sslerr "github.com/sslbio/sslbio/error"
)

// Dial connects to addr and completes a TLS handshake, like tls.Dial; the
// host part of addr is the server name.
func Dial(network, addr string, ctx *Context) (*Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	raw, err := net.Dial(network, addr)
	if err != nil {
		return nil, err
	}
	c, err := Client(raw, ctx, host)
	if err != nil {
		raw.Close()
		return nil, err
	}
	if err := c.Handshake(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Listen announces on laddr; Accept returns *Conn servers (the handshake runs
// on first use), like tls.Listen.
func Listen(network, laddr string, ctx *Context) (net.Listener, error) {
	if ctx == nil || ctx.Role() != RoleServer {
		return nil, sslerr.Invalid("listen", "needs a Context with RoleServer")
	}
	inner, err := net.Listen(network, laddr)
	if err != nil {
		return nil, err
	}
	return NewListener(inner, ctx), nil
}

// NewListener wraps inner so that Accept returns *Conn servers.
func NewListener(inner net.Listener, ctx *Context) net.Listener {
	return &listener{Listener: inner, ctx: ctx}
}

type listener struct {
	net.Listener
	ctx *Context
}

func (l *listener) Accept() (net.Conn, error) {
	raw, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c, err := Server(raw, l.ctx)
	if err != nil {
		raw.Close()
		return nil, err
	}
	return c, nil
}

// Upgrade turns a plaintext connection into TLS mid-stream (STARTTLS). r is
// the bufio.Reader the plaintext protocol read through: the bytes it already
// buffered (the peer's first TLS bytes may have arrived with the last
// plaintext line) are fed to the engine first, so nothing is lost. Do not
// use r afterwards. The role is the Context's; serverName is for clients.
func Upgrade(conn net.Conn, r *bufio.Reader, ctx *Context, serverName string) (*Conn, error) {
	if ctx == nil {
		return nil, sslerr.Invalid("upgrade", "nil Context")
	}
	var buffered []byte
	if r != nil && r.Buffered() > 0 {
		buffered, _ = r.Peek(r.Buffered())
	}
	if ctx.Role() == RoleServer {
		serverName = ""
	}
	return newConn(conn, ctx, serverName, buffered)
}
