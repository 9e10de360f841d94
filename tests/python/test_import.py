"""Loading the library: search order, clear ImportErrors, the ABI check,
and a declaration (argtypes/restype) for every C function of the header."""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

from support import HERE, ROOT

import pybio
from pybio import _lib

HEADER = os.path.join(ROOT, "include", "sslbio.h")


def header_functions():
    with open(HEADER) as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = {}
    for decl in re.findall(r"SSLBIO_API\s+([^;]*?\))\s*;", text, flags=re.S):
        m = re.match(r"(.*?)\b(sslbio_\w+)\s*\((.*)\)$", " ".join(decl.split()), flags=re.S)
        ret, name, args = m.group(1).strip(), m.group(2), m.group(3).strip()
        nargs = 0 if args in ("", "void") else args.count(",") + 1
        out[name] = (ret, nargs, args)
    return out


def run_import(env_extra, pkg_parent):
    env = {k: v for k, v in os.environ.items() if k != "SSLBIO_LIBRARY"}
    env.update(env_extra)
    env["PYTHONPATH"] = pkg_parent
    # cwd: a neutral directory, so "" on sys.path cannot supply another pybio
    return subprocess.run([sys.executable, "-c", "import pybio; print(pybio.LIBRARY_PATH)"],
                          capture_output=True, text=True, env=env, timeout=60,
                          cwd=tempfile.gettempdir())


class Declarations(unittest.TestCase):
    def test_every_header_function_is_declared(self):
        funcs = header_functions()
        self.assertGreaterEqual(len(funcs), 50)
        self.assertEqual(set(funcs), set(_lib.SIGNATURES))
        for name, (ret, nargs, args) in funcs.items():
            restype, argtypes, _ = _lib.SIGNATURES[name]
            with self.subTest(name=name):
                self.assertEqual(len(argtypes), nargs, args)
                self.assertEqual(restype is None, ret == "void")
                fn = getattr(_lib, name[len("sslbio_"):])
                self.assertEqual(fn.argtypes, argtypes)
                self.assertIs(fn.restype, restype)

    def test_abi_table_matches(self):
        table = _lib.api(_lib.ABI_VERSION).contents
        self.assertEqual(table.abi, 1)
        self.assertGreaterEqual(table.size, ctypes.sizeof(_lib.ApiV1))
        self.assertFalse(_lib.api(999))
        self.assertEqual(pybio.LIBRARY_VERSION, "0.1.0")
        self.assertEqual(pybio.ABI_VERSION, 1)

    def test_public_contract_names(self):
        for name in ("CLIENT", "SERVER", "Context", "Connection", "SSLError", "SSLWantReadError",
                     "SSLWantWriteError", "SSLZeroReturnError", "SSLEOFError",
                     "SSLCertVerificationError"):
            self.assertTrue(hasattr(pybio, name), name)
        for name in ("load_cert_chain", "load_verify_locations", "set_alpn_protocols",
                     "verify_mode", "handle", "from_handle", "connection", "wrap_bio",
                     "check_hostname", "minimum_version", "maximum_version", "set_ciphers"):
            self.assertTrue(hasattr(pybio.Context, name), name)
        for name in ("feed", "feed_eof", "drain", "pending_out", "do_handshake", "read", "write",
                     "shutdown", "unwrap", "version", "cipher", "selected_alpn_protocol",
                     "handle", "wants", "key_update", "session", "set_session", "pending",
                     "getpeercert", "server_hostname", "server_side", "feed_into", "drain_to",
                     "reset", "server_name", "peer_chain", "session_reused"):
            self.assertTrue(hasattr(pybio.Connection, name), name)


# Run in a fresh interpreter: every symbol looked up in libsslbio while pybio
# is imported and drives a handshake, data, a resumption, errors and every
# information call, recorded at ctypes' lookup (CDLL.__getitem__).
HEADER_ONLY = f"""
import ctypes, json, ssl, sys
seen = set()
lookup = ctypes.CDLL.__getitem__
def record(self, name):
    seen.add((self._name, name if isinstance(name, str) else repr(name)))
    return lookup(self, name)
ctypes.CDLL.__getitem__ = record
sys.path[:0] = [{ROOT!r}, {HERE!r}]
import pybio
from support import Link, SERVER_CERT, SERVER_KEY, pybio_client, pybio_server
ctx = pybio_client()
c, s = ctx.connection(server_hostname="localhost"), pybio_server().connection()
link = Link(c, s)
link.handshake()
link.send(c, s, b"x"); link.send(s, c, b"y")
for conn in (c, s):
    conn.getpeercert(); conn.peer_chain(); conn.cipher(); conn.version(); conn.pending()
    conn.server_name; conn.session_reused; conn.selected_alpn_protocol(); conn.wants()
r = ctx.connection(server_hostname="localhost", session=c.session)
Link(r, pybio_server().connection()).handshake()
bad = pybio_client(ca=None).connection(server_hostname="localhost")
try:
    Link(bad, pybio_server().connection()).handshake()
except ssl.SSLError as exc:
    pass
k = pybio.Context(pybio.SERVER); k.check_hostname = False
k.load_cert_chain(SERVER_CERT, SERVER_KEY, password="unused")
pybio.Context.from_handle(k.handle).verify_mode
print(json.dumps(sorted(n for lib, n in seen if lib == pybio.LIBRARY_PATH)))
"""


class HeaderOnly(unittest.TestCase):
    def test_only_header_functions_are_looked_up(self):
        env = {k: v for k, v in os.environ.items() if k != "SSLBIO_LIBRARY"}
        r = subprocess.run([sys.executable, "-c", HEADER_ONLY], capture_output=True, text=True,
                           env=env, timeout=60, cwd=tempfile.gettempdir())
        self.assertEqual(r.returncode, 0, r.stderr)
        looked_up = set(json.loads(r.stdout.splitlines()[-1]))
        self.assertTrue(looked_up, "no lookup recorded")
        self.assertEqual(looked_up - set(header_functions()), set())
        self.assertEqual([n for n in dir(_lib) if n.startswith("ssl_")], [])

    def test_no_private_stdlib_parts(self):
        for name in sorted(os.listdir(os.path.join(ROOT, "pybio"))):
            if not name.endswith(".py"):
                continue
            with open(os.path.join(ROOT, "pybio", name)) as f:
                text = f.read()
            for private in ("_test_decode_cert", "err_codes_to_names", "lib_codes_to_names",
                            "from _ssl", "import _ssl", "ssl._ssl", "tempfile"):
                self.assertNotIn(private, text, name)


class Discovery(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pybio-import-")
        shutil.copytree(os.path.join(ROOT, "pybio"), os.path.join(self.tmp, "pybio"),
                        ignore=shutil.ignore_patterns("__pycache__"))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_repo_build_found_relative_to_package(self):
        r = run_import({}, ROOT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), os.path.join(ROOT, "build", "libsslbio.so"))

    def test_env_var_first(self):
        copy = os.path.join(self.tmp, "libsslbio-copy.so")
        shutil.copy(pybio.LIBRARY_PATH, copy)
        r = run_import({"SSLBIO_LIBRARY": copy}, ROOT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), copy)

    def test_bad_env_var_is_an_error(self):
        r = run_import({"SSLBIO_LIBRARY": "/nonexistent/libsslbio.so"}, ROOT)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("ImportError", r.stderr)
        self.assertIn("SSLBIO_LIBRARY", r.stderr)

    def test_not_found_names_all_three(self):
        import ctypes.util
        if ctypes.util.find_library("sslbio"):
            self.skipTest("a system libsslbio is installed")
        r = run_import({}, self.tmp)  # package copy with no build/ beside it
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("ImportError", r.stderr)
        for words in ("$SSLBIO_LIBRARY", "build/libsslbio.so", "find_library('sslbio')",
                      "pip install ./pybio", "libssl-dev"):
            self.assertIn(words, r.stderr)

    @unittest.skipIf(shutil.which("gcc") is None, "gcc not found")
    def test_abi_and_symbol_checks(self):
        # A stub with every symbol whose sslbio_api() returns NULL.
        funcs = header_functions()
        lines = ['#include "sslbio.h"']
        for name, (ret, nargs, args) in funcs.items():
            body = "" if ret == "void" else f"return ({ret})0;"
            lines.append(f"{ret} {name}({args}) {{ {body} }}")
        src = os.path.join(self.tmp, "stub.c")
        with open(src, "w") as f:
            f.write("\n".join(lines) + "\n")
        stub = os.path.join(self.tmp, "libstub.so")
        subprocess.run(["gcc", "-shared", "-fPIC", "-I", os.path.join(ROOT, "include"), src,
                        "-o", stub], check=True, capture_output=True)
        r = run_import({"SSLBIO_LIBRARY": stub}, ROOT)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("does not provide ABI version 1", r.stderr)
        # A library lacking symbols.
        empty_src = os.path.join(self.tmp, "empty.c")
        with open(empty_src, "w") as f:
            f.write("int nothing_here(void) { return 0; }\n")
        empty = os.path.join(self.tmp, "libempty.so")
        subprocess.run(["gcc", "-shared", "-fPIC", empty_src, "-o", empty], check=True,
                       capture_output=True)
        r = run_import({"SSLBIO_LIBRARY": empty}, ROOT)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("lacks sslbio_", r.stderr)


if __name__ == "__main__":
    unittest.main()
