# Sourced by the C test scripts (run_examples.sh, check_install.sh,
# check_quickstart.sh): a temp dir $work, removed on exit together with
# every process started here; check(), which counts failures in $fail; and
# openssl s_server on 127.0.0.1 with the test certificates in $CERTS.
CERTS=${CERTS:-build/certs}
work=$(mktemp -d)
pids=()
fail=0
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

check() { # check NAME FILE PATTERN...: every pattern is in FILE
  local name=$1 file=$2 pat
  shift 2
  for pat in "$@"; do
    if ! grep -q -- "$pat" "$file"; then
      echo "FAIL $name: no \"$pat\" in:"
      sed 's/^/    /' "$file"
      fail=1
      return 0
    fi
  done
  echo "ok   $name"
}

wait_port() { # wait_port FILE SED-EXPR: the port the expression finds in FILE (10 s)
  local p _
  for _ in $(seq 100); do
    p=$(sed -n "$2" "$1" | head -1)
    [ -n "$p" ] && { echo "$p"; return 0; }
    sleep 0.1
  done
}

# s_server_start NAME ARG...: openssl s_server for one connection on a port
# the kernel picks, with $CERTS/server.pem; its output goes to $work/NAME.log
# and its port into $S_PORT (empty if it did not start).
s_server_start() {
  local name=$1
  shift
  (cd "$CERTS" && exec timeout 30 openssl s_server -accept 127.0.0.1:0 -cert server.pem \
    -key server.key -naccept 1 "$@") >"$work/$name.log" 2>&1 &
  pids+=($!)
  S_PORT=$(wait_port "$work/$name.log" 's/^ACCEPT 127.0.0.1:\([0-9]*\).*/\1/p')
  [ -n "$S_PORT" ] || { echo "FAIL openssl s_server ($name) did not start:"; cat "$work/$name.log"; }
}
