"""pybio against itself and against the stdlib's ssl.MemoryBIO/SSLObject,
in memory, both roles."""

from __future__ import annotations

import os
import random
import ssl
import unittest

from support import (CA, CLIENT_CERT, OTHER_CA, SERVER_CERT, SERVER_KEY, WANT, Link, StdEnd, leaf_der,
                     pybio_client, pybio_server, read_all, read_text, stdlib_client,
                     stdlib_server)

import pybio

# Every combination of implementations: (client maker, server maker).
PEERS = {
    "pybio-pybio": (lambda **kw: pybio_client(**kw).connection(server_hostname="localhost"),
                    lambda **kw: pybio_server(**kw).connection()),
    "pybio-stdlib": (lambda **kw: pybio_client(**kw).connection(server_hostname="localhost"),
                     lambda **kw: StdEnd(stdlib_server(**kw), True)),
    "stdlib-pybio": (lambda **kw: StdEnd(stdlib_client(**kw), False, "localhost"),
                     lambda **kw: pybio_server(**kw).connection()),
}


def pair(kind, client_kw=None, server_kw=None):
    mk_client, mk_server = PEERS[kind]
    client = mk_client(**(client_kw or {}))
    server = mk_server(**(server_kw or {}))
    return client, server, Link(client, server)


class HandshakeAndData(unittest.TestCase):
    def test_roles_and_versions(self):
        for kind in PEERS:
            for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
                with self.subTest(kind=kind, version=version.name):
                    v = {"minimum_version": version, "maximum_version": version}
                    client, server, link = pair(kind, v, v)
                    link.handshake()
                    self.assertEqual(client.version(), version.name.replace("_", "."))
                    self.assertEqual(server.version(), client.version())
                    self.assertEqual(client.cipher()[0], server.cipher()[0])
                    self.assertEqual(client.cipher()[1], server.cipher()[1])
                    self.assertGreaterEqual(client.cipher()[2], 128)
                    self.assertEqual(link.send(client, server, b"ping"), b"ping")
                    self.assertEqual(link.send(server, client, b"pong"), b"pong")

    def test_connection_attributes(self):
        client, server, link = pair("pybio-pybio")
        self.assertFalse(client.server_side)
        self.assertTrue(server.server_side)
        self.assertEqual(client.server_hostname, "localhost")
        self.assertIsNone(server.server_hostname)
        self.assertIsNone(client.version())
        self.assertIsNone(client.cipher())
        with self.assertRaises(ValueError):
            client.getpeercert()
        self.assertIsInstance(client.handle, int)
        self.assertNotEqual(client.openssl_handle, 0)
        link.handshake()
        self.assertTrue(client.is_handshake_done())
        self.assertIsNone(client.compression())
        self.assertIsInstance(client.context, pybio.Context)

    def test_one_mib_echo_random_chunks(self):
        rng = random.Random(1234)
        payload = os.urandom(1 << 20)
        for kind in PEERS:
            with self.subTest(kind=kind):
                client, server, link = pair(kind)
                link.handshake()
                sizes = [rng.choice((1, 7, 100, 1000, 4096, 16384, 40000)) for _ in range(4000)]
                got = link.send(client, server, payload, sizes)
                self.assertEqual(got, payload)
                rng.shuffle(sizes)
                back = link.send(server, client, got, sizes)
                self.assertEqual(back, payload)

    def test_random_network_chunking(self):
        """Ciphertext delivered in random slices, one byte at a time included."""
        rng = random.Random(99)
        client, server, _ = pair("pybio-stdlib")
        ends = (client, server)
        queues = [bytearray(), bytearray()]
        done = [False, False]
        for _ in range(2000):
            for i, end in enumerate(ends):
                if not done[i]:
                    try:
                        end.do_handshake()
                        done[i] = True
                    except WANT:
                        pass
                queues[i] += end.drain()
            for i in (0, 1):
                if queues[i]:
                    n = rng.randint(1, len(queues[i]))
                    taken = ends[1 - i].feed(bytes(queues[i][:n]))
                    del queues[i][:taken]
            if all(done) and not any(queues):
                break
        self.assertTrue(all(done))

    def test_partial_write_and_backpressure(self):
        client, server, link = pair("pybio-pybio")
        link.handshake()
        big = os.urandom(200_000)
        sent = 0
        for _ in range(20):  # the engine must push back long before 200 kB
            try:
                n = client.write(big[sent:])
            except ssl.SSLWantWriteError:
                break
            self.assertGreater(n, 0)
            self.assertLessEqual(n, 16384)  # at most one record per call
            sent += n
        else:
            self.fail("write never raised SSLWantWriteError while output waited")
        self.assertGreater(sent, 0)
        self.assertLess(sent, len(big))
        # feed: accepts what fits, the caller keeps the rest
        flight = client.drain()
        self.assertEqual(client.pending_out, 0)
        got = bytearray()
        rest = flight
        refused = False
        while rest:
            accepted = server.feed(rest)
            if accepted < len(rest):
                refused = True
            rest = rest[accepted:]
            got += read_all(server)
        self.assertEqual(bytes(got), big[:sent])
        # more than one record in flight: the input side pushed back too
        if len(flight) > 20 * 1024:
            self.assertTrue(refused)

    def test_write_bytes_like(self):
        client, server, link = pair("pybio-pybio")
        link.handshake()
        for data in (bytearray(b"abc"), memoryview(b"defg"), memoryview(bytearray(b"hi"))[0:1],
                     b""):
            expected = bytes(data)
            self.assertEqual(client.write(data), len(expected))
            link.pump()
            self.assertEqual(read_all(server), expected)

    def test_read_into_buffer(self):
        client, server, link = pair("pybio-pybio")
        link.handshake()
        client.write(b"0123456789")
        link.pump()
        buf = bytearray(4)
        self.assertEqual(server.read(4, buf), 4)
        self.assertEqual(buf, b"0123")
        buf = bytearray(100)
        self.assertEqual(server.read(buffer=buf), 6)
        self.assertEqual(buf[:6], b"456789")
        self.assertEqual(server.read(0), b"")
        with self.assertRaises(ValueError):
            server.read(-1)

    def test_starttls_bytes_fed_before_handshake_are_kept(self):
        """The client's first flight arrives glued to plaintext and is fed
        before the server engine ever ran: nothing may be lost."""
        for kind in ("pybio-pybio", "stdlib-pybio"):
            with self.subTest(kind=kind):
                client, server, link = pair(kind)
                try:
                    client.do_handshake()
                except WANT:
                    pass
                hello = client.drain()
                line = b"STARTTLS\r\n"
                wire = line + hello
                # The server's plaintext reader splits off the line ...
                self.assertEqual(wire[:len(line)], line)
                # ... and feeds the rest before starting TLS.
                self.assertEqual(server.feed(wire[len(line):]), len(hello))
                link.handshake()
                self.assertEqual(link.send(client, server, b"after"), b"after")

    def test_edge_triggered_data_in_handshake_flight(self):
        """Application data sent right after the client's Finished is
        readable as soon as the server completes its handshake."""
        client, server, link = pair("stdlib-pybio",
                                    {"maximum_version": ssl.TLSVersion.TLSv1_3}, {})
        try:
            client.do_handshake()
        except WANT:
            pass
        server.feed(client.drain())
        with self.assertRaises(ssl.SSLWantReadError):
            server.do_handshake()
        client.feed(server.drain())
        client.do_handshake()
        client.write(b"early-after-finished")
        server.feed(client.drain())
        server.do_handshake()
        self.assertTrue(server.wants() & pybio.HAS_PLAINTEXT)
        self.assertEqual(server.read(100), b"early-after-finished")

    def test_wants_and_pending(self):
        client, server, link = pair("pybio-pybio")
        self.assertEqual(client.wants() & pybio.WANTS_READ, 0)  # must send first
        try:
            client.do_handshake()
        except WANT:
            pass
        self.assertTrue(client.wants() & pybio.WANTS_WRITE)
        link.handshake()
        self.assertEqual(client.wants(), pybio.WANTS_READ)
        server.write(b"0123456789")
        link.pump()
        self.assertTrue(client.wants() & pybio.HAS_PLAINTEXT)
        self.assertEqual(client.read(3), b"012")
        self.assertEqual(client.pending(), 7)
        self.assertEqual(client.read(), b"3456789")
        self.assertEqual(client.pending(), 0)


class Alpn(unittest.TestCase):
    def test_alpn_all_peers(self):
        for kind in PEERS:
            with self.subTest(kind=kind):
                client, server, link = pair(kind, {"alpn": ["h2", "http/1.1"]},
                                            {"alpn": ["http/1.1", "h2"]})
                link.handshake()
                self.assertEqual(client.selected_alpn_protocol(), "http/1.1")
                self.assertEqual(server.selected_alpn_protocol(), "http/1.1")

    def test_no_overlap_and_none(self):
        client, server, link = pair("pybio-pybio", {"alpn": ["spdy"]}, {"alpn": ["h2"]})
        try:
            link.handshake()
        except ssl.SSLError:
            return  # refusing is allowed
        self.assertIsNone(client.selected_alpn_protocol())
        client, server, link = pair("pybio-pybio")
        link.handshake()
        self.assertIsNone(client.selected_alpn_protocol())

    def test_bad_names(self):
        ctx = pybio.Context(pybio.CLIENT)
        for bad in ([""], ["a,b"], ["x" * 256]):
            with self.assertRaises(ValueError):
                ctx.set_alpn_protocols(bad)


class Verification(unittest.TestCase):
    def test_unknown_ca_is_cert_verification_error(self):
        for kind in ("pybio-pybio", "pybio-stdlib"):
            with self.subTest(kind=kind):
                client, server, link = pair(kind, {"ca": OTHER_CA})
                try:
                    link.handshake()
                except ssl.SSLError as exc:  # the stdlib's class catches it
                    caught = exc
                else:
                    self.fail("handshake with an unknown CA succeeded")
                self.assertIsInstance(caught, pybio.SSLCertVerificationError)
                self.assertIsInstance(caught, ssl.SSLCertVerificationError)
                self.assertIsInstance(caught, pybio.SSLError)
                # 20: unable to get local issuer; 19: self-signed root in the chain
                self.assertIn(caught.verify_code, (19, 20))
                self.assertIn("certificate", caught.verify_message)
                self.assertEqual(caught.library, "SSL")
                self.assertEqual(caught.reason, "CERTIFICATE_VERIFY_FAILED")
                self.assertIn("[SSL: CERTIFICATE_VERIFY_FAILED]", str(caught))
                self.assertEqual(caught.errno, ssl.SSL_ERROR_SSL)
                self.assertEqual(caught.kind, "verify")  # the engine's kind, not a guess
                # The engine is dead: the same error again.
                with self.assertRaises(pybio.SSLCertVerificationError):
                    client.do_handshake()

    def test_hostname_mismatch(self):
        conn = pybio_client().connection(server_hostname="not-localhost.example")
        server = pybio_server().connection()
        with self.assertRaises(ssl.SSLCertVerificationError) as cm:
            Link(conn, server).handshake()
        self.assertEqual(cm.exception.verify_code, 62)  # hostname mismatch
        self.assertIn("hostname mismatch", cm.exception.verify_message.lower())
        self.assertEqual(cm.exception.kind, "verify")

    def test_ip_address_name(self):
        for name in ("127.0.0.1", "::1"):
            conn = pybio_client().connection(server_hostname=name)
            Link(conn, pybio_server().connection()).handshake()
        conn = pybio_client().connection(server_hostname="127.0.0.2")
        with self.assertRaises(ssl.SSLCertVerificationError):
            Link(conn, pybio_server().connection()).handshake()

    def test_check_hostname_false_still_verifies_chain(self):
        ctx = pybio_client()
        ctx.check_hostname = False
        conn = ctx.connection(server_hostname="wrong.example")  # SNI only
        Link(conn, pybio_server().connection()).handshake()
        self.assertEqual(conn.getpeercert()["subject"], ((("commonName", "localhost"),),))
        ctx = pybio_client(ca=OTHER_CA)
        ctx.check_hostname = False
        conn = ctx.connection(server_hostname="wrong.example")
        with self.assertRaises(ssl.SSLCertVerificationError):
            Link(conn, pybio_server().connection()).handshake()

    def test_check_hostname_false_without_server_hostname(self):
        # Like ssl: the chain is verified, no name is checked, none is sent.
        for reuse in (False, True):
            with self.subTest(reuse=reuse):
                names = []
                sctx = stdlib_server()
                sctx.sni_callback = lambda _obj, name, _ctx: names.append(name)
                ctx = pybio_client()
                ctx.check_hostname = False
                conn = ctx.connection(server_hostname=None if not reuse else "localhost")
                if reuse:  # a reset engine takes the same path
                    conn.reset()
                Link(conn, StdEnd(sctx, True)).handshake()
                self.assertEqual(names, [None], "no SNI, as with ssl")
                self.assertEqual(conn.getpeercert()["subject"], ((("commonName", "localhost"),),))
                self.assertIsNone(conn.server_hostname)
        ctx = pybio_client(ca=OTHER_CA)
        ctx.check_hostname = False
        conn = ctx.connection()
        with self.assertRaises(ssl.SSLCertVerificationError):
            Link(conn, pybio_server().connection()).handshake()

    def test_cert_none(self):
        ctx = pybio.Context(pybio.CLIENT)
        with self.assertRaises(ValueError):
            ctx.verify_mode = ssl.CERT_NONE  # check_hostname first, like ssl
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.assertEqual(ctx.verify_mode, ssl.CERT_NONE)
        conn = ctx.connection()
        server = pybio_server().connection()
        Link(conn, server).handshake()
        self.assertEqual(conn.getpeercert(), {})  # not verified: empty, like ssl
        self.assertEqual(conn.getpeercert(True), leaf_der(SERVER_CERT))
        ctx2 = pybio.Context(pybio.CLIENT)
        ctx2.check_hostname = False
        ctx2.verify_mode = ssl.CERT_NONE
        ctx2.check_hostname = True  # turns verification back on, like ssl
        self.assertEqual(ctx2.verify_mode, ssl.CERT_REQUIRED)

    def test_check_hostname_is_frozen_with_the_context(self):
        ctx = pybio_client()
        ctx.connection(server_hostname="localhost")
        with self.assertRaises(ValueError):
            ctx.check_hostname = False
        self.assertTrue(ctx.check_hostname)

    def test_check_hostname_requires_server_hostname(self):
        with self.assertRaises(ValueError):
            pybio_client().connection()
        with self.assertRaises(ValueError):
            pybio_server().connection(server_hostname="x")

    def test_client_certificates(self):
        # Required and sent: both implementations as the server.
        for kind in ("pybio-pybio", "pybio-stdlib", "stdlib-pybio"):
            with self.subTest(kind=kind):
                client, server, link = pair(kind, {"cert": True},
                                            {"verify": ssl.CERT_REQUIRED})
                link.handshake()
                link.send(client, server, b"x")
                peer = server.getpeercert()
                self.assertEqual(peer["subject"], ((("commonName", "sslbio test client"),),))
        # Required, not sent: the pybio server refuses.
        client, server, link = pair("stdlib-pybio", {}, {"verify": ssl.CERT_REQUIRED})
        with self.assertRaises(ssl.SSLError):
            link.handshake()
            link.send(client, server, b"x")
        # Optional, not sent: fine, no peer certificate.
        client, server, link = pair("pybio-pybio", {}, {"verify": ssl.CERT_OPTIONAL})
        link.handshake()
        link.send(client, server, b"x")
        self.assertIsNone(server.getpeercert())

    def test_getpeercert_forms(self):
        client, server, link = pair("pybio-pybio")
        link.handshake()
        der = client.getpeercert(binary_form=True)
        self.assertEqual(der, leaf_der(SERVER_CERT))
        d = client.getpeercert()
        self.assertEqual(d["subjectAltName"],
                         (("DNS", "localhost"), ("IP Address", "127.0.0.1"),
                          ("IP Address", "0:0:0:0:0:0:0:1")))
        self.assertIn("notAfter", d)
        self.assertIsNone(server.getpeercert())


class ErrorsAndClose(unittest.TestCase):
    def test_garbage_is_ssl_error(self):
        for data in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", bytes(range(256)) * 4):
            server = pybio_server().connection()
            server.feed(data)
            with self.assertRaises(ssl.SSLError) as cm:
                server.do_handshake()
            exc = cm.exception
            self.assertIsInstance(exc, pybio.SSLError)
            self.assertNotIsInstance(exc, ssl.SSLWantReadError)
            self.assertEqual(exc.library, "SSL")
            self.assertTrue(exc.reason)
            self.assertEqual(exc.kind, "ssl")
            self.assertTrue(exc.code)
            self.assertIn("handshake", str(exc))
            self.assertTrue(str(exc).startswith(f"[SSL: {exc.reason}] sslbio: handshake: "))
        # Garbage after the handshake too.
        client, server, link = pair("pybio-pybio")
        link.handshake()
        server.feed(b"\x17\x03\x03\x00\x20" + b"\x00" * 32)
        with self.assertRaises(pybio.SSLError):
            server.read()

    def test_truncation_is_eof_error(self):
        for kind in ("pybio-pybio", "stdlib-pybio"):
            with self.subTest(kind=kind):
                client, server, link = pair(kind)
                link.handshake()
                link.send(client, server, b"partial")
                server.feed_eof()
                with self.assertRaises(ssl.SSLEOFError) as cm:
                    server.read()
                self.assertIsInstance(cm.exception, pybio.SSLEOFError)
                self.assertIsInstance(cm.exception, ssl.SSLError)
                self.assertEqual(cm.exception.kind, "truncated")

    def test_truncation_during_handshake(self):
        client = pybio_client().connection(server_hostname="localhost")
        try:
            client.do_handshake()
        except WANT:
            pass
        client.feed_eof()
        with self.assertRaises(ssl.SSLError):
            client.do_handshake()

    def test_suppress_ragged_eofs(self):
        client = pybio_client().connection(server_hostname="localhost")
        server = pybio_server().connection(suppress_ragged_eofs=True)
        self.assertTrue(server.suppress_ragged_eofs)
        link = Link(client, server)
        link.handshake()
        link.send(client, server, b"x")
        server.feed_eof()
        self.assertEqual(server.read(), b"")

    def test_clean_close_reads_empty(self):
        for kind in PEERS:
            with self.subTest(kind=kind):
                client, server, link = pair(kind)
                link.handshake()
                link.send(server, client, b"bye")
                # server closes; client reads b"" like ssl.SSLObject
                if isinstance(server, StdEnd):
                    try:
                        server.unwrap()
                    except ssl.SSLWantReadError:
                        pass
                else:
                    self.assertFalse(server.shutdown())
                link.pump()
                self.assertEqual(client.read(), b"")
                self.assertEqual(client.read(), b"")
                if isinstance(client, StdEnd):
                    client.unwrap()
                else:
                    self.assertTrue(client.shutdown())  # both close_notify exchanged
                link.pump()
                if isinstance(server, StdEnd):
                    server.unwrap()
                else:
                    self.assertTrue(server.shutdown())
                    server.unwrap()

    def test_half_close_read_after_shutdown(self):
        client, server, link = pair("pybio-pybio")
        link.handshake()
        self.assertFalse(client.shutdown())  # close_notify queued
        with self.assertRaises(ssl.SSLWantReadError):
            client.unwrap()
        link.pump()
        server.write(b"still talking")
        link.pump()
        self.assertEqual(client.read(), b"still talking")
        with self.assertRaises(pybio.SSLError):
            client.write(b"no")  # after our close_notify
        self.assertEqual(server.read(), b"")
        self.assertTrue(server.shutdown())
        link.pump()
        client.unwrap()

    def test_write_after_peer_close_is_half_close(self):
        client, server, link = pair("pybio-pybio")
        link.handshake()
        server.shutdown()
        link.pump()
        self.assertEqual(client.read(), b"")
        # The peer closed its direction only (TLS 1.3 half-close): ours
        # still works until we send close_notify.
        self.assertEqual(client.write(b"late"), 4)
        link.pump()
        self.assertEqual(server.read(), b"late")
        self.assertTrue(client.shutdown())

    def test_closed_connection(self):
        client = pybio_client().connection(server_hostname="localhost")
        client.close()
        client.close()
        self.assertTrue(client.closed)
        for call in (lambda: client.write(b"x"), lambda: client.read(), client.do_handshake,
                     client.drain, lambda: client.feed(b"x"), lambda: client.handle):
            with self.assertRaises(ValueError):
                call()
        with pybio_client().connection(server_hostname="localhost") as c:
            self.assertFalse(c.closed)
        self.assertTrue(c.closed)

    def test_no_public_constructor(self):
        with self.assertRaises(TypeError):
            pybio.Connection()

    def test_exception_hierarchy(self):
        pairs = [(pybio.SSLWantReadError, ssl.SSLWantReadError),
                 (pybio.SSLWantWriteError, ssl.SSLWantWriteError),
                 (pybio.SSLZeroReturnError, ssl.SSLZeroReturnError),
                 (pybio.SSLEOFError, ssl.SSLEOFError),
                 (pybio.SSLCertVerificationError, ssl.SSLCertVerificationError),
                 (pybio.SSLError, ssl.SSLError)]
        for ours, theirs in pairs:
            self.assertTrue(issubclass(ours, theirs))
            self.assertTrue(issubclass(ours, pybio.SSLError))
            self.assertTrue(issubclass(ours, OSError))

    def test_want_read_error_shape(self):
        server = pybio_server().connection()
        with self.assertRaises(ssl.SSLWantReadError) as cm:
            server.do_handshake()
        self.assertEqual(cm.exception.errno, ssl.SSL_ERROR_WANT_READ)


class Sessions(unittest.TestCase):
    def _resume(self, make_server, tls13):
        v = {"maximum_version": ssl.TLSVersion.TLSv1_3 if tls13 else ssl.TLSVersion.TLSv1_2}
        cctx = pybio_client(**v)
        server_ctx = make_server(**v)

        def new_server():
            if isinstance(server_ctx, ssl.SSLContext):
                return StdEnd(server_ctx, True)
            return server_ctx.connection()

        c1 = cctx.connection(server_hostname="localhost")
        link = Link(c1, new_server())
        link.handshake()
        link.send(link.b, c1, b"ticket please")  # TLS 1.3 tickets come after the handshake
        session = c1.session
        self.assertIsInstance(session, bytes)
        self.assertFalse(c1.session_reused)
        c2 = cctx.connection(server_hostname="localhost", session=session)
        Link(c2, new_server()).handshake()
        self.assertTrue(c2.session_reused)
        # A session moves between engines and contexts as bytes.
        other = pybio_client(**v).connection(server_hostname="localhost")
        other.session = session
        Link(other, new_server()).handshake()
        self.assertTrue(other.session_reused)

    def test_resume_tls13_and_tls12(self):
        for tls13 in (True, False):
            for name, make in (("pybio", pybio_server), ("stdlib", stdlib_server)):
                with self.subTest(tls13=tls13, server=name):
                    self._resume(make, tls13)

    def test_session_for_other_name_refused(self):
        cctx = pybio_client()
        c1 = cctx.connection(server_hostname="localhost")
        link = Link(c1, pybio_server().connection())
        link.handshake()
        link.send(link.b, c1, b"x")
        session = c1.session
        c2 = cctx.connection(server_hostname="127.0.0.1")
        with self.assertRaises(ssl.SSLError):
            c2.set_session(session)
        with self.assertRaises(ssl.SSLError):
            c2.set_session(b"not a session")

    def test_no_session_before_handshake(self):
        c = pybio_client().connection(server_hostname="localhost")
        self.assertIsNone(c.session)


class KeyUpdate(unittest.TestCase):
    def test_key_update_with_peers(self):
        for kind in ("pybio-pybio", "pybio-stdlib", "stdlib-pybio"):
            with self.subTest(kind=kind):
                client, server, link = pair(kind)
                link.handshake()
                pyend = client if isinstance(client, pybio.Connection) else server
                other = server if pyend is client else client
                for update_peer in (False, True, True):
                    pyend.key_update(update_peer=update_peer)
                    self.assertGreater(pyend.pending_out, 0)
                    self.assertEqual(link.send(pyend, other, b"after update"), b"after update")
                    self.assertEqual(link.send(other, pyend, b"reply"), b"reply")

    def test_key_update_needs_tls13(self):
        v = {"maximum_version": ssl.TLSVersion.TLSv1_2}
        client, server, link = pair("pybio-pybio", v, v)
        with self.assertRaises(pybio.SSLError):
            client.key_update()  # before the handshake
        link.handshake()
        with self.assertRaises(pybio.SSLError):
            client.key_update()


class Reset(unittest.TestCase):
    def test_reset_reuses_engine(self):
        cctx, sctx = pybio_client(), pybio_server()
        client, server = cctx.connection(server_hostname="localhost"), sctx.connection()
        for i in range(3):
            link = Link(client, server)
            link.handshake()
            self.assertEqual(link.send(client, server, b"round %d" % i), b"round %d" % i)
            server.feed_eof()
            client.reset(server_hostname="localhost")
            server.reset()
            self.assertIsNone(client.version())


class ContextConfig(unittest.TestCase):
    def test_frozen_after_first_connection(self):
        ctx = pybio_server()
        ctx.connection()
        with self.assertRaises(ValueError) as cm:
            ctx.set_alpn_protocols(["h2"])
        self.assertIn("frozen", str(cm.exception))
        with self.assertRaises(ValueError):
            ctx.verify_mode = ssl.CERT_REQUIRED

    def test_missing_files(self):
        ctx = pybio.Context(pybio.SERVER)
        with self.assertRaises(FileNotFoundError):
            ctx.load_cert_chain("/nonexistent/cert.pem")
        with self.assertRaises(FileNotFoundError):
            ctx.load_verify_locations("/nonexistent/ca.pem")
        with self.assertRaises(ssl.SSLError):
            ctx.load_cert_chain(SERVER_CERT, CLIENT_CERT)  # not a key
        with self.assertRaises(TypeError):
            ctx.load_verify_locations()

    def test_cadata_forms(self):
        pem = read_text(CA)
        der = ssl.PEM_cert_to_DER_cert(pem)
        other_der = ssl.PEM_cert_to_DER_cert(read_text(OTHER_CA))
        for cadata in (pem, pem.encode(), der, other_der + der):
            with self.subTest(kind=type(cadata).__name__, size=len(cadata)):
                ctx = pybio.Context(pybio.CLIENT)
                ctx.load_verify_locations(cadata=cadata)
                Link(ctx.connection(server_hostname="localhost"),
                     pybio_server().connection()).handshake()
        with self.assertRaises(ssl.SSLError):
            pybio.Context(pybio.CLIENT).load_verify_locations(cadata=b"\x30\x82\xff\xff")

    def test_capath(self):
        import tempfile
        import shutil
        with tempfile.TemporaryDirectory() as d:
            shutil.copy(CA, os.path.join(d, "ca.pem"))
            ctx = pybio.Context(pybio.CLIENT)
            ctx.load_verify_locations(capath=d)
            Link(ctx.connection(server_hostname="localhost"), pybio_server().connection()).handshake()

    def test_versions(self):
        ctx = pybio.Context(pybio.CLIENT)
        self.assertEqual(ctx.minimum_version, ssl.TLSVersion.TLSv1_2)
        self.assertEqual(ctx.maximum_version, ssl.TLSVersion.MAXIMUM_SUPPORTED)
        for bad in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
            with self.assertRaises(ValueError):
                ctx.minimum_version = bad
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        self.assertEqual(ctx.minimum_version, ssl.TLSVersion.TLSv1_3)
        # 1.3-only client vs 1.2-only server: no common version
        client = pybio_client(minimum_version=ssl.TLSVersion.TLSv1_3)
        server = pybio_server(maximum_version=ssl.TLSVersion.TLSv1_2)
        with self.assertRaises(ssl.SSLError):
            Link(client.connection(server_hostname="localhost"), server.connection()).handshake()

    def test_ciphers(self):
        v = {"maximum_version": ssl.TLSVersion.TLSv1_2}
        cctx = pybio_client(**v)
        cctx.set_ciphers("ECDHE-ECDSA-CHACHA20-POLY1305")
        client = cctx.connection(server_hostname="localhost")
        Link(client, pybio_server(**v).connection()).handshake()
        self.assertEqual(client.cipher(), ("ECDHE-ECDSA-CHACHA20-POLY1305", "TLSv1.2", 256))
        cctx = pybio_client()
        cctx.set_ciphers(None, "TLS_CHACHA20_POLY1305_SHA256")
        client = cctx.connection(server_hostname="localhost")
        Link(client, pybio_server().connection()).handshake()
        self.assertEqual(client.cipher()[0], "TLS_CHACHA20_POLY1305_SHA256")
        with self.assertRaises(ssl.SSLError):
            pybio.Context(pybio.CLIENT).set_ciphers("NO-SUCH-CIPHER")

    def test_roles(self):
        self.assertEqual(pybio.Context(ssl.PROTOCOL_TLS_CLIENT).role, pybio.CLIENT)
        self.assertEqual(pybio.Context(ssl.PROTOCOL_TLS_SERVER).role, pybio.SERVER)
        self.assertTrue(pybio.Context(pybio.SERVER).server_side)
        with self.assertRaises(ValueError):
            pybio.Context(99)
        self.assertEqual(pybio.Context(pybio.SERVER).verify_mode, ssl.CERT_NONE)
        self.assertFalse(pybio.Context(pybio.SERVER).check_hostname)
        self.assertTrue(pybio.Context(pybio.CLIENT).check_hostname)
        self.assertEqual(pybio.Context(pybio.CLIENT).verify_mode, ssl.CERT_REQUIRED)

    def test_context_manager_and_close(self):
        with pybio.Context(pybio.CLIENT) as ctx:
            self.assertIsInstance(ctx.handle, int)
            self.assertNotEqual(ctx.openssl_handle, 0)
        with self.assertRaises(ValueError):
            ctx.handle
        ctx.close()

    def test_encrypted_key_password(self):
        import shutil
        import subprocess
        import tempfile
        if shutil.which("openssl") is None:
            self.skipTest("openssl command not found")
        with tempfile.TemporaryDirectory() as d:
            enc = os.path.join(d, "enc.key")
            subprocess.run(["openssl", "pkey", "-in", SERVER_KEY, "-aes256", "-passout",
                            "pass:s3cret", "-out", enc], check=True, capture_output=True)
            for password in ("s3cret", b"s3cret", lambda: "s3cret"):
                ctx = pybio.Context(pybio.SERVER)
                ctx.load_cert_chain(SERVER_CERT, enc, password=password)
                Link(pybio_client().connection(server_hostname="localhost"),
                     ctx.connection()).handshake()
            with self.assertRaises(ssl.SSLError):
                pybio.Context(pybio.SERVER).load_cert_chain(SERVER_CERT, enc, password="wrong")

    def test_pem_in_memory(self):
        ctx = pybio.Context(pybio.SERVER)
        ctx.load_cert_chain_pem(read_text(SERVER_CERT), read_text(SERVER_KEY).encode())
        Link(pybio_client().connection(server_hostname="localhost"), ctx.connection()).handshake()


if __name__ == "__main__":
    unittest.main()
