#!/usr/bin/env bash
# `make lib` needs no Go toolchain (make test-c-lib-without-go): the working
# tree's files (tracked and untracked, not ignored) are copied to a temp dir
# and `make lib GO=false` runs there with no `go` on PATH; then the soname
# file, the libsslbio.so link, libsslbio.a and sslbio.pc must be there.
# A PATH dir that holds `go` is dropped; if it holds other tools too (Debian's
# /usr/bin/go), they stay reachable through a dir of links without go/gofmt.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

src=$tmp/src
mkdir -p "$src" "$tmp/shadow"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar -cf - --null -T - | tar -xf - -C "$src"
else
  tar -cf - --exclude=./build . | tar -xf - -C "$src"
fi

newpath=
IFS=: read -r -a dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  [ -n "$d" ] && [ -d "$d" ] || continue
  if [ -e "$d/go" ]; then
    for t in "$d"/*; do
      case ${t##*/} in go | gofmt) ;; *) [ -x "$t" ] && ln -sf "$t" "$tmp/shadow/" ;; esac
    done
    d=$tmp/shadow
  fi
  case ":$newpath:" in *":$d:"*) ;; *) newpath=${newpath:+$newpath:}$d ;; esac
done
if PATH=$newpath command -v go >/dev/null; then
  echo "lib-without-go: go still on PATH: $(PATH=$newpath command -v go)"
  exit 1
fi

abi=$(sed -n 's/^#define SSLBIO_ABI_VERSION \([0-9][0-9]*\).*/\1/p' include/sslbio.h)
if ! env PATH="$newpath" GO=false make -C "$src" lib GO=false >"$tmp/make.log" 2>&1; then
  echo "lib-without-go: make lib failed without Go:"
  cat "$tmp/make.log"
  exit 1
fi
b=$src/build
fail=0
# A parse-time $(shell go ...) fails quietly: look for its complaint too.
if grep -E '(^|[ :])go: ((command )?not found|No such file or directory)' "$tmp/make.log"; then
  echo "lib-without-go: something called go (above)"
  fail=1
fi
for f in "libsslbio.so.$abi" libsslbio.a sslbio.pc; do
  [ -s "$b/$f" ] || { echo "lib-without-go: build/$f missing"; fail=1; }
done
[ "$(readlink "$b/libsslbio.so" || true)" = "libsslbio.so.$abi" ] ||
  { echo "lib-without-go: build/libsslbio.so is not a link to libsslbio.so.$abi"; fail=1; }
[ $fail -eq 0 ] || { cat "$tmp/make.log"; exit 1; }
echo "lib-without-go: make lib with GO=false and no go on PATH built libsslbio.so.$abi," \
  "libsslbio.so, libsslbio.a, sslbio.pc"
