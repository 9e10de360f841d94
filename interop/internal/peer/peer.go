// Package peer is the echo protocol the interop peers speak, written once
// over a small interface so that sslbio (its net.Conn adapter) and Go
// crypto/tls run exactly the same script. The Node and Python peers in
// interop/peers follow the same flags and the same script.
//
// Client script: handshake; send --msg plus "\n" and read until the echo
// (--expect, default the message) arrived; with --key-update send a TLS 1.3
// KeyUpdate that asks the peer to update too and echo once more; then close:
// --close=client sends close_notify first and waits (bounded) for the peer's,
// --close=server waits for the peer's close_notify first and answers it.
// With --resume the whole script runs twice and the second connection must
// resume the first one's session.
//
// Server script (echo mode): echo every byte; with --server-close send
// close_notify after the first full line and wait for the peer's answer;
// otherwise answer the peer's close_notify with ours. HTTP mode answers one
// GET with a small body and closes. --conns connections, then exit.
//
// Every run prints one "RESULT k=v ..." line per connection and exits 0 only
// when every expectation held.
package peer

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Conn is what a TLS stack offers the script.
type Conn interface {
	Handshake() error
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	// CloseWrite sends close_notify (reading still works).
	CloseWrite() error
	// Close closes the transport.
	Close() error
	State() State
	// KeyUpdate sends a TLS 1.3 KeyUpdate (requesting one back when
	// requestPeer is set); ErrUnsupported if the stack cannot.
	KeyUpdate(requestPeer bool) error
	SetDeadline(t time.Time) error
	// IsCleanEOF reports whether err means "the peer's close_notify
	// arrived" (as opposed to a truncation or another error).
	IsCleanEOF(err error) bool
}

// ErrUnsupported: the stack cannot do what the flags ask.
var ErrUnsupported = errors.New("not supported by this TLS stack")

// State is what the script checks and reports.
type State struct {
	Version string // "TLSv1.2", "TLSv1.3"
	Cipher  string
	ALPN    string
	Resumed bool
	PeerCN  string // peer certificate's common name, "" if none
}

// Stack makes connections for one TLS implementation.
type Stack interface {
	Name() string
	// Dial connects and returns a client. session is nil or a value from an
	// earlier connection's Session to resume.
	Dial(o *Options, addr string, session any) (Conn, error)
	// Session returns what Dial needs to resume c's session (nil if none).
	Session(c Conn) any
	// Server wraps an accepted connection.
	Server(o *Options, raw net.Conn) (Conn, error)
}

// Options are the flags every peer understands.
type Options struct {
	Role        string
	Host        string
	Port        int
	ServerName  string
	Certs       string // directory with ca.pem, server.pem/.key, client.pem/.key
	ClientCert  bool   // client: present one; server: require and verify one
	ALPN        string // comma list
	ExpectALPN  string
	TLS12       bool
	TLS13       bool
	Resume      bool
	KeyUpdate   bool
	Conns       int
	Mode        string // server: echo | http
	ServerClose bool   // server: close_notify after the first line
	Close       string // client: client | server | none
	Msg         string
	Expect      string
	RequireEOF  bool // the peer's close_notify is required (not just welcome)
	Timeout     time.Duration
	ExpectVer   string
	SendOnly    bool // client: send the message, expect no echo (a command to the peer)
	ExtraRounds int  // client: more echo rounds after the first (e.g. under a peer's new keys)
}

// ParseFlags reads the common flags from args.
func ParseFlags(name string, args []string) *Options {
	o := &Options{}
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	fs.StringVar(&o.Role, "role", "client", "client or server")
	fs.StringVar(&o.Host, "host", "127.0.0.1", "address to connect to / listen on")
	fs.IntVar(&o.Port, "port", 0, "TCP port")
	fs.StringVar(&o.ServerName, "name", "localhost", "client: server name (SNI and verification)")
	fs.StringVar(&o.Certs, "certs", "build/certs", "directory of the test PKI")
	fs.BoolVar(&o.ClientCert, "client-cert", false, "client: present a certificate; server: require one")
	fs.StringVar(&o.ALPN, "alpn", "", "ALPN protocols, comma separated")
	fs.StringVar(&o.ExpectALPN, "expect-alpn", "", "fail unless this protocol was negotiated")
	fs.BoolVar(&o.TLS12, "tls12", false, "TLS 1.2 only")
	fs.BoolVar(&o.TLS13, "tls13", false, "TLS 1.3 only")
	fs.BoolVar(&o.Resume, "resume", false, "client: connect twice, the second must resume")
	fs.BoolVar(&o.KeyUpdate, "key-update", false, "send a TLS 1.3 KeyUpdate mid-connection")
	fs.IntVar(&o.Conns, "conns", 1, "server: connections to serve before exiting")
	fs.StringVar(&o.Mode, "mode", "echo", "server: echo or http")
	fs.BoolVar(&o.ServerClose, "server-close", false, "server: send close_notify after the first line")
	fs.StringVar(&o.Close, "close", "client", "client: who sends close_notify first (client, server, none)")
	fs.StringVar(&o.Msg, "msg", "hello from the interop client", "client: message")
	fs.StringVar(&o.Expect, "expect", "", "client: expected reply (default: the message)")
	fs.BoolVar(&o.RequireEOF, "require-close-notify", false, "fail if the peer never sends close_notify")
	fs.IntVar(&o.ExtraRounds, "extra-rounds", 0, "client: echo rounds after the first")
	fs.BoolVar(&o.SendOnly, "send-only", false, "client: send the message without waiting for an echo")
	fs.DurationVar(&o.Timeout, "timeout", 10*time.Second, "bound on each connection")
	fs.StringVar(&o.ExpectVer, "expect-version", "", "fail unless this version was negotiated")
	fs.Parse(args)
	if o.Expect == "" {
		o.Expect = o.Msg
	}
	if o.Resume && o.Role == "server" && o.Conns < 2 {
		o.Conns = 2
	}
	return o
}

// File is a path in the certificate directory.
func (o *Options) File(name string) string { return o.Certs + "/" + name }

// ALPNList splits --alpn.
func (o *Options) ALPNList() []string {
	if o.ALPN == "" {
		return nil
	}
	return strings.Split(o.ALPN, ",")
}

// Main runs the script for stack and exits.
func Main(stack Stack, o *Options) {
	var err error
	if o.Role == "server" {
		err = serve(stack, o)
	} else {
		err = client(stack, o)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s %s: FAIL: %v\n", stack.Name(), o.Role, err)
		os.Exit(1)
	}
	fmt.Printf("%s %s: OK\n", stack.Name(), o.Role)
}

func report(stack Stack, role string, c Conn, extra ...string) {
	st := c.State()
	fields := []string{
		"RESULT", "stack=" + stack.Name(), "role=" + role, "version=" + st.Version,
		"cipher=" + st.Cipher, "alpn=" + orNone(st.ALPN), "resumed=" + strconv.FormatBool(st.Resumed),
		"peer_cn=" + strconv.Quote(st.PeerCN),
	}
	fmt.Println(strings.Join(append(fields, extra...), " "))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func checkState(o *Options, c Conn) error {
	st := c.State()
	if o.ExpectALPN != "" && st.ALPN != o.ExpectALPN {
		return fmt.Errorf("ALPN %q, want %q", st.ALPN, o.ExpectALPN)
	}
	want := o.ExpectVer
	if want == "" && o.TLS12 {
		want = "TLSv1.2"
	}
	if want == "" && o.TLS13 {
		want = "TLSv1.3"
	}
	if want != "" && st.Version != want {
		return fmt.Errorf("version %s, want %s", st.Version, want)
	}
	if o.ClientCert && o.Role == "server" && st.PeerCN == "" {
		return errors.New("no client certificate")
	}
	return nil
}

// readFull reads until want bytes arrived.
func readFull(c Conn, n int) ([]byte, error) {
	buf := make([]byte, 0, n)
	tmp := make([]byte, 4096)
	for len(buf) < n {
		k, err := c.Read(tmp[:min(len(tmp), n-len(buf))])
		buf = append(buf, tmp[:k]...)
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// awaitClose reads until the peer's close_notify; it reports whether it
// arrived cleanly (false: truncation, timeout or error, with the reason).
func awaitClose(c Conn, d time.Duration) (bool, string) {
	c.SetDeadline(time.Now().Add(d))
	tmp := make([]byte, 4096)
	for {
		n, err := c.Read(tmp)
		if n > 0 {
			return false, fmt.Sprintf("unexpected %d bytes after the exchange", n)
		}
		if err != nil {
			if c.IsCleanEOF(err) {
				return true, ""
			}
			return false, err.Error()
		}
	}
}

func client(stack Stack, o *Options) error {
	addr := net.JoinHostPort(o.Host, strconv.Itoa(o.Port))
	rounds := 1
	if o.Resume {
		rounds = 2
	}
	var session any
	for i := 0; i < rounds; i++ {
		c, err := stack.Dial(o, addr, session)
		if err != nil {
			return fmt.Errorf("connection %d: dial: %w", i+1, err)
		}
		s, resumed, err := clientConn(stack, o, c, i)
		c.Close()
		if err != nil {
			return fmt.Errorf("connection %d: %w", i+1, err)
		}
		if i == 1 && !resumed {
			return errors.New("second connection did not resume the session")
		}
		session = s
	}
	return nil
}

func clientConn(stack Stack, o *Options, c Conn, round int) (any, bool, error) {
	c.SetDeadline(time.Now().Add(o.Timeout))
	if err := c.Handshake(); err != nil {
		return nil, false, fmt.Errorf("handshake: %w", err)
	}
	if err := checkState(o, c); err != nil {
		return nil, false, err
	}
	echo := func(msg, expect string) error {
		if _, err := c.Write([]byte(msg + "\n")); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		got, err := readFull(c, len(expect)+1)
		if err != nil {
			return fmt.Errorf("read echo (got %q): %w", got, err)
		}
		if string(bytes.TrimRight(got, "\n")) != expect {
			return fmt.Errorf("echo %q, want %q", got, expect)
		}
		return nil
	}
	if o.SendOnly {
		if _, err := c.Write([]byte(o.Msg + "\n")); err != nil {
			return nil, false, fmt.Errorf("write: %w", err)
		}
	} else if err := echo(o.Msg, o.Expect); err != nil {
		return nil, false, err
	}
	keyUpdated := false
	if o.KeyUpdate {
		if err := c.KeyUpdate(true); err != nil {
			return nil, false, fmt.Errorf("key update: %w", err)
		}
		for i := 0; i < 3; i++ { // several records under the new keys, both ways
			m := fmt.Sprintf("%s after key update %d", o.Msg, i)
			e := m
			if o.Expect != o.Msg { // a reversing peer
				e = reverse(m)
			}
			if err := echo(m, e); err != nil {
				return nil, false, fmt.Errorf("after key update: %w", err)
			}
		}
		keyUpdated = true
	}
	for i := 0; i < o.ExtraRounds; i++ {
		m := fmt.Sprintf("%s round %d", o.Msg, i+2)
		e := m
		if o.Expect != o.Msg {
			e = reverse(m)
		}
		if err := echo(m, e); err != nil {
			return nil, false, fmt.Errorf("round %d: %w", i+2, err)
		}
	}
	var session any
	if o.Resume { // a TLS 1.3 stack may wait for its ticket here
		session = stack.Session(c)
	}
	peerClose, why := false, ""
	switch o.Close {
	case "client":
		if err := c.CloseWrite(); err != nil {
			return nil, false, fmt.Errorf("send close_notify: %w", err)
		}
		peerClose, why = awaitClose(c, 3*time.Second)
	case "server":
		peerClose, why = awaitClose(c, o.Timeout)
		if !peerClose {
			return nil, false, fmt.Errorf("waiting for the peer's close_notify: %s", why)
		}
		if err := c.CloseWrite(); err != nil {
			// The peer may have closed its socket right after its alert.
			why = "reply close_notify: " + err.Error()
		}
	}
	if o.RequireEOF && !peerClose {
		return nil, false, fmt.Errorf("no close_notify from the peer: %s", why)
	}
	report(stack, "client", c, "round="+strconv.Itoa(round+1), "key_update="+strconv.FormatBool(keyUpdated),
		"peer_close_notify="+strconv.FormatBool(peerClose), "close="+o.Close)
	return session, c.State().Resumed, nil
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

func serve(stack Stack, o *Options) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(o.Host, strconv.Itoa(o.Port)))
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Printf("LISTENING %d\n", ln.Addr().(*net.TCPAddr).Port)
	deadline := time.Now().Add(time.Duration(o.Conns)*o.Timeout + 5*time.Second)
	ln.(*net.TCPListener).SetDeadline(deadline)
	var firstErr error
	for i := 0; i < o.Conns; i++ {
		raw, err := ln.Accept()
		if err != nil {
			return fmt.Errorf("accept: %w", err)
		}
		c, err := stack.Server(o, raw)
		if err == nil {
			err = serveConn(stack, o, c)
			c.Close()
		} else {
			raw.Close()
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s server: connection %d: %v\n", stack.Name(), i+1, err)
			if firstErr == nil {
				firstErr = fmt.Errorf("connection %d: %w", i+1, err)
			}
		}
	}
	return firstErr
}

func serveConn(stack Stack, o *Options, c Conn) error {
	c.SetDeadline(time.Now().Add(o.Timeout))
	if err := c.Handshake(); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	if err := checkState(o, c); err != nil {
		return err
	}
	if o.Mode == "http" {
		return serveHTTP(stack, o, c)
	}
	buf := make([]byte, 16384)
	var line []byte
	total := 0
	serverClosed := false
	keyUpdated := false
	for {
		n, err := c.Read(buf)
		if n > 0 {
			total += n
			if serverClosed {
				return fmt.Errorf("%d bytes after our close_notify", n)
			}
			if _, werr := c.Write(buf[:n]); werr != nil {
				return fmt.Errorf("echo: %w", werr)
			}
			line = append(line, buf[:n]...)
			if o.KeyUpdate && !keyUpdated && bytes.IndexByte(line, '\n') >= 0 {
				// The server's own KeyUpdate (asking the client for one too);
				// the client's next lines travel under the new keys.
				if err := c.KeyUpdate(true); err != nil {
					return fmt.Errorf("key update: %w", err)
				}
				keyUpdated = true
			}
			if o.ServerClose {
				if bytes.IndexByte(line, '\n') >= 0 {
					if err := c.CloseWrite(); err != nil {
						return fmt.Errorf("send close_notify: %w", err)
					}
					serverClosed = true
				}
			}
		}
		if err == nil {
			continue
		}
		if !c.IsCleanEOF(err) {
			if serverClosed && !o.RequireEOF {
				// We closed first; a peer may close its socket without
				// answering (gnutls-cli does). The engine still reports
				// that as a truncation, which is right: say so, no failure.
				report(stack, "server", c, "echoed="+strconv.Itoa(total), "peer_close_notify=false",
					"server_close=true", "after_close="+strconv.Quote(err.Error()))
				return nil
			}
			return fmt.Errorf("read after %d bytes: %w", total, err)
		}
		replyErr := ""
		if !serverClosed {
			if err := c.CloseWrite(); err != nil {
				replyErr = err.Error() // the peer may have gone already
			}
		}
		report(stack, "server", c, "echoed="+strconv.Itoa(total), "peer_close_notify=true",
			"server_close="+strconv.FormatBool(serverClosed), "key_update="+strconv.FormatBool(keyUpdated),
			"reply_error="+strconv.Quote(replyErr))
		return nil
	}
}

// HTTPBody is what the HTTP mode serves (curl and wget check it).
const HTTPBody = "sslbio interop: hello over TLS\n"

func serveHTTP(stack Stack, o *Options, c Conn) error {
	var req []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(req, []byte("\r\n\r\n")) {
		n, err := c.Read(buf)
		req = append(req, buf[:n]...)
		if err != nil {
			return fmt.Errorf("read request: %w", err)
		}
		if len(req) > 64*1024 {
			return errors.New("request head too long")
		}
	}
	if !bytes.HasPrefix(req, []byte("GET ")) {
		return fmt.Errorf("not a GET: %q", req)
	}
	// No Content-Length: the body ends with the connection, so a client
	// reads on to our close_notify instead of closing as soon as the body is
	// complete, which raced with the close_notify check (curl sometimes
	// closed before it arrived, our body and close_notify being two writes).
	resp := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n" + HTTPBody
	if _, err := io.WriteString(writerOf(c), resp); err != nil {
		return fmt.Errorf("write response: %w", err)
	}
	if err := c.CloseWrite(); err != nil {
		return fmt.Errorf("send close_notify: %w", err)
	}
	peerClose, why := awaitClose(c, 3*time.Second)
	report(stack, "server", c, "http=200", "peer_close_notify="+strconv.FormatBool(peerClose),
		"why="+strconv.Quote(why))
	return nil
}

type connWriter struct{ c Conn }

func (w connWriter) Write(p []byte) (int, error) { return w.c.Write(p) }
func writerOf(c Conn) io.Writer                  { return connWriter{c} }
