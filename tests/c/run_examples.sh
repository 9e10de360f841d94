#!/usr/bin/env bash
# Runs the C examples against real peers on 127.0.0.1 (make test-c-examples;
# make demo-c shows the same run). BIN is the directory of the built
# examples. Every process is bounded by a timeout and killed at the end.
#   epoll_server  <- openssl s_client, Python ssl (clean and rude), curl,
#                    select_client, cxx_handoff
#   select_client -> openssl s_server -rev (TLS 1.3 and 1.2; --pin: the
#                    verify decision made by a worker thread)
#   epoll_server --name ... <- openssl s_client -servername (the context
#                    chosen at the ClientHello; an unknown name refused)
# A failing client is reported by check (its log shown), not by set -e.
set -euo pipefail
BIN=${1:?directory of the built examples}
PYTHON=${PYTHON:-python3}
. "$(dirname "$0")/script_lib.sh"

# ---- the epoll server with six clients ----
timeout 120 "$BIN/epoll_server" --port 0 --max-conns 6 --timeout 100 >"$work/server.log" 2>&1 &
server=$!
pids+=($server)
port=$(wait_port "$work/server.log" 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p')
[ -n "$port" ] || { echo "FAIL epoll_server did not start"; cat "$work/server.log"; exit 1; }
echo "epoll_server on port $port"

(echo "ping from s_client"; sleep 1) |
  timeout 20 openssl s_client -connect "127.0.0.1:$port" -CAfile "$CERTS/ca.pem" \
    -verify_return_error -verify_hostname localhost -servername localhost -brief \
    >"$work/s_client.log" 2>&1 || true
check "openssl s_client -> epoll_server (echo)" "$work/s_client.log" \
  "ping from s_client" "Verification: OK" "Protocol version: TLSv1.3"

timeout 20 "$PYTHON" tests/c/pypeer.py client "$CERTS" "$port" >"$work/py.log" 2>&1 || true
check "python ssl -> epoll_server (echo, clean close)" "$work/py.log" \
  "REPLY hello from python" "UNWRAPPED"

timeout 20 "$PYTHON" tests/c/pypeer.py rude "$CERTS" "$port" >"$work/pyrude.log" 2>&1 || true
check "python ssl -> epoll_server (no close_notify)" "$work/pyrude.log" "REPLY hello from python"

timeout 20 curl -sS --max-time 15 --cacert "$CERTS/ca.pem" "https://localhost:$port/" \
  -w '\n%{http_code} %{http_version}\n' >"$work/curl.log" 2>&1 || true
check "curl -> epoll_server (https GET)" "$work/curl.log" \
  "hello from the sslbio epoll_server over TLSv1.3" "^200 1.1"

timeout 20 "$BIN/select_client" "$port" --message "echo via select" >"$work/select_epoll.log" 2>&1 ||
  true
check "select_client -> epoll_server (echo)" "$work/select_epoll.log" \
  "received: echo via select" "done: TLSv1.3"

timeout 20 "$BIN/cxx_handoff" "$port" >"$work/cxx.log" 2>&1 || true
check "cxx_handoff (C++17, plain-OpenSSL SSL_CTX) -> epoll_server" "$work/cxx.log" \
  "echo: hello from C++" "close: clean"

if ! timeout 30 tail --pid=$server -f /dev/null; then
  echo "FAIL epoll_server did not exit after --max-conns"; fail=1
fi
rc=0
wait $server || rc=$?
[ $rc -eq 0 ] || { echo "FAIL epoll_server exit status $rc"; fail=1; }
check "epoll_server: six connections, clean and truncated closes told apart" "$work/server.log" \
  "clean close (close_notify received)" "truncated (transport EOF without close_notify)" \
  "https: GET / HTTP/1.1" "alpn=http/1.1" "6 connections served"

# ---- select_client against openssl s_server ----
for v in tls1_3 tls1_2; do
  s_server_start "s_server_$v" -rev -$v
  timeout 20 "$BIN/select_client" "$S_PORT" --message "stressed" --expect "desserts" \
    >"$work/select_$v.log" 2>&1 || true
  want=TLSv1.3; [ $v = tls1_2 ] && want=TLSv1.2
  check "select_client -> openssl s_server -$v" "$work/select_$v.log" \
    "received: desserts" "done: $want"
done

# ---- select_client --pin: the verify decision made by a worker thread ----
pin=$(openssl x509 -in "$CERTS/server.pem" -pubkey -noout | openssl pkey -pubin -outform DER |
  openssl dgst -sha256 -hex | awk '{print $NF}')
(cd "$CERTS" && timeout 30 openssl s_server -accept 127.0.0.1:0 -cert server.pem \
  -key server.key -rev -naccept 2) >"$work/s_server_pin.log" 2>&1 &
pids+=($!)
sport=$(wait_port "$work/s_server_pin.log" 's/^ACCEPT 127.0.0.1:\([0-9]*\).*/\1/p')
timeout 20 "$BIN/select_client" "$sport" --ca "$CERTS/other-ca.pem" --pin "$pin" \
  --message stressed --expect desserts >"$work/pin_ok.log" 2>&1 || true
check "select_client --pin (worker thread) -> s_server: an untrusted chain, pinned key accepted" \
  "$work/pin_ok.log" "verify deferred to a worker thread (OpenSSL's result: 20)" \
  "pin matches, accepted" "received: desserts"
if timeout 20 "$BIN/select_client" "$sport" --pin "00$pin" --message x >"$work/pin_bad.log" 2>&1; then
  echo "FAIL select_client with a wrong pin succeeded"; fail=1
fi
check "select_client --pin (worker thread) -> s_server: another key rejected" \
  "$work/pin_bad.log" "pin differs, rejected" "rejected by the verify callback" "(verify 50)"

# ---- epoll_server with several names: the ClientHello pause ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -keyout "$work/other.key" -out "$work/other.pem" -subj /CN=other.test \
  -addext subjectAltName=DNS:other.test >/dev/null 2>&1
timeout 60 "$BIN/epoll_server" --port 0 --max-conns 3 --timeout 50 --strict-names \
  --name "localhost=$CERTS/server.pem,$CERTS/server.key,http/1.1" \
  --name "other.test=$work/other.pem,$work/other.key,h2;http/1.1" >"$work/names.log" 2>&1 &
pids+=($!)
nport=$(wait_port "$work/names.log" 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p')
echo x | timeout 20 openssl s_client -connect "127.0.0.1:$nport" -servername other.test \
  -CAfile "$work/other.pem" -verify_return_error -alpn h2 -brief >"$work/name_other.log" 2>&1 || true
check "s_client -servername other.test -> epoll_server: its own certificate and ALPN" \
  "$work/name_other.log" "Verification: OK" "CN *= *other.test"
echo x | timeout 20 openssl s_client -connect "127.0.0.1:$nport" -servername localhost \
  -CAfile "$CERTS/ca.pem" -verify_return_error -verify_hostname localhost -brief \
  >"$work/name_local.log" 2>&1 || true
check "s_client -servername localhost -> epoll_server: the localhost certificate" \
  "$work/name_local.log" "Verification: OK"
echo x | timeout 20 openssl s_client -connect "127.0.0.1:$nport" -servername unknown.test \
  -brief >"$work/name_unknown.log" 2>&1 || true
check "s_client -servername unknown.test -> epoll_server: refused" "$work/name_unknown.log" \
  "unrecognized name"
sleep 0.5
check "epoll_server: the context chosen at the ClientHello, by name" "$work/names.log" \
  "sni=other.test alpn offered=h2: context 2" "alpn=h2 sni=other.test" \
  "sni=localhost alpn offered=: context 1" \
  "sni=unknown.test unknown: refused" "ClientHello refused by the application (alert 112)"

if [ "${SHOW:-0}" = 1 ] || [ $fail -ne 0 ]; then
  echo; echo "---- what each side negotiated ----"
  {
    grep -h -e "handshake done" -e "close" -e "https:" -e "served" "$work/server.log"
    grep -h -e "Protocol version" -e "Ciphersuite" "$work/s_client.log" | sed 's/^/s_client: /'
    grep -h "VERSION" "$work/py.log" | sed 's/^/python: /'
    tail -2 "$work/curl.log" | sed 's/^/curl: /'
    cat "$work"/select_*.log "$work/cxx.log"
  } || true
fi
[ $fail -eq 0 ] && echo "examples: all passed"
exit $fail
