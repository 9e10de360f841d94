package sslbio

// The C engine lives beside this file (*.c); the Go package is a thin layer
// that makes one cgo call per engine operation.

/*
#cgo pkg-config: openssl
#cgo CFLAGS: -I${SRCDIR}/../include -I${SRCDIR}/../capi -std=gnu11 -O2 -Wall -Wextra
#include <stdlib.h>
#include "sslbio.h"
#include "info_internal.h"
*/
import "C"
