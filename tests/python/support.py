"""Shared helpers of the pybio tests: certificates, contexts, and an
in-memory link that moves ciphertext between two sans-IO ends (pybio
Connections or stdlib SSLObjects) with the engines' backpressure honoured."""

from __future__ import annotations

import os
import select
import socket
import ssl
import sys
from typing import Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import pybio  # noqa: E402

CERTS = os.environ.get("SSLBIO_CERTS", os.path.join(ROOT, "build", "certs"))
CA = os.path.join(CERTS, "ca.pem")
OTHER_CA = os.path.join(CERTS, "other-ca.pem")
SERVER_CERT = os.path.join(CERTS, "server.pem")
SERVER_KEY = os.path.join(CERTS, "server.key")
CLIENT_CERT = os.path.join(CERTS, "client.pem")
CLIENT_KEY = os.path.join(CERTS, "client.key")

WANT = (ssl.SSLWantReadError, ssl.SSLWantWriteError)


def pybio_server(alpn=None, verify=None, **versions) -> pybio.Context:
    ctx = pybio.Context(pybio.SERVER)
    ctx.load_cert_chain(SERVER_CERT, SERVER_KEY)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    if verify is not None:
        ctx.load_verify_locations(CA)
        ctx.verify_mode = verify
    for k, v in versions.items():
        setattr(ctx, k, v)
    return ctx


def pybio_client(ca=CA, alpn=None, cert=False, **versions) -> pybio.Context:
    ctx = pybio.Context(pybio.CLIENT)
    if ca:
        ctx.load_verify_locations(ca)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    if cert:
        ctx.load_cert_chain(CLIENT_CERT, CLIENT_KEY)
    for k, v in versions.items():
        setattr(ctx, k, v)
    return ctx


def stdlib_server(alpn=None, verify=None, **versions) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(SERVER_CERT, SERVER_KEY)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    if verify is not None:
        ctx.load_verify_locations(CA)
        ctx.verify_mode = verify
    for k, v in versions.items():
        setattr(ctx, k, v)
    return ctx


def stdlib_client(ca=CA, alpn=None, cert=False, **versions) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca:
        ctx.load_verify_locations(ca)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    if cert:
        ctx.load_cert_chain(CLIENT_CERT, CLIENT_KEY)
    for k, v in versions.items():
        setattr(ctx, k, v)
    return ctx


class StdEnd:
    """An ssl.SSLObject over two MemoryBIOs, shaped like a pybio Connection."""

    def __init__(self, ctx: ssl.SSLContext, server_side: bool,
                 server_hostname: Optional[str] = None, session=None):
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.incoming, self.outgoing, server_side=server_side,
                                server_hostname=server_hostname, session=session)
        self.done = False

    def feed(self, data: bytes) -> int:
        return self.incoming.write(data)

    def feed_eof(self) -> None:
        self.incoming.write_eof()

    def drain(self) -> bytes:
        return self.outgoing.read()

    @property
    def pending_out(self) -> int:
        return self.outgoing.pending

    def do_handshake(self):
        self.obj.do_handshake()
        self.done = True

    def is_handshake_done(self) -> bool:
        return self.done

    def __getattr__(self, name):
        return getattr(self.obj, name)


def pybio_end(ctx, **kw):
    return ctx.connection(**kw)


class Link:
    """Two ends joined in memory. pump() moves every byte it can both ways,
    keeping what an end refused (feed returned less) for the next pump."""

    def __init__(self, a, b):
        self.a, self.b = a, b
        self.a_to_b = bytearray()
        self.b_to_a = bytearray()
        self.moved = 0

    def _move(self, src, dst, queue: bytearray) -> int:
        queue += src.drain()
        total = 0
        while queue:
            n = dst.feed(bytes(queue))
            if n <= 0:
                break
            del queue[:n]
            total += n
        return total

    def pump(self) -> int:
        n = self._move(self.a, self.b, self.a_to_b) + self._move(self.b, self.a, self.b_to_a)
        self.moved += n
        return n

    def handshake(self, rounds: int = 30) -> None:
        done = [False, False]
        for _ in range(rounds):
            for i, end in enumerate((self.a, self.b)):
                if not done[i]:
                    try:
                        end.do_handshake()
                        done[i] = True
                    except WANT:
                        pass
            moved = self.pump()
            if all(done) and not moved and not self.a_to_b and not self.b_to_a:
                return
        raise AssertionError(f"handshake did not finish (done={done})")

    def send(self, src, dst, data: bytes, chunk_sizes=None) -> bytes:
        """Write data at src, read it at dst; returns what dst read."""
        out = bytearray()
        view = memoryview(data)
        i = 0
        sizes = iter(chunk_sizes or ())
        while i < len(view) or len(out) < len(data):
            if i < len(view):
                size = next(sizes, 16384)
                try:
                    i += src.write(view[i:i + size])
                except WANT:
                    pass
            self.pump()
            out += read_all(dst)
            self.pump()
        return bytes(out)


def read_all(end, size: int = 65536) -> bytes:
    """Everything readable now (stops at WANT_READ or a clean close)."""
    out = bytearray()
    while True:
        try:
            data = end.read(size)
        except ssl.SSLWantReadError:
            break
        if not data:
            break
        out += data
    return bytes(out)


def read_text(path: str) -> str:
    with open(path) as f:
        return f.read()


def leaf_der(path: str) -> bytes:
    """DER of the first certificate of a PEM chain file. (ssl.PEM_cert_to_DER_cert
    wants exactly one certificate: on a chain it decodes the whole text, which
    works or fails depending on the leaf's length.)"""
    return pem_chain_der(path)[0]


def statm_rss_kib() -> int:
    with open("/proc/self/statm") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") // 1024


def stdlib_echo(ctx, sock, server_side, errors, timeout=20, strict_close=False, seen=None,
                session=None):
    """A thread body: the stdlib's SSLSocket on sock echoes until EOF, then
    answers close_notify (with strict_close, a failed unwrap is an error).
    Exceptions go to errors, for the test to report. With a dict seen, what
    the stdlib saw goes there once the peer is done: its getpeercert()
    ("cert"), its session and session_reused. A client resumes session."""
    try:
        sock.settimeout(timeout)
        with ctx.wrap_socket(sock, server_side=server_side, session=session,
                             server_hostname=None if server_side else "localhost") as s:
            while True:
                data = s.recv(65536)
                if not data:
                    break
                s.sendall(data)
            if seen is not None:
                seen.update(cert=s.getpeercert(), session=s.session,
                            session_reused=s.session_reused)
            try:
                s.unwrap()
            except (ssl.SSLError, OSError):
                if strict_close:
                    raise
    except Exception as exc:  # reported by the test
        errors.append(exc)


class SocketDriver:
    """Runs a sans-IO Connection over a non-blocking socket."""

    def __init__(self, conn: pybio.Connection, sock: socket.socket, zero_copy: bool):
        self.conn, self.sock, self.zero_copy = conn, sock, zero_copy
        self.inbox = b""  # received but not yet accepted by the engine
        sock.setblocking(False)

    def flush(self, timeout=10.0):
        conn, sock = self.conn, self.sock
        while conn.pending_out:
            if self.zero_copy:
                try:
                    conn.drain_to(sock)
                    continue
                except BlockingIOError:
                    pass
            else:
                data = conn.drain()
                view = memoryview(data)
                while view:
                    try:
                        view = view[sock.send(view):]
                    except BlockingIOError:
                        select.select([], [sock], [], timeout)
                continue
            _, w, _ = select.select([], [sock], [], timeout)
            if not w:
                raise TimeoutError("socket not writable")

    def receive(self, timeout=10.0):
        conn, sock = self.conn, self.sock
        if self.inbox:
            self.inbox = self.inbox[conn.feed(self.inbox):]
            return
        r, _, _ = select.select([sock], [], [], timeout)
        if not r:
            raise TimeoutError("socket not readable")
        if self.zero_copy:
            try:
                conn.feed_into(sock)
            except BlockingIOError:
                pass
            return
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            return
        if not data:
            conn.feed_eof()
        else:
            self.inbox = data[conn.feed(data):]

    def call(self, op):
        while True:
            try:
                result = op()
            except ssl.SSLWantReadError:
                self.flush()
                self.receive()
                continue
            except ssl.SSLWantWriteError:
                self.flush()
                continue
            self.flush()
            return result

    def send_all(self, data: bytes):
        view = memoryview(data)
        while view:
            n = self.call(lambda: self.conn.write(view[:65536]))
            view = view[n:]

    def recv_exactly(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            chunk = self.call(lambda: self.conn.read(65536))
            if not chunk:
                raise EOFError(f"clean close after {len(out)} of {n} bytes")
            out += chunk
        return bytes(out)


# ---- certificates made for a test with the openssl command -------------------

_PKI_REQ = """[req]
distinguished_name = dn
string_mask = {mask}
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
"""

_PKI_EXT = """[rich]
basicConstraints = CA:FALSE
subjectAltName = @san
authorityInfoAccess = OCSP;URI:http://ocsp.example/, caIssuers;URI:http://ca.example/ca.crt, OCSP;URI:http://ocsp2.example/
crlDistributionPoints = URI:http://crl.example/a.crl, URI:http://crl2.example/b.crl
[bmp]
basicConstraints = CA:FALSE
subjectAltName = DNS:localhost, IP:10.0.0.1, IP:fe80::1:2
authorityInfoAccess = caIssuers;URI:http://ca.example/only.crt
[san]
DNS.1 = localhost
DNS.2 = *.example.org
IP.1 = 127.0.0.1
IP.2 = ::1
IP.3 = 2001:db8:85a3::8a2e:370:7334
URI.1 = https://example.org/path?q=1
email.1 = user@example.org
RID.1 = 1.2.3.4.5
dirName.1 = dir_sect
otherName.1 = 1.3.6.1.5.5.7.8.9;UTF8:smtp@example.org
otherName.2 = 1.2.3.4;UTF8:opaque
otherName.3 = 1.3.6.1.4.1.311.20.2.3;UTF8:upn@example.org
[dir_sect]
C = DE
O = Dir Org
CN = Dir Name
"""

# name: (subject, string mask, extension section or None, serial, days)
_PKI_LEAVES = {
    "rich": ("/CN=localhost+OU=Multi Valued/O=Ünïcödé Org/L=Zürich/ST=ZH/C=CH"
             "/emailAddress=admin@example.org/serialNumber=1234/DC=example/DC=org/UID=uid1"
             "/title=Boss/GN=Given/SN=Sur/2.5.4.97=VATDE-123/1.2.3.4.5.6=custom",
             "utf8only", "rich", "-1234567", 20000),
    "bmp": ("/CN=日本語テスト/O=Ünï Org/OU=plain/C=JP", "default", "bmp", "0", 30),
    "v1": ("/CN=version one/O=Old", "utf8only", None,
           "0x00ffeeddccbbaa99887766554433221100aabbcc", 400),
}


def make_pki(directory: str) -> dict:
    """A CA and leaf certificates with rich names and extensions, made with
    the openssl command in directory: {"ca": ca.pem, name: (chain, key)}
    where chain is the leaf then the CA. Raises unittest.SkipTest without
    the openssl command."""
    import shutil
    import subprocess
    import unittest
    if shutil.which("openssl") is None:
        raise unittest.SkipTest("openssl command not found")

    def run(*args):
        subprocess.run(("openssl",) + args, check=True, capture_output=True, cwd=directory)

    def path(name):
        return os.path.join(directory, name)

    for mask in ("utf8only", "default"):
        with open(path(f"req-{mask}.cnf"), "w") as f:
            f.write(_PKI_REQ.format(mask=mask))
    with open(path("ext.cnf"), "w", encoding="utf-8") as f:
        f.write(_PKI_EXT)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    run("req", "-x509", "-config", "req-utf8only.cnf", "-extensions", "ca", *ec,
        "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=pybio test CA/O=Acme/C=US",
        "-days", "3650")
    out = {"ca": path("ca.pem")}
    for name, (subject, mask, section, serial, days) in _PKI_LEAVES.items():
        run("req", "-new", "-config", f"req-{mask}.cnf", "-utf8", *ec, "-keyout", f"{name}.key",
            "-out", f"{name}.csr", "-subj", subject)
        ext = ("-extfile", "ext.cnf", "-extensions", section) if section else ()
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-set_serial", serial, "-days", str(days), *ext, "-out", f"{name}.pem")
        with open(path(f"{name}-chain.pem"), "w") as f:
            f.write(read_text(path(f"{name}.pem")) + read_text(path("ca.pem")))
        out[name] = (path(f"{name}-chain.pem"), path(f"{name}.key"))
    return out


def pem_chain_der(path: str) -> list:
    """DER of every certificate of a PEM file, in file order."""
    text = read_text(path)
    end = "-----END CERTIFICATE-----"
    out = []
    while "-----BEGIN CERTIFICATE-----" in text:
        start = text.index("-----BEGIN CERTIFICATE-----")
        stop = text.index(end, start) + len(end)
        out.append(ssl.PEM_cert_to_DER_cert(text[start:stop] + "\n"))
        text = text[stop:]
    return out
