#!/usr/bin/env bash
# check_tools.sh: sslbio's hooks (key log, SNI, exporters) checked by real
# tools, not by sslbio's own tests. Run from anywhere; `make test-hooks-tools`
# builds what it needs first (make lib certs build/c/examples/epoll_server).
#
#   1. tshark captures an HTTPS exchange with an sslbio server on the
#      loopback (curl, TLS 1.3 then TLS 1.2) and decrypts it with the key
#      log sslbio wrote: the GET lines appear; without the key log, none.
#   2. curl --resolve against the C epoll_server serving two names
#      (--name ... --strict-names): each name gets its own certificate,
#      verified; an unknown name is refused with unrecognized_name.
#   3. Exporters: openssl s_client/s_server -keymatexport print the same
#      keying material as sslbio's export_keying_material on the same
#      connection; TLS 1.3 and 1.2, sslbio as server and as client.
#   4. Key log: openssl's -keylogfile and sslbio's key log hold the same
#      lines (comments aside); TLS 1.3 and 1.2, both roles.
#
# The sslbio peer is tests/hooks/tool_peer.py (pybio). Every process runs
# under timeout and is killed on exit; prints "ok"/"FAIL" lines and exits
# non-zero on any failure. A missing tool is a failure (make deps installs it).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export CERTS=$ROOT/build/certs
export PYTHONPATH=$ROOT
PYTHON=${PYTHON:-python3}
EPOLL=${EPOLL_SERVER:-$ROOT/build/c/examples/epoll_server}
PEER=$ROOT/tests/hooks/tool_peer.py
LABEL=EXPERIMENTAL-sslbio-hooks

work=$(mktemp -d)
pids=()
fail=0
cleanup() {
  local p
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

ok() { echo "ok   $*"; }
bad() { # bad NAME [FILE...]: a failure, with the files that tell why
  local name=$1 f
  shift
  echo "FAIL $name"
  for f in "$@"; do
    [ -f "$f" ] && { echo "  --- $(basename "$f"):"; sed 's/^/    /' "$f" | head -40; }
  done
  fail=1
}
check() { # check NAME FILE PATTERN...: every (fixed-string) pattern is in FILE
  local name=$1 file=$2 pat
  shift 2
  for pat in "$@"; do
    grep -qF -- "$pat" "$file" || { bad "$name: no \"$pat\"" "$file"; return 0; }
  done
  ok "$name"
}
wait_for() { # wait_for FILE SED-EXPR: what the expression prints from FILE (10 s)
  local v _
  for _ in $(seq 100); do
    v=$(sed -n "$2" "$1" 2>/dev/null | head -1)
    [ -n "$v" ] && { echo "$v"; return 0; }
    sleep 0.1
  done
  return 0
}
start_peer() { # start_peer NAME ARG...: tool_peer.py server; its port in $PORT
  local name=$1
  shift
  timeout 40 "$PYTHON" "$PEER" server "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  PORT=$(wait_for "$work/$name.log" 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p')
  [ -n "$PORT" ] || { bad "$name: the sslbio server did not start" "$work/$name.log"; exit 1; }
}
wait_pid() { # wait_pid PID: its exit status, without tripping set -e
  local rc=0
  wait "$1" || rc=$?
  return $rc
}
keylines() { grep -v '^#' "$1" | sed '/^$/d' | sort; }
hexof() { tr 'A-F' 'a-f' | tr -cd '0-9a-f'; }

# ---- what it needs ----
missing=0
for t in tshark curl openssl "$PYTHON" timeout; do
  command -v "$t" >/dev/null 2>&1 || { echo "FAIL $t is not installed: make deps installs it"; missing=1; }
done
for f in "$ROOT/build/libsslbio.so" "$CERTS/ca.pem" "$CERTS/server.pem" "$EPOLL"; do
  [ -e "$f" ] || { echo "FAIL $f is missing: make lib certs build/c/examples/epoll_server"; missing=1; }
done
[ "$missing" = 0 ] || exit 1

# ---- 1. tshark decrypts sslbio's traffic with sslbio's key log ----
start_peer tshark_srv --conns 2 --alpn http/1.1 --keylog "$work/tshark.keys"
tport=$PORT
timeout 40 tshark -i lo -f "tcp port $tport" -w "$work/cap.pcapng" >"$work/tshark.out" 2>&1 &
tshark_pid=$!
pids+=($tshark_pid)
[ -n "$(wait_for "$work/tshark.out" '/Capturing on/p')" ] || {
  bad "tshark did not start capturing on lo" "$work/tshark.out"; exit 1; }
# tshark says "Capturing on" as its capture child starts, a moment before
# packets are really taken (a clean-clone run lost the first connection):
# wait for the child's "Capture started" when it prints one, then a second.
wait_for "$work/tshark.out" '/Capture started/p' >/dev/null || true
sleep 1
curl_ok=1
timeout 15 curl -sS --resolve "localhost:$tport:127.0.0.1" --cacert "$CERTS/ca.pem" --tlsv1.3 \
  "https://localhost:$tport/tls13/hooks?x=1" >"$work/curl13.out" 2>&1 || curl_ok=0
timeout 15 curl -sS --resolve "localhost:$tport:127.0.0.1" --cacert "$CERTS/ca.pem" --tlsv1.2 \
  --tls-max 1.2 "https://localhost:$tport/tls12/hooks" >"$work/curl12.out" 2>&1 || curl_ok=0
sleep 0.5 # let the last segments reach the capture file
kill -TERM "$tshark_pid" 2>/dev/null || true
wait_pid "$tshark_pid" || true
check "curl --tlsv1.3 -> sslbio HTTPS server (pybio, key log on)" "$work/curl13.out" \
  "hello from sslbio (TLSv1.3): GET /tls13/hooks?x=1 HTTP/1.1"
check "curl --tls-max 1.2 -> sslbio HTTPS server" "$work/curl12.out" \
  "hello from sslbio (TLSv1.2): GET /tls12/hooks HTTP/1.1"
[ "$curl_ok" = 1 ] || bad "curl exited non-zero" "$work/curl13.out" "$work/curl12.out"
# The port is not a TLS port Wireshark knows: -d says it is TLS (HTTP inside
# is found by the ALPN, http/1.1).
tsh() { timeout 30 tshark -r "$work/cap.pcapng" -d "tcp.port==$tport,tls" "$@" 2>"$work/tshark.err"; }
tsh -Y tls.handshake.type==1 -T fields -e tls.handshake.type >"$work/hellos.out" || true
if [ "$(wc -l <"$work/hellos.out")" -eq 2 ]; then
  ok "tshark: the capture holds both ClientHellos"
else
  bad "tshark: expected 2 ClientHellos in the capture" "$work/hellos.out" "$work/tshark.err" "$work/tshark.out"
fi
tsh -o "tls.keylog_file:$work/tshark.keys" -Y http.request -T fields \
  -e http.request.method -e http.request.uri >"$work/decrypted.out" || true
printf 'GET\t/tls13/hooks?x=1\nGET\t/tls12/hooks\n' >"$work/decrypted.want"
if diff -u "$work/decrypted.want" "$work/decrypted.out" >"$work/decrypted.diff"; then
  ok "tshark + sslbio's key log: both requests decrypted (TLS 1.3 and 1.2): $(tr '\t\n' ' ;' <"$work/decrypted.out")"
else
  bad "tshark + sslbio's key log: the requests were not decrypted" "$work/decrypted.diff" \
    "$work/tshark.err" "$work/tshark.keys"
fi
tsh -o "tls.keylog_file:" -Y http.request -T fields \
  -e http.request.method -e http.request.uri >"$work/nokeys.out" || true
if [ ! -s "$work/nokeys.out" ]; then
  ok "tshark without the key log: no request visible"
else
  bad "tshark without the key log still shows requests" "$work/nokeys.out"
fi
wait_pid "${pids[0]}" || true

# ---- 2. curl --resolve against epoll_server with two names ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -keyout "$work/other.key" -out "$work/other.pem" -subj /CN=other.test \
  -addext subjectAltName=DNS:other.test >"$work/req.log" 2>&1 ||
  { bad "openssl req: no certificate for other.test" "$work/req.log"; exit 1; }
timeout 40 "$EPOLL" --port 0 --max-conns 3 --timeout 35 --strict-names \
  --name "localhost=$CERTS/server.pem,$CERTS/server.key,http/1.1" \
  --name "other.test=$work/other.pem,$work/other.key,http/1.1" >"$work/names.log" 2>&1 &
epoll_pid=$!
pids+=($epoll_pid)
nport=$(wait_for "$work/names.log" 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p')
[ -n "$nport" ] || { bad "epoll_server did not start" "$work/names.log"; exit 1; }
# curl_page NAME HOST CAFILE: https://HOST:$nport/ from the epoll_server,
# verified against CAFILE, must show HOST's own certificate and the page.
curl_page() {
  local name=$1 host=$2 ca=$3 rc=0
  timeout 15 curl -sS -v --resolve "$host:$nport:127.0.0.1" --cacert "$ca" \
    "https://$host:$nport/" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
  cat "$work/$name.out" "$work/$name.err" >"$work/$name.all"
  if [ "$rc" = 0 ]; then
    check "curl --resolve $host -> epoll_server: verified, its own certificate, the page" \
      "$work/$name.all" "subject: CN=$host" "SSL certificate verify ok" \
      "hello from the sslbio epoll_server"
  else
    bad "curl --resolve $host -> epoll_server: exit $rc" "$work/$name.all"
  fi
}
curl_page other other.test "$work/other.pem"
curl_page local localhost "$CERTS/ca.pem"
if grep -qF "CN=other.test" "$work/local.all"; then
  bad "curl https://localhost got the other.test certificate" "$work/local.all"
fi
rc=0
timeout 15 curl -sS --resolve "unknown.test:$nport:127.0.0.1" -k \
  "https://unknown.test:$nport/" >"$work/unknown.out" 2>&1 || rc=$?
if [ "$rc" != 0 ]; then
  check "curl --resolve unknown.test -> epoll_server --strict-names: refused (exit $rc)" \
    "$work/unknown.out" "unrecognized name"
else
  bad "curl --resolve unknown.test -> epoll_server --strict-names: accepted" "$work/unknown.out"
fi
wait_pid "$epoll_pid" || true

# ---- 3 and 4, sslbio server: s_client -keymatexport -keylogfile ----
start_peer exp_srv --conns 2 --keylog "$work/srv.{n}.keys" --label "$LABEL" --len 32
sport=$PORT
n=0
for v in 1.3 1.2; do
  n=$((n + 1))
  echo x | timeout 15 openssl s_client -connect "127.0.0.1:$sport" -servername localhost \
    -CAfile "$CERTS/ca.pem" -verify_return_error "-tls1_${v#1.}" \
    -keymatexport "$LABEL" -keymatexportlen 32 -keylogfile "$work/cli.$n.keys" \
    >"$work/s_client.$n.log" 2>&1 || true
  theirs=$(sed -n 's/^ *Keying material: *\([0-9A-Fa-f]*\).*/\1/p' "$work/s_client.$n.log" | hexof)
  for _ in $(seq 50); do grep -q "^conn $n: " "$work/exp_srv.log" && break; sleep 0.1; done
  ours=$(sed -n "s/^conn $n: TLSv$v export \\([0-9a-f]*\\)\$/\\1/p" "$work/exp_srv.log")
  if [ -n "$theirs" ] && [ ${#theirs} = 64 ] && [ "$theirs" = "$ours" ]; then
    ok "exporter TLS $v, sslbio server vs openssl s_client -keymatexport: same 32 bytes ($ours)"
  else
    bad "exporter TLS $v, sslbio server vs s_client: \"$ours\" vs \"$theirs\"" \
      "$work/exp_srv.log" "$work/s_client.$n.log"
  fi
  want=1; [ "$v" = 1.3 ] && want=5 # CLIENT_RANDOM; or 4 traffic secrets and the exporter's
  if [ -f "$work/srv.$n.keys" ] && [ -f "$work/cli.$n.keys" ] &&
    diff <(keylines "$work/cli.$n.keys") <(keylines "$work/srv.$n.keys") >"$work/keys.$n.diff" &&
    [ "$(keylines "$work/srv.$n.keys" | wc -l)" = "$want" ]; then
    ok "key log TLS $v: sslbio server's = openssl s_client -keylogfile ($want lines: $(keylines "$work/srv.$n.keys" | cut -d' ' -f1 | tr '\n' ' '))"
  else
    bad "key log TLS $v: sslbio server's differs from s_client -keylogfile (want $want lines)" \
      "$work/keys.$n.diff" "$work/srv.$n.keys" "$work/cli.$n.keys"
  fi
done
wait_pid "${pids[$((${#pids[@]} - 1))]}" || true

# ---- 3 and 4, sslbio client: s_server -keymatexport -keylogfile ----
# s_server quits at EOF on its stdin: give it a FIFO this shell holds open.
mkfifo "$work/s_server.in"
exec 3<>"$work/s_server.in"
for v in 1.3 1.2; do
  (cd "$CERTS" && exec timeout 20 openssl s_server -accept 127.0.0.1:0 -cert server.pem \
    -key server.key -naccept 1 "-tls1_${v#1.}" -keymatexport "$LABEL" -keymatexportlen 32 \
    -keylogfile "$work/s_server.$v.keys") <&3 >"$work/s_server.$v.log" 2>&1 &
  spid=$!
  pids+=($spid)
  oport=$(wait_for "$work/s_server.$v.log" 's/^ACCEPT 127.0.0.1:\([0-9]*\).*/\1/p')
  [ -n "$oport" ] || { bad "openssl s_server ($v) did not start" "$work/s_server.$v.log"; continue; }
  timeout 15 "$PYTHON" "$PEER" client --port "$oport" --label "$LABEL" --len 32 \
    --keylog "$work/cl.$v.keys" >"$work/client.$v.log" 2>&1 || true
  wait_pid "$spid" || true
  ours=$(sed -n "s/^TLSv$v export \\([0-9a-f]*\\)\$/\\1/p" "$work/client.$v.log")
  theirs=$(sed -n 's/^ *Keying material: *\([0-9A-Fa-f]*\).*/\1/p' "$work/s_server.$v.log" | hexof)
  if [ -n "$theirs" ] && [ ${#theirs} = 64 ] && [ "$theirs" = "$ours" ]; then
    ok "exporter TLS $v, sslbio client vs openssl s_server -keymatexport: same 32 bytes ($ours)"
  else
    bad "exporter TLS $v, sslbio client vs s_server: \"$ours\" vs \"$theirs\"" \
      "$work/client.$v.log" "$work/s_server.$v.log"
  fi
  want=1; [ "$v" = 1.3 ] && want=5
  if [ -f "$work/cl.$v.keys" ] && [ -f "$work/s_server.$v.keys" ] &&
    diff <(keylines "$work/s_server.$v.keys") <(keylines "$work/cl.$v.keys") >"$work/ckeys.$v.diff" &&
    [ "$(keylines "$work/cl.$v.keys" | wc -l)" = "$want" ]; then
    ok "key log TLS $v: sslbio client's = openssl s_server -keylogfile ($want lines)"
  else
    bad "key log TLS $v: sslbio client's differs from s_server -keylogfile (want $want lines)" \
      "$work/ckeys.$v.diff" "$work/cl.$v.keys" "$work/s_server.$v.keys"
  fi
done
exec 3>&-

if [ "$fail" != 0 ]; then
  echo "check_tools: FAILED"
  exit 1
fi
echo "check_tools: all passed (tshark, curl, openssl s_client/s_server)"
