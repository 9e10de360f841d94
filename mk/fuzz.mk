# Fuzzing. Go: the fuzz targets of sslbio/fuzz_test.go (FuzzServerFeed,
# FuzzClientFeed) and sslbio/fuzzops_test.go (FuzzOps, FuzzOpsConn: the
# operation-sequence targets), each for a bounded -fuzztime; crashers land in
# sslbio/testdata/fuzz/ and `go test` replays them from then on. C: a
# libFuzzer harness over the C API (fuzz/c/fuzz_engine.c) compiled with
# clang -fsanitize=fuzzer,address,undefined together with capi/*.c, seeded
# with real recorded handshake flights (fuzz/c/corpus, made by
# fuzz/c/gen_corpus.c); every crasher goes into fuzz/c/regressions/, which
# fuzz-regress replays (with gcc+ASan, no clang needed) in every run.
#
#   make fuzz-quick     (make test) 10 s per Go target, 30 s of libFuzzer, replay of seeds and regressions
#   make fuzz           long runs: FUZZ_GO_TIME=10m and FUZZ_C_TIME=600 by default
#   make fuzz-corpus    re-record the seed corpus into fuzz/c/corpus
TEST_TARGETS += fuzz-quick

FZ_DIR      := $(BUILD)/fuzz
FZ_OSSL     := $(shell pkg-config --cflags --libs openssl 2>/dev/null || echo -lssl -lcrypto)
FZ_SRC      := fuzz/c/fuzz_engine.c fuzz/c/fuzz_common.h tests/c/pair.h $(wildcard capi/*.c capi/*.h) include/sslbio.h
FZ_CFLAGS   := -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Wno-deprecated-declarations -Iinclude -Icapi
FZ_GO_TARGETS := FuzzServerFeed FuzzClientFeed FuzzOps FuzzOpsConn
FUZZ_GO_TIME  ?= 10s
FUZZ_C_TIME   ?= 30
FUZZ_C_FLAGS  ?= -timeout=10 -rss_limit_mb=2048 -max_len=24000

.PHONY: fuzz fuzz-quick fuzz-go fuzz-c fuzz-regress fuzz-corpus fuzz-bins
fuzz-quick: fuzz-regress fuzz-c fuzz-go
	@echo "fuzz-quick: Go targets $(FUZZ_GO_TIME) each, libFuzzer $(FUZZ_C_TIME)s, regressions replayed: no crash"

# Long runs (no recipe here: go.mk may add its own to `fuzz`).
fuzz: FUZZ_GO_TIME = 10m
fuzz: FUZZ_C_TIME = 600
fuzz: fuzz-regress fuzz-c fuzz-go

fuzz-go:
	@for t in $(FZ_GO_TARGETS); do \
	  if grep -q "^func $$t(" sslbio/*_test.go; then \
	    echo "== go fuzz $$t ($(FUZZ_GO_TIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZ_GO_TIME) ./sslbio || exit 1; \
	  else echo "== go fuzz $$t: not defined in sslbio/*_test.go, skipped"; fi; \
	done

$(FZ_DIR)/fuzz_engine: $(FZ_SRC)
	@mkdir -p $(@D)
	clang $(FZ_CFLAGS) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    -o $@ fuzz/c/fuzz_engine.c $(wildcard capi/*.c) $(FZ_OSSL) -lpthread

# The same harness without libFuzzer: replays files (gcc, ASan+UBSan).
$(FZ_DIR)/fuzz_replay: $(FZ_SRC)
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -DFZ_STANDALONE $(FZ_CFLAGS) -fsanitize=address,undefined \
	    -fno-sanitize-recover=all -o $@ fuzz/c/fuzz_engine.c $(wildcard capi/*.c) $(FZ_OSSL) -lpthread

$(FZ_DIR)/gen_corpus: fuzz/c/gen_corpus.c $(FZ_SRC)
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE $(FZ_CFLAGS) -o $@ fuzz/c/gen_corpus.c $(wildcard capi/*.c) $(FZ_OSSL) -lpthread

fuzz-bins: $(FZ_DIR)/fuzz_engine $(FZ_DIR)/fuzz_replay

fuzz-c: SHELL := /bin/bash
fuzz-c: $(FZ_DIR)/fuzz_engine
	@mkdir -p $(FZ_DIR)/corpus $(FZ_DIR)/artifacts
	$(FZ_DIR)/fuzz_engine $(FZ_DIR)/corpus fuzz/c/corpus fuzz/c/regressions \
	    -max_total_time=$(FUZZ_C_TIME) -artifact_prefix=$(FZ_DIR)/artifacts/ -print_final_stats=1 \
	    $(FUZZ_C_FLAGS) 2>&1 | grep -E '^(#[0-9]+ *(INITED|DONE)|Done|stat::|==|SUMMARY|fuzz invariant)' ; \
	  st=$${PIPESTATUS[0]}; if [ $$st -ne 0 ]; then \
	    echo "fuzz-c: crash (status $$st): copy $(FZ_DIR)/artifacts/crash-* to fuzz/c/regressions/, fix, commit both"; \
	    exit $$st; fi

fuzz-regress: $(FZ_DIR)/fuzz_replay
	$(FZ_DIR)/fuzz_replay fuzz/c/corpus fuzz/c/regressions

fuzz-corpus: $(FZ_DIR)/gen_corpus
	$(FZ_DIR)/gen_corpus fuzz/c/corpus
