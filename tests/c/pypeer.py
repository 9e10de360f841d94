"""Python ssl-module peer for the C tests (stdlib only).

  pypeer.py server CERTDIR   listen on 127.0.0.1 (free port, printed as
                             "PORT n"), serve one TLS connection: read a line,
                             answer "py:<line>", send close_notify, exit.
  pypeer.py rude CERTDIR PORT
                             like client, but close the socket without
                             close_notify (the server must see a truncation).
  pypeer.py client CERTDIR PORT
                             connect, verify the server as "localhost", send a
                             line, print the answer and the version, unwrap.
Everything is bounded by a timeout so a broken peer cannot hang the suite.
"""
import socket
import ssl
import sys

TIMEOUT = 20


def read_line(tls):
    data = b""
    while not data.endswith(b"\n"):
        chunk = tls.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def server(certdir):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certdir + "/server.pem", certdir + "/server.key")
    with socket.create_server(("127.0.0.1", 0)) as lsock:
        lsock.settimeout(TIMEOUT)
        print("PORT", lsock.getsockname()[1], flush=True)
        conn, _ = lsock.accept()
        conn.settimeout(TIMEOUT)
        with ctx.wrap_socket(conn, server_side=True) as tls:
            print("VERSION", tls.version(), flush=True)
            line = read_line(tls)
            tls.sendall(b"py:" + line)
            try:
                tls.unwrap()  # our close_notify; waits for the peer's
                print("UNWRAPPED", flush=True)
            except (ssl.SSLError, OSError) as e:
                print("UNWRAP-ERROR", e, flush=True)


def client(certdir, port, rude=False):
    ctx = ssl.create_default_context(cafile=certdir + "/ca.pem")
    with socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT) as sock:
        with ctx.wrap_socket(sock, server_hostname="localhost") as tls:
            tls.sendall(b"hello from python\n")
            print("REPLY", read_line(tls).decode().strip(), flush=True)
            print("VERSION", tls.version(), tls.cipher()[0], flush=True)
            if rude:
                return  # SSLSocket.close() sends no close_notify
            try:
                tls.unwrap()
                print("UNWRAPPED", flush=True)
            except (ssl.SSLError, OSError) as e:
                print("UNWRAP-ERROR", e, flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(sys.argv[2])
    else:
        client(sys.argv[2], sys.argv[3], rude=sys.argv[1] == "rude")
