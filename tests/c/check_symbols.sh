#!/usr/bin/env bash
# Exported symbols of the C library (make test-c-symbols), checked against
# include/sslbio.h alone:
#  - libsslbio.so's dynamic table defines exactly the functions the header
#    declares with SSLBIO_API, and nothing else (no sslbio__ helper, no
#    OpenSSL or compiler-runtime name);
#  - its soname is libsslbio.so.<SSLBIO_ABI_VERSION>;
#  - no Go symbol anywhere (the library is built by the C compiler alone);
#  - libsslbio.a defines the same public names; its other global symbols
#    are sslbio__ helpers with hidden visibility.
set -euo pipefail
so=${1:-build/libsslbio.so}
ar=${2:-build/libsslbio.a}
hdr=${3:-include/sslbio.h}
fail=0
bad() { echo "FAIL: $*"; fail=1; }

header=$(grep -o 'SSLBIO_API [^;]*' "$hdr" | grep -o 'sslbio_[a-z0-9_]*(' | tr -d '(' | sort -u)
abi=$(sed -n 's/^#define SSLBIO_ABI_VERSION \([0-9][0-9]*\).*/\1/p' "$hdr")
[ -n "$header" ] || bad "no SSLBIO_API function found in $hdr"
[ -n "$abi" ] || bad "no SSLBIO_ABI_VERSION in $hdr"

# Every defined dynamic symbol, whatever its name.
dynamic=$(nm -D --defined-only "$so" | awk 'NF == 3 {print $3}' | sort -u)
if [ "$dynamic" != "$header" ]; then
  echo "exported (nm -D --defined-only $so) differs from the header's SSLBIO_API functions"
  echo "(< header only, > exported only):"
  diff <(echo "$header") <(echo "$dynamic") || true
  fail=1
fi

soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libsslbio.so.$abi" ] || bad "soname is '$soname', want libsslbio.so.$abi"

# Go's runtime, cgo's trampolines and exports: none of them, in either file.
go_re='(^|[ .])(runtime\.|go\.|go:|_cgo_|_cgoexp_|crosscall|x_cgo_|_rt0_)'
for f in "$so" "$ar"; do
  gosyms=$(nm "$f" 2>/dev/null | grep -E "$go_re" || true)
  [ -z "$gosyms" ] || bad "Go symbols in $f: $(head -5 <<<"$gosyms")"
done

# The archive: the same public names; every other global is a hidden sslbio__ helper.
archive=$(nm --defined-only -g "$ar" | awk 'NF == 3 && $3 ~ /^sslbio_[a-z]/ {print $3}' | sort -u)
if [ "$archive" != "$header" ]; then
  echo "public names defined by $ar differ from the header's (< header only, > archive only):"
  diff <(echo "$header") <(echo "$archive") || true
  fail=1
fi
others=$(readelf -sW "$ar" | awk '$5 == "GLOBAL" && $7 != "UND" && $8 !~ /^sslbio_[a-z]/ {print $6, $8}' | sort -u)
stray=$(grep -v '^HIDDEN sslbio__' <<<"$others" || true)
[ -z "$stray" ] || bad "globals in $ar that are not hidden sslbio__ helpers: $stray"

echo "symbols: header declares $(wc -l <<<"$header") functions; $so exports $(wc -l <<<"$dynamic")" \
  "(soname $soname); $ar defines $(wc -l <<<"$archive") of them and $(grep -c . <<<"$others") hidden helpers"
[ $fail -eq 0 ] && echo "symbols: ok"
exit $fail
