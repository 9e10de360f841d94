#!/usr/bin/env bash
# Exported symbols of the C API (make test-c-symbols):
#  - every sslbio_ function named in the DESIGN.md contract is exported by
#    build/libsslbio.so and defined in build/libsslbio.a;
#  - the exported sslbio_ functions are exactly those the header declares;
#  - no sslbio__ internal helper is exported (cgo's own _cgo_<hash>_Cfunc_
#    wrappers for the Go package are Go's and are filtered out);
#  - no Go function is exported to C at all (no _cgoexp_ symbol).
set -euo pipefail
so=${1:-build/libsslbio.so}
ar=${2:-build/libsslbio.a}
design=${DESIGN_MD:-../shared/DESIGN.md}
fail=0
exported=$(nm -D --defined-only "$so" | awk '{print $3}' | grep '^sslbio_' | sort -u)
header=$(grep -o 'SSLBIO_API [^;]*' include/sslbio.h | grep -o 'sslbio_[a-z0-9_]*(' | tr -d '(' | sort -u)
archive=$(nm --defined-only "$ar" 2>/dev/null | awk '$2 == "T" {print $3}' | grep '^sslbio_[a-z]' | sort -u)

if [ -f "$design" ]; then
  contract=$(grep -o 'sslbio_[a-z0-9_]*' "$design" | grep -v '^sslbio__' |
    grep -vx -e sslbio_ -e sslbio_ctx -e sslbio_conn | sort -u)
  n=0
  for f in $contract; do
    n=$((n + 1))
    grep -qx "$f" <<<"$exported" || { echo "contract name not exported by $so: $f"; fail=1; }
    grep -qx "$f" <<<"$archive" || { echo "contract name not defined in $ar: $f"; fail=1; }
  done
  echo "contract: $n sslbio_ names from $design checked"
else
  echo "note: $design not found; checking against the header only"
fi
if [ "$exported" != "$header" ]; then
  echo "exported sslbio_ functions differ from the header's:"
  diff <(echo "$header") <(echo "$exported") || true
  fail=1
fi
internal=$(nm -D --defined-only "$so" | awk '{print $3}' | grep '^sslbio__' || true)
if [ -n "$internal" ]; then
  echo "internal helpers exported: $internal"
  fail=1
fi
if nm -D "$so" | grep -q '_cgoexp_'; then
  echo "a Go function is exported to C (_cgoexp_):"
  nm -D "$so" | grep '_cgoexp_'
  fail=1
fi
echo "exported: $(wc -l <<<"$exported") sslbio_ functions, header declares $(wc -l <<<"$header")"
[ $fail -eq 0 ] && echo "symbols: ok"
exit $fail
