package sslbio

// Operation-sequence fuzzing of the Go face, the same idea as the C target
// (fuzz/c/fuzz_ops.h). Go cannot fork, so each input pays for its
// handshakes: these runs are far slower than the C target's.
//
// FuzzOps drives a client and a server Engine in memory. data[0] & 7 picks
// the scenario (its Contexts are made once per process):
//
//	0 TLS 1.3                          1 TLS 1.2
//	2 mutual TLS 1.3, ALPN, key log    3 the same on TLS 1.2
//	4 GetContextForClient, TLS 1.3     5 the same on TLS 1.2
//	  (the client offers ALPN, which only the other server Context has;
//	  key log on both sides)
//	6 VerifyPeerCertificate on both sides, mutual TLS 1.3, key log
//	7 the same on TLS 1.2
//
// data[0] >> 3 answers the hooks of the first handshake (opsHello*,
// opsRefuse*): GetContextForClient goes on, switches to another server
// Context (another leaf, ALPN h2) or to its own, returns an error wrapping
// ErrUnrecognizedName, another error, or a client Context; each side's
// VerifyPeerCertificate accepts or refuses. The hooks check their
// arguments (SNI "localhost", the client's ALPN offer, the peer's leaf
// first, chains ending at the CA) and run at most once per handshake. The
// pair is handshaken with honest rounds until nothing moves, then checked.
// Without a refusal: both sides established; their ConnectionState agree
// (version, cipher, group, ALPN as configured, DidResume, server name,
// tls-unique, peer certificates: the server's leaf, or the other
// Context's after a switch, and the client's in mutual TLS); each hook ran
// once (VerifyPeerCertificate not at all on a resumption); both key logs
// hold the same lines, as many as a handshake logs; the client holds a
// resumable session. With a refusal: the refusing side failed with an error
// wrapping the hook's (ErrInvalid for a client Context; ErrVerify too for
// a certificate), is not established and keeps that error; its peer failed
// with the alert, except after a server's VerifyPeerCertificate refusal,
// which sends none.
//
// The rest of the input is a list of operations: an opcode byte (bit 7
// the side, bits 5-6 a variant f, bits 0-4 the operation) and its argument
// bytes; missing bytes read as 0. Operations 0-12 and their encoding are
// those of the first version of this target (its seed corpus still means
// the same).
//
//	0  feed k bytes of the peer's ciphertext (f 1: split, f 2: a byte flipped)
//	1  drain into an n-byte buffer
//	2  Write n bytes (f&2: up to 36000)   3  WriteDrain into an n2-byte buffer
//	4  Read into an n-byte buffer         5  FeedRead of k bytes
//	6  KeyUpdate (f&1: ask the peer)      7  Shutdown
//	8  FeedEOF    9  Wants agrees with PendingOut    10  drop this side's wire
//	11 zero-copy feed, partial commit     12 zero-copy drain, partial commit
//	13 reset: close both engines and handshake a new pair on the same
//	   Contexts (f&2: Engine.Reset both instead), the next byte answering
//	   its hooks; f&1: the client resumes the session op 14 saved. Checked
//	   as the first handshake, and DidResume is false without a session,
//	   true when plain TLS 1.3 (scenario 0) offered one, and false for a
//	   session whose client certificate the server's VerifyPeerCertificate
//	   refused. The model starts afresh.
//	14 session: f 0 save the client's Session(); f 1 SetSession of input
//	   bytes on a fresh engine is refused and leaves it working; f 2
//	   SetSession on the pair's engines (after the handshake started, or on
//	   the server) is refused; f 3 the saved session fits a fresh client for
//	   "localhost", not one for "127.0.0.1"
//	15 info: once both sides are established and alive, their
//	   ConnectionState agree as above, and ExportKeyingMaterial with an
//	   input-chosen label, length and context (f: nil, empty, input bytes)
//	   gives the same bytes on both sides, from the Engine and from its
//	   state, or is refused on both (a length of 0, a reserved label on
//	   TLS 1.2, a NUL byte in the label); a nil context differs from an
//	   empty one on TLS 1.2 only. Before that, no exporter succeeds on a
//	   side whose handshake is not complete.
//	16 Handshake on this side
//	17-31 one honest round (Read, drain, feed, both sides)
//
// The model checks after every call that each side reads exactly the bytes
// the other wrote, in order; that a side whose stream was not tampered
// with (nor fed EOF, nor refused by a hook, nor whose peer failed) never
// fails; that a failed side keeps failing with the same error; that
// PendingOut follows Drain and agrees with Wants. At the end, honest rounds
// until nothing moves, then an honest pair has delivered every byte written.
//
// FuzzOpsConn drives the net.Conn adapter (Client, Server) over an
// in-memory pipe. data[0] % 4: 0 TLS 1.3, 1 TLS 1.2, 2 mutual TLS 1.3 with
// ALPN, 3 mutual TLS 1.2 with ALPN; after each handshake both sides'
// ConnectionState agree (as above). Operations: bit 7 the side, bits 0-2
// the operation (0-3 as in the first version, whose inputs left bits 2-4
// clear), bits 5-6 a variant:
//
//	0 Write n bytes (refused after CloseWrite)
//	1 Read up to n of what the peer wrote: exactly its bytes, in order
//	2 KeyUpdate (bit 5: ask the peer)      3 CloseWrite
//	4 info: ConnectionState and PeerChain agree, the exporter as op 15 above
//	5 save the client's Session() (a TLS 1.3 client may read its ticket)
//	6 reconnect: close both Conns, a new pipe and pair (bit 5: the client
//	  resumes the saved session), handshake; both agree on DidResume,
//	  which is false without a session; the model starts afresh
//	7 SetSession is refused on both established Conns (the saved session,
//	  or input bytes with bit 5) and, with input bytes, on a new client
//
// At the end every byte written is read, then io.EOF after a CloseWrite.

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sslbio/sslbio/internal/memconn"
)

type opsIn struct{ b []byte }

func (in *opsIn) u8() int {
	if len(in.b) == 0 {
		return 0
	}
	v := in.b[0]
	in.b = in.b[1:]
	return int(v)
}
func (in *opsIn) u16() int { return in.u8()<<8 | in.u8() }

// bytes takes up to n bytes of the input (fewer at its end), never nil.
func (in *opsIn) bytes(n int) []byte {
	n = min(n, len(in.b))
	p := append([]byte{}, in.b[:n]...)
	in.b = in.b[n:]
	return p
}

// opsPat is byte i of what side `who` writes.
func opsPat(who int, i int) byte { return byte((i*131+who*17)>>1 ^ i>>9) }

func opsFatal(err error) bool { return err != nil && !isWant(err) && !errors.Is(err, io.EOF) }

// ---- shared checks of both targets ----

// opsCheckStates compares the two sides' ConnectionState after a completed
// handshake.
func opsCheckStates(t *testing.T, cs [2]ConnectionState, version uint16, proto string, mutual bool) {
	t.Helper()
	c, s := cs[0], cs[1]
	if !c.HandshakeComplete || !s.HandshakeComplete {
		t.Fatalf("handshake complete: client %v, server %v", c.HandshakeComplete, s.HandshakeComplete)
	}
	if c.Version != version || s.Version != version {
		t.Fatalf("versions %#x, %#x, want %#x", c.Version, s.Version, version)
	}
	if c.CipherSuite == 0 || c.CipherSuite != s.CipherSuite || c.CipherName != s.CipherName || c.CipherBits != s.CipherBits {
		t.Fatalf("ciphers differ: %#x %s %d, %#x %s %d", c.CipherSuite, c.CipherName, c.CipherBits,
			s.CipherSuite, s.CipherName, s.CipherBits)
	}
	if c.Group != s.Group {
		t.Fatalf("groups differ: %q, %q", c.Group, s.Group)
	}
	if c.NegotiatedProtocol != proto || s.NegotiatedProtocol != proto {
		t.Fatalf("ALPN %q, %q, want %q", c.NegotiatedProtocol, s.NegotiatedProtocol, proto)
	}
	if c.DidResume != s.DidResume {
		t.Fatalf("DidResume: client %v, server %v", c.DidResume, s.DidResume)
	}
	if c.ServerName != "localhost" || s.ServerName != "localhost" {
		t.Fatalf("server names %q, %q", c.ServerName, s.ServerName)
	}
	if !bytes.Equal(c.TLSUnique, s.TLSUnique) || (c.TLSUnique == nil) != (version == tls.VersionTLS13) {
		t.Fatalf("tls-unique %x, %x on %#x", c.TLSUnique, s.TLSUnique, version)
	}
	if len(c.PeerCertificates) == 0 || (len(s.PeerCertificates) > 0) != mutual {
		t.Fatalf("peer certificates: client has %d, server %d (mutual %v)",
			len(c.PeerCertificates), len(s.PeerCertificates), mutual)
	}
}

// opsExportArgs reads an exporter's label, context and length: the label
// (a%6) one of the RFCs', TLS 1.2's reserved ones, "" or input bytes; the
// context by f (0 nil, 1 empty, 2-3 input bytes); length 0..1024.
func opsExportArgs(in *opsIn, f int) (label string, context []byte, n int) {
	switch in.u8() % 6 {
	case 0:
		label = "EXPORTER-fuzz"
	case 1:
		label = "EXPORTER-Channel-Binding"
	case 2:
		label = "client finished"
	case 3:
		label = "master secret"
	case 5:
		label = string(in.bytes(in.u8() % 32))
	}
	n = in.u16() % 1025
	switch f {
	case 1:
		context = []byte{}
	case 2, 3:
		context = in.bytes(in.u8() % 64)
	}
	return label, context, n
}

// opsCheckExport exports from both sides' states: refused on both (a
// length of 0, TLS 1.2's reserved labels, a label with a NUL byte, which
// would reach C cut short) or the same keying material on both, where a nil
// context differs from an empty one on TLS 1.2 only. It returns the
// client's material (nil when refused).
func opsCheckExport(t *testing.T, cs [2]ConnectionState, label string, context []byte, n int) []byte {
	t.Helper()
	var km [2][]byte
	var errs [2]error
	for w := range cs {
		km[w], errs[w] = cs[w].ExportKeyingMaterial(label, context, n)
	}
	tls13 := cs[0].Version == tls.VersionTLS13
	if n <= 0 || !tls13 && reservedExporterLabels[label] || strings.IndexByte(label, 0) >= 0 {
		if !errors.Is(errs[0], ErrInvalid) || !errors.Is(errs[1], ErrInvalid) {
			t.Fatalf("exporter %q (%d bytes): %v, %v; want ErrInvalid", label, n, errs[0], errs[1])
		}
		return nil
	}
	if errs[0] != nil || errs[1] != nil || len(km[0]) != n || !bytes.Equal(km[0], km[1]) {
		t.Fatalf("exporter %q (%d bytes, context %x) differs: %v, %v", label, n, context, errs[0], errs[1])
	}
	if context == nil {
		empty, err := cs[0].ExportKeyingMaterial(label, []byte{}, n)
		if err != nil || bytes.Equal(empty, km[0]) != tls13 {
			t.Fatalf("exporter %q: a nil context equal to an empty one: %v on %#x (%v)",
				label, bytes.Equal(empty, km[0]), cs[0].Version, err)
		}
	}
	return km[0]
}

// ---- FuzzOps: two Engines ----

// Hook answers, a byte per handshake: bits 0-2 GetContextForClient's
// (opsHello*; 6 and 7 go on), bit 3 the client's VerifyPeerCertificate
// refuses the server, bit 4 the server's refuses the client.
const (
	opsHelloGoOn         = iota // nil, nil
	opsHelloSwitch              // the other server Context (its own leaf, ALPN h2)
	opsHelloUnrecognized        // an error wrapping ErrUnrecognizedName
	opsHelloError               // another error: handshake_failure
	opsHelloClientCtx           // a client Context: refused, internal_error
	opsHelloSame                // its own Context, explicitly

	opsRefuseServerCert = 1 << 3
	opsRefuseClientCert = 1 << 4
)

var (
	errOpsRefused   = errors.New("fuzz: refused by the hook")
	opsClientProtos = []string{"x-fuzz/1", "h2"}
	opsServerProtos = []string{"h2", "http/1.1"}
)

// opsScenario is a starting configuration: Contexts made once per process
// (a Context costs more than a handshake), their hooks routed to the
// running input through opsHooks.
type opsScenario struct {
	cli, srv *Context
	alt      *Context // GetContextForClient's other server Context
	version  uint16
	proto    string // the ALPN protocol both sides agree on ("" none)
	mutual   bool   // the server requires and verifies a client certificate
	hello    bool   // the server has GetContextForClient
	verify   bool   // both sides have VerifyPeerCertificate
	keylog   bool   // both sides have a KeyLogWriter
	plain13  bool   // no hooks, TLS 1.3: a resumption offered must succeed
	// leaves: the server's, alt's and the client's certificates (DER)
	srvLeaf, altLeaf, cliLeaf []byte
}

// opsHooks routes the shared Contexts' hooks to the input that runs.
type opsHooks struct {
	mu  sync.Mutex // held for a whole input
	run *opsRun
}

// opsKeyLog is a KeyLogWriter: one line per Write, kept for the run.
type opsKeyLog struct {
	h   *opsHooks
	who int
}

func (k opsKeyLog) Write(p []byte) (int, error) {
	r := k.h.run
	if i := bytes.IndexByte(p, '\n'); i != len(p)-1 {
		r.t.Fatalf("side %d: a key log Write of %q is not one line", k.who, p)
	}
	if f := strings.Fields(string(p)); len(f) != 3 || len(f[1]) != 64 {
		r.t.Fatalf("side %d: key log line %q", k.who, p)
	}
	r.keylog[k.who] = append(r.keylog[k.who], string(p))
	return len(p), nil
}

func opsScenarios(tb testing.TB, h *opsHooks) [8]*opsScenario {
	p := pki()
	altPair := p.IssueServer("localhost")
	var xs [8]*opsScenario
	for i := range xs {
		kind := i >> 1
		x := &opsScenario{version: tls.VersionTLS13, mutual: kind == 1 || kind == 3, hello: kind == 2,
			verify: kind == 3, keylog: kind > 0, plain13: i == 0,
			srvLeaf: p.Server.TLS().Certificate[0], altLeaf: altPair.TLS().Certificate[0],
			cliLeaf: p.Client.TLS().Certificate[0]}
		version := func(*Config) {}
		if i&1 == 1 {
			x.version, version = tls.VersionTLS12, tls12
		}
		if kind == 1 {
			x.proto = "h2"
		}
		both := func(who int, c *Config) {
			version(c)
			if x.keylog {
				c.KeyLogWriter = opsKeyLog{h, who}
			}
			if x.mutual && who == 0 {
				c.CertPEM, c.KeyPEM = p.Client.CertPEM, p.Client.KeyPEM
			}
			if x.mutual && who == 1 {
				c.ClientAuth, c.CAPEM = tls.RequireAndVerifyClientCert, p.CAPEM
			}
			if x.verify {
				c.VerifyPeerCertificate = func(raw [][]byte, chains [][]*x509.Certificate) error {
					return h.run.verifyPeer(who, raw, chains)
				}
			}
		}
		x.cli = clientContext(tb, func(c *Config) {
			both(0, c)
			if kind == 1 || x.hello {
				c.NextProtos = opsClientProtos
			}
		})
		x.srv = serverContext(tb, func(c *Config) {
			both(1, c)
			if kind == 1 {
				c.NextProtos = opsServerProtos
			}
			if x.hello {
				c.GetContextForClient = func(hi *ClientHelloInfo) (*Context, error) { return h.run.hello(hi) }
			}
		})
		if x.hello {
			x.alt = mustContext(tb, &Config{Role: RoleServer, CertPEM: altPair.CertPEM, KeyPEM: altPair.KeyPEM,
				NextProtos: []string{"h2"}, KeyLogWriter: opsKeyLog{h, 1}})
		}
		xs[i] = x
	}
	return xs
}

type opsSide struct {
	e                 *Engine
	who               int
	written, read     int
	wire              []byte // drained from this side, not yet fed to the peer
	tampered, eof     bool   // this side's incoming stream was altered / FeedEOF
	mayFail, shutdown bool
	failed            error
	refused           []error // a hook of this side refused: its failure matches these
	peerAlert         string  // ... and the peer's failure names this alert ("": need not fail)
}

// opsRun is one input's state.
type opsRun struct {
	t       *testing.T
	x       *opsScenario
	in      *opsIn
	s       [2]*opsSide
	buf     []byte
	moved   int    // ciphertext drained and fed: progress
	session []byte // the client's session saved by op 14
	// sessionRefused: the saved session's handshake was refused by the
	// server's VerifyPeerCertificate; it must never resume.
	sessionRefused bool
	// of the current pair's handshake
	answers     int // the hooks' answers (opsHello*, opsRefuse*)
	hellos      int
	verifies    [2]int
	switched    bool // GetContextForClient moved the server to x.alt
	certRefused bool // the server's VerifyPeerCertificate refused the client
	keylog      [2][]string
}

func (r *opsRun) fatalf(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf(format, args...)
}

// newPair puts engines ce and se in place with a fresh model.
func (r *opsRun) newPair(ce, se *Engine, answers int) {
	r.s = [2]*opsSide{{e: ce, who: 0}, {e: se, who: 1}}
	r.answers, r.hellos, r.verifies, r.switched, r.certRefused = answers, 0, [2]int{}, false, false
	r.keylog = [2][]string{}
}

func (r *opsRun) closeAll() {
	for _, me := range r.s {
		if me != nil {
			me.e.Close()
		}
	}
}

// refuse records, from a hook of side who, that the handshake must fail:
// that side with an error matching every one of match, and the peer with
// one naming alert ("": the peer need not fail).
func (r *opsRun) refuse(who int, alert string, match ...error) {
	r.s[who].refused, r.s[who].peerAlert = match, alert
	r.s[0].mayFail, r.s[1].mayFail = true, true
}

// hello is the server's GetContextForClient.
func (r *opsRun) hello(hi *ClientHelloInfo) (*Context, error) {
	if r.hellos++; r.hellos > 1 {
		r.fatalf("GetContextForClient called %d times in one handshake", r.hellos)
	}
	if hi.ServerName != "localhost" || !slices.Equal(hi.SupportedProtos, opsClientProtos) {
		r.fatalf("ClientHelloInfo %+v, want localhost offering %q", *hi, opsClientProtos)
	}
	switch r.answers & 7 {
	case opsHelloSwitch:
		r.switched = true
		return r.x.alt, nil
	case opsHelloUnrecognized:
		err := fmt.Errorf("fuzz: no site here: %w", ErrUnrecognizedName)
		r.refuse(1, "unrecognized name", err, ErrUnrecognizedName)
		return nil, err
	case opsHelloError:
		r.refuse(1, "handshake failure", errOpsRefused)
		return nil, errOpsRefused
	case opsHelloClientCtx:
		r.refuse(1, "internal error", ErrInvalid)
		return r.x.cli, nil
	case opsHelloSame:
		return r.x.srv, nil
	}
	return nil, nil
}

// verifyPeer is side who's VerifyPeerCertificate.
func (r *opsRun) verifyPeer(who int, raw [][]byte, chains [][]*x509.Certificate) error {
	if r.verifies[who]++; r.verifies[who] > 1 {
		r.fatalf("side %d: VerifyPeerCertificate called %d times in one handshake", who, r.verifies[who])
	}
	leaf := r.x.cliLeaf
	if who == 0 {
		leaf = r.x.srvLeaf
	}
	if len(raw) == 0 || !bytes.Equal(raw[0], leaf) {
		r.fatalf("side %d: VerifyPeerCertificate got %d certificates, not the peer's leaf first", who, len(raw))
	}
	if len(chains) == 0 || !chains[0][len(chains[0])-1].Equal(pki().CA) {
		r.fatalf("side %d: VerifyPeerCertificate got %d chains, none to the CA", who, len(chains))
	}
	if r.answers&(opsRefuseServerCert<<who) == 0 {
		return nil
	}
	err := fmt.Errorf("fuzz: side %d refuses the peer's certificate: %w", who, errOpsRefused)
	// The client's refusal sends an alert; the server's decides after OpenSSL
	// finished its side of the handshake and sends none (Config's doc).
	alert := ""
	if who == 0 {
		alert = "alert"
	} else {
		r.certRefused = true
	}
	r.refuse(who, alert, err, ErrVerify)
	return err
}

func (r *opsRun) drain(me *opsSide, piece int) {
	before := me.e.PendingOut()
	n, err := me.e.Drain(r.buf[:piece])
	if err != nil {
		r.fatalf("side %d: drain: %v", me.who, err)
	}
	me.wire = append(me.wire, r.buf[:n]...)
	r.moved += n
	if after := me.e.PendingOut(); after != before-n {
		r.fatalf("side %d: PendingOut %d after draining %d of %d", me.who, after, n, before)
	}
}

// feed feeds up to k bytes of the peer's wire into me.
func (r *opsRun) feed(me *opsSide, k int) {
	peer := r.s[1-me.who]
	if me.eof || k <= 0 || len(peer.wire) == 0 {
		return
	}
	k = min(k, len(peer.wire))
	n, err := me.e.Feed(peer.wire[:k])
	if err != nil || n > k {
		r.fatalf("side %d: feed %d of %d: %v", me.who, n, k, err)
	}
	peer.wire = peer.wire[n:]
	r.moved += n
}

// check records a call's error: fatal ones must be allowed and sticky.
func (r *opsRun) check(me *opsSide, op string, err error) {
	peer := r.s[1-me.who]
	if me.failed != nil {
		if err == nil || err.Error() != me.failed.Error() {
			r.fatalf("side %d: %s on a failed engine: %v (failed with %v)", me.who, op, err, me.failed)
		}
		return
	}
	if errors.Is(err, ErrInvalid) && (op == "write" && me.shutdown || op == "key update" || op == "shutdown") {
		return
	}
	if opsFatal(err) {
		if !me.tampered && !me.eof && !me.mayFail {
			r.fatalf("side %d: %s failed on an untampered connection: %v", me.who, op, err)
		}
		for _, want := range me.refused {
			if !errors.Is(err, want) {
				r.fatalf("side %d: %s: the hook refused, the error %v does not match %v", me.who, op, err, want)
			}
		}
		me.failed = err
		peer.mayFail = true
	}
	if errors.Is(err, io.EOF) && !me.tampered && !peer.shutdown {
		r.fatalf("side %d: %s: io.EOF but the peer never shut down", me.who, op)
	}
}

func (r *opsRun) got(me *opsSide, p []byte) {
	peer := r.s[1-me.who]
	if me.read+len(p) > peer.written {
		r.fatalf("side %d read %d bytes past the %d written", me.who, me.read+len(p)-peer.written, peer.written)
	}
	for i, b := range p {
		if b != opsPat(peer.who, me.read+i) {
			r.fatalf("side %d: plaintext differs at offset %d", me.who, me.read+i)
		}
	}
	me.read += len(p)
}

func (r *opsRun) fill(me *opsSide, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = opsPat(me.who, me.written+i)
	}
	return p
}

// pump runs honest rounds: each side reads (driving its handshake), drains
// and feeds the peer.
func (r *opsRun) pump(rounds int) {
	for range rounds {
		for w, me := range r.s {
			if me.failed == nil {
				n, err := me.e.Read(r.buf)
				r.check(me, "read", err)
				r.got(me, r.buf[:n])
			}
			r.drain(me, len(r.buf))
			r.feed(r.s[1-w], 1<<30)
		}
	}
}

// settle pumps until a round moves and reads nothing (feeds take 17 KiB,
// reads a record).
func (r *opsRun) settle() {
	for range 200 {
		before := r.moved + r.s[0].read + r.s[1].read
		r.pump(1)
		if r.moved+r.s[0].read+r.s[1].read == before {
			return
		}
	}
	r.fatalf("honest rounds never settle")
}

// establish handshakes the pair in place and checks the outcome against
// the hooks' answers; resumeOffered: the client set a saved session.
func (r *opsRun) establish(resumeOffered bool) {
	r.settle()
	refused := false
	for _, me := range r.s {
		if me.refused == nil {
			continue
		}
		refused = true
		peer := r.s[1-me.who]
		if me.failed == nil || me.e.ConnectionState().HandshakeComplete {
			r.fatalf("side %d's hook refused, the side did not fail (%v)", me.who, me.failed)
		}
		r.check(me, "handshake", me.e.Handshake()) // the same error again
		if me.peerAlert != "" && (peer.failed == nil || !strings.Contains(peer.failed.Error(), me.peerAlert)) {
			r.fatalf("side %d's hook refused; its peer's error %v does not name %q", me.who, peer.failed, me.peerAlert)
		}
	}
	if refused {
		return
	}
	for _, me := range r.s {
		if err := me.e.Handshake(); err != nil {
			r.fatalf("side %d: no handshake: %v", me.who, err)
		}
	}
	cs := [2]ConnectionState{r.s[0].e.ConnectionState(), r.s[1].e.ConnectionState()}
	r.checkStates(cs)
	resumed := cs[0].DidResume
	if resumed && r.sessionRefused {
		r.fatalf("resumed a session whose client certificate the server's VerifyPeerCertificate refused")
	}
	if resumed && !resumeOffered || !resumed && resumeOffered && r.x.plain13 {
		r.fatalf("DidResume %v with a session offered: %v", resumed, resumeOffered)
	}
	if !resumed {
		leaf := r.x.srvLeaf
		if r.switched {
			leaf = r.x.altLeaf
		}
		if !bytes.Equal(r.s[0].e.PeerChain()[0], leaf) {
			r.fatalf("the client got another leaf (switched %v)", r.switched)
		}
	}
	if r.x.hello && r.hellos != 1 {
		r.fatalf("GetContextForClient called %d times", r.hellos)
	}
	want := 1 // a resumption verifies nothing
	if resumed {
		want = 0
	}
	if r.x.verify && r.verifies != [2]int{want, want} {
		r.fatalf("VerifyPeerCertificate called %v times (resumed %v)", r.verifies, resumed)
	}
	if r.x.keylog {
		c, s := slices.Sorted(slices.Values(r.keylog[0])), slices.Sorted(slices.Values(r.keylog[1]))
		if !slices.Equal(c, s) || len(c) != lineCount(r.x.version) {
			r.fatalf("key logs differ:\nclient %q\nserver %q", c, s)
		}
	}
	// A TLS 1.2 server whose VerifyPeerCertificate decides after OpenSSL's
	// handshake issues no ticket (it would come before the answer): no
	// session to resume then; any other finished handshake leaves one.
	sess, err := r.s[0].e.Session()
	if noTicket := r.x.verify && r.x.version == tls.VersionTLS12; err != nil || (sess == nil) != noTicket {
		r.fatalf("resumable session after the handshake: %d bytes, %v (TLS 1.2 with the server's hook: none)",
			len(sess), err)
	}
}

func (r *opsRun) checkStates(cs [2]ConnectionState) {
	r.t.Helper()
	proto := r.x.proto
	if r.switched {
		proto = "h2"
	}
	opsCheckStates(r.t, cs, r.x.version, proto, r.x.mutual)
}

// reset replaces the pair (new engines, or the same ones Reset) and
// handshakes it, the client resuming the saved session if asked to.
func (r *opsRun) reset(resume, reuse bool, answers int) {
	ce, se := r.s[0].e, r.s[1].e
	if reuse {
		if err := ce.Reset("localhost"); err != nil {
			r.fatalf("client Reset: %v", err)
		}
		if err := se.Reset(""); err != nil {
			r.fatalf("server Reset: %v", err)
		}
		for _, e := range []*Engine{ce, se} {
			if e.PendingOut() != 0 || e.ConnectionState().HandshakeComplete {
				r.fatalf("Reset left %d bytes pending, handshake complete %v", e.PendingOut(), e.ConnectionState().HandshakeComplete)
			}
		}
		if sess, err := ce.Session(); sess != nil || err != nil {
			r.fatalf("Reset kept a session (%d bytes, %v)", len(sess), err)
		}
	} else {
		r.closeAll()
		ce, se = r.newEngine(r.x.cli, "localhost"), r.newEngine(r.x.srv, "")
	}
	r.newPair(ce, se, answers)
	offered := resume && r.session != nil
	if offered {
		if err := ce.SetSession(r.session); err != nil {
			r.fatalf("SetSession of the session this client saved: %v", err)
		}
	}
	r.establish(offered)
}

func (r *opsRun) newEngine(x *Context, name string) *Engine {
	e, err := x.NewEngine(name)
	if err != nil {
		r.fatalf("NewEngine: %v", err)
	}
	return e
}

// session is op 14.
func (r *opsRun) sessionOp(f int) {
	c := r.s[0]
	switch f {
	case 0:
		sess, err := c.e.Session()
		if err != nil {
			r.fatalf("Session: %v", err)
		}
		if sess != nil {
			r.session, r.sessionRefused = sess, r.certRefused
		}
	case 1: // garbage on a fresh engine: refused, the engine still works
		garbage := r.in.bytes(r.in.u8())
		e := r.newEngine(r.x.cli, "localhost")
		defer e.Close()
		if err := e.SetSession(garbage); !errors.Is(err, ErrInvalid) {
			r.fatalf("SetSession of %d garbage bytes: %v, want ErrInvalid", len(garbage), err)
		}
		if err := e.Handshake(); !errors.Is(err, ErrWantRead) || e.PendingOut() == 0 {
			r.fatalf("after a refused SetSession: Handshake %v with %d bytes pending", err, e.PendingOut())
		}
	case 2: // on the pair: after the client's handshake started, or a server
		sess := r.session
		if sess == nil {
			sess = []byte("not a session")
		}
		for _, me := range r.s {
			err := me.e.SetSession(sess)
			if me.failed != nil && err != nil && err.Error() == me.failed.Error() {
				continue
			}
			if !errors.Is(err, ErrInvalid) {
				r.fatalf("side %d: SetSession on a started engine: %v (failed %v)", me.who, err, me.failed)
			}
		}
	case 3: // the session is bound to the name it was issued for
		if r.session == nil {
			return
		}
		for _, name := range []string{"localhost", "127.0.0.1"} {
			e := r.newEngine(r.x.cli, name)
			err := e.SetSession(r.session)
			e.Close()
			if name == "localhost" && err != nil || name != "localhost" && !errors.Is(err, ErrInvalid) {
				r.fatalf("SetSession of a session for localhost on a client for %s: %v", name, err)
			}
		}
	}
}

// info is op 15.
func (r *opsRun) info(f int) {
	var cs [2]ConnectionState
	for w, me := range r.s {
		cs[w] = me.e.ConnectionState()
	}
	label, context, n := opsExportArgs(r.in, f)
	if !cs[0].HandshakeComplete || !cs[1].HandshakeComplete || r.s[0].failed != nil || r.s[1].failed != nil {
		for w, me := range r.s {
			if _, err := me.e.ExportKeyingMaterial(label, context, n); err == nil && !cs[w].HandshakeComplete {
				r.fatalf("side %d: exporter before the handshake completed", w)
			}
		}
		return
	}
	r.checkStates(cs)
	km := opsCheckExport(r.t, cs, label, context, n)
	for w, me := range r.s {
		direct, err := me.e.ExportKeyingMaterial(label, context, n)
		if !bytes.Equal(direct, km) || (err == nil) != (km != nil) {
			r.fatalf("side %d: the Engine's exporter differs from its state's: %v", w, err)
		}
	}
}

// op runs one operation.
func (r *opsRun) op() {
	in := r.in
	op := in.u8()
	me := r.s[op>>7]
	peer := r.s[1-me.who]
	fl := op >> 5 & 3
	switch op & 0x1f {
	case 0: // feed: whole, split, a byte flipped
		k := in.u16()
		switch fl {
		case 1:
			at := in.u16() % (k + 1)
			r.feed(me, at)
			r.feed(me, k-at)
		case 2:
			at := in.u16()
			if len(peer.wire) > 0 && !me.eof {
				peer.wire[at%len(peer.wire)] ^= 0x20
				me.tampered = true
			}
			r.feed(me, k)
		default:
			r.feed(me, k)
		}
	case 1:
		r.drain(me, in.u16()%20000+1)
	case 2, 3: // Write, or WriteDrain
		most := 2000
		if fl&2 != 0 {
			most = 36000
		}
		p := r.fill(me, in.u16()%most+1)
		var n int
		var err error
		if op&0x1f == 3 {
			out := make([]byte, in.u16()%20000)
			var d int
			n, d, err = me.e.WriteDrain(p, out)
			me.wire = append(me.wire, out[:d]...)
		} else {
			n, err = me.e.Write(p)
		}
		r.check(me, "write", err)
		me.written += n
	case 4, 5: // Read, or FeedRead
		p := r.buf[:in.u16()%20000+1]
		var n int
		var err error
		if op&0x1f == 5 && !me.eof {
			k := min(in.u16(), len(peer.wire))
			var fed int
			fed, n, err = me.e.FeedRead(peer.wire[:k], p)
			peer.wire = peer.wire[fed:]
		} else {
			n, err = me.e.Read(p)
		}
		r.check(me, "read", err)
		r.got(me, p[:n])
	case 6:
		r.check(me, "key update", me.e.KeyUpdate(fl&1 != 0))
	case 7:
		err := me.e.Shutdown()
		if err == nil || errors.Is(err, ErrWantRead) {
			me.shutdown = true
		}
		r.check(me, "shutdown", err)
	case 8:
		if err := me.e.FeedEOF(); err != nil {
			r.fatalf("FeedEOF: %v", err)
		}
		me.eof = true
	case 9:
		w := me.e.Wants()
		if (w&WantsWrite != 0) != (me.e.PendingOut() > 0) {
			r.fatalf("side %d: Wants %d, PendingOut %d", me.who, w, me.e.PendingOut())
		}
	case 10: // drop what is on this side's wire
		if len(me.wire) > 0 {
			me.wire = me.wire[:0]
			peer.tampered = true
		}
	case 11: // zero-copy feed, partial commit
		room, err := me.e.FeedBuffer()
		if me.eof {
			break
		}
		if err != nil {
			r.fatalf("side %d: FeedBuffer: %v", me.who, err)
		}
		k := min(in.u16(), len(room), len(peer.wire))
		copy(room, peer.wire[:k])
		if err := me.e.FeedCommit(k); err != nil {
			r.fatalf("side %d: FeedCommit(%d): %v", me.who, k, err)
		}
		peer.wire = peer.wire[k:]
		r.moved += k
	case 12: // zero-copy drain, partial commit
		region, err := me.e.DrainBuffer()
		if err != nil {
			r.fatalf("side %d: DrainBuffer: %v", me.who, err)
		}
		k := min(in.u16(), len(region))
		me.wire = append(me.wire, region[:k]...)
		if err := me.e.DrainCommit(k); err != nil {
			r.fatalf("side %d: DrainCommit(%d): %v", me.who, k, err)
		}
		r.moved += k
	case 13:
		r.reset(fl&1 != 0, fl&2 != 0, in.u8())
	case 14:
		r.sessionOp(fl)
	case 15:
		r.info(fl)
	case 16:
		err := me.e.Handshake()
		r.check(me, "handshake", err)
		if err == nil && !me.e.ConnectionState().HandshakeComplete {
			r.fatalf("side %d: Handshake nil, the state says incomplete", me.who)
		}
	default:
		r.pump(1)
	}
}

func FuzzOps(f *testing.F) {
	h := &opsHooks{}
	xs := opsScenarios(f, h)
	f.Add([]byte{0, 2, 0, 100, 1, 0, 0x40, 0, 0x83, 0x10, 0, 20, 3, 0, 50})
	f.Add([]byte{1, 5, 6, 20, 0x83, 0, 9, 0x86, 20, 3, 0, 9})
	f.Add([]byte{0, 4, 1, 0x42, 0x20, 0, 0x83, 0, 0x44, 0xa3, 0x10, 0, 0xff, 0xff, 8, 7, 3, 0, 9})
	f.Add([]byte{0, 2, 1, 0, 1, 0x40, 0, 0x80, 0x10, 0x20, 0x5, 0x83, 0, 99, 0x87, 0x83, 0, 9})
	// mutual TLS 1.3 with ALPN: info, save the session, reset resuming it,
	// info with a reserved label (allowed on TLS 1.3) and a context.
	f.Add([]byte{2, 0x02, 0, 99, 0x0f, 1, 0, 64, 0x0e, 0x2d, 0, 0x82, 0, 50, 0x14, 0x4f, 2, 0, 40, 3, 1, 2, 3})
	// mutual TLS 1.2: Engine.Reset resuming; a reserved label is refused.
	f.Add([]byte{3, 0x0e, 0x6d, 0, 0x0f, 3, 0, 16, 0x02, 1, 0, 0x14, 0x8f, 0, 0, 48})
	// GetContextForClient, TLS 1.3: switch to the other Context, save its
	// session; reset refused (unrecognized_name), calls on the dead pair,
	// reset offering the other Context's session.
	f.Add([]byte{1<<3 | 4, 0x0f, 0, 0, 32, 0x0e, 0x0d, 2, 0x02, 0, 9, 0x84, 0, 9, 0x10, 0x90, 0x2d, 0, 0x0f, 4, 0, 8})
	// GetContextForClient, TLS 1.2: another error, then a client Context,
	// its own Context, go on.
	f.Add([]byte{3<<3 | 5, 0x02, 0, 9, 0x14, 0x0d, 4, 0x0d, 5, 0x0d, 6, 0x02, 0, 20, 0x14, 0x04, 0, 20})
	// VerifyPeerCertificate, TLS 1.3: the server refuses the client (which
	// finished its handshake), then the client refuses the server, then
	// both accept; a resumption calls neither.
	f.Add([]byte{opsRefuseClientCert<<3 | 6, 0x02, 0, 30, 0x14, 0x14, 0x0f, 0, 0, 8, 0x0d, 8, 0x0d, 0,
		0x0e, 0x2d, 0, 0x0f, 0, 0, 8})
	// VerifyPeerCertificate, TLS 1.2: the session ops (garbage, misuse,
	// save, names), Engine.Reset refused by the client, resumed although
	// the server would refuse, then a full handshake.
	f.Add([]byte{7, 0x2e, 5, 1, 2, 3, 4, 5, 0x4e, 0x0e, 0x6e, 0x4d, 24, 0x2d, 16, 0x0d, 0})
	// An exporter label with a NUL byte.
	f.Add([]byte{0, 0x0f, 5, 3, 'E', 0, 'x', 0, 16})
	// TLS 1.2: Engine.Reset resuming, Handshake on both sides, info (no
	// context, then an empty one).
	f.Add([]byte{1, 0x0e, 0x6d, 0, 0x10, 0x90, 0x0f, 2, 0, 12, 0x02, 0, 5, 0x14, 0x2f, 0, 0, 24})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		r := &opsRun{t: t, x: xs[data[0]&7], in: &opsIn{data[1:]}, buf: make([]byte, 40000)}
		h.run = r
		defer func() { h.run = nil }()
		r.newPair(r.newEngine(r.x.cli, "localhost"), r.newEngine(r.x.srv, ""), int(data[0]>>3))
		defer r.closeAll()
		r.establish(false)
		for ops := 0; len(r.in.b) > 0 && ops < 64; ops++ {
			r.op()
		}
		r.settle()
		for w, me := range r.s {
			peer := r.s[1-w]
			if me.failed != nil || peer.failed != nil || me.tampered || me.eof || me.mayFail {
				continue
			}
			if me.read != peer.written {
				t.Fatalf("honest side %d read %d of the %d bytes written", w, me.read, peer.written)
			}
		}
	})
}

// ---- FuzzOpsConn: the net.Conn adapter ----

type connScenario struct {
	cli, srv *Context
	version  uint16
	proto    string
	mutual   bool
}

// connRun is one FuzzOpsConn input's state.
type connRun struct {
	t             *testing.T
	x             connScenario
	in            *opsIn
	c             [2]*Conn
	written, read [2]int
	closed        [2]bool // CloseWrite
	session       []byte
	buf           []byte
}

// connect makes a new pair over a new pipe and handshakes it, the client
// resuming the saved session if asked to; the model starts afresh.
func (r *connRun) connect(resume bool) {
	t := r.t
	a, b := memconn.Pipe()
	cc, err := Client(a, r.x.cli, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	sc, err := Server(b, r.x.srv)
	if err != nil {
		t.Fatal(err)
	}
	r.c = [2]*Conn{cc, sc}
	r.written, r.read, r.closed = [2]int{}, [2]int{}, [2]bool{}
	deadline := time.Now().Add(20 * time.Second)
	cc.SetDeadline(deadline)
	sc.SetDeadline(deadline)
	offered := resume && r.session != nil
	if offered {
		if err := cc.SetSession(r.session); err != nil {
			t.Fatalf("SetSession of the session this client saved: %v", err)
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- sc.Handshake() }()
	if err := cc.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	cs := [2]ConnectionState{cc.ConnectionState(), sc.ConnectionState()}
	opsCheckStates(t, cs, r.x.version, r.x.proto, r.x.mutual)
	if cs[0].DidResume && !offered {
		t.Fatal("resumed without a session")
	}
}

func (r *connRun) closeAll() {
	for _, c := range r.c {
		if c != nil {
			c.Close()
		}
	}
}

// readPeer reads exactly n more bytes of what the peer wrote.
func (r *connRun) readPeer(who, n int) {
	for n > 0 {
		k, err := r.c[who].Read(r.buf[:min(n, len(r.buf))])
		if err != nil {
			r.t.Fatalf("side %d: Read: %v", who, err)
		}
		for i := 0; i < k; i++ {
			if r.buf[i] != opsPat(1-who, r.read[who]+i) {
				r.t.Fatalf("side %d: plaintext differs at offset %d", who, r.read[who]+i)
			}
		}
		r.read[who] += k
		n -= k
	}
}

func (r *connRun) op() {
	t, in := r.t, r.in
	op := in.u8()
	who := op >> 7
	me := r.c[who]
	switch op & 7 {
	case 0: // Write n bytes (the pipe buffers them)
		if r.closed[who] {
			if _, err := me.Write([]byte{1}); err == nil {
				t.Fatal("Write after CloseWrite succeeded")
			}
			break
		}
		p := make([]byte, in.u16()+1)
		for i := range p {
			p[i] = opsPat(who, r.written[who]+i)
		}
		n, err := me.Write(p)
		if err != nil || n != len(p) {
			t.Fatalf("side %d: Write %d of %d: %v", who, n, len(p), err)
		}
		r.written[who] += n
	case 1: // Read up to n of what the peer wrote
		r.readPeer(who, min(in.u16()+1, r.written[1-who]-r.read[who]))
	case 2:
		if !r.closed[who] {
			if err := me.KeyUpdate(op&0x20 != 0); err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("side %d: KeyUpdate: %v", who, err)
			}
		}
	case 3:
		if !r.closed[who] {
			if err := me.CloseWrite(); err != nil {
				t.Fatalf("side %d: CloseWrite: %v", who, err)
			}
			r.closed[who] = true
		}
	case 4: // info
		cs := [2]ConnectionState{r.c[0].ConnectionState(), r.c[1].ConnectionState()}
		opsCheckStates(t, cs, r.x.version, r.x.proto, r.x.mutual)
		if len(r.c[0].PeerChain()) == 0 || (len(r.c[1].PeerChain()) > 0) != r.x.mutual {
			t.Fatalf("PeerChain: client %d certificates, server %d", len(r.c[0].PeerChain()), len(r.c[1].PeerChain()))
		}
		label, context, n := opsExportArgs(in, op>>5&3)
		opsCheckExport(t, cs, label, context, n)
	case 5: // the client's session (a TLS 1.3 client may read its ticket)
		sess, err := r.c[0].Session()
		if err != nil {
			t.Fatalf("Session: %v", err)
		}
		if sess != nil {
			r.session = sess
		}
	case 6: // reconnect, resuming the saved session with bit 5
		r.closeAll()
		r.connect(op&0x20 != 0)
	case 7: // SetSession misuse: refused
		sess := r.session
		if sess == nil || op&0x20 != 0 {
			sess = in.bytes(in.u8())
		}
		for w, c := range r.c {
			if err := c.SetSession(sess); !errors.Is(err, ErrInvalid) {
				t.Fatalf("side %d: SetSession on an established Conn: %v", w, err)
			}
		}
		a, b := memconn.Pipe()
		defer b.Close()
		fresh, err := Client(a, r.x.cli, "localhost")
		if err != nil {
			t.Fatal(err)
		}
		defer fresh.Close()
		if err := fresh.SetSession(in.bytes(in.u8())); !errors.Is(err, ErrInvalid) {
			t.Fatalf("SetSession of garbage on a new Conn: %v", err)
		}
	}
}

// FuzzOpsConn: the net.Conn adapter over an in-memory pipe.
func FuzzOpsConn(f *testing.F) {
	p := pki()
	var xs [4]connScenario
	for i := range xs {
		x := &xs[i]
		x.version = tls.VersionTLS13
		version := func(*Config) {}
		if i&1 == 1 {
			x.version, version = tls.VersionTLS12, tls12
		}
		x.mutual = i >= 2
		if x.mutual {
			x.proto = "h2"
		}
		x.cli = clientContext(f, version, func(c *Config) {
			if x.mutual {
				c.CertPEM, c.KeyPEM, c.NextProtos = p.Client.CertPEM, p.Client.KeyPEM, opsClientProtos
			}
		})
		x.srv = serverContext(f, version, func(c *Config) {
			if x.mutual {
				c.ClientAuth, c.CAPEM, c.NextProtos = tls.RequireAndVerifyClientCert, p.CAPEM, opsServerProtos
			}
		})
	}
	f.Add([]byte{0, 0, 1, 0, 0x81, 0, 0x20, 1, 0, 2, 0x82, 0x21, 2})
	f.Add([]byte{1, 0x80, 0x40, 0, 1, 0x41, 0, 3, 0x81, 0x80, 0})
	// mutual TLS 1.3 with ALPN: write, save the session, info (an input
	// label), SetSession misuse, reconnect resuming, data both ways.
	f.Add([]byte{2, 0x00, 0, 50, 0x05, 0x04, 0, 0, 32, 0x84, 5, 4, 'a', 'b', 'c', 'd', 0, 16, 0x07, 3, 'x', 'y', 'z',
		0x26, 0x80, 0, 9, 0x01, 0, 20})
	// mutual TLS 1.2: reconnect resuming, info with a reserved label and a
	// context, reconnect, garbage SetSession, data.
	f.Add([]byte{3, 0x05, 0x26, 0x44, 3, 0, 8, 2, 9, 9, 0x66, 0x27, 2, 1, 2, 0, 0x80, 1, 0, 0x01, 1, 0})
	// TLS 1.3: reconnect without a session, save one, reconnect resuming, info.
	f.Add([]byte{0, 0x06, 0x05, 0x26, 0x04, 0, 0, 16})
	// TLS 1.2: save, SetSession misuse, reconnect resuming, info.
	f.Add([]byte{1, 0x05, 0x07, 0, 0x26, 0x84, 1, 0, 32})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		r := &connRun{t: t, x: xs[data[0]%4], in: &opsIn{data[1:]}, buf: make([]byte, 70000)}
		defer r.closeAll()
		r.connect(false)
		for ops := 0; len(r.in.b) > 0 && ops < 32; ops++ {
			r.op()
		}
		// Everything written arrives, then io.EOF after a CloseWrite.
		for who := 0; who < 2; who++ {
			r.readPeer(who, r.written[1-who]-r.read[who])
			if r.closed[1-who] {
				if _, err := r.c[who].Read(r.buf[:1]); err != io.EOF {
					t.Fatalf("side %d: after the peer's CloseWrite: %v, want io.EOF", who, err)
				}
			}
		}
	})
}
