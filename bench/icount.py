#!/usr/bin/env python3
"""Instructions per operation under valgrind --tool=callgrind: each subject
program runs each measure with --iterations N1 and N2, and the difference of
the two totals, divided by N2 - N1, is the cost of one operation (setup,
certificates and teardown cancel out). Prints a Markdown table and JSON lines.

    python3 bench/icount.py [--subjects ceiling,capi,go] [--measures ...] [--scale K]

Run from the repository root after `make bench-bins` (make bench-icount).
The OpenSSL measured is the one the binaries load: the host's, or Debian 13's
3.5 inside the chroot (make bench-icount-ossl runs both)."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys

# measure -> (N1, N2): enough operations that the difference dwarfs noise.
COUNTS = {
    "pingpong": (200, 1200),
    "bulk": (100, 600),
    "handshake": (5, 25),
    "handshake-reuse": (5, 25),
    "resume": (5, 25),
}
SUBJECTS = {
    "ceiling": ["build/bench/ceiling", "--measure", "{m}", "--iterations", "{n}"],
    "capi": ["build/bench/capi_bench", "--measure", "{m}", "--iterations", "{n}"],
    "go": ["build/bench/gobench", "-subject", "go", "-measure", "{m}", "-iterations", "{n}"],
}
COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def collected(cmd: list[str], conf: str = "") -> int:
    env = dict(os.environ, GODEBUG="asyncpreemptoff=1,cpu.rdtscp=off")
    if conf:
        env["OPENSSL_CONF"] = conf
    r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + cmd,
                       capture_output=True, text=True, env=env, timeout=1800)
    m = COLLECTED.search(r.stderr)
    if r.returncode != 0 or m is None:
        sys.exit(f"icount: {' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return int(m.group(1))


def openssl_version() -> str:
    r = subprocess.run(["openssl", "version"], capture_output=True, text=True)
    return r.stdout.split()[1] if r.returncode == 0 else "?"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subjects", default="ceiling,capi,go")
    ap.add_argument("--measures", default=",".join(COUNTS))
    ap.add_argument("--scale", type=float, default=1.0, help="multiply the iteration counts")
    ap.add_argument("--json", default="", help="also write the JSON lines to this file")
    ap.add_argument("--conf", default="", help="OPENSSL_CONF for the subjects "
                    "(bench/conf/x25519-only.cnf: offer X25519 alone)")
    ap.add_argument("--label", default="", help="column label (default: OpenSSL's version)")
    ap.add_argument("--table", nargs="+", metavar="JSON",
                    help="print one table from JSON files of earlier runs, a column per file and subject")
    a = ap.parse_args()
    if a.table:
        return table(a.table)
    subjects = [s for s in a.subjects.split(",") if s]
    measures = [m for m in a.measures.split(",") if m]
    version = a.label or openssl_version()
    rows: dict[str, dict[str, float]] = {}
    lines = []
    for m in measures:
        n1, n2 = (max(1, int(n * a.scale)) for n in COUNTS[m])
        for s in subjects:
            cmd = [x.format(m=m, n="{n}") for x in SUBJECTS[s]]
            i1 = collected([x.replace("{n}", str(n1)) for x in cmd], a.conf)
            i2 = collected([x.replace("{n}", str(n2)) for x in cmd], a.conf)
            per_op = (i2 - i1) / (n2 - n1)
            rows.setdefault(m, {})[s] = per_op
            line = {"openssl": version, "subject": s, "measure": m, "instructions": round(per_op),
                    "n1": n1, "n2": n2}
            lines.append(line)
            print(json.dumps(line), file=sys.stderr, flush=True)
    if a.json:
        with open(a.json, "w") as f:
            f.writelines(json.dumps(x) + "\n" for x in lines)
    print(f"\nInstructions per operation, OpenSSL {version} (callgrind, N2 - N1 operations):\n")
    print("| operation | " + " | ".join(subjects) + " |")
    print("|---|" + "---|" * len(subjects))
    for m in measures:
        base = rows[m].get("ceiling")
        cells = []
        for s in subjects:
            v = rows[m][s]
            txt = fmt(v)
            if base and s != "ceiling":
                txt += f" ({base / v:.3f}×)"
            cells.append(txt)
        print(f"| {m} | " + " | ".join(cells) + " |")


def fmt(v: float) -> str:
    return f"{v / 1e6:.2f} M" if v >= 1e6 else f"{v:,.0f}"


def table(files: list[str]) -> None:
    """One row per measure; a column per (file, subject), labelled by the
    OpenSSL version (or --label) each file was measured with."""
    cols: list[tuple[str, str]] = []
    val: dict[tuple[str, str, str], float] = {}
    measures: list[str] = []
    for f in files:
        with open(f) as fh:
            for line in fh:
                x = json.loads(line)
                col = (x["openssl"], x["subject"])
                if col not in cols:
                    cols.append(col)
                if x["measure"] not in measures:
                    measures.append(x["measure"])
                val[(x["openssl"], x["subject"], x["measure"])] = x["instructions"]
    print("| operation | " + " | ".join(f"{s} ({v})" for v, s in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for m in measures:
        print(f"| {m} | " + " | ".join(fmt(val[(v, s, m)]) if (v, s, m) in val else "—"
                                       for v, s in cols) + " |")


if __name__ == "__main__":
    main()
