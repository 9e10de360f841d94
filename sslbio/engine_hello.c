// The C engine's hello.c, compiled into the Go package by cgo (which builds
// only the C files of the package's own folder). The engine itself lives in
// capi/, where the C compiler builds it into libsslbio without Go.
#include "../capi/hello.c"
