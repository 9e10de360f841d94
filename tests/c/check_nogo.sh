#!/usr/bin/env bash
# The C API's data path never crosses into Go (make test-c-nogo).
#  1. static: check_nogo.py walks the machine code of every exported
#     function of build/libsslbio.so: no path reaches Go text or a cgo
#     trampoline; check_symbols.sh already showed no Go function is exported
#     (no _cgoexp_), so C has nothing in Go it could call.
#  2. dynamic: nogo_transfer (linked to libsslbio.so) runs a handshake and
#     1 MiB each way under gdb; every C->Go entry point (crosscall2,
#     runtime.cgocallback, runtime.cgocallbackg) has a counting breakpoint,
#     and so do the data-path functions as a positive control. Expected: 0
#     Go entries, and API hits equal to the calls the program counted.
set -euo pipefail
bin=${1:?nogo_transfer binary}
lib=${2:-build/libsslbio.so}
python3 tests/c/check_nogo.py "$lib"
if ! command -v gdb >/dev/null; then
  echo "nogo/dynamic: gdb not installed: skipped (static proof above stands)"
  exit 0
fi
out=$(timeout 300 gdb -batch -nx -x tests/c/check_nogo.gdb --args "$bin" 2>&1) || true
go=$(sed -n 's/^GDB_GO_ENTRIES //p' <<<"$out")
hits=$(sed -n 's/^GDB_API_HITS //p' <<<"$out")
calls=$(sed -n 's/^NOGO_CALLS //p' <<<"$out")
result=$(sed -n 's/^NOGO_RESULT //p' <<<"$out")
if [ -z "$go" ] || [ -z "$hits" ] || [ -z "$calls" ]; then
  if grep -q -i -e 'ptrace' -e 'not permitted' <<<"$out"; then
    echo "nogo/dynamic: ptrace not permitted here: skipped (static proof above stands)"
    exit 0
  fi
  echo "nogo/dynamic: gdb run incomplete:"; echo "$out" | tail -20; exit 1
fi
# the Go-entry breakpoints must be armed at real addresses, not pending
for fn in crosscall2 runtime.cgocallback runtime.cgocallbackg; do
  grep -Eq "0x[0-9a-f]+ +<?(in )?$fn[ +>]" <<<"$out" ||
    { echo "nogo/dynamic: breakpoint on $fn not resolved:"; grep -i -e "$fn" -e pending <<<"$out"; exit 1; }
done
echo "nogo/dynamic: breakpoints armed on crosscall2, runtime.cgocallback, runtime.cgocallbackg"
echo "nogo/dynamic: transfer: $result; data-path calls: $calls counted by the program, $hits seen by gdb; C->Go entries: $go"
[ "$result" = transfer-ok ] && [ "$go" = 0 ] && [ "$hits" = "$calls" ] && [ "$hits" -gt 100 ] ||
  { echo "nogo/dynamic: FAIL"; exit 1; }
echo "nogo/dynamic: ok"
