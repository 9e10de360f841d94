#!/usr/bin/env bash
# Runs a command in a private network namespace whose only interface is
# loopback, when the system allows it (root, or unprivileged user
# namespaces): every listener of the interop run — including gnutls-serv,
# which cannot be told to bind 127.0.0.1 only — is then unreachable from
# outside, and no port can clash with another program's. Otherwise runs the
# command as it is, in the host's namespace.
set -euo pipefail
if command -v unshare >/dev/null 2>&1 && command -v ip >/dev/null 2>&1 && unshare -n true 2>/dev/null; then
  echo "interop: running in a private network namespace (loopback only)"
  exec unshare -n bash -c 'ip link set lo up && exec "$@"' bash "$@"
fi
echo "interop: no private network namespace here; running in the host's (gnutls-serv listens on all interfaces during its cases)" >&2
exec "$@"
