"""tool_peer.py: a pybio peer for tests/hooks/check_tools.sh (real tools
against sslbio's hooks: key log, exporters).

  tool_peer.py server [--conns N] [--keylog FILE] [--label L] [--len N]
                      [--alpn P] [--max-version 1.2|1.3] [--timeout S]
  tool_peer.py client --port P [--keylog FILE] [--label L] [--len N]
                      [--max-version 1.2|1.3]

server: listens on 127.0.0.1 (a port the kernel picks, printed as
"listening on 127.0.0.1:PORT"), serves N connections one after the other
with build/certs/server.pem. A new Context per connection: "{n}" in --keylog
is replaced by the connection's number (1, 2 ...), so each connection can
have a key log of its own. After each handshake it prints
"conn N: VERSION export HEX" (export_keying_material(label, len), no
context). A request starting with "GET " gets a small HTTP/1.1 response;
anything else is echoed until the peer closes.

client: connects, verifies localhost against build/certs/ca.pem, prints
"export HEX", writes a line, closes (close_notify).

Blocking sockets, the feed/drain loop from pybio/README.md; every socket
has a timeout, so nothing waits forever.
"""
import argparse
import os
import socket
import ssl
import sys

import pybio

CERTS = os.environ.get("CERTS", "build/certs")
VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def run(sock, conn, op):
    """op() with ciphertext moved over sock as the engine needs."""
    while True:
        try:
            result = op()
        except ssl.SSLWantReadError:
            out = conn.drain()
            if out:
                sock.sendall(out)
            data = sock.recv(65536)
            if data:
                conn.feed(data)
            else:
                conn.feed_eof()
            continue
        out = conn.drain()
        if out:
            sock.sendall(out)
        return result


def close(sock, conn):
    try:
        conn.shutdown()
        out = conn.drain()
        if out:
            sock.sendall(out)
    except (ssl.SSLError, OSError):
        pass
    sock.close()


def serve_one(n, sock, args):
    ctx = pybio.Context(pybio.SERVER)
    ctx.load_cert_chain(os.path.join(CERTS, "server.pem"), os.path.join(CERTS, "server.key"))
    if args.alpn:
        ctx.set_alpn_protocols(args.alpn.split(","))
    if args.max_version:
        ctx.maximum_version = VERSIONS[args.max_version]
    if args.keylog:
        ctx.keylog_filename = args.keylog.replace("{n}", str(n))
    conn = ctx.connection()
    try:
        run(sock, conn, conn.do_handshake)
        key = conn.export_keying_material(args.label, args.len)
        print(f"conn {n}: {conn.version()} export {key.hex()}", flush=True)
        data = b""
        while True:
            chunk = run(sock, conn, lambda: conn.read(65536))
            if not chunk:
                break
            data += chunk
            if data.startswith(b"GET "):
                if b"\r\n\r\n" not in data:
                    continue
                line = data.split(b"\r\n", 1)[0].decode("latin-1")
                print(f"conn {n}: request {line}", flush=True)
                body = f"hello from sslbio ({conn.version()}): {line}\n".encode()
                head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                        b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body))
                run(sock, conn, lambda: conn.write(head + body))
                break
            if not b"GET ".startswith(data[:4]):
                run(sock, conn, lambda: conn.write(data))
                data = b""
    except (ssl.SSLError, OSError) as e:
        print(f"conn {n}: error {e}", flush=True)
    finally:
        close(sock, conn)
        conn.close()
        ctx.close()


def server(args):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", args.port))
    ls.listen(8)
    ls.settimeout(args.timeout)
    print(f"listening on 127.0.0.1:{ls.getsockname()[1]}", flush=True)
    for n in range(1, args.conns + 1):
        sock, _ = ls.accept()
        sock.settimeout(args.timeout)
        serve_one(n, sock, args)
    ls.close()
    print("done", flush=True)


def client(args):
    ctx = pybio.Context(pybio.CLIENT)
    ctx.load_verify_locations(os.path.join(CERTS, "ca.pem"))
    if args.max_version:
        ctx.maximum_version = VERSIONS[args.max_version]
    if args.keylog:
        ctx.keylog_filename = args.keylog
    conn = ctx.connection(server_hostname="localhost")
    sock = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
    run(sock, conn, conn.do_handshake)
    key = conn.export_keying_material(args.label, args.len)
    print(f"{conn.version()} export {key.hex()}", flush=True)
    run(sock, conn, lambda: conn.write(b"hello from the sslbio client\n"))
    close(sock, conn)
    conn.close()
    ctx.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["server", "client"])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--conns", type=int, default=1)
    p.add_argument("--keylog")
    p.add_argument("--label", default="EXPERIMENTAL-sslbio-hooks")
    p.add_argument("--len", type=int, default=32)
    p.add_argument("--alpn")
    p.add_argument("--max-version", choices=sorted(VERSIONS))
    p.add_argument("--timeout", type=float, default=20)
    args = p.parse_args()
    (server if args.role == "server" else client)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
