#!/usr/bin/env bash
# A Debian 13 (trixie) chroot with OpenSSL 3.5, made once under build/ and
# reused: sslbio's faces are tested on the OpenSSL of Debian 12 (the host,
# 3.0) and of Debian 13 (3.5 LTS) by `make test-ossl35` (mk/ossl35.mk).
#
#   scripts/trixie-env.sh create        make the chroot (once; a no-op when its stamp matches)
#   scripts/trixie-env.sh run CMD...    run CMD in it, at /src (the repository)
#   scripts/trixie-env.sh shell         an interactive shell in it
#   scripts/trixie-env.sh remove        delete it
#
# The chroot runs trixie's own gcc, pkg-config, libssl-dev, openssl and
# python3; the Go toolchain is the host's (its GOROOT, bind-mounted read-only
# at the same path), the module cache is shared with the host, the Go build
# cache is the chroot's own. Inside, the repository is /src and /src/build is
# build/ossl35 of the host, so every "build/..." path of the Makefile and the
# tests works unchanged and the host's and trixie's outputs never clash.
#
# Mounts (/proc, /dev, /dev/pts, /sys, /src, /src/build, GOROOT, module
# cache) are made in a private mount namespace (unshare -m) for the length of
# one run: they vanish with it, even when the run is killed, and the host's
# mount table never sees them. Needs root, unshare and chroot (util-linux,
# coreutils) and, to create, mmdebstrap and the Debian mirror.
#
# Environment: TRIXIE_DIR (build/trixie), TRIXIE_OUT (build/ossl35),
# TRIXIE_MIRROR (the Debian mirror; default deb.debian.org over http).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
root=${TRIXIE_DIR:-$repo/build/trixie}
out=${TRIXIE_OUT:-$repo/build/ossl35}
mirror=${TRIXIE_MIRROR:-http://deb.debian.org/debian}
security=${TRIXIE_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

# What the suites need inside: compilers and headers, OpenSSL 3.5, the peers
# of the examples (openssl, python3, curl), valgrind and gdb for the C checks.
packages=(gcc g++ make pkg-config libc6-dev libssl-dev openssl python3 python3-pip ca-certificates
          valgrind gdb binutils git procps curl iproute2)
# The stamp names what was asked for; a different list makes a new chroot.
stamp_text="sslbio trixie env v1: ${packages[*]}"
stamp=$root/.sslbio-trixie-stamp

die() { echo "trixie-env: $*" >&2; exit 1; }

need_root() {
  [ "$(id -u)" -eq 0 ] || die "needs root (mmdebstrap, chroot and mounts); run as root or with sudo"
  command -v unshare >/dev/null || die "unshare missing (util-linux)"
  command -v chroot >/dev/null || die "chroot missing (coreutils)"
}

ready() { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_text" ]; }

create() {
  need_root
  if ready; then
    echo "trixie-env: $root ready ($(chroot "$root" openssl version 2>/dev/null || echo '?'))"
    return 0
  fi
  if ! command -v mmdebstrap >/dev/null; then
    echo "trixie-env: installing mmdebstrap (Debian package)"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq mmdebstrap; } ||
      die "cannot install mmdebstrap: the Debian 13 environment cannot be made"
  fi
  local tmp=$root.tmp
  rm -rf "$tmp" "$root"
  mkdir -p "$(dirname "$root")"
  local include
  include=$(IFS=,; echo "${packages[*]}")
  echo "trixie-env: creating $root (Debian 13, mmdebstrap, $mirror)"
  local t0=$SECONDS
  # Debian 12's keyring has the archive keys that sign trixie's Release files.
  if ! mmdebstrap --mode=root --variant=apt --include="$include" \
       --aptopt='Acquire::Retries "3"' \
       --customize-hook='chroot "$1" sh -c "apt-get clean; rm -rf /var/lib/apt/lists/*"' \
       trixie "$tmp" \
       "deb $mirror trixie main" "deb $mirror trixie-updates main" \
       "deb $security trixie-security main" >"$tmp.log" 2>&1; then
    tail -30 "$tmp.log" >&2
    rm -rf "$tmp"
    die "mmdebstrap failed (log: $tmp.log): the Debian 13 environment cannot be made"
  fi
  cp /etc/resolv.conf "$tmp/etc/resolv.conf" 2>/dev/null || true
  echo "$stamp_text" >"$tmp/.sslbio-trixie-stamp"
  mv "$tmp" "$root"
  rm -f "$tmp.log"
  echo "trixie-env: created in $((SECONDS - t0)) s: $(chroot "$root" openssl version)," \
       "$(chroot "$root" python3 -c 'import ssl; print("python ssl:", ssl.OPENSSL_VERSION)')"
}

# run CMD...: CMD in the chroot, cwd /src, in a private mount namespace.
run() {
  need_root
  ready || die "$root is missing or out of date: run '$0 create' (make ossl35-env)"
  local goroot gomodcache
  goroot=$(go env GOROOT 2>/dev/null) || die "the host's Go toolchain (go) is needed: it is used inside too"
  gomodcache=$(go env GOMODCACHE)
  mkdir -p "$out" "$gomodcache"
  touch "$out/.keep"
  cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true  # the module proxy, if a module is missing
  # Host variables that must not leak in (paths of the host), then ours.
  local envs=(
    -i HOME=/root PATH="$goroot/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    LANG=C.UTF-8 TERM="${TERM:-dumb}" CI="${CI:-}"
    GOROOT="$goroot" GOMODCACHE="$gomodcache" GOCACHE=/root/.cache/go-build GOTOOLCHAIN=local
    GOFLAGS="$(go env GOFLAGS)" GOPROXY="$(go env GOPROXY)" GOSUMDB="$(go env GOSUMDB)"
    GONOSUMDB="$(go env GONOSUMDB)" GOPRIVATE="$(go env GOPRIVATE)" SSLBIO_ENV=trixie
  )
  # The inner script: mounts, then chroot; the namespace takes them away.
  unshare --mount --propagation private -- /bin/bash -euc '
    root=$1 repo=$2 out=$3 goroot=$4 gomodcache=$5; shift 5
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount --rbind /sys "$root/sys"
    mkdir -p "$root/src" "$root$goroot" "$root$gomodcache" "$root/tmp"
    mount --bind "$repo" "$root/src"
    mount --bind "$out" "$root/src/build"
    mount --bind "$goroot" "$root$goroot"
    mount -o remount,bind,ro "$root$goroot"
    mount --bind "$gomodcache" "$root$gomodcache"
    mount -t tmpfs -o size=4g tmpfs "$root/tmp"
    exec chroot "$root" /usr/bin/env "$@"
  ' trixie-env "$root" "$repo" "$out" "$goroot" "$gomodcache" \
    "${envs[@]}" /bin/bash -c 'cd /src && exec "$@"' cmd "$@"
}

case "${1:-}" in
  create) create ;;
  run) shift; [ $# -gt 0 ] || die "run: which command?"; run "$@" ;;
  shell) run /bin/bash -i ;;
  remove) need_root; rm -rf "$root" "$root.tmp" ;;
  ready) ready ;;
  *) sed -n '2,/^set /p' "$0" | sed '$d'; exit 2 ;;
esac
