# Go: vet, the package tests (with -race), a short fuzz run per target.
TEST_TARGETS += test-go

GO_FUZZTIME ?= 10s

# Go's build cache does not see the ../capi files the package #includes, so
# after an engine change `go test` could run the old engine: a digest of
# them in CGO_CFLAGS (part of the cache key) rebuilds it for every Go
# command make runs. (By hand: `go test -a` after changing capi/.)
CAPI_SUM := $(shell cat capi/*.c capi/*.h include/sslbio.h 2>/dev/null | cksum | cut -d' ' -f1)
export CGO_CFLAGS := -g -O2 -DSSLBIO_CAPI_SUM=$(CAPI_SUM)

.PHONY: test-go vet fuzz
vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

test-go: vet certs
	$(GO) test -race -count=1 ./...
