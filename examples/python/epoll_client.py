#!/usr/bin/env python3
"""epoll_client: many TLS client connections on one edge-triggered epoll
loop, each a pybio sans-IO Connection with the zero-copy network side
(recv_into the engine's buffer, send from it).

    # against the C example server (examples/c/epoll_server.c), started here:
    PYTHONPATH=. python3 examples/python/epoll_client.py --spawn build/c/examples/epoll_server
    # against a server already running:
    PYTHONPATH=. python3 examples/python/epoll_client.py --port 4433 [--conns 8] [--size 200000]
    # against `openssl s_server -www -accept 4433 ...` (answers GET only):
    PYTHONPATH=. python3 examples/python/epoll_client.py --port 4433 --http-only

Each echo connection sends --size random bytes, checks that exactly those
come back, then closes cleanly (close_notify both ways). One more connection
sends an HTTP GET and prints the response. Exits 0 when every check passed.

The loop follows the rules an edge-triggered loop must keep:
  * after a readiness event, recv until EAGAIN (edge-triggered: no second
    notice), feeding the engine with feed_into();
  * after the handshake, read plaintext until SSLWantReadError: data of the
    same flight is already inside the engine;
  * EPOLLOUT is armed only while ciphertext is pending (drain_to() left some).
"""

from __future__ import annotations

import argparse
import os
import re
import select
import socket
import ssl
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import pybio  # noqa: E402

CERTS = os.environ.get("SSLBIO_CERTS", os.path.join(ROOT, "build", "certs"))
ET = select.EPOLLIN | select.EPOLLET | select.EPOLLRDHUP


class Client:
    def __init__(self, cid, ctx, addr, payload=None, http=False, sni="localhost"):
        self.id = cid
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.sock.connect_ex(addr)  # EINPROGRESS; writable when connected
        self.conn = ctx.connection(server_hostname=sni)
        self.http = http
        self.out = b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n" if http else payload
        self.expected = payload
        self.sent = 0
        self.got = bytearray()
        self.handshake_done = False
        self.close_sent = False
        self.peer_closed = False
        self.ragged = False  # HTTP only: the server closed without close_notify
        self.sock_eof = False
        self.epollout = True  # registered with EPOLLOUT until connected
        self.done = False
        self.error = None

    def log(self, msg):
        print(f"epoll_client: conn {self.id}: {msg}", flush=True)

    # One readiness event: everything it calls for, until no progress.
    def service(self, ep):
        conn = self.conn
        for _ in range(256):
            progress = False
            # 1. socket -> engine (zero copy) until EAGAIN, EOF or a full engine
            while not self.sock_eof:
                try:
                    n = conn.feed_into(self.sock)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError as exc:  # connection refused / reset
                    return self.finish(exc)
                if n is None:  # engine full: let it consume first
                    break
                progress = True
                if n == 0:
                    self.sock_eof = True
            try:
                # 2. handshake, then read everything the engine holds
                if not self.handshake_done:
                    try:
                        conn.do_handshake()
                        self.handshake_done = progress = True
                        self.log(f"handshake done: {conn.version()} {conn.cipher()[0]}")
                    except ssl.SSLWantReadError:
                        pass
                if self.handshake_done:
                    while not self.peer_closed:
                        try:
                            data = conn.read(65536)
                        except ssl.SSLWantReadError:
                            break
                        except ssl.SSLEOFError:
                            # A response delimited by the connection's end is
                            # complete without close_notify only for HTTP/1.0
                            # with Content-Length; echo data never is.
                            if not self.http or not self.got:
                                raise
                            self.ragged = self.peer_closed = self.close_sent = True
                            break
                        progress = True
                        if not data:
                            self.peer_closed = True
                        else:
                            self.got += data
                    while self.sent < len(self.out):
                        try:
                            self.sent += conn.write(self.out[self.sent:self.sent + 65536])
                            progress = True
                        except ssl.SSLWantWriteError:
                            break
                    complete = self.peer_closed if self.http else len(self.got) >= len(self.expected)
                    if complete and not self.close_sent:
                        conn.shutdown()  # close_notify
                        self.close_sent = progress = True
            except ssl.SSLError as exc:  # pybio errors are ssl.SSLErrors
                return self.finish(exc)
            # 3. engine -> socket; EPOLLOUT only while something is left
            try:
                while conn.pending_out:
                    if not conn.drain_to(self.sock):
                        break
                    progress = True
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as exc:
                # A server that closed right after its close_notify may reset
                # the socket under our own close_notify: the exchange is over.
                return self.finish(None if self.peer_closed and self.close_sent else exc)
            want_out = conn.pending_out > 0
            if want_out != self.epollout:
                ep.modify(self.sock.fileno(), ET | (select.EPOLLOUT if want_out else 0))
                self.epollout = want_out
            if self.close_sent and self.peer_closed and not conn.pending_out:
                return self.finish(None)
            if self.sock_eof and not progress:
                return self.finish(EOFError("server closed the TCP connection"))
            if not progress:
                return

    def finish(self, error):
        self.done = True
        self.error = error
        if error is None and not self.http and bytes(self.got) != self.expected:
            self.error = ValueError(f"echo mismatch: {len(self.got)} of {len(self.expected)} bytes")
        if self.error is None:
            if self.http:
                head = bytes(self.got).split(b"\r\n", 1)[0].decode(errors="replace")
                how = "TCP close without close_notify" if self.ragged else "close_notify both ways"
                self.log(f"HTTP response: {head!r} ({len(self.got)} bytes), {how}")
            else:
                self.log(f"echoed {len(self.got)} bytes intact, close_notify both ways")
        else:
            self.log(f"FAILED: {self.error!r}")
        self.conn.close()
        self.sock.close()


def run(addr, conns, size, http_only, ca, timeout):
    ctx = pybio.Context(pybio.CLIENT)
    ctx.load_verify_locations(ca)
    clients = []
    if not http_only:
        for i in range(conns):
            clients.append(Client(i + 1, ctx, addr, payload=os.urandom(size)))
    clients.append(Client(len(clients) + 1, ctx, addr, http=True))
    ep = select.epoll()
    by_fd = {}
    for c in clients:
        fd = c.sock.fileno()
        by_fd[fd] = c
        ep.register(fd, ET | select.EPOLLOUT)
    deadline = time.monotonic() + timeout
    try:
        while any(not c.done for c in clients):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("epoll_client: timed out")
            for fd, _events in ep.poll(min(left, 1.0)):
                c = by_fd.get(fd)
                if c is None or c.done:
                    continue
                c.service(ep)
                if c.done:
                    del by_fd[fd]  # socket already closed: epoll forgot it
    finally:
        ep.close()
    failed = [c for c in clients if c.error is not None]
    print(f"epoll_client: {len(clients) - len(failed)}/{len(clients)} connections ok", flush=True)
    return 0 if not failed else 1


def spawn_server(path, conns):
    cmd = [path, "--port", "0", "--cert", os.path.join(CERTS, "server.pem"),
           "--key", os.path.join(CERTS, "server.key"), "--max-conns", str(conns),
           "--timeout", "60"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        print(line, end="", flush=True)
        m = re.search(r"listening on ([\d.]+):(\d+)", line)
        if m:
            return proc, (m.group(1), int(m.group(2)))
    proc.wait()
    raise RuntimeError(f"{path} exited with {proc.returncode} before listening")


def main(argv=None):
    ap = argparse.ArgumentParser(description="pybio clients on an edge-triggered epoll loop")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, help="port of a running server")
    ap.add_argument("--spawn", metavar="EPOLL_SERVER",
                    help="start this epoll_server binary on a free port and use it")
    ap.add_argument("--conns", type=int, default=8, help="echo connections (default 8)")
    ap.add_argument("--size", type=int, default=200_000, help="bytes each echo connection sends")
    ap.add_argument("--http-only", action="store_true",
                    help="only the HTTP GET connection (for `openssl s_server -www`)")
    ap.add_argument("--ca", default=os.path.join(CERTS, "ca.pem"))
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args(argv)
    if (args.port is None) == (args.spawn is None):
        ap.error("give exactly one of --port and --spawn")
    if args.spawn:
        total = (0 if args.http_only else args.conns) + 1
        proc, addr = spawn_server(args.spawn, total)
        try:
            rc = run(addr, args.conns, args.size, args.http_only, args.ca, args.timeout)
        finally:
            try:
                out, _ = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
            print(out, end="", flush=True)
        if proc.returncode != 0:
            print(f"epoll_client: server exited with {proc.returncode}", flush=True)
            rc = rc or 1
        return rc
    return run((args.host, args.port), args.conns, args.size, args.http_only, args.ca,
               args.timeout)


if __name__ == "__main__":
    sys.exit(main())
