"""Hand-off between Python and C: a context configured in Python is used by
C code (a tiny helper compiled here with gcc against include/sslbio.h and
the same libsslbio, loaded with ctypes into this process), a context made
in C is adopted by Python (Context.from_handle), connections made in
Python are driven by C — and every object is freed in every order."""

from __future__ import annotations

import ctypes
import itertools
import os
import shutil
import ssl
import subprocess
import tempfile
import unittest

from support import (OTHER_CA, ROOT, SERVER_CERT, SERVER_KEY, Link, pybio_client, pybio_server,
                     read_text)

import pybio

HELPER_C = r"""
#include <string.h>
#include "sslbio.h"

/* Move ciphertext both ways until neither side has any; 0 or a status. */
static int pump(sslbio_conn *a, sslbio_conn *b) {
  char buf[65536];
  for (int moved = 1; moved;) {
    moved = 0;
    sslbio_conn *from[2] = {a, b}, *to[2] = {b, a};
    for (int i = 0; i < 2; i++) {
      long n = sslbio_conn_drain(from[i], buf, sizeof buf);
      if (n < 0) return (int)n;
      for (long off = 0; off < n;) {
        long k = sslbio_conn_feed(to[i], buf + off, (size_t)(n - off));
        if (k <= 0) return k < 0 ? (int)k : -100; /* the peer must take a flight */
        off += k;
        moved = 1;
      }
    }
  }
  return 0;
}

/* Drive two engines (made anywhere) through the handshake. */
int helper_drive(sslbio_conn *client, sslbio_conn *server) {
  for (int round = 0; round < 10; round++) {
    int c = sslbio_conn_handshake(client), s = sslbio_conn_handshake(server);
    if (c != SSLBIO_OK && c != SSLBIO_WANT_READ) return c;
    if (s != SSLBIO_OK && s != SSLBIO_WANT_READ) return s;
    int p = pump(client, server);
    if (p) return p;
    if (c == SSLBIO_OK && s == SSLBIO_OK) return 0;
  }
  return -101;
}

/* Handshake and one echo between engines made in C from the two contexts. */
int helper_handshake(sslbio_ctx *client_ctx, sslbio_ctx *server_ctx, const char *name) {
  sslbio_conn *c = sslbio_conn_new(client_ctx, name), *s = sslbio_conn_new(server_ctx, NULL);
  int rc = (c && s) ? helper_drive(c, s) : -102;
  if (rc == 0) {
    char got[16] = {0};
    if (sslbio_conn_write(c, "hello", 5) != 5 || pump(c, s) != 0 ||
        sslbio_conn_read(s, got, sizeof got) != 5 || memcmp(got, "hello", 5) != 0)
      rc = -103;
  }
  sslbio_conn_free(c);
  sslbio_conn_free(s);
  return rc;
}

/* A server context configured in C alone; the caller owns the reference. */
sslbio_ctx *helper_server_ctx(const char *cert, const char *key) {
  sslbio_ctx *ctx = sslbio_ctx_new(SSLBIO_SERVER);
  if (!ctx || sslbio_ctx_use_certificate_chain_file(ctx, cert) != SSLBIO_OK ||
      sslbio_ctx_use_private_key_file(ctx, key) != SSLBIO_OK) {
    sslbio_ctx_free(ctx);
    return NULL;
  }
  return ctx;
}

/* C code that keeps a context it was handed takes its own reference. */
sslbio_ctx *helper_keep(sslbio_ctx *ctx) { return sslbio_ctx_ref(ctx); }
void helper_release(sslbio_ctx *ctx) { sslbio_ctx_free(ctx); }
sslbio_conn *helper_conn(sslbio_ctx *ctx, const char *name) { return sslbio_conn_new(ctx, name); }
void helper_conn_free(sslbio_conn *conn) { sslbio_conn_free(conn); }
const char *(*helper_version_fn(void))(void) { return sslbio_version; }
"""


def build_helper(tmp: str) -> ctypes.CDLL:
    src = os.path.join(tmp, "helper.c")
    out = os.path.join(tmp, "helper.so")
    with open(src, "w") as f:
        f.write(HELPER_C)
    libdir = os.path.dirname(pybio.LIBRARY_PATH)
    libname = os.path.basename(pybio.LIBRARY_PATH)
    cmd = ["gcc", "-shared", "-fPIC", "-O1", "-Wall", "-Werror",
           "-I", os.path.join(ROOT, "include"), src, "-o", out,
           pybio.LIBRARY_PATH if not libname.startswith("libsslbio.so") else f"-L{libdir}",
           f"-Wl,-rpath,{libdir}"]
    if libname.startswith("libsslbio.so"):
        cmd.append("-lsslbio")
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    lib = ctypes.CDLL(out)
    P = ctypes.c_void_p
    lib.helper_drive.argtypes = [P, P]
    lib.helper_handshake.argtypes = [P, P, ctypes.c_char_p]
    lib.helper_server_ctx.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    lib.helper_server_ctx.restype = P
    lib.helper_keep.argtypes = [P]
    lib.helper_keep.restype = P
    lib.helper_release.argtypes = [P]
    lib.helper_release.restype = None
    lib.helper_conn.argtypes = [P, ctypes.c_char_p]
    lib.helper_conn.restype = P
    lib.helper_conn_free.argtypes = [P]
    lib.helper_conn_free.restype = None
    lib.helper_version_fn.restype = P
    return lib


@unittest.skipIf(shutil.which("gcc") is None, "gcc not found")
class HandOff(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pybio-handoff-")
        cls.helper = build_helper(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_same_library_instance(self):
        ours = ctypes.cast(pybio._lib._fast.sslbio_version, ctypes.c_void_p).value
        self.assertEqual(self.helper.helper_version_fn(), ours)

    def test_python_contexts_used_by_c(self):
        cctx, sctx = pybio_client(alpn=["h2"]), pybio_server(alpn=["h2"])
        self.assertEqual(self.helper.helper_handshake(cctx.handle, sctx.handle, b"localhost"), 0)
        # The contexts are frozen now, by C's engines.
        with self.assertRaises(ValueError):
            sctx.set_alpn_protocols(["x"])
        # Verification configured in Python is enforced in C.
        bad = pybio.Context(pybio.CLIENT)
        bad.load_verify_locations(cadata=read_text(OTHER_CA))
        self.assertEqual(self.helper.helper_handshake(bad.handle, sctx.handle, b"localhost"),
                         pybio._lib.ERROR)

    def test_c_context_adopted_by_python(self):
        h = self.helper.helper_server_ctx(SERVER_CERT.encode(), SERVER_KEY.encode())
        self.assertTrue(h)
        sctx = pybio.Context.from_handle(h)
        self.helper.helper_release(h)  # C drops its reference; Python holds its own
        self.assertEqual(sctx.role, pybio.SERVER)
        self.assertEqual(sctx.verify_mode, ssl.CERT_NONE)
        self.assertEqual(sctx.handle, h)
        client = pybio_client().connection(server_hostname="localhost")
        server = sctx.connection()
        self.assertTrue(server.server_side)
        link = Link(client, server)
        link.handshake()
        self.assertEqual(link.send(client, server, b"adopted"), b"adopted")

    def test_from_handle_of_python_context(self):
        ctx = pybio_client()
        twin = pybio.Context.from_handle(ctx.handle)
        self.assertEqual(twin.role, pybio.CLIENT)
        self.assertEqual(twin.verify_mode, ssl.CERT_REQUIRED)
        ctx.close()  # the twin's reference keeps it alive
        conn = twin.connection(server_hostname="localhost")
        Link(conn, pybio_server().connection()).handshake()
        with self.assertRaises(ValueError):
            pybio.Context.from_handle(0)
        with self.assertRaises(ValueError):  # the role is the context's own
            pybio.Context.from_handle(twin.handle, pybio.SERVER)
        self.assertEqual(pybio.Context.from_handle(twin.handle, pybio.CLIENT).role, pybio.CLIENT)

    def test_python_connections_driven_by_c(self):
        client = pybio_client().connection(server_hostname="localhost")
        server = pybio_server().connection()
        self.assertEqual(self.helper.helper_drive(client.handle, server.handle), 0)
        self.assertEqual(client.version(), "TLSv1.3")
        link = Link(client, server)
        self.assertEqual(link.send(client, server, b"driven in C"), b"driven in C")

    def test_free_in_every_order(self):
        """Python context, C's extra reference, a Python connection and a C
        connection: released in all 24 orders, each followed by a check
        that whatever is still alive still works."""
        steps = ("py_ctx", "c_ref", "py_conn", "c_conn")
        for order in itertools.permutations(steps):
            with self.subTest(order=order):
                ctx = pybio_client()
                c_ref = self.helper.helper_keep(ctx.handle)
                py_conn = ctx.connection(server_hostname="localhost")
                c_conn = self.helper.helper_conn(c_ref, b"localhost")
                self.assertTrue(c_conn)
                alive = set(steps)
                for step in order:
                    if step == "py_ctx":
                        ctx.close()
                    elif step == "c_ref":
                        self.helper.helper_release(c_ref)
                    elif step == "py_conn":
                        py_conn.close()
                    else:
                        self.helper.helper_conn_free(c_conn)
                    alive.discard(step)
                    # Whatever is alive still works.
                    if "py_conn" in alive:
                        self.assertIsNone(py_conn.version())
                    if "c_conn" in alive:
                        if not pybio._lib.conn_is_handshake_done(c_conn):
                            srv = pybio_server().connection()
                            self.assertEqual(self.helper.helper_drive(c_conn, srv.handle), 0)
                        self.assertEqual(pybio._lib.conn_version(c_conn), b"TLSv1.3")
                    if "c_ref" in alive:
                        srv_ctx = pybio_server()
                        self.assertEqual(self.helper.helper_handshake(
                            c_ref, srv_ctx.handle, b"localhost"), 0)
                del py_conn

    def test_drop_without_close(self):
        """Python objects dropped in either order (the GC frees them)."""
        for first in ("ctx", "conn"):
            ctx = pybio_client()
            conn = ctx.connection(server_hostname="localhost")
            if first == "ctx":
                del ctx
                self.assertIsNone(conn.version())
                del conn
            else:
                del conn
                ctx.connection(server_hostname="localhost")
                del ctx


if __name__ == "__main__":
    unittest.main()
