#!/usr/bin/env bash
# Install the Debian packages sslbio's build and tests use, only those
# missing (a fresh machine has Go, gcc, libssl-dev, python3 and openssl).
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have pkg-config || need+=(pkg-config)
have valgrind || need+=(valgrind)
have curl || need+=(curl)
have tshark || need+=(tshark)         # make test-hooks-tools: decrypts a capture with the key log
have g++ || need+=(g++)
# make interop: foreign TLS peers and scanners (node is expected, like Go)
have gnutls-cli || need+=(gnutls-bin)   # gnutls-cli, gnutls-serv
have wget || need+=(wget)               # Debian's wget is built on GnuTLS
have testssl || have testssl.sh || need+=(testssl.sh)
have sslscan || need+=(sslscan)
have node || need+=(nodejs)
# make fuzz-quick: clang with libFuzzer (its runtime, libclang-rt-N-dev, comes with clang)
have clang || need+=(clang)
# make fuzz-ops-quick, fuzz-long: AFL++ (afl-fuzz, afl-clang-fast)
have afl-fuzz || need+=(afl++)
# make coverage: gcovr
have gcovr || need+=(gcovr)
# make faults: libfiu (the API for the C tests, fiu-run and its POSIX preload)
dpkg -s libfiu-dev >/dev/null 2>&1 || need+=(libfiu-dev)
have fiu-run || need+=(fiu-utils)
# make test-ossl35: a Debian 13 chroot with OpenSSL 3.5 (scripts/trixie-env.sh)
have mmdebstrap || need+=(mmdebstrap)
for pkg in "${EXTRA_PACKAGES[@]:-}"; do [ -n "$pkg" ] && need+=("$pkg"); done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing Debian packages: ${need[*]}" >&2
    echo "install-deps: run as root, or: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}"
fi
