# Benchmarks (bench/README.md). `make bench` measures every subject in one
# run (< 5 min) and prints the table; `make bench ONLY=capi:pingpong` one
# figure; BENCH_FLAGS passes more options to bench/run.py (--runs 5,
# --duration 1, --conns 2000). `make test-bench` (part of `make test`) is
# a smoke run of every subject and measure, so the harness cannot rot.
TEST_TARGETS += test-bench

BENCH_DIR    := $(BUILD)/bench
BENCH_CFLAGS ?= -O2 -Wall -Wextra -std=gnu11
BENCH_BINS   := $(BENCH_DIR)/ceiling $(BENCH_DIR)/capi_bench $(BENCH_DIR)/gobench
BENCH_GO_SRC := $(wildcard bench/cmd/gobench/*.go internal/memconn/*.go internal/testpki/*.go) bench/go.mod bench/go.sum

.PHONY: bench test-bench bench-bins
bench-bins: $(BENCH_BINS)

$(BENCH_DIR)/ceiling: bench/c/ceiling.c bench/c/scenarios.h
	@mkdir -p $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) $$(pkg-config --cflags openssl) -o $@ $< $$(pkg-config --libs openssl) -lpthread

$(BENCH_DIR)/capi_bench: bench/c/capi_bench.c bench/c/scenarios.h include/sslbio.h $(LIB_SO)
	@mkdir -p $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) -Iinclude $$(pkg-config --cflags openssl) -o $@ $< \
	    -L$(BUILD) -lsslbio -Wl,-rpath,'$$ORIGIN/..' $$(pkg-config --libs openssl) -lpthread

# A module of its own (bench/go.mod): go-openssl stays out of the main one.
$(BENCH_DIR)/gobench: $(BENCH_GO_SRC) $(ENGINE_SRC)
	@mkdir -p $(BENCH_DIR)
	cd bench && $(GO) build -o ../$@ ./cmd/gobench

# `make bench OPENSSL=3.5`: the same bench inside the Debian 13 chroot (mk/ossl35.mk).
ifeq ($(OPENSSL),3.5)
bench: ossl35-env
	$(OSSL35_ENV) run make --no-print-directory bench ONLY='$(ONLY)' \
	    BENCH_FLAGS='--docs "" $(BENCH_FLAGS)'
else
bench: all $(BENCH_BINS)
	$(PYTHON) bench/run.py $(if $(ONLY),--only '$(ONLY)') $(BENCH_FLAGS)
endif

test-bench: all $(BENCH_BINS)
	cd bench && $(GO) vet ./...
	$(PYTHON) bench/run.py --quick --docs '' --out $(BENCH_DIR)/smoke $(if $(ONLY),--only '$(ONLY)')

# Where an idle connection's memory goes, by OpenSSL allocation site
# (bench/c/memsites.c, with the engine's C sources compiled in).
MEMSITES_N ?= 500
.PHONY: bench-memsites
$(BENCH_DIR)/memsites: bench/c/memsites.c tests/c/pair.h $(wildcard capi/*.c capi/*.h) include/sslbio.h
	@mkdir -p $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) -Iinclude -Icapi $$(pkg-config --cflags openssl) -o $@ $< \
	    $(wildcard capi/*.c) $$(pkg-config --libs openssl) -lpthread

bench-memsites: certs $(BENCH_DIR)/memsites
	$(BENCH_DIR)/memsites $(BUILD)/certs $(MEMSITES_N)
