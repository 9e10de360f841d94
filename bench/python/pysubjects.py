#!/usr/bin/env python3
"""The benchmark scenarios for the Python subjects, in the harness's protocol.

Subjects:
  pyssl  the standard library: ssl.MemoryBIO + ssl.SSLObject (wrap_bio)
  pybio  pybio, the ctypes face of sslbio (sans-IO Connection: feed/drain)

Same scenarios as bench/c/scenarios.h and bench/cmd/gobench: client and
server in one thread, ciphertext moved through memory after every call.
Prints one JSON line per measure:
  {"subject": "pyssl", "measure": "bulk", "value": 812.3, "unit": "MB/s", ...}

The standard library cannot choose TLS 1.3 suites, so pyssl runs in child
processes: one whose OpenSSL config (OPENSSL_CONF) limits TLS 1.3 to
TLS_AES_128_GCM_SHA256, and one with OpenSSL's defaults for bulk-default.

  python3 bench/python/pysubjects.py --subject pyssl --measure pingpong --duration 1
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

BULK = 16 * 1024
PING = 64
SUITE = "TLS_AES_128_GCM_SHA256"
MEASURES = ["bulk", "bulk-default", "pingpong", "handshake", "handshake-reuse", "resume",
            "memory", "scale-bulk", "scale-handshake"]
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

AES128_CONF = """openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
Ciphersuites = TLS_AES_128_GCM_SHA256
"""


class Failed(Exception):
    pass


# ---- the standard library ---------------------------------------------------

class PysslEnv:
    """ssl.SSLContext pair; the server sends one ticket and its leaf
    certificate alone, like sslbio's."""

    note = ""
    reused_pair = None  # no way to reset an SSLObject for a new connection

    def __init__(self, certs: str, default_suite: bool) -> None:
        import ssl
        self.ssl = ssl
        self.want_read = ssl.SSLWantReadError
        s = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory() as tmp:  # the leaf alone, like sslbio
            leaf = os.path.join(tmp, "leaf.pem")
            with open(os.path.join(certs, "server.pem")) as f:
                pem = f.read()
            with open(leaf, "w") as f:
                f.write(pem[:pem.index("-----END CERTIFICATE-----") + 25] + "\n")
            s.load_cert_chain(leaf, os.path.join(certs, "server.key"))
        s.num_tickets = 1
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies chain and host name
        c.load_verify_locations(os.path.join(certs, "ca.pem"))
        self.sctx, self.cctx = s, c

    def endpoints(self, session=None):
        ssl = self.ssl
        ci, co, si, so = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
        cl = self.cctx.wrap_bio(ci, co, server_hostname="localhost", session=session)
        sv = self.sctx.wrap_bio(si, so, server_side=True)
        return PysslPair(self, cl, ci, co, sv, si, so)

    def pair(self):
        p = self.endpoints()
        p.handshake()
        p.settle()
        return p

    def handshake(self):
        self.endpoints().handshake()

    def suite(self):
        p = self.endpoints()
        p.handshake()
        return p.cl.cipher()[0]

    def resumer(self):
        return PysslResumer(self)


class PysslPair:
    def __init__(self, env, cl, ci, co, sv, si, so):
        self.env, self.cl, self.ci, self.co, self.sv, self.si, self.so = env, cl, ci, co, sv, si, so
        self.rbuf = self.rview = None  # reserve() before bulk/ping

    def reserve(self):
        """A read buffer for the timed loops (not held by idle pairs, so the
        memory measure counts the connection alone)."""
        self.rbuf = bytearray(BULK)
        self.rview = memoryview(self.rbuf)

    def handshake(self):
        want = self.env.want_read
        cl, sv, ci, co, si, so = self.cl, self.sv, self.ci, self.co, self.si, self.so
        for _ in range(16):
            cdone = sdone = True
            try:
                cl.do_handshake()
            except want:
                cdone = False
            data = co.read()
            if data:
                si.write(data)
            try:
                sv.do_handshake()
            except want:
                sdone = False
            data = so.read()
            if data:
                ci.write(data)
            if cdone and sdone:
                return
        raise Failed("handshake did not finish")

    def settle(self):
        self.cl.write(b"x")
        self.si.write(self.co.read())
        self.sv.read(1)
        self.sv.write(b"x")
        self.ci.write(self.so.read())
        self.cl.read(1)  # takes the session ticket first
        for end in (self.sv, self.cl):  # read until it would block: idle
            try:
                end.read(1)
                raise Failed("idle read returned data")
            except self.env.want_read:
                pass

    def bulk(self, msg):
        self.cl.write(msg)  # a memory BIO takes it all
        self.si.write(self.co.read())
        sread, view, got = self.sv.read, self.rview, 0
        while got < BULK:
            got += sread(BULK - got, view[got:])

    def ping(self, msg):
        self.cl.write(msg)
        self.si.write(self.co.read())
        echo = self.sv.read(PING)
        self.sv.write(echo)
        self.ci.write(self.so.read())
        if len(self.cl.read(PING)) != PING:
            raise Failed("short echo")


class PysslResumer:
    """Resume with the previous connection's ticket (single-use in TLS 1.3);
    the previous client is freed only after that (OpenSSL marks the session
    of an SSL freed without close_notify not resumable)."""

    def __init__(self, env):
        self.env = env
        self.prev = env.pair()
        self.sess = self.prev.cl.session

    def step(self):
        p = self.env.endpoints(self.sess)
        p.handshake()
        if not p.cl.session_reused:
            raise Failed("handshake did not resume")
        try:
            p.cl.read(1)
            raise Failed("data instead of a ticket")
        except self.env.want_read:
            pass  # the new ticket was processed
        self.sess = p.cl.session
        self.prev = p


# ---- pybio ------------------------------------------------------------------

class PybioEnv:
    """pybio Contexts configured like the C subjects."""

    note = ""

    def __init__(self, certs: str, default_suite: bool) -> None:
        sys.path.insert(0, ROOT)
        import pybio
        import ssl
        self.want_read = ssl.SSLWantReadError
        s = pybio.Context(pybio.SERVER)
        s.load_cert_chain(os.path.join(certs, "server.pem"), os.path.join(certs, "server.key"))
        c = pybio.Context(pybio.CLIENT)
        c.load_verify_locations(os.path.join(certs, "ca.pem"))
        if not default_suite:
            s.set_ciphers(None, SUITE)
            c.set_ciphers(None, SUITE)
        self.sctx, self.cctx = s, c

    def endpoints(self, session=None):
        cl = self.cctx.connection(server_hostname="localhost", session=session)
        sv = self.sctx.connection()
        return PybioPair(self, cl, sv)

    def pair(self):
        p = self.endpoints()
        p.handshake()
        p.settle()
        return p

    def handshake(self):
        p = self.endpoints()
        p.handshake()
        p.close()

    def reused_pair(self):
        return self.endpoints()

    def suite(self):
        p = self.endpoints()
        p.handshake()
        name = p.cl.cipher()[0]
        p.close()
        return name

    def resumer(self):
        return PybioResumer(self)


def _move(src, dst):
    data = src.drain()
    while data:
        n = dst.feed(data)
        if n == len(data):
            return
        if n == 0:
            raise Failed("peer engine full")
        data = data[n:]


class PybioPair:
    def __init__(self, env, cl, sv):
        self.env, self.cl, self.sv = env, cl, sv
        self.rbuf = self.rview = None  # reserve() before bulk/ping

    def reserve(self):
        self.rbuf = bytearray(BULK)
        self.rview = memoryview(self.rbuf)

    def close(self):
        self.cl.close()
        self.sv.close()

    def handshake(self):
        want = self.env.want_read
        cl, sv = self.cl, self.sv
        for _ in range(16):
            cdone = sdone = True
            try:
                cl.do_handshake()
            except want:
                cdone = False
            _move(cl, sv)
            try:
                sv.do_handshake()
            except want:
                sdone = False
            _move(sv, cl)
            if cdone and sdone:
                return
        raise Failed("handshake did not finish")

    def send(self, src, dst, msg):
        off, n = 0, len(msg)
        while off < n:
            off += src.write(msg[off:] if off else msg)
            _move(src, dst)

    def settle(self):
        self.send(self.cl, self.sv, b"x")
        self.sv.read(1)
        self.send(self.sv, self.cl, b"x")
        self.cl.read(1)
        for end in (self.sv, self.cl):  # read until it would block: idle
            try:
                end.read(1)
                raise Failed("idle read returned data")
            except self.env.want_read:
                pass

    # The timed loops use pybio's batched calls (write_drain, feed_read):
    # one C call where feed/drain/read/write would make two. Like the
    # stdlib's loops, they check the result at the end: a step that moved
    # less leaves None or a short message there.
    def bulk(self, msg):
        _, data = self.cl.write_drain(msg)
        fed, got = self.sv.feed_read(data, BULK)
        if fed != len(data) or got is None or len(got) != BULK:
            raise Failed("bulk: fed %d of %d, read %s" % (fed, len(data), got and len(got)))

    def ping(self, msg):
        _, data = self.cl.write_drain(msg)
        _, echo = self.sv.feed_read(data, PING)
        _, data = self.sv.write_drain(echo)
        _, back = self.cl.feed_read(data, PING)
        if back is None or len(back) != PING:
            raise Failed("short echo")


class PybioResumer:
    def __init__(self, env):
        self.env = env
        self.prev = env.pair()
        self.sess = self.prev.cl.session
        self.checks = 0

    def step(self):
        p = self.env.endpoints(self.sess)
        p.handshake()
        self.checks += 1
        if self.checks % 64 == 1:  # cheap enough, but not free through ctypes
            reused = p.cl.session_reused
            if not (reused() if callable(reused) else reused):
                raise Failed("handshake did not resume")
        try:
            p.cl.read(1)
            raise Failed("data instead of a ticket")
        except self.env.want_read:
            pass
        self.sess = p.cl.session
        p.sv.close()
        self.prev.cl.close()
        self.prev = p


ENVS = {"pyssl": PysslEnv, "pybio": PybioEnv}


# ---- timing -----------------------------------------------------------------

def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


CPU_CLOCK = False  # --clock cpu: single-thread rates per CPU second of the process


def timed(make_op, threads: int, duration: float) -> float:
    """Units per second summed over `threads` workers (warm-up d/10).
    Operations run in batches that double until one takes a millisecond."""
    rates = [0.0] * threads
    errors = []
    barrier = threading.Barrier(threads)
    clock = time.process_time if CPU_CLOCK and threads == 1 else time.perf_counter

    def worker(i):
        try:
            op = make_op()
            barrier.wait()
            end = clock() + max(duration / 10, 0.02)
            while clock() < end:
                op()
            work, t0, batch = 0.0, clock(), 1
            end = t0 + duration
            t = t0
            while t < end:
                t1 = t
                for _ in range(batch):
                    work += op()
                t = clock()
                if t - t1 < 1e-3:
                    batch *= 2
            rates[i] = work / (t - t0)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
            barrier.abort()

    if threads == 1:
        worker(0)
    else:
        ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    if errors:
        raise errors[0]
    return sum(rates)


def bulk_op(env):
    def make():
        p = env.pair()
        p.reserve()
        msg = b"a" * BULK

        def op():
            p.bulk(msg)
            return BULK
        return op
    return make


def ping_op(env):
    def make():
        p = env.pair()
        p.reserve()
        msg = b"a" * PING

        def op():
            p.ping(msg)
            return 1
        return op
    return make


def handshake_op(env):
    def make():
        def op():
            env.handshake()
            return 1
        return op
    return make


def reuse_op(env):
    """Full handshakes on one pair of engines reset each time (pybio's
    Connection.reset); the stdlib has no reset (env.reused_pair is None)."""
    def make():
        p = env.reused_pair()

        def op():
            p.cl.reset(server_hostname="localhost")
            p.sv.reset()
            p.handshake()
            return 1
        return op
    return make


def resume_op(env):
    def make():
        r = env.resumer()

        def op():
            r.step()
            return 1
        return op
    return make


def memory(env, n: int) -> dict:
    for _ in range(16):
        env.pair()
    gc.collect()
    before = rss_bytes()
    keep = [env.pair() for _ in range(n)]
    gc.collect()
    after = rss_bytes()
    del keep
    return {"measure": "memory", "value": (after - before) / 1024 / (2 * n), "unit": "KiB/conn",
            "conns": n, "rss_before_kib": before // 1024, "rss_after_kib": after // 1024}


def run(subject: str, label: str, measures: list, certs: str, duration: float, conns: int,
        default_suite: bool = False) -> None:
    env = ENVS[subject](certs, default_suite)
    suite = env.suite()

    def out(r):
        r = {"subject": label, **r}
        if CPU_CLOCK and r["measure"] != "memory" and not r["measure"].startswith("scale"):
            r["clock"] = "cpu"
        if r["measure"] != "memory" and not r["measure"].startswith("scale"):
            r.setdefault("suite", suite)
        if env.note:
            r["note"] = env.note
        print(json.dumps(r), flush=True)

    if "bulk" in measures:
        out({"measure": "bulk", "value": timed(bulk_op(env), 1, duration) / 1e6, "unit": "MB/s"})
    if "bulk-default" in measures:
        denv = ENVS[subject](certs, True)
        out({"measure": "bulk-default", "value": timed(bulk_op(denv), 1, duration) / 1e6,
             "unit": "MB/s", "suite": denv.suite()})
    if "pingpong" in measures:
        out({"measure": "pingpong", "value": timed(ping_op(env), 1, duration), "unit": "rt/s"})
    if "handshake" in measures:
        out({"measure": "handshake", "value": timed(handshake_op(env), 1, duration), "unit": "hs/s"})
    if "handshake-reuse" in measures and env.reused_pair is not None:
        out({"measure": "handshake-reuse", "value": timed(reuse_op(env), 1, duration),
             "unit": "hs/s"})
    if "resume" in measures:
        out({"measure": "resume", "value": timed(resume_op(env), 1, duration), "unit": "hs/s"})
    if "memory" in measures:
        out(memory(env, conns))
    for name, of, mk in (("scale-bulk", "bulk", bulk_op), ("scale-handshake", "handshake", handshake_op)):
        if name in measures:
            one = timed(mk(env), 1, duration)
            two = timed(mk(env), 2, duration)
            out({"measure": name, "value": two / one, "unit": "x", "one_thread": one,
                 "two_threads": two, "of": of})


def run_pyssl_children(args, measures: list) -> int:
    """pyssl: AES-128 through an OpenSSL config in one child, the default
    suite in another (the stdlib has no TLS 1.3 suite setter)."""
    base = [sys.executable, os.path.abspath(__file__), "--subject", "pyssl", "--label", args.label,
            "--duration", str(args.duration), "--conns", str(args.conns), "--certs", args.certs,
            "--clock", args.clock]
    rc = 0
    with tempfile.TemporaryDirectory() as tmp:
        conf = os.path.join(tmp, "aes128.cnf")
        with open(conf, "w") as f:
            f.write(AES128_CONF)
        main_measures = [m for m in measures if m != "bulk-default"]
        if main_measures:
            env = dict(os.environ, OPENSSL_CONF=conf)
            rc |= subprocess.call(base + ["--child", "--measure", ",".join(main_measures)], env=env)
        if "bulk-default" in measures:
            env = {k: v for k, v in os.environ.items() if k != "OPENSSL_CONF"}
            rc |= subprocess.call(base + ["--child", "--default-suite", "--measure", "bulk-default"],
                                  env=env)
    return rc


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Python subjects of the sslbio benchmarks")
    ap.add_argument("--subject", choices=sorted(ENVS), default="pyssl")
    ap.add_argument("--label", default=None, help="subject name to print")
    ap.add_argument("--measure", default="all", help="all or comma-separated of " + ", ".join(MEASURES))
    ap.add_argument("--duration", type=float, default=1.0, help="seconds per timed run")
    ap.add_argument("--conns", type=int, default=10000, help="connections for the memory measure")
    ap.add_argument("--certs", default=os.path.join(ROOT, "build", "certs"))
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="cpu: single-thread rates per CPU second of the process")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--default-suite", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.label = args.label or args.subject
    global CPU_CLOCK
    CPU_CLOCK = args.clock == "cpu"
    measures = MEASURES if args.measure == "all" else args.measure.split(",")
    unknown = [m for m in measures if m not in MEASURES]
    if unknown or args.duration <= 0 or args.conns <= 0:
        ap.error("bad measure, duration or conns: %s" % unknown)
    try:
        if args.subject == "pyssl" and not args.child:
            return run_pyssl_children(args, measures)
        if args.default_suite:  # pyssl child with OpenSSL's default suites
            env = ENVS[args.subject](args.certs, True)
            out = {"subject": args.label, "measure": "bulk-default",
                   "value": timed(bulk_op(env), 1, args.duration) / 1e6, "unit": "MB/s",
                   "suite": env.suite()}
            if CPU_CLOCK:
                out["clock"] = "cpu"
            print(json.dumps(out), flush=True)
            return 0
        run(args.subject, args.label, measures, args.certs, args.duration, args.conns)
    except Exception as e:  # noqa: BLE001 - one line for the harness
        print("%s: %s: %s" % (args.label, type(e).__name__, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
