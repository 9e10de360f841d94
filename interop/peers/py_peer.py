"""py_peer.py: Python's ssl module as an interop client or server, speaking
the echo script of interop/internal/peer (same flags, same RESULT lines).

Sockets are made with suppress_ragged_eofs=False, so a read returns b""
only for the peer's close_notify; a bare TCP EOF raises SSLEOFError.
Python cannot send a TLS 1.3 KeyUpdate."""
import argparse
import socket
import ssl
import sys

p = argparse.ArgumentParser()
p.add_argument("--role", default="client")
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--port", type=int, default=0)
p.add_argument("--name", default="localhost")
p.add_argument("--certs", default="build/certs")
p.add_argument("--client-cert", action="store_true")
p.add_argument("--alpn", default="")
p.add_argument("--expect-alpn", default="")
p.add_argument("--tls12", action="store_true")
p.add_argument("--tls13", action="store_true")
p.add_argument("--resume", action="store_true")
p.add_argument("--key-update", action="store_true")
p.add_argument("--conns", type=int, default=1)
p.add_argument("--mode", default="echo")
p.add_argument("--server-close", action="store_true")
p.add_argument("--close", default="client")
p.add_argument("--msg", default="hello from the interop client")
p.add_argument("--expect", default="")
p.add_argument("--require-close-notify", action="store_true")
p.add_argument("--expect-version", default="")
p.add_argument("--extra-rounds", type=int, default=0)
p.add_argument("--timeout", default="10s")
o = p.parse_args()
o.expect = o.expect or o.msg
timeout = float(o.timeout.rstrip("s"))
if o.resume and o.role == "server":
    o.conns = max(o.conns, 2)
cert = lambda n: f"{o.certs}/{n}"


def fail(msg):
    print(f"python {o.role}: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def context(server):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    if o.tls12:
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if o.tls13:
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    if o.alpn:
        ctx.set_alpn_protocols(o.alpn.split(","))
    if server:
        ctx.load_cert_chain(cert("server.pem"), cert("server.key"))
        if o.client_cert:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(cert("ca.pem"))
    else:
        ctx.load_verify_locations(cert("ca.pem"))
        if o.client_cert:
            ctx.load_cert_chain(cert("client.pem"), cert("client.key"))
    return ctx


def check(s):
    if o.expect_alpn and s.selected_alpn_protocol() != o.expect_alpn:
        fail(f"ALPN {s.selected_alpn_protocol()}, want {o.expect_alpn}")
    want = o.expect_version or ("TLSv1.2" if o.tls12 else "TLSv1.3" if o.tls13 else "")
    if want and s.version() != want:
        fail(f"version {s.version()}, want {want}")


def state(s):
    """What RESULT reports, taken before unwrap() drops the SSL object."""
    pc = s.getpeercert() or {}
    cn = ""
    for rdn in pc.get("subject", ()):
        for k, v in rdn:
            if k == "commonName":
                cn = v
    return ["RESULT stack=python", f"role={o.role}", f"version={s.version()}",
            f"cipher={s.cipher()[0]}", f"alpn={s.selected_alpn_protocol() or 'none'}",
            f"resumed={str(s.session_reused).lower()}", f'peer_cn="{cn}"']


def report(st, *extra):
    print(" ".join(st + list(extra)), flush=True)


def read_until_close(s):
    """True when the peer's close_notify arrived (b""), False on truncation."""
    try:
        while True:
            d = s.recv(4096)
            if not d:
                return True
            fail(f"unexpected data after the exchange: {d!r}")
    except ssl.SSLEOFError:
        return False


def client():
    ctx = context(False)
    session = None
    for i in range(2 if o.resume else 1):
        if o.key_update:
            fail("key update: not supported by Python's ssl module")
        raw = socket.create_connection((o.host, o.port), timeout=timeout)
        s = ctx.wrap_socket(raw, server_hostname=o.name, suppress_ragged_eofs=False, session=session)
        check(s)
        st = state(s)
        resumed = s.session_reused
        for r in range(1 + o.extra_rounds):
            msg = o.msg if r == 0 else f"{o.msg} round {r + 1}"
            expect = o.expect if r == 0 else msg
            s.sendall((msg + "\n").encode())
            got = b""
            while len(got) < len(expect) + 1:
                d = s.recv(4096)
                if not d:
                    fail(f"closed before the echo (got {got!r})")
                got += d
            if got.decode().rstrip("\n") != expect:
                fail(f"echo {got!r}, want {expect!r}")
        session = s.session  # the ticket came with the echo (TLS 1.3)
        peer_close = False
        if o.close == "client":
            try:
                s.unwrap()  # sends close_notify and waits for the peer's
                peer_close = True
            except (ssl.SSLError, OSError) as e:
                if o.require_close_notify:
                    fail(f"no close_notify from the peer: {e}")
        elif o.close == "server":
            peer_close = read_until_close(s)
            if not peer_close:
                fail("peer closed without close_notify")
            try:
                s.unwrap()
            except (ssl.SSLError, OSError):
                pass
        if i == 1 and not resumed:
            fail("second connection did not resume the session")
        report(st, f"round={i + 1}", "key_update=false", f"peer_close_notify={str(peer_close).lower()}",
               f"close={o.close}")
        raw.close()
    print("python client: OK")


def server():
    ctx = context(True)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((o.host, o.port))
    ls.listen(8)
    ls.settimeout(timeout * (o.conns + 1))
    print(f"LISTENING {ls.getsockname()[1]}", flush=True)
    for _ in range(o.conns):
        raw, _ = ls.accept()
        raw.settimeout(timeout)
        s = ctx.wrap_socket(raw, server_side=True, suppress_ragged_eofs=False)
        check(s)
        st = state(s)
        if o.client_cert and not s.getpeercert():
            fail("no client certificate")
        total, line, closed = 0, b"", False
        while True:
            try:
                d = s.recv(16384)
            except ssl.SSLEOFError:
                fail(f"truncated after {total} bytes (no close_notify)")
            if not d:
                break
            if closed:
                fail("data after our close_notify")
            total += len(d)
            if o.mode == "http":
                line += d
                if b"\r\n\r\n" in line:
                    body = b"sslbio interop: hello over TLS\n"
                    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
                    break
                continue
            s.sendall(d)
            line += d
            if o.server_close and b"\n" in line:
                closed = True
                s.unwrap()  # close_notify, then the peer's answer
                report(st, f"echoed={total}", "peer_close_notify=true", "server_close=true")
                break
        if not closed:
            try:
                s.unwrap()
            except (ssl.SSLError, OSError):
                pass
            report(st, f"echoed={total}", "peer_close_notify=true", "server_close=false")
        raw.close()
    print("python server: OK")


if o.role == "server":
    server()
else:
    client()
