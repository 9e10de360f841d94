// Command capi is built as build/libsslbio.so (-buildmode=c-shared) and
// build/libsslbio.a (-buildmode=c-archive). The C API is the C engine that
// package sslbio compiles with cgo; this package only links it, so the data
// path (feed, drain, read, write, handshake, shutdown) never enters Go.
package main

import "C"

import _ "github.com/sslbio/sslbio/sslbio"

func main() {}
