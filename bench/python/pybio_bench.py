#!/usr/bin/env python3
"""pybio vs the stdlib's ssl.MemoryBIO/SSLObject, same work, same process.

Cases (each the median of --runs runs, default 3):
  bulk       client writes 16 KiB chunks, server reads them (MB/s of plaintext)
  pingpong   64-byte request, 64-byte reply (round trips/s)
  handshake  full TLS 1.3 handshake of a new client/server pair (handshakes/s)

Prints one JSON object per line:
  {"bench": "pybio", "case": "bulk", "unit": "MB/s", "pybio": ..., "stdlib": ...,
   "ratio": pybio/stdlib, "runs": 3}
Both sides use the same OpenSSL, TLS 1.3 and the same cipher suite; the stdlib
server sends one session ticket, like sslbio's. --quick shrinks the work for
smoke tests. Run from the repo root after `make`:
  PYTHONPATH=. python3 bench/python/pybio_bench.py
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)

import pybio  # noqa: E402

CERTS = os.environ.get("SSLBIO_CERTS", os.path.join(ROOT, "build", "certs"))
CHUNK = 16 * 1024
PING = 64



# ---- pybio ---------------------------------------------------------------

class PybioPair:
    def __init__(self):
        s = pybio.Context(pybio.SERVER)
        s.load_cert_chain(os.path.join(CERTS, "server.pem"), os.path.join(CERTS, "server.key"))
        s.minimum_version = ssl.TLSVersion.TLSv1_3
        c = pybio.Context(pybio.CLIENT)
        c.load_verify_locations(os.path.join(CERTS, "ca.pem"))
        c.minimum_version = ssl.TLSVersion.TLSv1_3
        self.sctx, self.cctx = s, c

    def connect(self):
        cl = self.cctx.connection(server_hostname="localhost")
        sv = self.sctx.connection()
        # Client flight, server flight, client finished: three exchanges.
        for _ in range(4):
            try:
                cl.do_handshake()
            except ssl.SSLWantReadError:
                pass
            sv.feed(cl.drain())
            try:
                sv.do_handshake()
            except ssl.SSLWantReadError:
                pass
            out = sv.drain()
            if out:
                cl.feed(out)
            if cl.is_handshake_done() and sv.is_handshake_done() and not cl.pending_out:
                break
        return cl, sv


def pybio_bulk(pair, total):
    cl, sv = pair.connect()
    data = b"x" * CHUNK
    cwrite, cdrain, sfeed, sread = cl.write, cl.drain, sv.feed, sv.read
    got = 0
    t0 = time.perf_counter()
    while got < total:
        cwrite(data)
        sfeed(cdrain())
        while True:
            try:
                got += len(sread(CHUNK))
            except ssl.SSLWantReadError:
                break
    dt = time.perf_counter() - t0
    cl.close(), sv.close()
    return dt


def pybio_pingpong(pair, rounds):
    cl, sv = pair.connect()
    msg = b"p" * PING
    cwrite, cdrain, cfeed, cread = cl.write, cl.drain, cl.feed, cl.read
    swrite, sdrain, sfeed, sread = sv.write, sv.drain, sv.feed, sv.read
    t0 = time.perf_counter()
    for _ in range(rounds):
        cwrite(msg)
        sfeed(cdrain())
        req = sread(PING)
        swrite(req)
        cfeed(sdrain())
        cread(PING)
    dt = time.perf_counter() - t0
    cl.close(), sv.close()
    return dt


def pybio_handshakes(pair, count):
    t0 = time.perf_counter()
    for _ in range(count):
        cl, sv = pair.connect()
        cl.close(), sv.close()
    return time.perf_counter() - t0


# ---- stdlib ssl ----------------------------------------------------------

class StdlibPair:
    def __init__(self):
        s = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        s.load_cert_chain(os.path.join(CERTS, "server.pem"), os.path.join(CERTS, "server.key"))
        s.minimum_version = ssl.TLSVersion.TLSv1_3
        s.num_tickets = 1
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        c.load_verify_locations(os.path.join(CERTS, "ca.pem"))
        c.minimum_version = ssl.TLSVersion.TLSv1_3
        self.sctx, self.cctx = s, c
        # is not possible either, so the bench reports the cipher it saw.

    def connect(self):
        ci, co, si, so = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
        cl = self.cctx.wrap_bio(ci, co, server_hostname="localhost")
        sv = self.sctx.wrap_bio(si, so, server_side=True)
        cdone = sdone = False
        for _ in range(4):
            if not cdone:
                try:
                    cl.do_handshake()
                    cdone = True
                except ssl.SSLWantReadError:
                    pass
            si.write(co.read())
            if not sdone:
                try:
                    sv.do_handshake()
                    sdone = True
                except ssl.SSLWantReadError:
                    pass
            out = so.read()
            if out:
                ci.write(out)
            if cdone and sdone and not co.pending:
                break
        return (cl, ci, co), (sv, si, so)


def stdlib_bulk(pair, total):
    (cl, ci, co), (sv, si, so) = pair.connect()
    data = b"x" * CHUNK
    cwrite, cdrain, sfeed, sread = cl.write, co.read, si.write, sv.read
    got = 0
    t0 = time.perf_counter()
    while got < total:
        cwrite(data)
        sfeed(cdrain())
        while True:
            try:
                got += len(sread(CHUNK))
            except ssl.SSLWantReadError:
                break
    return time.perf_counter() - t0


def stdlib_pingpong(pair, rounds):
    (cl, ci, co), (sv, si, so) = pair.connect()
    msg = b"p" * PING
    cwrite, cdrain, cfeed, cread = cl.write, co.read, ci.write, cl.read
    swrite, sdrain, sfeed, sread = sv.write, so.read, si.write, sv.read
    t0 = time.perf_counter()
    for _ in range(rounds):
        cwrite(msg)
        sfeed(cdrain())
        req = sread(PING)
        swrite(req)
        cfeed(sdrain())
        cread(PING)
    return time.perf_counter() - t0


def stdlib_handshakes(pair, count):
    t0 = time.perf_counter()
    for _ in range(count):
        pair.connect()
    return time.perf_counter() - t0


# ---- driver -----------------------------------------------------------------

def measure(fp, fs, pp, sp, work, runs, batches):
    """One rate per run and implementation (work units per second). A run
    cuts the work into batches, the two implementations alternating batch
    by batch (and who goes first), so a busy machine's noise falls on both
    alike; a run's rate uses the median batch time, which a preempted batch
    does not move. The result is the median over the runs."""
    pv, sv = [], []
    per = max(1, work // batches)
    for _ in range(runs):
        tp, ts = [], []
        for i in range(batches):
            if i % 2:
                ts.append(fs(sp, per))
                tp.append(fp(pp, per))
            else:
                tp.append(fp(pp, per))
                ts.append(fs(sp, per))
        pv.append(per / statistics.median(tp))
        sv.append(per / statistics.median(ts))
    return statistics.median(pv), statistics.median(sv)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    ap.add_argument("--cases", default="bulk,pingpong,handshake")
    args = ap.parse_args(argv)
    scale = 0.02 if args.quick else 1.0
    # work per run, and how many alternating batches it is cut into
    sizes = {
        "bulk": (max(CHUNK * 8, int(64 * 1024 * 1024 * scale)), 16),
        "pingpong": (max(200, int(40000 * scale)), 20),
        "handshake": (max(8, int(300 * scale)), 10),
    }
    units = {"bulk": "MB/s", "pingpong": "round trips/s", "handshake": "handshakes/s"}
    fns = {
        "bulk": (pybio_bulk, stdlib_bulk),
        "pingpong": (pybio_pingpong, stdlib_pingpong),
        "handshake": (pybio_handshakes, stdlib_handshakes),
    }
    pp, sp = PybioPair(), StdlibPair()
    (scl, _, _), _ = sp.connect()
    pcl, _ = pp.connect()
    for case in args.cases.split(","):
        fp, fs = fns[case]
        work, batches = sizes[case]
        if args.quick:
            batches = min(batches, 4)
        p, s = measure(fp, fs, pp, sp, work, args.runs, batches)
        if case == "bulk":  # bytes/s -> MB/s
            p, s = p / 1e6, s / 1e6
        print(json.dumps({
            "bench": "pybio", "case": case, "unit": units[case],
            "pybio": round(p, 2), "stdlib": round(s, 2), "ratio": round(p / s, 3),
            "runs": args.runs, "work": work, "quick": args.quick,
            "cipher": {"pybio": pcl.cipher()[0], "stdlib": scl.cipher()[0]},
        }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
