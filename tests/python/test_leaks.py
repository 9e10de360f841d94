"""No leak when objects are dropped: RSS (from /proc/self/statm) stays flat
over 10,000 connections created and dropped, in several shapes."""

from __future__ import annotations

import gc
import os
import ssl
import unittest

from support import Link, pybio_client, pybio_server, read_all, statm_rss_kib

import pybio

# Allowed RSS growth over a whole run, after warming up. A leak of even
# 1 KiB per connection would be ~10 MiB over 10,000 connections.
BUDGET_KIB = 6 * 1024


class Transport:
    def read(self, n):
        return None

    def write(self, data):
        return len(data)


@unittest.skipUnless(os.path.exists("/proc/self/statm"), "needs /proc/self/statm")
class NoLeaks(unittest.TestCase):
    def measure(self, make, count=10_000, warmup=1_000):
        for i in range(warmup):
            make(i)
        gc.collect()
        before = statm_rss_kib()
        for i in range(count):
            make(i)
        gc.collect()
        after = statm_rss_kib()
        return before, after

    def check(self, name, make, **kw):
        before, after = self.measure(make, **kw)
        growth = after - before
        print(f"\n  {name}: RSS {before} KiB -> {after} KiB ({growth:+d} KiB)", end="")
        self.assertLess(growth, BUDGET_KIB, f"{name}: RSS grew {growth} KiB")

    def test_connections_created_and_dropped(self):
        cctx, sctx = pybio_client(), pybio_server()

        def make(i):
            c = cctx.connection(server_hostname="localhost")
            s = sctx.connection()
            # Some work so buffers get allocated: the ClientHello, fed.
            try:
                c.do_handshake()
            except ssl.SSLWantReadError:
                pass
            s.feed(c.drain())
            if i % 2:
                c.close()  # explicit close for half, GC for the rest
        self.check("10,000 connection pairs", make)

    def test_contexts_dropped_before_connections(self):
        def make(i):
            ctx = pybio.Context(pybio.CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            conn = ctx.connection()
            del ctx  # the connection keeps the C context alive
            conn.drain()
        self.check("10,000 context+connection, context first", make)

    def test_wrap_bio_callbacks_released(self):
        ctx = pybio_client()
        transport = Transport()

        def make(i):
            conn = ctx.wrap_bio(transport, server_hostname="localhost")
            try:
                conn.do_handshake()
            except ssl.SSLWantReadError:
                pass
        self.check("10,000 wrap_bio connections", make)

    def test_established_connections(self):
        cctx, sctx = pybio_client(), pybio_server()

        def make(i):
            c = cctx.connection(server_hostname="localhost")
            s = sctx.connection()
            link = Link(c, s)
            link.handshake()
            c.write(b"x" * 1000)
            link.pump()
            read_all(s)
            c.session  # noqa: B018 - exercise the session buffer
        self.check("300 full handshakes + data", make, count=300, warmup=50)

    def test_errors_do_not_leak(self):
        sctx = pybio_server()

        def make(i):
            s = sctx.connection()
            s.feed(b"garbage" * 10)
            try:
                s.do_handshake()
            except ssl.SSLError:
                pass
        self.check("10,000 failed handshakes", make)


if __name__ == "__main__":
    unittest.main()
