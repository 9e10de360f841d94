#!/usr/bin/env python3
"""The sslbio benchmark harness (`make bench`): every subject, every measure,
in one run, standard library only.

Each subject is a program speaking one protocol: it takes
  --measure LIST --duration SEC --conns N --certs DIR
and prints one JSON line per measure,
  {"subject": ..., "measure": ..., "value": ..., "unit": ...[, extras]}.
The harness runs each subject --runs times (interleaved, so the machine's
noise is shared), takes the median and the min-max, and writes
  - a table on stdout (each figure, its ratio to the plain-C ceiling, Go
    subjects also to crypto/tls, Python subjects also to the stdlib),
  - build/bench/results.json and build/bench/results.md,
  - build/bench/chart.svg (grouped bars per measure, drawn here),
and, after a full run, copies the table and chart to docs/bench/.

  python3 bench/run.py                       # everything (make bench)
  python3 bench/run.py --only capi:pingpong  # one figure
  python3 bench/run.py --quick               # smoke test (make test-bench)
See bench/README.md.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import html
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.join(ROOT, "build", "bench")

MEASURES = ["bulk", "bulk-default", "pingpong", "handshake", "handshake-reuse", "resume",
            "memory", "scale-bulk", "scale-handshake"]
TITLES = {
    "bulk": "bulk 16 KiB, TLS_AES_128_GCM_SHA256",
    "bulk-default": "bulk 16 KiB, default suite",
    "pingpong": "64 B ping-pong",
    "handshake": "full TLS 1.3 handshakes",
    "handshake-reuse": "full handshakes, engines reset and reused",
    "resume": "resumed handshakes",
    "memory": "memory per idle connection (lower is better)",
    "scale-bulk": "bulk, 2 threads / 1 thread",
    "scale-handshake": "handshakes, 2 threads / 1 thread",
}
LOWER_IS_BETTER = {"memory"}
# Measures only some subjects can make: the others have no call to reset an
# engine for a new connection (crypto/tls, go-openssl, the stdlib).
APPLIES = {"handshake-reuse": ("ceiling", "capi", "go", "pybio")}
# Ratios of these compare with the reference's plain measure: a reused
# engine against the naive C that makes a new SSL (and the peers that can
# only do that), the way the targets are stated.
BASELINE_OF = {"handshake-reuse": "handshake"}

# name -> (description, command prefix, family)
SUBJECTS = {
    "ceiling": ("plain C on OpenSSL, BIO pairs (bench/c/ceiling.c)",
                [os.path.join(BUILD, "ceiling")], "c"),
    "capi": ("sslbio C API, libsslbio.so (bench/c/capi_bench.c)",
             [os.path.join(BUILD, "capi_bench")], "c"),
    "go": ("sslbio Go API (bench/cmd/gobench -subject go)",
           [os.path.join(BUILD, "gobench"), "-subject", "go"], "go"),
    "cryptotls": ("Go crypto/tls over memconn",
                  [os.path.join(BUILD, "gobench"), "-subject", "cryptotls"], "go"),
    "goopenssl": ("github.com/libp2p/go-openssl v0.1.0 over memconn",
                  [os.path.join(BUILD, "gobench"), "-subject", "goopenssl"], "go"),
    "pybio": ("pybio (ctypes over libsslbio.so)",
              [sys.executable, os.path.join(HERE, "python", "pysubjects.py"), "--subject", "pybio"], "py"),
    "pyssl": ("Python stdlib ssl.MemoryBIO + SSLObject",
              [sys.executable, os.path.join(HERE, "python", "pysubjects.py"), "--subject", "pyssl"], "py"),
}
ORDER = ["ceiling", "capi", "go", "cryptotls", "goopenssl", "pybio", "pyssl"]
COLORS = {"ceiling": "#4d4d4d", "capi": "#1f77b4", "go": "#2ca02c", "cryptotls": "#98df8a",
          "goopenssl": "#bcbd22", "pybio": "#d62728", "pyssl": "#ff9896"}
# Second reference column per family.
PEER = {"go": "cryptotls", "goopenssl": "cryptotls", "pybio": "pyssl"}
# The pybio helper's own script: used as a subject when it speaks the
# protocol above, else run once as a cross-check of pybio vs the stdlib.
PYBIO_SCRIPT = os.path.join(HERE, "python", "pybio_bench.py")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pybio_script_speaks_protocol() -> bool:
    if not os.path.exists(PYBIO_SCRIPT):
        return False
    try:
        out = subprocess.run([sys.executable, PYBIO_SCRIPT, "--help"], capture_output=True,
                             text=True, timeout=30, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return all(f in out.stdout for f in ("--measure", "--duration", "--conns", "--certs"))


def parse_only(spec: str):
    """"capi:pingpong,go" -> {"capi": ["pingpong"], "go": MEASURES}."""
    want = {}
    for item in filter(None, re.split(r"[\s;]+", spec)):
        for part in item.split(","):
            if not part:
                continue
            subj, _, meas = part.partition(":")
            if subj not in SUBJECTS:
                if subj in MEASURES and not meas:  # "--only pingpong": every subject
                    for s in ORDER:
                        want.setdefault(s, [])
                        if subj not in want[s]:
                            want[s].append(subj)
                    continue
                raise SystemExit("unknown subject %r (known: %s)" % (subj, ", ".join(ORDER)))
            ms = meas.split("+") if meas else MEASURES
            for m in ms:
                if m not in MEASURES:
                    raise SystemExit("unknown measure %r (known: %s)" % (m, ", ".join(MEASURES)))
            want.setdefault(subj, [])
            want[subj] += [m for m in ms if m not in want[subj]]
    return want


def run_subject(name, measures, args, conns):
    """One invocation; returns (lines, error)."""
    cmd = SUBJECTS[name][1] + ["--measure", ",".join(measures), "--duration", str(args.duration),
                               "--conns", str(conns), "--certs", args.certs]
    if args.clock != "wall":
        cmd += ["--clock", args.clock]
    budget = 120 + len(measures) * args.duration * 4 + (conns / 100 if "memory" in measures else 0)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=budget, cwd=ROOT, env=env)
    except subprocess.TimeoutExpired:
        return [], "timed out after %.0f s" % budget
    except OSError as e:
        return [], str(e)
    lines = []
    for line in p.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                pass
    err = None
    if p.returncode != 0:
        tail = [l for l in p.stderr.strip().splitlines() if l.strip()][-3:]
        err = "exit %d: %s" % (p.returncode, " | ".join(tail) or "no message")
    return lines, err


def command_for(name, measure, args):
    """The command that reproduces one figure alone."""
    rel = [os.path.relpath(c, ROOT) if os.path.isabs(c) and c.startswith(ROOT) else c
           for c in SUBJECTS[name][1]]
    if rel and rel[0] == sys.executable:
        rel[0] = "python3"
    conns = args.conns if measure == "memory" else None
    extra = ["--conns", str(conns)] if conns else []
    if args.clock != "wall" and measure != "memory" and not measure.startswith("scale"):
        extra += ["--clock", args.clock]
    return " ".join(rel + ["--measure", measure, "--duration", str(args.duration)] + extra)


def machine_info():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass

    def cmd(*c):
        try:
            return subprocess.run(c, capture_output=True, text=True, timeout=30, cwd=ROOT).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""
    commit = cmd("git", "rev-parse", "--short", "HEAD")
    if cmd("git", "status", "--porcelain", "--untracked-files=no"):
        commit += "+dirty"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": cmd("nproc") or str(os.cpu_count()),
        "cpu": cpu,
        "kernel": platform.release(),
        "go": cmd("go", "version"),
        "openssl": cmd("openssl", "version"),
        "python": platform.python_version(),
        "commit": commit,
        "load_before": os.getloadavg()[0],
    }


def fmt(v, unit):
    if v is None:
        return "-"
    if v == 0:
        return "0"
    if unit == "x":
        return "%.2f" % v
    if unit == "KiB/conn":
        return "%.1f" % v
    if v >= 1e6:
        return "%.2fM" % (v / 1e6)
    if v >= 100000:
        return "%.0fk" % (v / 1000)
    if v >= 100:
        return "%.0f" % v
    return "%.1f" % v


def ratio_str(r):
    return "-" if r is None else "%.2f×" % r


def collect(args, want):
    """Run everything; returns {(subject, measure): record}."""
    records = {}
    timed_sets = {s: [m for m in ms if m != "memory"] for s, ms in want.items()}
    mem_sets = [s for s in ORDER if s in want and "memory" in want[s]]
    t0 = time.time()

    def add(name, lines, err, measures):
        seen = set()
        for r in lines:
            m = r.get("measure")
            if m not in measures:
                continue
            seen.add(m)
            rec = records.setdefault((name, m), {"subject": name, "measure": m, "values": [],
                                                 "unit": r.get("unit"), "extras": []})
            rec["values"].append(float(r["value"]))
            rec["extras"].append({k: v for k, v in r.items()
                                  if k not in ("subject", "measure", "value", "unit")})
        for m in measures:
            if m not in seen:
                rec = records.setdefault((name, m), {"subject": name, "measure": m, "values": [],
                                                     "unit": None, "extras": []})
                rec.setdefault("errors", []).append(err or "no output")

    for rep in range(args.runs):
        for name in ORDER:
            ms = timed_sets.get(name)
            if not ms:
                continue
            log("[%5.0fs] run %d/%d  %-10s %s" % (time.time() - t0, rep + 1, args.runs, name, ",".join(ms)))
            lines, err = run_subject(name, ms, args, args.conns)
            if err:
                log("         %s: %s" % (name, err))
            add(name, lines, err, ms)
    # Memory is RSS, not time: the subjects run side by side, one per core.
    workers = max(1, min(len(mem_sets), len(os.sched_getaffinity(0))))
    if mem_sets:
        log("[%5.0fs] memory      %s: %d connections, %d at a time"
            % (time.time() - t0, ", ".join(mem_sets), args.conns, workers))
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        futures = {name: pool.submit(run_subject, name, ["memory"], args, args.conns) for name in mem_sets}
        for name in mem_sets:
            lines, err = futures[name].result()
            if err:
                log("         %s: %s" % (name, err))
            add(name, lines, err, ["memory"])
    log("[%5.0fs] done" % (time.time() - t0))
    return records


def summarize(records, args):
    out = []
    for (name, m), rec in records.items():
        vals = rec["values"]
        r = {"subject": name, "measure": m, "unit": rec["unit"], "runs": vals,
             "median": statistics.median(vals) if vals else None,
             "min": min(vals) if vals else None, "max": max(vals) if vals else None,
             "command": command_for(name, m, args)}
        ex = rec["extras"]
        for key in ("suite", "note"):
            vs = sorted({e[key] for e in ex if key in e})
            if vs:
                r[key] = " / ".join(vs)
        if m.startswith("scale") and ex:
            r["one_thread"] = statistics.median(e.get("one_thread", 0) for e in ex)
            r["two_threads"] = statistics.median(e.get("two_threads", 0) for e in ex)
        if m == "memory" and ex:
            r["conns"] = ex[0].get("conns")
        if rec.get("errors"):
            r["errors"] = rec["errors"]
        out.append(r)
    by = {(r["subject"], r["measure"]): r for r in out}
    for r in out:
        base = BASELINE_OF.get(r["measure"], r["measure"])
        ref = by.get(("ceiling", base))
        r["vs_ceiling"] = (r["median"] / ref["median"]
                           if ref and ref["median"] and r["median"] is not None else None)
        peer = PEER.get(r["subject"])
        pr = by.get((peer, base)) if peer else None
        r["vs_peer"] = (r["median"] / pr["median"] if pr and pr["median"] and r["median"] is not None
                        else None)
        r["peer"] = peer
    out.sort(key=lambda r: (MEASURES.index(r["measure"]), ORDER.index(r["subject"])))
    return out


def table(results, markdown=False):
    head = ["measure", "subject", "median", "min–max", "unit", "vs ceiling", "vs crypto/tls",
            "vs stdlib", "note"]
    rows = []
    for r in results:
        if r["median"] is None:
            rows.append([r["measure"], r["subject"], "failed", "", "", "", "", "",
                         "; ".join(r.get("errors", []))[:120]])
            continue
        u = r["unit"]
        span = "%s–%s" % (fmt(r["min"], u), fmt(r["max"], u)) if len(r["runs"]) > 1 else "(1 run)"
        peer_ct = ratio_str(r["vs_peer"]) if r["peer"] == "cryptotls" else ""
        peer_py = ratio_str(r["vs_peer"]) if r["peer"] == "pyssl" else ""
        notes = []
        if r["measure"] in ("bulk-default",) and r.get("suite"):
            notes.append(r["suite"])
        if r["measure"].startswith("scale") and r.get("one_thread"):
            notes.append("1t %s → 2t %s" % (fmt(r["one_thread"] / (1e6 if r["measure"] == "scale-bulk" else 1), "")
                                             , fmt(r["two_threads"] / (1e6 if r["measure"] == "scale-bulk" else 1), "")))
        if r["measure"] in BASELINE_OF:
            notes.append("ratios vs %s" % BASELINE_OF[r["measure"]])
        if r.get("note"):
            notes.append("*")
        rows.append([r["measure"], r["subject"], fmt(r["median"], u), span, u,
                     ratio_str(r["vs_ceiling"]), peer_ct, peer_py, "; ".join(notes)])
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        last = None
        for row in rows:
            row = list(row)
            if row[0] == last:
                row[0] = ""
            else:
                last = row[0]
            lines.append("| " + " | ".join(c.replace("|", "/") for c in row) + " |")
        return "\n".join(lines)
    widths = [max(len(head[i]), *(len(row[i]) for row in rows)) if rows else len(head[i])
              for i in range(len(head))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    last = None
    for row in rows:
        row = list(row)
        if row[0] == last:
            row[0] = ""
        else:
            if last is not None:
                lines.append("")
            last = row[0]
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    return "\n".join(lines)


def notes_text(results):
    notes = sorted({r["note"] for r in results if r.get("note")})
    return ["* " + n for n in notes]


# ---- chart --------------------------------------------------------------------

def nice_ticks_linear(hi):
    if hi <= 0:
        return [0, 1]
    step = 10 ** math.floor(math.log10(hi / 4))
    for m in (1, 2, 2.5, 5, 10):
        if hi / (step * m) <= 5:
            step *= m
            break
    ticks, v = [], 0.0
    while v <= hi * 1.0001 + step:
        ticks.append(v)
        v += step
        if ticks[-1] >= hi:
            break
    return ticks


def chart(results, info, path):
    """Small multiples: one panel per measure, one bar per subject, whiskers
    for min-max, log scale when the panel spans more than 10x."""
    panels = [m for m in MEASURES if any(r["measure"] == m and r["median"] for r in results)]
    cols, pw, ph = 2, 470, 250
    rows = (len(panels) + cols - 1) // cols
    W, top = cols * pw + 20, 70
    H = top + rows * ph + 40
    s = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
         'font-family="Helvetica, Arial, sans-serif" font-size="11">' % (W, H, W, H),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="10" y="22" font-size="16" font-weight="bold">sslbio benchmarks</text>',
         '<text x="10" y="40" fill="#555">%s — %s, nproc %s — median of runs, whiskers min–max</text>'
         % (html.escape(info["date"]), html.escape(info["cpu"] or "?"), html.escape(info["nproc"]))]
    x = 10
    for name in ORDER:  # legend
        if any(r["subject"] == name for r in results):
            s.append('<rect x="%d" y="50" width="10" height="10" fill="%s"/>' % (x, COLORS[name]))
            s.append('<text x="%d" y="59">%s</text>' % (x + 14, name))
            x += 24 + 7 * len(name)
    for i, m in enumerate(panels):
        px, py = 10 + (i % cols) * pw, top + (i // cols) * ph
        rs = [r for r in results if r["measure"] == m and r["median"]]
        rs.sort(key=lambda r: ORDER.index(r["subject"]))
        unit = rs[0]["unit"]
        lo_v = min(min(r["min"], r["median"]) for r in rs)
        hi_v = max(max(r["max"], r["median"]) for r in rs)
        log_scale = lo_v > 0 and hi_v / lo_v > 10
        ax, ay, aw, ah = px + 60, py + 28, pw - 80, ph - 75
        s.append('<text x="%d" y="%d" font-weight="bold">%s (%s%s)</text>'
                 % (px + 4, py + 16, html.escape(TITLES[m]), html.escape(unit),
                    ", log scale" if log_scale else ""))
        if log_scale:
            lo = 10 ** math.floor(math.log10(lo_v))
            hi = hi_v * 1.6  # room for the value labels
            ticks = [10 ** k for k in range(int(round(math.log10(lo))), int(math.floor(math.log10(hi))) + 1)]

            def ypos(v):
                return ay + ah - ah * (math.log10(max(v, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        else:
            ticks = nice_ticks_linear(hi_v)
            hi = ticks[-1] or 1

            def ypos(v):
                return ay + ah - ah * v / hi
        for t in ticks:
            y = ypos(t)
            s.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (ax, y, ax + aw, y))
            s.append('<text x="%d" y="%.1f" text-anchor="end" fill="#555">%s</text>'
                     % (ax - 4, y + 4, fmt(t, unit) if unit != "x" else "%g" % t))
        s.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>' % (ax, ay + ah, ax + aw, ay + ah))
        n = len(rs)
        slot = aw / max(n, 1)
        bw = min(40, slot * 0.7)
        for j, r in enumerate(rs):
            cx = ax + slot * (j + 0.5)
            y = ypos(r["median"])
            s.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s %s</title></rect>'
                     % (cx - bw / 2, y, bw, ay + ah - y, COLORS[r["subject"]], r["subject"], m,
                        fmt(r["median"], unit), html.escape(unit)))
            if len(r["runs"]) > 1:
                y1, y2 = ypos(r["min"]), ypos(r["max"])
                s.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#000"/>' % (cx, y1, cx, y2))
                for yy in (y1, y2):
                    s.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#000"/>'
                             % (cx - 4, yy, cx + 4, yy))
            s.append('<text x="%.1f" y="%.1f" text-anchor="middle" font-size="10">%s</text>'
                     % (cx, min(y, ypos(r["max"])) - 4, fmt(r["median"], unit)))
            s.append('<text x="%.1f" y="%d" text-anchor="middle" font-size="10">%s</text>'
                     % (cx, ay + ah + 13, r["subject"]))
            if r["vs_ceiling"] is not None and r["subject"] != "ceiling":
                s.append('<text x="%.1f" y="%d" text-anchor="middle" font-size="9" fill="#666">%.2f×</text>'
                         % (cx, ay + ah + 25, r["vs_ceiling"]))
    s.append('<text x="10" y="%d" fill="#666" font-size="10">under each bar: ratio to the plain-C ceiling'
             ' (memory: lower is better). Each figure: python3 bench/run.py --only SUBJECT:MEASURE</text>' % (H - 12))
    s.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(s) + "\n")


# ---- main ---------------------------------------------------------------------

def cross_check_pybio(quick: bool):
    """Run the pybio helper's own script once (its format, kept raw)."""
    if not os.path.exists(PYBIO_SCRIPT):
        return None
    cmd = [sys.executable, PYBIO_SCRIPT] + (["--quick"] if quick else ["--runs", "1"])
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=180, cwd=ROOT,
                           env=dict(os.environ, PYTHONPATH=ROOT))
    except (OSError, subprocess.TimeoutExpired) as e:
        return {"command": " ".join(cmd), "error": str(e)}
    lines = []
    for line in p.stdout.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            pass
    res = {"command": "python3 " + os.path.relpath(PYBIO_SCRIPT, ROOT) + " " + " ".join(cmd[2:]),
           "lines": lines}
    if p.returncode:
        res["error"] = (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[-1]
    return res


def report(doc, out_dir):
    """Print the table and write results.md and chart.svg of a results doc."""
    info, cfg, results = doc["machine"], doc["config"], doc["results"]
    cross = doc.get("pybio_bench_cross_check")
    chart(results, info, os.path.join(out_dir, "chart.svg"))
    head = ("sslbio benchmarks — %s — %s, nproc %s — load %.2f → %.2f — %s, %s, Python %s — %s "
            "— %d run(s) × %gs, %s clock, memory over %d connections — %.0f s"
            % (info["date"], info["cpu"], info["nproc"], info["load_before"], info["load_after"],
               info["go"].replace("go version ", ""), info["openssl"], info["python"],
               info["commit"], cfg["runs"], cfg["duration"], cfg["clock"], cfg["conns"], info["seconds"]))
    print(head)
    print()
    print(table(results))
    for n in notes_text(results):
        print(n)
    if cross and cross.get("lines"):
        print("\npybio helper's script (%s), pybio vs stdlib in its own loops:" % cross["command"])
        for line in cross["lines"]:
            print("  " + json.dumps(line))
    md = ["# sslbio benchmark results", "",
          "- date: %s" % info["date"],
          "- machine: %s, nproc %s (load %.2f before, %.2f after)" % (info["cpu"], info["nproc"],
                                                                     info["load_before"], info["load_after"]),
          "- %s; %s; Python %s; commit %s" % (info["go"], info["openssl"], info["python"], info["commit"]),
          "- median of %d runs of %g s each (min–max shown), %s; memory: %d connections, one run"
          % (cfg["runs"], cfg["duration"],
             "rates per CPU second of each subject's process (`--clock cpu`), "
             "scaling on the wall clock" if cfg["clock"] == "cpu" else "wall clock", cfg["conns"]),
          "- produced by `make bench` (bench/run.py); scenarios in bench/README.md", "",
          "![chart](chart.svg)", "",
          table(results, markdown=True), ""]
    md += notes_text(results)
    md += ["", "Subjects:", ""] + ["- `%s`: %s" % (n, d) for n, d in doc["subjects"].items()]
    if cross and cross.get("lines"):
        md += ["", "The pybio helper's own script (`%s`), pybio vs the stdlib in its loops:" % cross["command"],
               ""] + ["    " + json.dumps(line) for line in cross["lines"]]
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="sslbio benchmark harness (bench/README.md)")
    ap.add_argument("--only", default="", help='e.g. "capi:pingpong", "go:bulk+handshake,ceiling", "pingpong"')
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=float, default=0.5, help="seconds per timed run")
    ap.add_argument("--conns", type=int, default=10000, help="connections for the memory measure")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="cpu: single-thread figures per CPU second of the subject's process, "
                         "for a busy machine; scaling stays on the wall clock")
    ap.add_argument("--quick", action="store_true", help="smoke test: tiny durations, 1 run")
    ap.add_argument("--certs", default=os.path.join(ROOT, "build", "certs"))
    ap.add_argument("--out", default=BUILD)
    ap.add_argument("--docs", default=os.path.join(ROOT, "docs", "bench"),
                    help="where a full run copies its table and chart ('' for nowhere)")
    ap.add_argument("--render", metavar="RESULTS_JSON",
                    help="measure nothing: print the table and redraw results.md and chart.svg "
                         "beside RESULTS_JSON")
    args = ap.parse_args(argv)
    if args.render:
        with open(args.render) as f:
            report(json.load(f), os.path.dirname(os.path.abspath(args.render)))
        return 0
    if args.quick:
        args.runs, args.duration, args.conns = 1, 0.05, 50
    if args.runs < 1 or args.duration <= 0 or args.conns < 1:
        ap.error("runs, duration and conns must be positive")
    args.certs = os.path.abspath(args.certs)

    speaks = pybio_script_speaks_protocol()
    if speaks:
        SUBJECTS["pybio"] = ("pybio (bench/python/pybio_bench.py)",
                             [sys.executable, PYBIO_SCRIPT], "py")
    want = parse_only(args.only) if args.only else {s: list(MEASURES) for s in ORDER}
    want = {s: [m for m in ms if s in APPLIES.get(m, (s,))] for s, ms in want.items()}
    want = {s: ms for s, ms in want.items() if ms}
    full = not args.only and not args.quick and args.runs >= 3
    info = machine_info()
    t0 = time.time()
    records = collect(args, want)
    cross = cross_check_pybio(args.quick) if (not args.only and not speaks) else None
    info["load_after"] = os.getloadavg()[0]
    info["seconds"] = round(time.time() - t0, 1)
    results = summarize(records, args)

    os.makedirs(args.out, exist_ok=True)
    doc = {"machine": info,
           "config": {"runs": args.runs, "duration": args.duration, "conns": args.conns, "clock": args.clock,
                      "quick": args.quick, "only": args.only},
           "subjects": {n: SUBJECTS[n][0] for n in ORDER if n in want},
           "results": results}
    if cross is not None:
        doc["pybio_bench_cross_check"] = cross
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(doc, f, indent=1)
    report(doc, args.out)
    failed = [r for r in results if r["median"] is None]
    if full and args.docs and not failed:
        os.makedirs(args.docs, exist_ok=True)
        for name in ("results.md", "chart.svg", "results.json"):
            shutil.copyfile(os.path.join(args.out, name), os.path.join(args.docs, name))
        log("copied the table and chart to %s" % os.path.relpath(args.docs, ROOT))
    log("wrote %s/{results.json,results.md,chart.svg}" % os.path.relpath(args.out, ROOT))
    if failed:
        log("FAILED: " + ", ".join("%s:%s" % (r["subject"], r["measure"]) for r in failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
