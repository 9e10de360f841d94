"""What a Connection tells about its peer, on real connections with the
stdlib's ssl module as the other end, in memory (ssl.MemoryBIO) and over
socket pairs (ssl.SSLSocket in a thread): getpeercert() equal to the
stdlib's dict for the same certificates (decoded by pybio's own DER
reader), server_name, peer_chain(), session_reused."""

from __future__ import annotations

import shutil
import socket
import ssl
import tempfile
import threading
import unittest

from support import (CA, CLIENT_CERT, CLIENT_KEY, SERVER_CERT, Link, SocketDriver, StdEnd,
                     make_pki, pem_chain_der, pybio_client, pybio_server, stdlib_client,
                     stdlib_echo, stdlib_server)

import pybio

TLS12 = {"maximum_version": ssl.TLSVersion.TLSv1_2}
TLS13 = {"minimum_version": ssl.TLSVersion.TLSv1_3}


def over_socketpair(conn, stdlib_ctx, stdlib_is_server, session=None):
    """Run conn against the stdlib's SSLSocket (stdlib_echo in a thread) over
    a socket pair: handshake, one echo, a clean close. Returns what the
    stdlib side saw (stdlib_echo's seen dict)."""
    ours, peer = socket.socketpair()
    errors, seen = [], {}
    t = threading.Thread(target=stdlib_echo, args=(stdlib_ctx, peer, stdlib_is_server, errors),
                         kwargs={"seen": seen, "session": session})
    t.start()
    try:
        drv = SocketDriver(conn, ours, zero_copy=False)
        drv.call(conn.do_handshake)
        drv.send_all(b"ping")
        if drv.recv_exactly(4) != b"ping":
            raise AssertionError("echo mismatch")
        conn.shutdown()
        drv.flush()
        drv.call(conn.unwrap)
    finally:
        ours.close()
        t.join(20)
    if errors:
        raise errors[0]
    return seen


def in_memory(client, server, echo=True):
    link = Link(client, server)
    link.handshake()
    if echo:  # one round trip: a TLS 1.3 client reads its ticket on the way
        link.send(client, server, b"ping")
        link.send(server, client, b"pong")
    return link


class ServerName(unittest.TestCase):
    def test_sni_from_a_stdlib_client_in_memory(self):
        server = pybio_server().connection()
        self.assertIsNone(server.server_name)  # before the handshake
        in_memory(StdEnd(stdlib_client(), False, "localhost"), server)
        self.assertEqual(server.server_name, "localhost")

    def test_no_sni(self):
        # A stdlib client without a name (check_hostname off) sends none; an
        # address is never sent as SNI either.
        ctx = stdlib_client()
        ctx.check_hostname = False
        for name in (None, "127.0.0.1"):
            with self.subTest(name=name):
                server = pybio_server().connection()
                in_memory(StdEnd(ctx, False, name), server)
                self.assertIsNone(server.server_name)

    def test_client_side_is_the_name_given(self):
        conn = pybio_client().connection(server_hostname="localhost")
        self.assertEqual(conn.server_name, "localhost")
        ctx = pybio_client()
        ctx.check_hostname = False
        self.assertIsNone(ctx.connection().server_name)
        conn = pybio_client().connection(server_hostname="127.0.0.1")
        in_memory(conn, StdEnd(stdlib_server(), True))
        self.assertEqual(conn.server_name, "127.0.0.1")

    def test_sni_over_a_socketpair(self):
        server = pybio_server().connection()
        over_socketpair(server, stdlib_client(), stdlib_is_server=False)
        self.assertEqual(server.server_name, "localhost")


class PeerChain(unittest.TestCase):
    def test_chain_of_a_stdlib_server(self):
        client = pybio_client().connection(server_hostname="localhost")
        self.assertEqual(client.peer_chain(), [])
        in_memory(client, StdEnd(stdlib_server(), True))
        chain = client.peer_chain()
        self.assertEqual(len(chain), 2)  # server.pem: the leaf, then its issuer
        self.assertEqual(chain, pem_chain_der(SERVER_CERT))
        self.assertEqual(chain[0], client.getpeercert(binary_form=True))

    def test_chain_of_a_stdlib_client(self):
        server = pybio_server(verify=ssl.CERT_REQUIRED).connection()
        in_memory(StdEnd(stdlib_client(cert=True), False, "localhost"), server)
        self.assertEqual(server.peer_chain(), pem_chain_der(CLIENT_CERT))

    def test_no_client_certificate(self):
        server = pybio_server(verify=ssl.CERT_OPTIONAL).connection()
        in_memory(StdEnd(stdlib_client(), False, "localhost"), server)
        self.assertEqual(server.peer_chain(), [])
        self.assertIsNone(server.getpeercert())

    def test_chains_over_a_socketpair(self):
        client = pybio_client().connection(server_hostname="localhost")
        over_socketpair(client, stdlib_server(), stdlib_is_server=True)
        self.assertEqual(client.peer_chain(), pem_chain_der(SERVER_CERT))
        server = pybio_server(verify=ssl.CERT_REQUIRED).connection()
        over_socketpair(server, stdlib_client(cert=True), stdlib_is_server=False)
        self.assertEqual(server.peer_chain(), pem_chain_der(CLIENT_CERT))


class SessionReused(unittest.TestCase):
    def test_pybio_client_resumes_with_a_stdlib_server(self):
        for versions in (TLS12, TLS13):
            with self.subTest(versions=versions):
                ctx, sctx = pybio_client(**versions), stdlib_server(**versions)
                first = ctx.connection(server_hostname="localhost")
                in_memory(first, StdEnd(sctx, True))
                self.assertFalse(first.session_reused)
                again = ctx.connection(server_hostname="localhost", session=first.session)
                self.assertFalse(again.session_reused)  # before the handshake
                server = StdEnd(sctx, True)
                in_memory(again, server)
                self.assertTrue(again.session_reused)
                self.assertTrue(server.session_reused)  # the stdlib agrees
                self.assertEqual(again.peer_chain()[0], pem_chain_der(SERVER_CERT)[0])

    def test_stdlib_client_resumes_with_a_pybio_server(self):
        for versions in (TLS12, TLS13):
            with self.subTest(versions=versions):
                cctx, sctx = stdlib_client(**versions), pybio_server(**versions)
                first = StdEnd(cctx, False, "localhost")
                server = sctx.connection()
                in_memory(first, server)
                self.assertFalse(server.session_reused)
                again = StdEnd(cctx, False, "localhost", session=first.session)
                server = sctx.connection()
                in_memory(again, server)
                self.assertTrue(again.session_reused)
                self.assertTrue(server.session_reused)

    def test_resumption_over_socketpairs(self):
        # pybio client, stdlib server
        ctx, sctx = pybio_client(), stdlib_server()
        first = ctx.connection(server_hostname="localhost")
        over_socketpair(first, sctx, stdlib_is_server=True)
        again = ctx.connection(server_hostname="localhost", session=first.session)
        seen = over_socketpair(again, sctx, stdlib_is_server=True)
        self.assertTrue(again.session_reused)
        self.assertTrue(seen["session_reused"])
        # stdlib client, pybio server
        cctx, pctx = stdlib_client(), pybio_server()
        server = pctx.connection()
        seen = over_socketpair(server, cctx, stdlib_is_server=False)
        self.assertFalse(server.session_reused)
        server = pctx.connection()
        seen = over_socketpair(server, cctx, stdlib_is_server=False, session=seen["session"])
        self.assertTrue(seen["session_reused"])
        self.assertTrue(server.session_reused)


class GetPeerCertLikeTheStdlib(unittest.TestCase):
    """pybio's getpeercert() dict equals the stdlib's for the same
    certificate: names with multi-valued RDNs, UTF8/BMP/T61/Printable
    strings, a negative and a zero serial, a GeneralizedTime, every kind of
    subjectAltName (DNS, IPv4, IPv6, URI, email, DirName, Registered ID,
    otherName), OCSP, caIssuers, CRL distribution points, a v1 certificate;
    as a server's certificate and as a client's."""

    @classmethod
    def setUpClass(cls):
        tmp = tempfile.mkdtemp(prefix="pybio-pki-")
        cls.addClassCleanup(shutil.rmtree, tmp, True)
        cls.pki = make_pki(tmp)

    def contexts(self, name):
        """(pybio server, stdlib server, pybio client, stdlib client) for the
        named certificate: servers presenting it and asking for a client
        certificate, clients presenting it and trusting the CA."""
        chain, key = self.pki[name]
        ca = self.pki["ca"]
        ps = pybio.Context(pybio.SERVER)
        ps.load_cert_chain(chain, key)
        ps.load_verify_locations(ca)
        ps.verify_mode = ssl.CERT_REQUIRED
        ss = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ss.load_cert_chain(chain, key)
        ss.load_verify_locations(ca)
        ss.verify_mode = ssl.CERT_REQUIRED
        pc = pybio.Context(pybio.CLIENT)
        pc.load_verify_locations(ca)
        pc.load_cert_chain(chain, key)
        pc.check_hostname = False  # not every certificate names localhost
        sc = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        sc.load_verify_locations(ca)
        sc.load_cert_chain(chain, key)
        sc.check_hostname = False
        return ps, ss, pc, sc

    def test_in_memory_both_roles(self):
        for name in ("rich", "bmp", "v1"):
            with self.subTest(cert=name):
                ps, ss, pc, sc = self.contexts(name)
                # The certificate as a server's: pybio reads what a stdlib
                # server sent, the stdlib reads what a pybio server sent.
                pclient, sserver = pc.connection(), StdEnd(ss, True)
                in_memory(pclient, sserver)
                sclient, pserver = StdEnd(sc, False), ps.connection()
                in_memory(sclient, pserver)
                want = sclient.getpeercert()
                self.assertEqual(pclient.getpeercert(), want)
                # And as a client's.
                self.assertEqual(pserver.getpeercert(), sserver.getpeercert())
                self.assertEqual(pserver.getpeercert(), want)
                self.check_contents(name, want)

    def test_over_socketpairs(self):
        ps, ss, pc, sc = self.contexts("rich")
        client = pc.connection()
        seen_by_stdlib_server = over_socketpair(client, ss, stdlib_is_server=True)
        server = ps.connection()
        seen_by_stdlib_client = over_socketpair(server, sc, stdlib_is_server=False)
        want = seen_by_stdlib_client["cert"]
        self.check_contents("rich", want)
        self.assertEqual(client.getpeercert(), want)
        self.assertEqual(server.getpeercert(), seen_by_stdlib_server["cert"])
        self.assertEqual(client.peer_chain(), pem_chain_der(self.pki["rich"][0]))

    def check_contents(self, name, cert):
        """The certificates carry what they were made with (so the equality
        above compares something)."""
        if name == "rich":
            san = dict(cert["subjectAltName"])
            self.assertEqual(san["IP Address"], "2001:DB8:85A3:0:0:8A2E:370:7334")
            self.assertIn(("IP Address", "0:0:0:0:0:0:0:1"), cert["subjectAltName"])
            for key in ("DNS", "URI", "email", "DirName", "Registered ID", "othername"):
                self.assertIn(key, san)
            self.assertEqual(cert["OCSP"], ("http://ocsp.example/", "http://ocsp2.example/"))
            self.assertEqual(cert["caIssuers"], ("http://ca.example/ca.crt",))
            self.assertEqual(len(cert["crlDistributionPoints"]), 2)
            self.assertEqual(cert["serialNumber"], "-12D687")
            self.assertEqual(cert["subject"][0], (("commonName", "localhost"),
                                                  ("organizationalUnitName", "Multi Valued")))
        elif name == "bmp":
            self.assertEqual(cert["subject"][0], (("commonName", "日本語テスト"),))
            self.assertNotIn("OCSP", cert)
            self.assertEqual(cert["serialNumber"], "00")
        else:
            # Made without extensions: version 1 from OpenSSL 3.0's x509
            # -req; 3.2 and later add key identifiers, hence version 3. The
            # dict says what the openssl command reads in the file.
            import re
            import subprocess
            text = subprocess.run(["openssl", "x509", "-in", self.pki[name][0], "-noout", "-text"],
                                  check=True, capture_output=True, text=True).stdout
            self.assertEqual(cert["version"], int(re.search(r"Version: (\d)", text).group(1)))
            self.assertNotIn("subjectAltName", cert)


if __name__ == "__main__":
    unittest.main()
