package sslbio

// The C engine lives in ../capi (engine_*.c here include its files, since
// cgo compiles only the package's own folder); the Go package is a thin
// layer over include/sslbio.h that makes one cgo call per engine operation.

/*
#cgo pkg-config: openssl
#cgo CFLAGS: -I${SRCDIR}/../include -I${SRCDIR}/../capi -std=gnu11 -O2 -Wall -Wextra
#include <stdlib.h>
#include "sslbio.h"
*/
import "C"
