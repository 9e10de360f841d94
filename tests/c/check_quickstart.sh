#!/usr/bin/env bash
# The README's C quick start as written (make test-c-quickstart): the `cc`
# line of README.md's C section runs from the repository root, unchanged;
# then the section's `build/quickstart localhost PORT CA` line runs the
# program against openssl s_server -www on 127.0.0.1, with the port that
# s_server picked in place of the README's. Needs make lib certs.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/c/script_lib.sh

section=$(awk '/^## C in twenty lines/ {on = 1; next} /^## / {on = 0} on' README.md)
build=$(grep -m1 '^cc .*examples/c/quickstart\.c' <<<"$section" || true)
run=$(grep -m1 '^build/quickstart localhost ' <<<"$section" | sed 's/ *#.*//' || true)
[ -n "$build" ] || { echo "FAIL no 'cc ... examples/c/quickstart.c' line in README.md's C section"; exit 1; }
[ -n "$run" ] || { echo "FAIL no 'build/quickstart localhost ...' line in README.md's C section"; exit 1; }
readme_port=$(awk '{print $3}' <<<"$run")

rm -f build/quickstart
echo "+ $build"
bash -c "$build"
[ -x build/quickstart ] || { echo "FAIL the README's cc line made no build/quickstart"; exit 1; }

s_server_start www -www
[ -n "$S_PORT" ] || exit 1
cmd=$(sed "s/ $readme_port / $S_PORT /" <<<"$run")
echo "+ $cmd"
rc=0
timeout 20 bash -c "$cmd" >"$work/out" 2>"$work/err" || rc=$?
cat "$work/out" "$work/err" >"$work/all"
check "README quick start: build/quickstart -> openssl s_server -www (exit $rc)" "$work/all" \
  "^HTTP/1.0 200 ok" "quickstart: TLSv1.3" "</HTML>"
[ $rc -eq 0 ] || { echo "FAIL quickstart exit status $rc:"; cat "$work/err"; fail=1; }
exit $fail
