"""pybio's DER reader (pybio._x509) on its own: its attribute names are
OpenSSL's, it decodes the system's CA certificates exactly as the stdlib
does, and malformed input raises ValueError, nothing else. (The real-peer
comparisons with the stdlib's getpeercert() are in test_peer.py.)"""

from __future__ import annotations

import glob
import os
import random
import ssl
import unittest

from support import CA, CLIENT_CERT, SERVER_CERT, pem_chain_der, read_text

from pybio import _x509

# Test oracles only (pybio uses neither): OpenSSL's object table through the
# stdlib's _ASN1Object, and the stdlib's own certificate decoder.
ASN1Object = getattr(ssl, "_ASN1Object", None)
stdlib_decode = getattr(getattr(ssl, "_ssl", None), "_test_decode_cert", None)


def system_ca_files():
    paths = ssl.get_default_verify_paths()
    files = sorted(glob.glob(os.path.join(paths.capath or "/nonexistent", "*.pem")))
    return [f for f in files if "BEGIN CERTIFICATE" in read_text(f)][:400]


class AttributeNames(unittest.TestCase):
    @unittest.skipIf(ASN1Object is None, "no ssl._ASN1Object")
    def test_names_are_openssls_long_names(self):
        for oid, name in _x509.NAMES.items():
            self.assertEqual(ASN1Object(oid).longname, name, oid)

    @unittest.skipIf(ASN1Object is None, "no ssl._ASN1Object")
    def test_arcs_are_complete(self):
        for arc, numbers in _x509.ARCS.items():
            for n in numbers:
                oid = f"{arc}.{n}"
                try:
                    known = ASN1Object(oid)
                except ValueError:
                    continue
                self.assertIn(oid, _x509.NAMES, known.longname)


class AgainstTheStdlibDecoder(unittest.TestCase):
    @unittest.skipIf(stdlib_decode is None, "no ssl._ssl._test_decode_cert")
    def test_repo_and_system_certificates(self):
        files = [CA, SERVER_CERT, CLIENT_CERT] + system_ca_files()
        for path in files:
            with self.subTest(path=path):
                self.assertEqual(_x509.decode(pem_chain_der(path)[0]), stdlib_decode(path))


class Malformed(unittest.TestCase):
    def test_bad_input_raises_value_error(self):
        der = pem_chain_der(SERVER_CERT)[0]
        for bad in (b"", b"\x30", b"\x30\x00", der[:-1], der + b"\x00", b"\x31" + der[1:],
                    b"\x30\x84\xff\xff\xff\xff", b"\x02\x01\x00"):
            with self.assertRaises(ValueError):
                _x509.decode(bad)

    def test_mutations_decode_or_raise_value_error(self):
        rng = random.Random(1234)
        der = pem_chain_der(SERVER_CERT)[0]
        for _ in range(3000):
            data = bytearray(der)
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            try:
                _x509.decode(bytes(data))
            except ValueError:
                pass


if __name__ == "__main__":
    unittest.main()
