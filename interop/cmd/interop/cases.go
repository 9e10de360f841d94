package main

import "time"

// Columns of the matrix, in order, with what each checks.
var columns = []struct{ Name, Means string }{
	{"TLS 1.2", "handshake pinned to TLS 1.2, data echoed, version checked on both sides"},
	{"TLS 1.3", "handshake pinned to TLS 1.3, data echoed, version checked on both sides"},
	{"ALPN", "the client offers h2 (and http/1.1), both sides see the protocol the server picked"},
	{"client cert", "the server requires a client certificate and verifies it against the CA and reports the client's CN; where the client can, a second connection resumes the session with the certificate still attached (regression: a verifying sslbio server used to abort every resumption with \"session id context uninitialized\")"},
	{"resumption", "a second connection resumes the first one's session (ticket), reported resumed on the sslbio side"},
	{"key update", "TLS 1.3 KeyUpdate with update_requested (sslbio sends it, and/or the peer does: s_client `K`, gnutls-cli `^rekey^`); data flows both ways under the new keys"},
	{"close_notify →", "sslbio sends close_notify first; the peer sees a clean close (and answers with its own where it does)"},
	{"close_notify ←", "the peer sends close_notify first; sslbio reports a clean close (io.EOF / SSLBIO_CLOSED), never a truncation"},
	{"reneg refused", "TLS 1.2 renegotiation attempt (s_client `R`, gnutls-cli `^renegotiate^`; s_server `R` sends HelloRequest to the sslbio client) is refused with a no_renegotiation alert, no second handshake; both processes exit without crashing"},
	{"HTTP", "GET over TLS answered with the expected body (curl, wget), then close_notify"},
}

const msg = "ping-interop-1"

// argv helpers.
func args(a ...string) []string { return a }

func cat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// sslbio-peer (Go API) server and client.
func sbServer(extra ...string) *Proc {
	return &Proc{Argv: cat(args("{bin}/sslbio-peer", "--role", "server", "--port", "{port}", "--certs", "{certs}"), extra),
		Expect: []string{`sslbio-\w+ server: OK`}}
}

func sbClient(extra ...string) *Proc {
	return &Proc{Argv: cat(args("{bin}/sslbio-peer", "--role", "client", "--port", "{port}", "--certs", "{certs}"), extra),
		Expect: []string{`sslbio-\w+ client: OK`}}
}

// The script peers (same flags as sslbio-peer).
func scriptPeer(kind, role string, extra ...string) *Proc {
	var base []string
	switch kind {
	case "node":
		base = args("{node}", "interop/peers/node_peer.js")
	case "python":
		base = args("{python}", "interop/peers/py_peer.py")
	case "gotls":
		base = args("{bin}/gotls-peer")
	}
	ok := map[string]string{"node": `node `, "python": `python `, "gotls": `gotls `}[kind] + role + `: OK`
	return &Proc{Argv: cat(base, args("--role", role, "--port", "{port}", "--certs", "{certs}"), extra), Expect: []string{ok}}
}

func (p *Proc) expect(re ...string) *Proc { p.Expect = append(p.Expect, re...); return p }
func (p *Proc) reject(re ...string) *Proc { p.Reject = append(p.Reject, re...); return p }
func (p *Proc) exit(codes ...int) *Proc   { p.Exit = codes; return p }

// failing: a process expected to end in an error (exit 1) whose output
// must say why.
func (p *Proc) failing(why string) *Proc { p.Exit = []int{1}; p.Expect = []string{why}; return p }
func (p *Proc) steps(s ...Step) *Proc    { p.Script = s; return p }
func (p *Proc) daemon() *Proc            { p.Daemon = true; return p }

func write(s string) Step        { return Step{Write: s} }
func waitFor(re string) Step     { return Step{WaitFor: re} }
func pause(d time.Duration) Step { return Step{Sleep: d} }

// --- foreign clients -------------------------------------------------------

func sClient(extra ...string) *Proc {
	return &Proc{Argv: cat(args("openssl", "s_client", "-connect", "127.0.0.1:{port}", "-CAfile", "{certs}/ca.pem",
		"-verify_return_error", "-verify_hostname", "localhost", "-servername", "localhost"), extra),
		Expect: []string{`Verification: OK`}}
}

// The basic s_client dialogue: one line, its echo, then stdin EOF (which
// makes s_client send close_notify).
var sClientEcho = []Step{write(msg + "\n"), waitFor(`(?m)^` + msg + `$`)}

func gnutlsCli(extra ...string) *Proc {
	return &Proc{Argv: cat(args("gnutls-cli", "--x509cafile", "{certs}/ca.pem", "--verify-hostname", "localhost",
		"--sni-hostname", "localhost", "-p", "{port}", "127.0.0.1"), extra),
		Expect: []string{`The certificate is trusted`, `Handshake was completed`}}
}

var gnutlsEcho = sClientEcho

const gnutls12 = "--priority=NORMAL:-VERS-ALL:+VERS-TLS1.2"
const gnutls13 = "--priority=NORMAL:-VERS-ALL:+VERS-TLS1.3"

func curl(extra ...string) *Proc {
	return &Proc{Argv: cat(args("curl", "-sS", "-v", "--max-time", "15", "--cacert", "{certs}/ca.pem",
		"--resolve", "localhost:{port}:127.0.0.1", "https://localhost:{port}/"), extra)}
}

func wget(extra ...string) *Proc {
	return &Proc{Argv: cat(args("wget", "-O", "-", "--tries=1", "--timeout=15", "--ca-certificate={certs}/ca.pem",
		"https://127.0.0.1:{port}/"), extra)}
}

const body = `sslbio interop: hello over TLS`

// --- foreign servers -------------------------------------------------------

func sServer(extra ...string) *Proc {
	return &Proc{Argv: cat(args("openssl", "s_server", "-accept", "127.0.0.1:{port}", "-cert", "{certs}/server.pem",
		"-key", "{certs}/server.key", "-naccept", "1", "-rev"), extra)}
}

// What s_server -rev sends back for the default message.
const revMsg = "tneilc poretni eht morf olleh"

func gnutlsServ(extra ...string) *Proc {
	return (&Proc{Argv: cat(args("gnutls-serv", "--echo", "-p", "{port}", "--x509certfile", "{certs}/server.pem",
		"--x509keyfile", "{certs}/server.key"), extra)}).daemon()
}

func epollServer(conns string) *Proc {
	return &Proc{Argv: args("{bin}/epoll_server", "--port", "{port}", "--cert", "{certs}/server.pem",
		"--key", "{certs}/server.key", "--max-conns", conns, "--timeout", "40"),
		Expect: []string{`connections served, exiting`}, Reject: []string{`truncat`}}
}

// cases builds the whole matrix.
func cases() []*Case {
	var cs []*Case
	add := func(row, col string, srv *Proc, clients ...*Proc) {
		cs = append(cs, &Case{Row: row, Col: col, Server: srv, Clients: clients})
	}

	// ---- foreign clients against the sslbio server (Go API) ----
	row := "openssl s_client → sslbio server (Go)"
	add(row, "TLS 1.2", sbServer("--tls12").expect("peer_close_notify=true"),
		sClient("-tls1_2").steps(sClientEcho...).expect(`New, TLSv1\.2`))
	add(row, "TLS 1.3", sbServer("--tls13").expect("peer_close_notify=true"),
		sClient("-tls1_3").steps(sClientEcho...).expect(`New, TLSv1\.3`))
	add(row, "ALPN", sbServer("--alpn", "h2,http/1.1", "--expect-alpn", "h2"),
		sClient("-alpn", "h2,http/1.1").steps(sClientEcho...).expect(`ALPN protocol: h2`))
	add(row, "client cert", sbServer("--client-cert", "--conns", "2").expect(`resumed=true peer_cn="sslbio test client"`),
		sClient("-cert", "{certs}/client.pem", "-key", "{certs}/client.key", "-sess_out", "{tmp}/sess.pem").steps(sClientEcho...),
		sClient("-cert", "{certs}/client.pem", "-key", "{certs}/client.key", "-sess_in", "{tmp}/sess.pem").
			steps(sClientEcho...).expect(`Reused, TLSv1\.3`))
	add(row, "resumption", sbServer("--conns", "2").expect(`resumed=true`),
		sClient("-sess_out", "{tmp}/sess.pem").steps(sClientEcho...).expect(`New, TLSv1\.3`),
		sClient("-sess_in", "{tmp}/sess.pem").steps(sClientEcho...).expect(`Reused, TLSv1\.3`))
	add(row, "key update", sbServer("--key-update", "--tls13").expect(`key_update=true`, `peer_close_notify=true`),
		sClient().steps(write(msg+"\n"), waitFor(`(?m)^`+msg+`$`), write("K\n"), waitFor(`KEYUPDATE`),
			write("ping-after-update\n"), waitFor(`(?m)^ping-after-update$`)))
	add(row, "close_notify →", sbServer("--server-close").expect(`server_close=true`, `peer_close_notify=true`),
		sClient("-ign_eof").steps(write(msg+"\n"), waitFor(`(?m)^closed$`)))
	add(row, "close_notify ←", sbServer().expect(`peer_close_notify=true`, `server_close=false`),
		sClient().steps(sClientEcho...))
	add(row, "reneg refused", sbServer("--tls12").failing(`FAIL: .*(alert|renegotiation)`),
		sClient("-tls1_2", "-legacy_renegotiation").exit(0, 1).steps(write(msg+"\n"), waitFor(`(?m)^`+msg+`$`),
			write("R\n"), waitFor(`RENEGOTIATING`), waitFor(`no renegotiation`)))

	row = "gnutls-cli → sslbio server (Go)"
	add(row, "TLS 1.2", sbServer("--tls12").expect("peer_close_notify=true"),
		gnutlsCli(gnutls12).steps(gnutlsEcho...).expect(`\(TLS1\.2`))
	add(row, "TLS 1.3", sbServer("--tls13").expect("peer_close_notify=true"),
		gnutlsCli(gnutls13).steps(gnutlsEcho...).expect(`\(TLS1\.3`))
	add(row, "ALPN", sbServer("--alpn", "h2,http/1.1", "--expect-alpn", "h2"),
		gnutlsCli("--alpn", "h2").steps(gnutlsEcho...).expect(`Application protocol: h2`))
	add(row, "client cert", sbServer("--client-cert").expect(`peer_cn="sslbio test client"`),
		gnutlsCli("--x509certfile", "{certs}/client.pem", "--x509keyfile", "{certs}/client.key").steps(gnutlsEcho...))
	add(row, "resumption", sbServer("--conns", "2").expect(`resumed=true`),
		gnutlsCli("--resume", "--waitresumption").steps(gnutlsEcho...).expect(`This is a resumed session`))
	add(row, "key update", sbServer("--key-update", "--tls13").expect(`key_update=true`, `peer_close_notify=true`),
		gnutlsCli("--inline-commands").steps(write(msg+"\n"), waitFor(`(?m)^`+msg+`$`), write("^rekey^\n"),
			waitFor(`Rekey was completed`), write("ping-after-update\n"), waitFor(`(?m)^ping-after-update$`)))
	// gnutls-cli closes its socket on our close_notify without answering:
	// the server logs peer_close_notify=false (a truncation after its own
	// close), which it accepts without --require-close-notify.
	add(row, "close_notify →", sbServer("--server-close").expect(`server_close=true`),
		gnutlsCli().steps(write(msg+"\n"), waitFor(`Peer has closed the GnuTLS connection`)))
	add(row, "close_notify ←", sbServer().expect(`peer_close_notify=true`, `server_close=false`),
		gnutlsCli().steps(gnutlsEcho...))
	add(row, "reneg refused", sbServer("--tls12").failing(`FAIL: .*alert`),
		gnutlsCli(gnutls12, "--inline-commands").exit(0, 1).steps(write(msg+"\n"), waitFor(`(?m)^`+msg+`$`),
			write("^renegotiate^\n"), waitFor(`No renegotiation is allowed`), waitFor(`ReHandshake has failed`)))

	row = "curl → sslbio server (Go)"
	httpSrv := func(extra ...string) *Proc {
		return sbServer(append([]string{"--mode", "http"}, extra...)...).expect(`http=200`)
	}
	add(row, "TLS 1.2", httpSrv("--tls12"), curl("--tlsv1.2", "--tls-max", "1.2").expect(body, `SSL connection using TLSv1\.2`))
	add(row, "TLS 1.3", httpSrv("--tls13"), curl("--tlsv1.3").expect(body, `SSL connection using TLSv1\.3`))
	add(row, "ALPN", httpSrv("--alpn", "http/1.1", "--expect-alpn", "http/1.1"),
		curl().expect(body, `ALPN: server accepted http/1\.1`))
	add(row, "client cert", httpSrv("--client-cert").expect(`peer_cn="sslbio test client"`),
		curl("--cert", "{certs}/client.pem", "--key", "{certs}/client.key").expect(body))
	add(row, "resumption", httpSrv("--conns", "2").expect(`resumed=true`),
		curl("https://localhost:{port}/again").expect(`SSL re-using session ID`))
	add(row, "close_notify →", httpSrv().expect(`peer_close_notify=true`),
		curl().expect(body, `\(IN\), TLS alert, close notify`, `\(OUT\), TLS alert, close notify`))
	add(row, "HTTP", httpSrv(), curl().expect(body))

	row = "wget (GnuTLS) → sslbio server (Go)"
	add(row, "TLS 1.2", httpSrv("--tls12"), wget("--secure-protocol=TLSv1_2").expect(body))
	add(row, "TLS 1.3", httpSrv("--tls13"), wget("--secure-protocol=TLSv1_3").expect(body))
	add(row, "client cert", httpSrv("--client-cert").expect(`peer_cn="sslbio test client"`),
		wget("--certificate={certs}/client.pem", "--private-key={certs}/client.key").expect(body))
	add(row, "HTTP", httpSrv(), wget().expect(body))

	for _, kind := range []string{"node", "python", "gotls"} {
		name := map[string]string{"node": "Node.js tls", "python": "Python ssl", "gotls": "Go crypto/tls"}[kind]
		row = name + " client → sslbio server (Go)"
		cl := func(extra ...string) *Proc { return scriptPeer(kind, "client", extra...) }
		add(row, "TLS 1.2", sbServer("--tls12"), cl("--tls12"))
		add(row, "TLS 1.3", sbServer("--tls13"), cl("--tls13"))
		add(row, "ALPN", sbServer("--alpn", "h2,http/1.1", "--expect-alpn", "h2"), cl("--alpn", "h2,http/1.1", "--expect-alpn", "h2"))
		add(row, "client cert", sbServer("--client-cert", "--conns", "2").expect(`resumed=true peer_cn="sslbio test client"`),
			cl("--client-cert", "--resume"))
		add(row, "resumption", sbServer("--conns", "2").expect(`resumed=true`), cl("--resume"))
		add(row, "key update", sbServer("--key-update", "--tls13").expect(`key_update=true`), cl("--extra-rounds", "3"))
		add(row, "close_notify →", sbServer("--server-close").expect(`server_close=true`, `peer_close_notify=true`),
			cl("--close", "server"))
		add(row, "close_notify ←", sbServer().expect(`peer_close_notify=true`, `server_close=false`), cl())
	}

	// ---- the sslbio client (Go API) against foreign servers ----
	row = "sslbio client (Go) → openssl s_server"
	add(row, "TLS 1.2", sServer("-tls1_2").expect(`Protocol version: TLSv1\.2`), sbClient("--tls12", "--expect", revMsg))
	add(row, "TLS 1.3", sServer("-tls1_3").expect(`Protocol version: TLSv1\.3`), sbClient("--tls13", "--expect", revMsg))
	add(row, "ALPN", sServer("-alpn", "h2"), sbClient("--alpn", "h2,http/1.1", "--expect-alpn", "h2", "--expect", revMsg))
	add(row, "client cert", sServer("-naccept", "2", "-Verify", "1", "-CAfile", "{certs}/ca.pem", "-verify_return_error").
		expect(`CN = sslbio test client`, `1 session cache hits`), sbClient("--client-cert", "--resume", "--expect", revMsg))
	add(row, "resumption", sServer("-naccept", "2").expect(`1 session cache hits`),
		sbClient("--resume", "--expect", revMsg))
	add(row, "key update", sServer("-tls1_3"), sbClient("--key-update", "--expect", revMsg).expect(`key_update=true`))
	add(row, "close_notify →", sServer().expect(`CONNECTION CLOSED`),
		sbClient("--expect", revMsg, "--require-close-notify").expect(`peer_close_notify=true`))
	add(row, "close_notify ←", sServer().expect(`CONNECTION CLOSED`),
		sbClient("--msg", "CLOSE", "--send-only", "--close", "server", "--require-close-notify"))

	// Server-initiated renegotiation: s_server (stdin mode) sends HelloRequest
	// on "R"; the sslbio client answers no_renegotiation, s_server gives up.
	renegSrv := &Proc{Argv: args("openssl", "s_server", "-accept", "127.0.0.1:{port}", "-cert", "{certs}/server.pem",
		"-key", "{certs}/server.key", "-naccept", "1", "-tls1_2"), KeepStdin: true, Exit: []int{0, 1},
		Expect: []string{`no renegotiation`}}
	renegSrv.steps(waitFor(`(?m)^hello$`), write("R\n"))
	add(row, "reneg refused", renegSrv,
		sbClient("--tls12", "--send-only", "--msg", "hello", "--close", "server").failing(`FAIL: .*alert`))

	row = "sslbio client (Go) → gnutls-serv"
	add(row, "TLS 1.2", gnutlsServ(gnutls12), sbClient("--tls12"))
	add(row, "TLS 1.3", gnutlsServ(gnutls13), sbClient("--tls13"))
	add(row, "ALPN", gnutlsServ("--alpn", "h2"), sbClient("--alpn", "h2,http/1.1", "--expect-alpn", "h2"))
	add(row, "client cert", gnutlsServ("--require-client-cert", "--x509cafile", "{certs}/ca.pem").
		expect(`sslbio test client`), sbClient("--client-cert", "--resume"))
	add(row, "resumption", gnutlsServ(), sbClient("--resume"))
	add(row, "key update", gnutlsServ(gnutls13), sbClient("--key-update").expect(`key_update=true`))
	add(row, "close_notify →", gnutlsServ(), sbClient("--require-close-notify").expect(`peer_close_notify=true`))

	for _, kind := range []string{"node", "python", "gotls"} {
		name := map[string]string{"node": "Node.js tls", "python": "Python ssl", "gotls": "Go crypto/tls"}[kind]
		row = "sslbio client (Go) → " + name + " server"
		sv := func(extra ...string) *Proc { return scriptPeer(kind, "server", extra...) }
		add(row, "TLS 1.2", sv("--tls12"), sbClient("--tls12"))
		add(row, "TLS 1.3", sv("--tls13"), sbClient("--tls13"))
		add(row, "ALPN", sv("--alpn", "h2,http/1.1", "--expect-alpn", "h2"), sbClient("--alpn", "h2", "--expect-alpn", "h2"))
		add(row, "client cert", sv("--client-cert", "--conns", "2").expect(`peer_cn="sslbio test client"`),
			sbClient("--client-cert", "--resume"))
		add(row, "resumption", sv("--conns", "2").expect(`resumed=true`), sbClient("--resume"))
		add(row, "key update", sv("--tls13"), sbClient("--key-update").expect(`key_update=true`))
		closeArrow := sbClient("--require-close-notify").expect(`peer_close_notify=true`)
		if kind == "node" { // node answers close_notify by closing the socket
			closeArrow = sbClient()
		}
		add(row, "close_notify →", sv(), closeArrow)
		add(row, "close_notify ←", sv("--server-close"), sbClient("--close", "server", "--require-close-notify"))
	}

	// ---- foreign clients against the C epoll example (C API, default config) ----
	row = "openssl s_client → epoll_server (C)"
	add(row, "TLS 1.2", epollServer("1").expect(`clean close`), sClient("-tls1_2").steps(sClientEcho...).expect(`New, TLSv1\.2`))
	add(row, "TLS 1.3", epollServer("1").expect(`clean close`), sClient("-tls1_3").steps(sClientEcho...).expect(`New, TLSv1\.3`))
	add(row, "ALPN", epollServer("1"), sClient("-alpn", "h2,http/1.1").steps(sClientEcho...).expect(`ALPN protocol: http/1\.1`))
	add(row, "resumption", epollServer("2"),
		sClient("-sess_out", "{tmp}/sess.pem").steps(sClientEcho...).expect(`New, TLSv1\.3`),
		sClient("-sess_in", "{tmp}/sess.pem").steps(sClientEcho...).expect(`Reused, TLSv1\.3`))
	add(row, "key update", epollServer("1").expect(`clean close`),
		sClient().steps(write(msg+"\n"), waitFor(`(?m)^`+msg+`$`), write("K\n"), waitFor(`KEYUPDATE`),
			write("ping-after-update\n"), waitFor(`(?m)^ping-after-update$`)))
	add(row, "close_notify ←", epollServer("1").expect(`clean close`), sClient().steps(sClientEcho...))
	add(row, "reneg refused", epollServer("1"),
		sClient("-tls1_2", "-legacy_renegotiation").exit(0, 1).steps(write(msg+"\n"), waitFor(`(?m)^`+msg+`$`),
			write("R\n"), waitFor(`RENEGOTIATING`), waitFor(`no renegotiation`)))

	row = "gnutls-cli → epoll_server (C)"
	add(row, "TLS 1.2", epollServer("1").expect(`clean close`), gnutlsCli(gnutls12).steps(gnutlsEcho...).expect(`\(TLS1\.2`))
	add(row, "TLS 1.3", epollServer("1").expect(`clean close`), gnutlsCli(gnutls13).steps(gnutlsEcho...).expect(`\(TLS1\.3`))
	add(row, "ALPN", epollServer("1"), gnutlsCli("--alpn", "h2", "--alpn", "http/1.1").steps(gnutlsEcho...).
		expect(`Application protocol: http/1\.1`))
	add(row, "resumption", epollServer("2"),
		gnutlsCli("--resume", "--waitresumption").steps(gnutlsEcho...).expect(`This is a resumed session`))
	add(row, "key update", epollServer("1").expect(`clean close`),
		gnutlsCli("--inline-commands").steps(write(msg+"\n"), waitFor(`(?m)^`+msg+`$`), write("^rekey^\n"),
			waitFor(`Rekey was completed`), write("ping-after-update\n"), waitFor(`(?m)^ping-after-update$`)))
	add(row, "close_notify ←", epollServer("1").expect(`clean close`), gnutlsCli().steps(gnutlsEcho...))
	add(row, "reneg refused", epollServer("1"),
		gnutlsCli(gnutls12, "--inline-commands").exit(0, 1).steps(write(msg+"\n"), waitFor(`(?m)^`+msg+`$`),
			write("^renegotiate^\n"), waitFor(`No renegotiation is allowed`), waitFor(`ReHandshake has failed`)))

	row = "curl → epoll_server (C)"
	epBody := `hello from the sslbio epoll_server`
	add(row, "TLS 1.2", epollServer("1"), curl("--tlsv1.2", "--tls-max", "1.2").expect(epBody, `SSL connection using TLSv1\.2`))
	add(row, "TLS 1.3", epollServer("1"), curl("--tlsv1.3").expect(epBody, `SSL connection using TLSv1\.3`))
	add(row, "ALPN", epollServer("1"), curl().expect(epBody, `ALPN: server accepted http/1\.1`))
	add(row, "resumption", epollServer("2"), curl("https://localhost:{port}/again").expect(`SSL re-using session ID`))
	add(row, "close_notify →", epollServer("1"), curl().expect(epBody, `\(IN\), TLS alert, close notify`))
	add(row, "HTTP", epollServer("1"), curl().expect(epBody))

	row = "wget (GnuTLS) → epoll_server (C)"
	add(row, "TLS 1.2", epollServer("1"), wget("--secure-protocol=TLSv1_2").expect(epBody))
	add(row, "TLS 1.3", epollServer("1"), wget("--secure-protocol=TLSv1_3").expect(epBody))
	add(row, "HTTP", epollServer("1"), wget().expect(epBody))

	for _, kind := range []string{"node", "python", "gotls", "sslbio"} {
		name := map[string]string{"node": "Node.js tls", "python": "Python ssl", "gotls": "Go crypto/tls",
			"sslbio": "sslbio (Go)"}[kind]
		row = name + " client → epoll_server (C)"
		cl := func(extra ...string) *Proc {
			if kind == "sslbio" {
				return sbClient(extra...)
			}
			return scriptPeer(kind, "client", extra...)
		}
		add(row, "TLS 1.2", epollServer("1").expect(`clean close`), cl("--tls12"))
		add(row, "TLS 1.3", epollServer("1").expect(`clean close`), cl("--tls13"))
		add(row, "ALPN", epollServer("1"), cl("--alpn", "h2,http/1.1", "--expect-alpn", "http/1.1"))
		add(row, "resumption", epollServer("2"), cl("--resume"))
		if kind == "sslbio" {
			add(row, "key update", epollServer("1").expect(`clean close`), cl("--key-update").expect(`key_update=true`))
		}
		add(row, "close_notify ←", epollServer("1").expect(`clean close`), cl())
	}
	return cs
}
