"""Shared helpers of the pybio tests: certificates, contexts, and an
in-memory link that moves ciphertext between two sans-IO ends (pybio
Connections or stdlib SSLObjects) with the engines' backpressure honoured."""

from __future__ import annotations

import os
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
    text = read_text(path)
    end = "-----END CERTIFICATE-----"
    return ssl.PEM_cert_to_DER_cert(text[:text.index(end) + len(end)] + "\n")


def statm_rss_kib() -> int:
    with open("/proc/self/statm") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") // 1024


def stdlib_echo(ctx, sock, server_side, errors, timeout=20, strict_close=False):
    """A thread body: the stdlib's SSLSocket on sock echoes until EOF, then
    answers close_notify (with strict_close, a failed unwrap is an error).
    Exceptions go to errors, for the test to report."""
    try:
        sock.settimeout(timeout)
        with ctx.wrap_socket(sock, server_side=server_side,
                             server_hostname=None if server_side else "localhost") as s:
            while True:
                data = s.recv(65536)
                if not data:
                    break
                s.sendall(data)
            try:
                s.unwrap()
            except (ssl.SSLError, OSError):
                if strict_close:
                    raise
    except Exception as exc:  # reported by the test
        errors.append(exc)
