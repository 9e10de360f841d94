"""Sans-IO pybio Connections over real sockets (socketpair and TCP on
127.0.0.1), against the stdlib's ssl.SSLSocket in a thread, both roles;
copying (feed/drain) and zero-copy (feed_into/drain_to) network sides."""

from __future__ import annotations

import os
import socket
import ssl
import threading
import unittest

from support import (SocketDriver, pybio_client, pybio_server, stdlib_client, stdlib_echo,
                     stdlib_server)


class AgainstStdlibSocket(unittest.TestCase):
    def _run(self, pybio_is_server: bool, zero_copy: bool, tcp: bool):
        if tcp:
            lsock = socket.create_server(("127.0.0.1", 0))
            peer = socket.create_connection(lsock.getsockname())
            ours, _ = lsock.accept()
            lsock.close()
        else:
            ours, peer = socket.socketpair()
        errors = []
        if pybio_is_server:
            conn = pybio_server().connection()
            t = threading.Thread(target=stdlib_echo, args=(stdlib_client(), peer, False, errors))
        else:
            conn = pybio_client().connection(server_hostname="localhost")
            t = threading.Thread(target=stdlib_echo, args=(stdlib_server(), peer, True, errors))
        t.start()
        drv = SocketDriver(conn, ours, zero_copy)
        try:
            drv.call(conn.do_handshake)
            payload = os.urandom(300_000)
            # Interleave: echo keeps the windows small enough not to deadlock.
            for i in range(0, len(payload), 30_000):
                drv.send_all(payload[i:i + 30_000])
                self.assertEqual(drv.recv_exactly(len(payload[i:i + 30_000])),
                                 payload[i:i + 30_000])
            # Clean close: our close_notify, then the peer's.
            self.assertFalse(conn.shutdown())
            drv.flush()
            drv.call(conn.unwrap)
        finally:
            conn.close()
            ours.close()
            t.join(20)
        self.assertEqual(errors, [])

    def test_matrix(self):
        for server in (False, True):
            for zero_copy in (False, True):
                for tcp in (False, True):
                    with self.subTest(pybio_server=server, zero_copy=zero_copy, tcp=tcp):
                        self._run(server, zero_copy, tcp)

    def test_truncated_by_peer(self):
        ours, peer = socket.socketpair()
        conn = pybio_client().connection(server_hostname="localhost")

        def serve():
            s = stdlib_server().wrap_socket(peer, server_side=True)
            s.sendall(b"half a message")
            s.close()  # the stdlib closes without close_notify

        t = threading.Thread(target=serve)
        t.start()
        drv = SocketDriver(conn, ours, zero_copy=True)
        drv.call(conn.do_handshake)
        self.assertEqual(drv.recv_exactly(14), b"half a message")
        t.join(10)
        with self.assertRaises(ssl.SSLEOFError):
            drv.call(lambda: conn.read(100))
        conn.close()
        ours.close()


class PybioOverSockets(unittest.TestCase):
    def test_pybio_both_ends_threads(self):
        a, b = socket.socketpair()
        result = {}

        def server():
            conn = pybio_server().connection()
            drv = SocketDriver(conn, b, zero_copy=False)
            drv.call(conn.do_handshake)
            data = drv.recv_exactly(100_000)
            drv.send_all(data[::-1])
            result["server"] = drv.call(lambda: conn.read(10))  # b"" at close_notify
            conn.shutdown()
            drv.flush()
            conn.close()

        t = threading.Thread(target=server)
        t.start()
        conn = pybio_client().connection(server_hostname="localhost")
        drv = SocketDriver(conn, a, zero_copy=True)
        drv.call(conn.do_handshake)
        payload = os.urandom(100_000)
        drv.send_all(payload)
        self.assertEqual(drv.recv_exactly(100_000), payload[::-1])
        self.assertFalse(conn.shutdown())
        drv.flush()
        drv.call(conn.unwrap)
        t.join(20)
        self.assertEqual(result["server"], b"")
        a.close()
        b.close()

    def test_zero_copy_views(self):
        client = pybio_client().connection(server_hostname="localhost")
        server = pybio_server().connection()
        try:
            client.do_handshake()
        except ssl.SSLWantReadError:
            pass
        total = 0
        while True:
            out = client.drain_buffer()
            if not len(out):
                break
            room = server.feed_buffer()
            n = min(len(out), len(room))
            room[:n] = out[:n]
            server.feed_commit(n)
            client.drain_commit(n)
            total += n
        self.assertGreater(total, 100)
        self.assertEqual(client.pending_out, 0)
        with self.assertRaises(ssl.SSLWantReadError):
            server.do_handshake()
        self.assertGreater(server.pending_out, 0)
        with self.assertRaises(ssl.SSLError):
            server.feed_commit(10**6)  # more than offered


if __name__ == "__main__":
    unittest.main()
