"""The hooks for servers and protocols, against the stdlib ssl module as
the real peer: sni_callback, keylog_filename, set_verify_callback,
set_session_ticket_keys, export_keying_material, get_channel_binding."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import unittest

from support import (CA, SERVER_CERT, Link, SocketDriver, StdEnd, leaf_der, pybio_client,
                     pybio_end, pybio_server, stdlib_client, stdlib_echo, stdlib_server)

import pybio

TLS12 = dict(maximum_version=ssl.TLSVersion.TLSv1_2)
TLS13 = dict(minimum_version=ssl.TLSVersion.TLSv1_3)


def make_other_cert(directory: str):
    """A self-signed certificate for other.test: (cert, key)."""
    if shutil.which("openssl") is None:
        raise unittest.SkipTest("openssl command not found")
    cert, key = os.path.join(directory, "other.pem"), os.path.join(directory, "other.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-subj", "/CN=other.test", "-addext", "subjectAltName=DNS:other.test",
                    "-addext", "basicConstraints=critical,CA:FALSE", "-days", "30"],
                   check=True, capture_output=True)
    return cert, key


def handshake_fails(link):
    """Run the handshake to its failure: (error of a, error of b)."""
    errors = [None, None]
    for _ in range(30):
        for i, end in enumerate((link.a, link.b)):
            if errors[i] is None and not end.is_handshake_done():
                try:
                    end.do_handshake()
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    pass
                except Exception as exc:  # noqa: BLE001
                    errors[i] = exc
        if not link.pump() and not link.a_to_b and not link.b_to_a:
            break
    return errors


class SniTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        cls.other_cert, cls.other_key = make_other_cert(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def servers(self):
        main = pybio_server()
        other = pybio.Context(pybio.SERVER)
        other.load_cert_chain(self.other_cert, self.other_key)
        seen = []

        def pick(conn, name, ctx):
            seen.append((name, ctx))
            if name == "other.test":
                conn.context = other
                return None
            if name == "localhost":
                return None
            return ssl.AlertDescription.ALERT_DESCRIPTION_UNRECOGNIZED_NAME

        main.sni_callback = pick
        return main, other, seen

    def client(self):
        ctx = stdlib_client()
        ctx.load_verify_locations(self.other_cert)
        return ctx

    def test_picks_the_certificate_by_name(self):
        main, other, seen = self.servers()
        for name, cert in (("localhost", SERVER_CERT), ("other.test", self.other_cert)):
            for versions in (TLS12, TLS13):
                with self.subTest(name=name, versions=versions):
                    server = pybio_end(main)
                    client = StdEnd(self.client(), False, server_hostname=name)
                    Link(client, server).handshake()
                    self.assertEqual(client.getpeercert(True), leaf_der(cert))
                    self.assertIs(server.context, other if name == "other.test" else main)
                    self.assertEqual(seen[-1], (name, main))
                    link = Link(client, server)
                    self.assertEqual(link.send(client, server, b"ping"), b"ping")

    def test_unknown_name_is_refused(self):
        main, _, _ = self.servers()
        server = pybio_end(main)
        client = StdEnd(self.client(), False, server_hostname="nobody.test")
        cerr, serr = handshake_fails(Link(client, server))
        self.assertIsInstance(serr, ssl.SSLError)
        self.assertIsInstance(cerr, ssl.SSLError)
        self.assertIn("UNRECOGNIZED_NAME", str(cerr))

    def test_callback_exception_propagates(self):
        main = pybio_server()

        def boom(conn, name, ctx):
            raise KeyError("boom")

        main.sni_callback = boom
        server = pybio_end(main)
        client = StdEnd(stdlib_client(), False, server_hostname="localhost")
        cerr, serr = handshake_fails(Link(client, server))
        self.assertIsInstance(serr, KeyError)
        self.assertIsInstance(cerr, ssl.SSLError)
        self.assertIn("HANDSHAKE_FAILURE", str(cerr))

    def test_context_switch_outside_the_callback(self):
        main, other, _ = self.servers()
        server = pybio_end(main)
        with self.assertRaises(ValueError):
            server.context = other

    def test_over_a_socket(self):
        # stdlib_echo's client sends SNI "localhost": the callback runs and keeps main.
        main, _, seen = self.servers()
        a, b = socket.socketpair()
        errors = []
        conn = main.connection()
        t = threading.Thread(target=stdlib_echo, args=(self.client(), b, False, errors))
        t.start()
        try:
            d = SocketDriver(conn, a, False)
            d.call(conn.do_handshake)
            self.assertEqual(seen, [("localhost", main)])
            d.send_all(b"hello")
            self.assertEqual(d.recv_exactly(5), b"hello")
        finally:
            a.close()
            t.join(20)
            b.close()
        self.assertFalse([e for e in errors if not isinstance(e, (OSError, ssl.SSLError))])


class KeylogTest(unittest.TestCase):
    def lines(self, path):
        with open(path) as f:
            return sorted(line for line in f.read().splitlines() if line and line[0] != "#")

    def test_lines_equal_the_stdlib_peer(self):
        with tempfile.TemporaryDirectory() as tmp:
            for versions, count in ((TLS12, 1), (TLS13, 5)):
                for pybio_side in ("server", "client"):
                    with self.subTest(versions=versions, pybio_side=pybio_side):
                        mine = os.path.join(tmp, f"mine-{pybio_side}-{count}.log")
                        theirs = os.path.join(tmp, f"theirs-{pybio_side}-{count}.log")
                        if pybio_side == "server":
                            p = pybio_server(**versions)
                            s = stdlib_client(**versions)
                        else:
                            p = pybio_client(**versions)
                            s = stdlib_server(**versions)
                        p.keylog_filename = mine
                        s.keylog_filename = theirs
                        if pybio_side == "server":
                            link = Link(StdEnd(s, False, server_hostname="localhost"),
                                        pybio_end(p))
                        else:
                            link = Link(pybio_end(p, server_hostname="localhost"),
                                        StdEnd(s, True))
                        link.handshake()
                        self.assertEqual(link.send(link.a, link.b, b"x"), b"x")
                        got = self.lines(mine)
                        self.assertEqual(len(got), count)
                        self.assertEqual(got, self.lines(theirs))
                        with open(mine) as f:
                            self.assertTrue(f.read().startswith("# TLS secrets log file"))

    def test_off(self):
        ctx = pybio_server()
        self.assertIsNone(ctx.keylog_filename)
        with tempfile.TemporaryDirectory() as tmp:
            ctx.keylog_filename = os.path.join(tmp, "k.log")
            ctx.keylog_filename = None
            Link(StdEnd(stdlib_client(), False, server_hostname="localhost"),
                 pybio_end(ctx)).handshake()
            with open(os.path.join(tmp, "k.log")) as f:
                self.assertNotIn("CLIENT_RANDOM", f.read())


class ExporterTest(unittest.TestCase):
    def pair(self, **versions):
        c = pybio_end(pybio_client(**versions), server_hostname="localhost")
        s = pybio_end(pybio_server(**versions))
        Link(c, s).handshake()
        return c, s

    def test_client_and_server_agree(self):
        for versions in (TLS12, TLS13):
            with self.subTest(versions=versions):
                c, s = self.pair(**versions)
                a = c.export_keying_material("EXPERIMENTAL-pybio", 48)
                self.assertEqual(len(a), 48)
                self.assertEqual(a, s.export_keying_material(b"EXPERIMENTAL-pybio", 48))
                b = c.export_keying_material("EXPERIMENTAL-pybio", 48, b"ctx")
                self.assertEqual(b, s.export_keying_material("EXPERIMENTAL-pybio", 48, b"ctx"))
                self.assertNotEqual(a, b)
                self.assertNotEqual(a, c.export_keying_material("EXPERIMENTAL-other", 48))
                x = c.get_channel_binding("tls-exporter")
                self.assertEqual(len(x), 32)
                self.assertEqual(x, s.get_channel_binding("tls-exporter"))
                self.assertEqual(x, c.export_keying_material("EXPORTER-Channel-Binding", 32,
                                                             b""))

    def test_before_the_handshake(self):
        c = pybio_end(pybio_client(), server_hostname="localhost")
        with self.assertRaisesRegex(ValueError, "handshake"):
            c.export_keying_material("EXPERIMENTAL-pybio", 32)
        self.assertIsNone(c.get_channel_binding())
        self.assertIsNone(c.get_channel_binding("tls-exporter"))
        with self.assertRaises(ValueError):
            c.get_channel_binding("tls-server-end-point")

    def test_tls_unique_equals_the_stdlib(self):
        for pybio_side in ("server", "client"):
            with self.subTest(pybio_side=pybio_side):
                if pybio_side == "server":
                    s = StdEnd(stdlib_client(**TLS12), False, server_hostname="localhost")
                    p = pybio_end(pybio_server(**TLS12))
                else:
                    s = StdEnd(stdlib_server(**TLS12), True)
                    p = pybio_end(pybio_client(**TLS12), server_hostname="localhost")
                Link(s, p).handshake()
                want = s.obj.get_channel_binding("tls-unique")
                self.assertTrue(want)
                self.assertEqual(p.get_channel_binding("tls-unique"), want)
                self.assertEqual(p.get_channel_binding(), want)

    def test_tls_unique_on_tls13(self):
        # The stdlib returns OpenSSL's Finished bytes; sslbio gives none
        # (RFC 9266) and pybio looks up nothing outside the header: None.
        for pybio_side in ("server", "client"):
            with self.subTest(pybio_side=pybio_side):
                if pybio_side == "server":
                    s = StdEnd(stdlib_client(**TLS13), False, server_hostname="localhost")
                    p = pybio_end(pybio_server(**TLS13))
                else:
                    s = StdEnd(stdlib_server(**TLS13), True)
                    p = pybio_end(pybio_client(**TLS13), server_hostname="localhost")
                Link(s, p).handshake()
                self.assertIsNone(p.get_channel_binding("tls-unique"))
                self.assertTrue(s.obj.get_channel_binding("tls-unique"))  # the difference


class VerifyCallbackTest(unittest.TestCase):
    PIN = hashlib.sha256(leaf_der(SERVER_CERT)).digest()

    def run_client(self, fn, versions=TLS13):
        ctx = pybio_client(**versions)
        ctx.set_verify_callback(fn)
        c = pybio_end(ctx, server_hostname="localhost")
        s = StdEnd(stdlib_server(**versions), True)
        return c, s, Link(c, s)

    def test_pin_accepted_and_rejected(self):
        for versions in (TLS12, TLS13):
            calls = []

            def pin(conn, chain, result, want=self.PIN):
                calls.append((conn, result))
                return hashlib.sha256(chain[0]).digest() == want

            with self.subTest(versions=versions, pin="right"):
                c, s, link = self.run_client(pin, versions)
                link.handshake()
                self.assertEqual(calls, [(c, 0)])
                self.assertEqual(link.send(c, s, b"hi"), b"hi")
            with self.subTest(versions=versions, pin="wrong"):
                c, s, link = self.run_client(
                    lambda conn, chain, result: pin(conn, chain, result, b"\0" * 32), versions)
                cerr, _ = handshake_fails(link)
                self.assertIsInstance(cerr, ssl.SSLCertVerificationError)
                self.assertEqual(cerr.verify_code, 50)

    def test_only_true_accepts(self):
        c, s, link = self.run_client(lambda conn, chain, result: 1)
        cerr, _ = handshake_fails(link)
        self.assertIsInstance(cerr, ssl.SSLCertVerificationError)

    def test_exception_propagates(self):
        def boom(conn, chain, result):
            raise ZeroDivisionError("no")

        c, s, link = self.run_client(boom)
        cerr, serr = handshake_fails(link)
        self.assertIsInstance(cerr, ZeroDivisionError)
        self.assertIsInstance(serr, ssl.SSLError)

    def test_callback_decides_alone(self):
        # An unknown CA: OpenSSL fails, the callback sees it and accepts.
        seen = []
        ctx = pybio_client(ca=None)
        ctx.set_verify_callback(lambda conn, chain, result: seen.append(result) or True)
        c = pybio_end(ctx, server_hostname="localhost")
        s = StdEnd(stdlib_server(), True)
        Link(c, s).handshake()
        self.assertEqual(len(seen), 1)
        self.assertNotEqual(seen[0], 0)

    def test_server_side_client_certificate(self):
        chains = []
        ctx = pybio_server(verify=ssl.CERT_REQUIRED)
        ctx.set_verify_callback(lambda conn, chain, result: chains.append(chain) or True)
        s = pybio_end(ctx)
        c = StdEnd(stdlib_client(cert=True), False, server_hostname="localhost")
        link = Link(c, s)
        link.handshake()
        self.assertEqual(link.send(c, s, b"data"), b"data")
        self.assertEqual(len(chains), 1)

    def test_driven_by_read_and_write(self):
        c, s, link = self.run_client(lambda conn, chain, result: True)
        got = link.send(c, s, b"through write")
        self.assertEqual(got, b"through write")


class TicketKeysTest(unittest.TestCase):
    def test_resume_on_a_second_server(self):
        keys = [os.urandom(32), os.urandom(32)]
        for versions in (TLS12, TLS13):
            with self.subTest(versions=versions):
                one, two = pybio_server(**versions), pybio_server(**versions)
                one.set_session_ticket_keys(keys)
                two.set_session_ticket_keys(keys[::-1])
                client = stdlib_client(**versions)
                c = StdEnd(client, False, server_hostname="localhost")
                link = Link(c, pybio_end(one))
                link.handshake()
                link.send(link.b, c, b"x")  # TLS 1.3: the ticket comes after
                session = c.obj.session
                self.assertTrue(session.has_ticket)
                c2 = StdEnd(client, False, server_hostname="localhost", session=session)
                s2 = pybio_end(two)
                Link(c2, s2).handshake()
                self.assertTrue(c2.obj.session_reused)
                self.assertTrue(s2.session_reused)
                # Different keys: a full handshake.
                three = pybio_server(**versions)
                three.set_session_ticket_keys([os.urandom(32)])
                c3 = StdEnd(client, False, server_hostname="localhost", session=session)
                Link(c3, pybio_end(three)).handshake()
                self.assertFalse(c3.obj.session_reused)

    def test_bad_keys(self):
        ctx = pybio_server()
        for keys in ([], [b"short"], [os.urandom(32), os.urandom(33)]):
            with self.assertRaises(ValueError):
                ctx.set_session_ticket_keys(keys)


if __name__ == "__main__":
    unittest.main()
