#!/usr/bin/env bash
# One fuzz target for a bounded time, then one line:
#   TARGET: executions: N in S s, findings: F
# and exit 1 when it found something (the inputs are listed, with what to do).
#
#   fuzz/run.sh afl NAME SECONDS OUTDIR AFL_BIN REPLAY_BIN CORPUS_DIR...
#       afl-fuzz (AFL++'s deferred fork server) on FUZZ_JOBS cores (1); every
#       crash, and every hang that hangs again, is replayed by REPLAY_BIN (the
#       ASan+UBSan build) and listed
#   fuzz/run.sh libfuzzer NAME SECONDS OUTDIR FUZZER_BIN CORPUS_DIR... [-- FLAGS]
#   fuzz/run.sh go NAME SECONDS GO_BIN PACKAGE
# Run at low priority: the machine is shared.
set -uo pipefail
kind=$1 name=$2 secs=$3
shift 3
line() { echo "$name: executions: $1 in $2 s, findings: $3"; }
t0=$(date +%s)

case $kind in
afl)
  out=$1 bin=$2 replay=$3
  shift 3
  rm -rf "$out" && mkdir -p "$out/in"
  for d in "$@"; do cp "$d"/* "$out/in/" 2>/dev/null; done
  # FUZZ_JOBS instances (a main and secondaries sharing one queue), each
  # pinned to its own core, counted together.
  jobs=${FUZZ_JOBS:-1}
  ncpu=$(nproc)
  pids=()
  for ((j = 0; j < jobs; j++)); do
    role=(-M main)
    [ "$j" -gt 0 ] && role=(-S "sec$j")
    pin=()
    command -v taskset >/dev/null && pin=(taskset -c $(((ncpu - 1 - j + ncpu) % ncpu)))
    AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 \
      timeout $((secs + 120)) "${pin[@]}" nice afl-fuzz "${role[@]}" -V "$secs" -t 2000 \
      -i "$out/in" -o "$out/afl" -- "$bin" >"$out/afl-$j.log" 2>&1 &
    pids+=($!)
  done
  wait "${pids[@]}"
  execs=0 found=()
  for stats in "$out"/afl/*/fuzzer_stats; do
    [ -f "$stats" ] || continue
    execs=$((execs + $(sed -n 's/^execs_done *: *//p' "$stats")))
  done
  if [ "$execs" -eq 0 ]; then
    echo "$name: afl-fuzz did not run; its log:" >&2
    tail -20 "$out/afl-0.log" >&2
    exit 1
  fi
  for f in "$out"/afl/*/crashes/id:*; do
    [ -e "$f" ] && found+=("$f")
  done
  # A hang counts when it hangs again: afl-fuzz's 2 s limit also catches
  # a run that a loaded machine merely starved (the slowest input takes a
  # few ms). Each is replayed alone, with ten times the limit.
  for f in "$out"/afl/*/hangs/id:*; do
    [ -e "$f" ] || continue
    if timeout 20 "$replay" "$f" >/dev/null 2>&1; then
      echo "$name: $(basename "$f"): over 2 s under afl-fuzz, passed on replay (a loaded machine); not counted" >&2
    else
      found+=("$f") # hangs again, or fails
    fi
  done
  line "$execs" "$(($(date +%s) - t0))" "${#found[@]}"
  if [ ${#found[@]} -gt 0 ]; then
    echo "$name: replaying the findings with $replay:" >&2
    timeout 120 "$replay" "${found[@]}" >&2
    echo "$name: copy each to fuzz/c/ops-regressions/ (a name that says what it is), fix, add a test to tests/c/test_fuzzfound.c" >&2
    exit 1
  fi
  ;;
libfuzzer)
  out=$1 bin=$2
  shift 2
  dirs=() flags=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do dirs+=("$1"); shift; done
  [ $# -gt 0 ] && shift && flags=("$@")
  mkdir -p "$out/corpus" "$out/artifacts"
  rm -f "$out"/artifacts/*
  nice "$bin" "$out/corpus" "${dirs[@]}" -max_total_time="$secs" -artifact_prefix="$out/artifacts/" \
    -print_final_stats=1 "${flags[@]}" >"$out/libfuzzer.log" 2>&1
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/libfuzzer.log" | tail -1)
  n=$(find "$out/artifacts" -type f | wc -l)
  line "${execs:-0}" "$(($(date +%s) - t0))" "$n"
  if [ "$n" -gt 0 ]; then
    grep -E '^(==|SUMMARY|fuzz invariant)' "$out/libfuzzer.log" | head -20 >&2
    echo "$name: copy $out/artifacts/* to fuzz/c/regressions/, fix, commit both" >&2
    exit 1
  fi
  ;;
go)
  gobin=$1 pkg=$2
  log=$(mktemp)
  nice "$gobin" test -run '^$' -fuzz "^$name\$" -fuzztime "${secs}s" -parallel 1 "$pkg" >"$log" 2>&1
  st=$?
  execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  n=0
  [ $st -ne 0 ] && n=1
  line "${execs:-0}" "$(($(date +%s) - t0))" "$n"
  if [ $st -ne 0 ]; then
    tail -30 "$log" >&2
    echo "$name: the failing input is in sslbio/testdata/fuzz/$name/ (go test replays it from now on): fix, commit both" >&2
  fi
  rm -f "$log"
  exit $st
  ;;
*)
  echo "usage: fuzz/run.sh afl|libfuzzer|go NAME SECONDS ..." >&2
  exit 2
  ;;
esac
