# Go: vet, the package tests (with -race), a short fuzz run per target.
TEST_TARGETS += test-go

GO_FUZZTIME ?= 10s

.PHONY: test-go vet fuzz
vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

test-go: vet certs
	$(GO) test -race -count=1 ./...
