#!/usr/bin/env python3
"""asyncio STARTTLS with pybio's sans-IO Connection, server and client in
one process, on one TCP connection that starts in plaintext.

    PYTHONPATH=. python3 examples/python/asyncio_starttls.py [--clients N]

The dialogue (SMTP-like):

    S: 220 pybio-demo ready                      plaintext
    C: STARTTLS\\r\\n + ClientHello                plaintext line and TLS bytes in ONE write
    S: 220 go ahead\\r\\n + ServerHello...          plaintext line and TLS bytes in ONE write
    C: ECHO <text> / S: 250 <text>               inside TLS
    C: QUIT / S: 221 bye, close_notify both ways

Both sides receive TLS bytes glued to the plaintext line that announces
them, in the same data_received() call, before their engine ever ran. That
is the race of the asyncio STARTTLS field report in docs/design.md
(asyncio's own start_tls lost or hung on such bytes): here the bytes after the line are fed to the new engine
before the handshake starts, and nothing is lost. Exits by itself (0 on
success).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import pybio  # noqa: E402

CERTS = os.environ.get("SSLBIO_CERTS", os.path.join(ROOT, "build", "certs"))


def log(who: str, msg: str) -> None:
    print(f"{who}: {msg}", flush=True)


class TLSLayer:
    """Runs a pybio Connection over an asyncio transport: ciphertext in via
    data_received(), plaintext out through callbacks."""

    def __init__(self, conn: pybio.Connection, transport: asyncio.Transport, who: str,
                 on_plaintext, on_handshake=None, on_closed=None):
        self.conn, self.transport, self.who = conn, transport, who
        self.on_plaintext, self.on_handshake, self.on_closed = on_plaintext, on_handshake, on_closed
        self.inbox = bytearray()   # ciphertext the engine has not accepted yet
        self.outbox = bytearray()  # plaintext the engine has not accepted yet
        self.handshake_done = False
        self.closing = False
        self.peer_closed = False

    def data_received(self, data: bytes) -> None:
        self.inbox += data
        self.run()

    def eof_received(self) -> None:
        self.conn.feed_eof()
        self.run()

    def write(self, data: bytes) -> None:
        self.outbox += data
        self.run()

    def close(self) -> None:
        """Send close_notify (after any queued plaintext)."""
        self.closing = True
        self.run()

    def run(self) -> None:
        try:
            self._run()
        except ssl.SSLError as exc:  # pybio's errors are ssl.SSLErrors
            log(self.who, f"TLS error: {exc}")
            self.transport.close()
            if self.on_closed:
                self.on_closed(exc)

    def _run(self) -> None:
        conn = self.conn
        while True:
            progress = False
            if self.inbox:  # feed what fits; the rest waits for the engine to consume
                n = conn.feed(bytes(self.inbox))
                del self.inbox[:n]
                progress = n > 0
            if not self.handshake_done:
                try:
                    conn.do_handshake()
                except ssl.SSLWantReadError:
                    pass
                else:
                    self.handshake_done = True
                    progress = True
                    log(self.who, f"handshake done: {conn.version()} {conn.cipher()[0]}")
                    if self.on_handshake:
                        self.on_handshake()
            if self.handshake_done:
                # Read until WANT_READ: records of the same flight are all here.
                while not self.peer_closed:
                    try:
                        data = conn.read(65536)
                    except ssl.SSLWantReadError:
                        break
                    progress = True
                    if not data:
                        self.peer_closed = True
                        log(self.who, "peer sent close_notify")
                        break
                    self.on_plaintext(data)
                while self.outbox:
                    try:
                        n = conn.write(bytes(self.outbox[:16384]))
                    except ssl.SSLWantWriteError:
                        break
                    del self.outbox[:n]
                    progress = True
                if self.closing and not self.outbox and not getattr(self, "_sent_close", False):
                    self._sent_close = True
                    conn.shutdown()
                    progress = True
            out = conn.drain()
            if out:
                self.transport.write(out)
            if not progress:
                break
        if self.peer_closed and getattr(self, "_sent_close", False) and not conn.pending_out:
            self.transport.close()
            if self.on_closed:
                self.on_closed(None)


class StartTLSServer(asyncio.Protocol):
    def __init__(self, ctx: pybio.Context, done: "asyncio.Future[None]", name: str):
        self.ctx, self.done, self.name = ctx, done, name
        self.plain = bytearray()
        self.tls = None

    def connection_made(self, transport):
        self.transport = transport
        transport.write(b"220 pybio-demo ready\r\n")

    def data_received(self, data):
        if self.tls is not None:
            self.tls.data_received(data)
            return
        self.plain += data
        if b"\r\n" not in self.plain:
            return
        line, _, rest = bytes(self.plain).partition(b"\r\n")
        self.plain.clear()
        if line != b"STARTTLS":
            self.transport.write(b"502 say STARTTLS first\r\n")
            self.transport.close()
            return
        log(self.name, f"STARTTLS, {len(rest)} TLS bytes arrived with the line")
        conn = self.ctx.connection()
        self.tls = TLSLayer(conn, self.transport, self.name, self.on_plaintext,
                            on_closed=self.on_closed)
        # Feed the glued bytes FIRST, before the engine runs: nothing lost.
        accepted = conn.feed(rest)
        self.tls.inbox += rest[accepted:]
        try:
            conn.do_handshake()  # consumes the ClientHello, produces the server flight
        except ssl.SSLWantReadError:
            pass
        # The go-ahead line and the first TLS flight leave in ONE write.
        self.transport.write(b"220 go ahead\r\n" + conn.drain())
        self.tls.run()

    def eof_received(self):
        if self.tls is not None:
            self.tls.eof_received()
        return False

    def on_plaintext(self, data: bytes):
        for line in data.decode().splitlines():
            if line.startswith("ECHO "):
                self.tls.write(f"250 {line[5:]}\r\n".encode())
            elif line == "QUIT":
                self.tls.write(b"221 bye\r\n")
                self.tls.close()

    def on_closed(self, exc):
        if not self.done.done():
            self.done.set_result(exc)

    def connection_lost(self, exc):
        if not self.done.done():
            self.done.set_result(exc or RuntimeError("connection lost before close_notify"))


class StartTLSClient(asyncio.Protocol):
    def __init__(self, ctx: pybio.Context, done: "asyncio.Future[list]", name: str,
                 messages):
        self.ctx, self.done, self.name, self.messages = ctx, done, name, messages
        self.plain = bytearray()
        self.state = "greeting"
        self.replies = []
        self.tls = None
        self.text = ""

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        if self.state == "tls":
            self.tls.data_received(data)
            return
        self.plain += data
        while b"\r\n" in self.plain and self.state != "tls":
            line, _, rest = bytes(self.plain).partition(b"\r\n")
            self.plain = bytearray(rest)
            if self.state == "greeting":
                log(self.name, f"greeting: {line.decode()}")
                self.conn = self.ctx.connection(server_hostname="localhost")
                try:
                    self.conn.do_handshake()
                except ssl.SSLWantReadError:
                    pass
                hello = self.conn.drain()
                # The STARTTLS line and the ClientHello in ONE write.
                self.transport.write(b"STARTTLS\r\n" + hello)
                self.state = "go-ahead"
            elif self.state == "go-ahead":
                log(self.name, f"reply: {line.decode()}, {len(rest)} TLS bytes came with it")
                if not line.startswith(b"220"):
                    self.fail(RuntimeError(f"STARTTLS refused: {line!r}"))
                    return
                self.state = "tls"
                self.tls = TLSLayer(self.conn, self.transport, self.name, self.on_plaintext,
                                    on_handshake=self.on_handshake, on_closed=self.on_closed)
                self.tls.data_received(bytes(self.plain))  # the glued server flight
                self.plain.clear()

    def eof_received(self):
        if self.tls is not None:
            self.tls.eof_received()
        return False

    def on_handshake(self):
        for m in self.messages:
            self.tls.write(f"ECHO {m}\r\n".encode())
        self.tls.write(b"QUIT\r\n")

    def on_plaintext(self, data: bytes):
        self.text += data.decode()
        while "\r\n" in self.text:
            line, _, self.text = self.text.partition("\r\n")
            self.replies.append(line)
            shown = line if len(line) <= 40 else f"{line[:30]}... ({len(line)} chars)"
            log(self.name, f"got {shown!r}")
            if line.startswith("221"):
                self.tls.close()

    def on_closed(self, exc):
        if exc is not None:
            self.fail(exc)
        elif not self.done.done():
            self.done.set_result(self.replies)

    def fail(self, exc):
        self.transport.close()
        if not self.done.done():
            self.done.set_exception(exc)

    def connection_lost(self, exc):
        if not self.done.done():
            self.done.set_exception(exc or RuntimeError("connection lost before close_notify"))


async def main(clients: int) -> int:
    sctx = pybio.Context(pybio.SERVER)
    sctx.load_cert_chain(os.path.join(CERTS, "server.pem"), os.path.join(CERTS, "server.key"))
    cctx = pybio.Context(pybio.CLIENT)
    cctx.load_verify_locations(os.path.join(CERTS, "ca.pem"))
    loop = asyncio.get_running_loop()
    server_done = []

    def make_server():
        fut = loop.create_future()
        server_done.append(fut)
        return StartTLSServer(sctx, fut, f"server#{len(server_done)}")

    server = await loop.create_server(make_server, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    log("main", f"server on 127.0.0.1:{port}, {clients} client(s)")
    futures = []
    for i in range(clients):
        fut = loop.create_future()
        msgs = [f"hello {i}", "x" * 3000, f"bye {i}"]
        await loop.create_connection(lambda f=fut, m=msgs, n=i: StartTLSClient(
            cctx, f, f"client#{n + 1}", m), "127.0.0.1", port)
        futures.append((fut, msgs))
    ok = True
    for fut, msgs in futures:
        replies = await asyncio.wait_for(fut, 20)
        expected = [f"250 {m}" for m in msgs] + ["221 bye"]
        if replies != expected:
            log("main", f"MISMATCH: {replies!r} != {expected!r}")
            ok = False
    results = await asyncio.wait_for(asyncio.gather(*server_done), 20)
    for r in results:
        if r is not None:
            log("main", f"server side failed: {r!r}")
            ok = False
    server.close()
    await server.wait_closed()
    log("main", "all STARTTLS sessions verified, nothing lost" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="asyncio STARTTLS over pybio")
    ap.add_argument("--clients", type=int, default=3)
    sys.exit(asyncio.run(main(ap.parse_args().clients)))
