#!/usr/bin/env bash
# `make install` as a user and a packager do it (make test-c-install):
#  1. PREFIX=<tmp>/prefix;  2. PREFIX=/opt/sslbio-staged DESTDIR=<tmp>/stage.
# Each time: the files are where they belong (libsslbio.so.<ABI> and its
# libsslbio.so link, libsslbio.a, include/sslbio.h, lib/pkgconfig/sslbio.pc
# naming PREFIX, without rpath or the build tree); examples/c/select_client.c,
# built with `pkg-config --cflags --libs sslbio libcrypto` alone, needs the installed
# soname, has no rpath and runs (LD_LIBRARY_PATH=<prefix>/lib) against
# openssl s_server; the same program built -static with
# `pkg-config --static` needs no shared library at all and runs too.
# Needs make lib certs.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/c/script_lib.sh
MAKE=${MAKE:-make}
CC=${CC:-cc}
abi=$(sed -n 's/^#define SSLBIO_ABI_VERSION \([0-9][0-9]*\).*/\1/p' include/sslbio.h)
soname=libsslbio.so.$abi
repo=$PWD

# run_client NAME BINARY [ENV...]: select_client against a fresh s_server -rev.
run_client() {
  local name=$1 bin=$2
  shift 2
  s_server_start "$name-server" -rev
  [ -n "$S_PORT" ] || { fail=1; return 0; }
  env "$@" timeout 20 "$bin" "$S_PORT" --ca "$repo/$CERTS/ca.pem" --message stressed \
    --expect desserts >"$work/$name.log" 2>&1 || echo "exit status $?" >>"$work/$name.log"
  check "$name: select_client -> openssl s_server" "$work/$name.log" \
    "received: desserts" "done: TLSv1.3"
}

# install_and_use NAME PREFIX [DESTDIR]
install_and_use() {
  local name=$1 prefix=$2 dest=${3:-}
  local root=$dest$prefix
  local lib=$root/lib
  "$MAKE" --no-print-directory -s install PREFIX="$prefix" ${dest:+DESTDIR="$dest"} >"$work/$name-install.log" 2>&1 ||
    { echo "FAIL $name: make install:"; cat "$work/$name-install.log"; fail=1; return 0; }

  local f missing=0
  for f in "lib/$soname" lib/libsslbio.a include/sslbio.h lib/pkgconfig/sslbio.pc; do
    [ -f "$root/$f" ] || { echo "FAIL $name: $root/$f not installed"; missing=1; }
  done
  [ "$(readlink "$lib/libsslbio.so" || true)" = "$soname" ] ||
    { echo "FAIL $name: $lib/libsslbio.so is not a link to $soname"; missing=1; }
  [ $missing -eq 0 ] || { find "${dest:-$prefix}" | sed 's/^/    /'; fail=1; return 0; }
  local bad=(-e rpath -e "$repo")
  [ -z "$dest" ] || bad+=(-e "$dest")
  if grep -n "${bad[@]}" "$lib/pkgconfig/sslbio.pc" ||
    ! grep -qx "prefix=$prefix" "$lib/pkgconfig/sslbio.pc"; then
    echo "FAIL $name: sslbio.pc names an rpath, the build tree or DESTDIR, or not prefix=$prefix:"
    sed 's/^/    /' "$lib/pkgconfig/sslbio.pc"
    fail=1
  else
    echo "ok   $name: installed, sslbio.pc says prefix=$prefix and no rpath"
  fi

  # A program of the user's own: the example copied out of the tree, and
  # pkg-config finding only the installed sslbio.pc.
  local dir=$work/$name-app
  mkdir -p "$dir"
  cp examples/c/select_client.c "$dir/app.c"
  local pc=(env PKG_CONFIG_PATH="$lib/pkgconfig")
  [ -z "$dest" ] || pc+=(PKG_CONFIG_SYSROOT_DIR="$dest") # a packager's staged tree
  local flags sflags
  # select_client checks a --pin with OpenSSL itself: libcrypto is its own
  # dependency, beside sslbio (whose own OpenSSL is Requires.private).
  flags=$("${pc[@]}" pkg-config --cflags --libs sslbio libcrypto)
  sflags=$("${pc[@]}" pkg-config --static --cflags --libs sslbio libcrypto)
  echo "     pkg-config --cflags --libs sslbio libcrypto: $flags"
  (cd "$dir" && $CC -std=c11 -Wall -Wextra -Werror -o app app.c $flags) ||
    { echo "FAIL $name: build with pkg-config"; fail=1; return 0; }

  readelf -d "$dir/app" >"$work/$name-dyn.txt"
  check "$name: the program needs $soname" "$work/$name-dyn.txt" "NEEDED.*\[$soname\]"
  if grep -E 'RPATH|RUNPATH' "$work/$name-dyn.txt"; then
    echo "FAIL $name: the program carries an rpath"
    fail=1
  fi
  LD_LIBRARY_PATH=$lib ldd "$dir/app" >"$work/$name-ldd.txt" 2>&1 || true
  check "$name: ldd resolves $soname to $lib" "$work/$name-ldd.txt" "$soname => $lib/$soname"
  if grep -q "$repo/build" "$work/$name-ldd.txt"; then
    echo "FAIL $name: ldd finds the build tree:"
    cat "$work/$name-ldd.txt"
    fail=1
  fi
  run_client "$name-shared" "$dir/app" LD_LIBRARY_PATH="$lib"

  # Static: everything from the archives the .pc names.
  (cd "$dir" && $CC -std=c11 -Wall -Wextra -Werror -static -o app-static app.c $sflags) \
    >"$work/$name-static.log" 2>&1 ||
    { echo "FAIL $name: static build with pkg-config --static:"; cat "$work/$name-static.log"; fail=1; return 0; }
  if readelf -d "$dir/app-static" 2>/dev/null | grep -q NEEDED; then
    echo "FAIL $name: the -static program needs shared libraries"
    fail=1
  fi
  run_client "$name-static" "$dir/app-static"
}

install_and_use prefix "$work/prefix"
install_and_use destdir /opt/sslbio-staged "$work/stage"
[ ! -e /opt/sslbio-staged ] || { echo "FAIL DESTDIR install wrote to /opt/sslbio-staged"; fail=1; }
[ $fail -eq 0 ] && echo "install: all passed"
exit $fail
