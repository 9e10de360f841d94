package sslbio

/*
#include "sslbio.h"
*/
import "C"

// The C library's names for statuses and kinds (SSLBIO_STATUS_TABLE and
// SSLBIO_KIND_TABLE of include/sslbio.h), for the test that checks the Go
// faces agree with the header. The Go package itself uses C.SSLBIO_*.

func cStatusName(status int) string { return C.GoString(C.sslbio_strstatus(C.int(status))) }

func cKindName(kind int) string { return C.GoString(C.sslbio_strkind(C.int(kind))) }
