# OpenSSL 3.5 LTS (Debian 13 trixie) beside the host's OpenSSL 3.0 (Debian 12).
# `make test` runs every suite on the host's OpenSSL, then test-ossl35 runs
# the faces again inside a Debian 13 chroot made once under build/trixie by
# scripts/trixie-env.sh (mmdebstrap from the Debian mirror; ~1 min, ~0.7 GB):
# trixie's own gcc, pkg-config, libssl-dev 3.5, openssl and python3 (whose ssl
# module is OpenSSL 3.5 too), the host's Go toolchain bind-mounted. Inside,
# the repository is /src and /src/build is the host's build/ossl35, so both
# builds live side by side.
#
#   make test-ossl35     (make test) the C library, the C suites (plain, ASan+UBSan,
#                        valgrind), the C, Go and Python examples with their real peers,
#                        go test -race ./..., pybio's unittest suite, on OpenSSL 3.5
#   make ossl35-env      make the chroot only (a no-op once made)
#   make ossl35-shell    a shell in it, at /src
#   make ossl35 T='...'  any make targets inside it, e.g. make ossl35 T=interop
#   make bench-icount-ossl    instructions per operation (callgrind) on 3.0, then 3.5
#   make bench-memsites-ossl  bench-memsites and the memory measure on 3.0, then 3.5
#
# Fails with a message when the chroot cannot be made (no root, no mirror):
# never a silent skip.
TEST_TARGETS += test-ossl35

OSSL35_ENV := scripts/trixie-env.sh
# What test-ossl35 runs inside, after `make lib certs`.
OSSL35_TARGETS ?= test-c-header test-c-symbols test-c-unit test-c-asan \
                  test-c-valgrind test-c-examples test-example-go test-py ossl35-go
OSSL35_GOTEST  ?= -race -count=1

.PHONY: test-ossl35 ossl35-env ossl35-shell ossl35 ossl35-inner ossl35-check ossl35-go \
        bench-icount bench-icount-ossl bench-memsites-ossl

ossl35-env:
	$(OSSL35_ENV) create

test-ossl35: ossl35-env
	@start=$$(date +%s); \
	$(OSSL35_ENV) run make --no-print-directory ossl35-inner T='$(OSSL35_TARGETS)' || exit 1; \
	echo "test-ossl35: every face passed on OpenSSL 3.5 (Debian 13) in $$(( $$(date +%s) - start )) s"

ossl35-shell: ossl35-env
	$(OSSL35_ENV) shell

ossl35: ossl35-env
	$(OSSL35_ENV) run make --no-print-directory ossl35-inner T='$(T)'

# Inside the chroot only: say what runs, then run it.
ossl35-inner: ossl35-check
	$(MAKE) --no-print-directory lib certs
	$(MAKE) --no-print-directory $(T)

ossl35-check:
	@test "$$SSLBIO_ENV" = trixie || { echo "ossl35-inner runs inside the chroot: use make test-ossl35"; exit 1; }
	@v=$$($(PKG_CONFIG) --modversion openssl); case $$v in 3.5.*) ;; \
	  *) echo "ossl35: pkg-config finds OpenSSL $$v, not 3.5"; exit 1;; esac
	@echo "ossl35: $$(. /etc/os-release; echo $$PRETTY_NAME), $$(openssl version), gcc $$(gcc -dumpfullversion)," \
	  "$$($(PYTHON) -c 'import ssl,sys; print("python", sys.version.split()[0], "ssl", ssl.OPENSSL_VERSION)'), $$($(GO) version)"

# go test without vet's git ls-files (the worktree's .git is outside the chroot).
ossl35-go: certs
	$(GO) vet ./...
	$(GO) test $(OSSL35_GOTEST) ./...

# ---- bench on both versions ----
# bench-icount: instructions per operation (bench/icount.py, callgrind) of the
# ceiling, the C API and the Go API on the OpenSSL this make runs with;
# ICOUNT_FLAGS passes options (--measures pingpong, --conf bench/conf/x25519-only.cnf).
# bench-icount-ossl: the same on the host (3.0) and in the chroot (3.5), then
# 3.5 again offering X25519 alone, and one table of all three (~15 min).
ICOUNT_FLAGS ?=
ICOUNT_DIR   := $(BUILD)/icount
bench-icount: $(BENCH_BINS)
	@mkdir -p $(ICOUNT_DIR)
	$(PYTHON) bench/icount.py $(ICOUNT_FLAGS)

bench-icount-ossl: $(BENCH_BINS) ossl35-env
	@mkdir -p $(ICOUNT_DIR) build/ossl35/icount
	$(PYTHON) bench/icount.py --json $(ICOUNT_DIR)/host.json $(ICOUNT_FLAGS)
	$(OSSL35_ENV) run make --no-print-directory bench-icount \
	    ICOUNT_FLAGS='--json build/icount/trixie.json $(ICOUNT_FLAGS)'
	$(OSSL35_ENV) run make --no-print-directory bench-icount \
	    ICOUNT_FLAGS='--json build/icount/trixie-x25519.json --conf bench/conf/x25519-only.cnf --label "3.5, X25519 only" $(ICOUNT_FLAGS)'
	@echo; $(PYTHON) bench/icount.py --table $(ICOUNT_DIR)/host.json build/ossl35/icount/trixie.json \
	    build/ossl35/icount/trixie-x25519.json

# Idle memory on both: bench-memsites (OpenSSL's allocations by site) and the
# bench's memory measure (RSS) for the ceiling and the C API.
MEMORY_CONNS ?= 10000
bench-memsites-ossl: ossl35-env
	$(MAKE) --no-print-directory bench-memory-here
	$(OSSL35_ENV) run make --no-print-directory bench-memory-here MEMORY_CONNS=$(MEMORY_CONNS)

.PHONY: bench-memory-here
bench-memory-here: bench-memsites $(BENCH_DIR)/ceiling $(BENCH_DIR)/capi_bench
	@echo "== $$(openssl version)"
	$(BENCH_DIR)/ceiling --measure memory --conns $(MEMORY_CONNS)
	$(BENCH_DIR)/capi_bench --measure memory --conns $(MEMORY_CONNS)
