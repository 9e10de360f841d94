"""Context.wrap_bio: the engine calls a Python transport (read(n)/write(data))
through ctypes callbacks. Exceptions raised by the transport propagate to
the caller with their traceback; None means "would block"."""

from __future__ import annotations

import gc
import io
import select
import socket
import ssl
import sys
import threading
import traceback
import unittest
from contextlib import redirect_stderr

from support import WANT, pybio_client, pybio_server, stdlib_client, stdlib_echo, stdlib_server


class Pipe:
    """One direction of an in-memory transport, with an optional limit on
    what a write takes (to exercise partial writes and WANT_WRITE)."""

    def __init__(self):
        self.buf = bytearray()
        self.eof = False


class MemTransport:
    def __init__(self, rx: Pipe, tx: Pipe, write_limit=None, tx_cap=None):
        self.rx, self.tx = rx, tx
        self.write_limit = write_limit
        self.tx_cap = tx_cap
        self.reads = self.writes = 0

    def read(self, n):
        self.reads += 1
        if not self.rx.buf:
            return b"" if self.rx.eof else None
        data = bytes(self.rx.buf[:n])
        del self.rx.buf[:n]
        return data

    def write(self, data):
        self.writes += 1
        room = len(data)
        if self.write_limit:
            room = min(room, self.write_limit)
        if self.tx_cap is not None:
            room = min(room, self.tx_cap - len(self.tx.buf))
            if room <= 0:
                return None
        self.tx.buf += data[:room]
        return room


def mem_pair(client_ctx=None, server_ctx=None, **kw):
    a_to_b, b_to_a = Pipe(), Pipe()
    ct = MemTransport(b_to_a, a_to_b, **kw)
    st = MemTransport(a_to_b, b_to_a, **kw)
    client = (client_ctx or pybio_client()).wrap_bio(ct, server_hostname="localhost")
    server = (server_ctx or pybio_server()).wrap_bio(st)
    return client, server, ct, st


def until_done(*ops, rounds=200):
    """Call each op until it stops raising WANT_*; returns their results."""
    results = [None] * len(ops)
    done = [False] * len(ops)
    for _ in range(rounds):
        for i, op in enumerate(ops):
            if not done[i]:
                try:
                    results[i] = op()
                    done[i] = True
                except WANT:
                    pass
        if all(done):
            return results
    raise AssertionError("operations did not complete")


class WrapBioMemory(unittest.TestCase):
    def test_handshake_and_data(self):
        client, server, ct, st = mem_pair()
        until_done(client.do_handshake, server.do_handshake)
        self.assertEqual(client.version(), "TLSv1.3")
        self.assertEqual(client.write(b"hello"), 5)
        self.assertEqual(until_done(lambda: server.read(100))[0], b"hello")
        server.write(b"world")
        self.assertEqual(until_done(lambda: client.read(100))[0], b"world")
        self.assertGreater(ct.reads, 0)
        self.assertGreater(ct.writes, 0)
        # clean close through the transport
        self.assertFalse(client.shutdown())
        self.assertEqual(until_done(lambda: server.read(10))[0], b"")
        self.assertTrue(server.shutdown())
        until_done(client.unwrap)

    def test_none_means_would_block(self):
        client, server, ct, st = mem_pair()
        with self.assertRaises(ssl.SSLWantReadError):
            client.do_handshake()  # ClientHello written, nothing to read yet
        self.assertGreater(len(ct.tx.buf), 0)
        self.assertEqual(client.pending_out, 0)

    def test_partial_writes_and_want_write(self):
        client, server, ct, st = mem_pair(write_limit=7, tx_cap=300)
        until_done(client.do_handshake, server.do_handshake, rounds=5000)
        payload = bytes(range(256)) * 200
        got = bytearray()
        sent = 0
        for _ in range(100000):
            if sent < len(payload):
                try:
                    sent += client.write(payload[sent:sent + 4000])
                except ssl.SSLWantWriteError:
                    pass
            try:
                client.flush()
            except ssl.SSLWantWriteError:
                pass
            try:
                got += server.read(65536)
            except ssl.SSLWantReadError:
                pass
            if len(got) == len(payload):
                break
        self.assertEqual(bytes(got), payload)

    def test_against_stdlib_via_memory_bio(self):
        """The wrap_bio side talks to an ssl.SSLObject whose MemoryBIOs are
        the other ends of the transport."""
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        peer = stdlib_server().wrap_bio(inc, out, server_side=True)

        class T:
            def read(self, n):
                data = out.read(n)
                return data if data else None

            def write(self, data):
                return inc.write(data)

        conn = pybio_client().wrap_bio(T(), server_hostname="localhost")
        until_done(conn.do_handshake, peer.do_handshake)
        conn.write(b"via stdlib")
        self.assertEqual(until_done(lambda: peer.read(100))[0], b"via stdlib")
        peer.write(b"back")
        self.assertEqual(until_done(lambda: conn.read(100))[0], b"back")

    def test_refusal_alert_goes_through_the_transport(self):
        """A wrap_bio server whose verify callback refuses a TLS 1.2 client
        certificate: the handshake fails on the server, and the
        bad_certificate alert it queued still goes out through the
        transport, so the stdlib client fails with that alert rather than
        waiting for a flight that never comes."""
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        client = stdlib_client(cert=True, maximum_version=ssl.TLSVersion.TLSv1_2)
        peer = client.wrap_bio(inc, out, server_hostname="localhost")

        class T:
            def read(self, n):
                data = out.read(n)
                return data if data else None

            def write(self, data):
                return inc.write(data)

        ctx = pybio_server(verify=ssl.CERT_REQUIRED)
        ctx.set_verify_callback(lambda conn, chain, result: False)
        conn = ctx.wrap_bio(T())
        errors = {}
        for _ in range(50):
            for name, op in (("client", peer.do_handshake), ("server", conn.do_handshake)):
                if name not in errors:
                    try:
                        op()
                    except WANT:
                        pass
                    except ssl.SSLError as exc:
                        errors[name] = exc
            if len(errors) == 2:
                break
        self.assertIsInstance(errors.get("server"), ssl.SSLCertVerificationError)
        self.assertIn("client", errors, "the client never saw the refusal")
        self.assertEqual(errors["client"].reason, "SSLV3_ALERT_BAD_CERTIFICATE")

    def test_transport_eof_is_truncation(self):
        client, server, ct, st = mem_pair()
        until_done(client.do_handshake, server.do_handshake)
        client.write(b"x")
        ct.tx.eof = True  # server's rx
        self.assertEqual(until_done(lambda: server.read(10))[0], b"x")
        with self.assertRaises(ssl.SSLEOFError):
            server.read(10)

    def test_callbacks_kept_alive(self):
        client, server, ct, st = mem_pair()
        del ct, st
        gc.collect()
        until_done(client.do_handshake, server.do_handshake)
        client.write(b"alive")
        gc.collect()
        self.assertEqual(until_done(lambda: server.read(100))[0], b"alive")


class CallbackExceptions(unittest.TestCase):
    def _check(self, exc_type, where):
        class Boom(MemTransport):
            def read(self, n):
                if where == "read":
                    raise exc_type("boom in read")
                return super().read(n)

            def write(self, data):
                if where == "write":
                    raise exc_type("boom in write")
                return super().write(data)

        rx, tx = Pipe(), Pipe()
        conn = pybio_client().wrap_bio(Boom(rx, tx), server_hostname="localhost")
        hooked = []
        old_hook = sys.unraisablehook
        sys.unraisablehook = hooked.append
        stderr = io.StringIO()
        try:
            with redirect_stderr(stderr):
                try:
                    conn.do_handshake()
                except exc_type as e:  # not assertRaises: it drops the traceback
                    caught = e
                else:
                    self.fail(f"{exc_type.__name__} not raised")
        finally:
            sys.unraisablehook = old_hook
        self.assertEqual(str(caught), f"boom in {where}")
        frames = [f.name for f in traceback.extract_tb(caught.__traceback__)]
        self.assertIn(where, frames)           # the transport's own frame
        self.assertIn("do_handshake", frames)  # and the caller's
        self.assertEqual(stderr.getvalue(), "")  # never printed
        self.assertEqual(hooked, [])             # never "ignored"
        # The engine is dead now: a clear SSLError, not a hang.
        with self.assertRaises(ssl.SSLError) as cm2:
            conn.do_handshake()
        self.assertIn("transport", str(cm2.exception))

    def test_exceptions_propagate_with_traceback(self):
        for exc_type in (RuntimeError, OSError, ValueError):
            for where in ("read", "write"):
                with self.subTest(exc=exc_type.__name__, where=where):
                    self._check(exc_type, where)

    def test_keyboard_interrupt_propagates(self):
        self._check(KeyboardInterrupt, "write")

    def test_bad_return_values(self):
        class TooMuch(MemTransport):
            def read(self, n):
                return b"x" * (n + 1)

        conn = pybio_client().wrap_bio(TooMuch(Pipe(), Pipe()), server_hostname="localhost")
        with self.assertRaises(ValueError):
            conn.do_handshake()

        class Negative(MemTransport):
            def write(self, data):
                return -5

        conn = pybio_client().wrap_bio(Negative(Pipe(), Pipe()), server_hostname="localhost")
        with self.assertRaises(ValueError):
            conn.do_handshake()

    def test_exception_after_handshake(self):
        """An established connection (the raw, GIL-keeping call path) still
        surfaces the transport's exception, with its traceback."""

        class Flaky(MemTransport):
            broken = False

            def read(self, n):
                if self.broken:
                    raise ConnectionResetError("peer went away")
                return super().read(n)

        a_to_b, b_to_a = Pipe(), Pipe()
        flaky = Flaky(b_to_a, a_to_b)
        client = pybio_client().wrap_bio(flaky, server_hostname="localhost")
        server = pybio_server().wrap_bio(MemTransport(a_to_b, b_to_a))
        until_done(client.do_handshake, server.do_handshake)
        server.write(b"one")
        self.assertEqual(until_done(lambda: client.read(10))[0], b"one")
        flaky.broken = True
        try:
            client.read(10)
        except ConnectionResetError as exc:
            frames = [f.name for f in traceback.extract_tb(exc.__traceback__)]
            self.assertIn("read", frames)
        else:
            self.fail("ConnectionResetError not raised")
        with self.assertRaises(ssl.SSLError):
            client.write(b"after")

    def test_needs_read_and_write(self):
        with self.assertRaises(TypeError):
            pybio_client().wrap_bio(object(), server_hostname="localhost")


class NonBlockingSocket(unittest.TestCase):
    """wrap_bio over a real non-blocking socket, the peer a stdlib SSLSocket."""

    class SockTransport:
        def __init__(self, sock):
            self.sock = sock

        def read(self, n):
            try:
                return self.sock.recv(n)
            except BlockingIOError:
                return None

        def write(self, data):
            try:
                return self.sock.send(data)
            except BlockingIOError:
                return None

    def _call(self, sock, op, timeout=10.0):
        while True:
            try:
                return op()
            except ssl.SSLWantReadError:
                r, _, _ = select.select([sock], [], [], timeout)
                self.assertTrue(r, "timed out waiting to read")
            except ssl.SSLWantWriteError:
                _, w, _ = select.select([], [sock], [], timeout)
                self.assertTrue(w, "timed out waiting to write")

    def _echo_peer(self, ctx, sock, server_side):
        errors = []
        t = threading.Thread(target=stdlib_echo, args=(ctx, sock, server_side, errors), daemon=True)
        t.start()
        return t, errors

    def _run(self, pybio_side_server):
        a, b = socket.socketpair()
        a.setblocking(False)
        b.settimeout(20)
        if pybio_side_server:
            conn = pybio_server().wrap_bio(self.SockTransport(a))
            t, errors = self._echo_peer(stdlib_client(), b, server_side=False)
        else:
            conn = pybio_client().wrap_bio(self.SockTransport(a), server_hostname="localhost")
            t, errors = self._echo_peer(stdlib_server(), b, server_side=True)
        try:
            self._call(a, conn.do_handshake)
            payload = bytes(range(256)) * 2048  # 512 KiB
            sent = 0
            got = bytearray()
            while len(got) < len(payload):
                if sent < len(payload):
                    try:
                        sent += conn.write(payload[sent:sent + 50000])
                    except ssl.SSLWantWriteError:
                        pass
                    except ssl.SSLWantReadError:
                        pass
                try:
                    conn.flush()
                except ssl.SSLWantWriteError:
                    pass
                try:
                    got += conn.read(65536)
                except ssl.SSLWantReadError:
                    select.select([a], [a] if conn.pending_out else [], [], 1.0)
                except ssl.SSLWantWriteError:
                    # Like a non-blocking SSLSocket, a read may need the
                    # socket writable first (ciphertext it must send waits).
                    select.select([], [a], [], 1.0)
            self.assertEqual(bytes(got), payload)
            self._call(a, conn.unwrap)  # close_notify both ways
        finally:
            conn.close()
            a.close()
            t.join(10)
        self.assertEqual(errors, [])

    def test_client_role(self):
        self._run(pybio_side_server=False)

    def test_server_role(self):
        self._run(pybio_side_server=True)


if __name__ == "__main__":
    unittest.main()
