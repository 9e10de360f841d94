# Operation-sequence fuzzing of the engine's own code (fuzz/c/fuzz_ops.h):
# client/server pairs are built once (established TLS 1.3, TLS 1.2, mutual
# TLS, mid-handshake, paused at the ClientHello, paused for verification),
# and each input runs a list of operations on a forked copy of them
# (AFL++'s deferred fork server), checked by a model of both sides.
#
#   make fuzz-ops-quick   (make test) ASan replay of the corpus and every regression input,
#                         tests/c/test_fuzzfound.c and test_coverage.c (ASan), then afl-fuzz
#                         for FUZZ_OPS_TIME s (15) and on the ASan+UBSan build for
#                         FUZZ_OPS_ASAN_TIME s (10)
#   make fuzz-long FUZZ_TIME=3600 [FUZZ_JOBS=2] [FUZZ_TARGETS=fuzz_ops]
#                         every fuzz target FUZZ_TIME seconds, one after the other
#                         (FUZZ_JOBS cores for fuzz_ops): fuzz_ops (AFL++), fuzz_ops_asan
#                         (AFL++ on the ASan+UBSan build), fuzz_engine
#                         (libFuzzer), the Go targets; one line per target:
#                         "TARGET: executions: N in S s, findings: F"
#   make fuzz-ops-seeds   re-write the hand-made seeds into fuzz/c/ops-corpus
#   make fuzz-ops-speed   where an execution's time goes (fork, handshakes), per seed
# A finding: fuzz/run.sh replays it under ASan and says where it goes.
TEST_TARGETS += fuzz-ops-quick

FO_DIR   := $(BUILD)/fuzz-ops
FO_OSSL  := $(shell pkg-config --cflags --libs openssl 2>/dev/null || echo -lssl -lcrypto)
FO_SRC   := fuzz/c/fuzz_ops.c fuzz/c/fuzz_ops.h fuzz/c/fuzz_common.h tests/c/pair.h \
            $(wildcard capi/*.c capi/*.h) include/sslbio.h
FO_FLAGS := -std=c11 -D_GNU_SOURCE -g -Wall -Wextra -Wno-deprecated-declarations -Iinclude -Icapi
FO_SAN   := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_OPS_TIME ?= 15
FUZZ_OPS_ASAN_TIME ?= 10
FUZZ_TIME     ?= 3600
FUZZ_JOBS     ?= 1
export FUZZ_JOBS
FO_GO_TARGETS := FuzzServerFeed FuzzClientFeed FuzzOps FuzzOpsConn

.PHONY: fuzz-ops-quick fuzz-ops-regress fuzz-ops-afl fuzz-ops-seeds fuzz-long fuzz-ops-bins fuzz-ops-speed

# The replay tool (ASan+UBSan, LeakSanitizer in every forked copy). Built
# with clang when it is installed (AFL++ brings it): the AFL ASan build is
# clang's, and gcc's UBSan misses some of what clang's traps on (a zero
# offset applied to a NULL pointer), so a gcc replay would pass a real finding.
FO_REPLAY_CC := $(if $(shell command -v clang 2>/dev/null),clang,$(CC))
$(FO_DIR)/fuzz_ops_asan: $(FO_SRC)
	@mkdir -p $(@D)
	$(FO_REPLAY_CC) $(FO_FLAGS) $(FO_SAN) -o $@ fuzz/c/fuzz_ops.c $(wildcard capi/*.c) $(FO_OSSL) -lpthread

# The fuzzing build: afl-clang-fast, no sanitizer (speed).
$(FO_DIR)/fuzz_ops_afl: $(FO_SRC)
	@mkdir -p $(@D)
	AFL_QUIET=1 afl-clang-fast -DFZO_AFL $(FO_FLAGS) -O2 -o $@ fuzz/c/fuzz_ops.c $(wildcard capi/*.c) \
	    $(FO_OSSL) -lpthread

# The replay driver without sanitizers, for fuzz-ops-speed.
$(FO_DIR)/fuzz_ops_plain: $(FO_SRC)
	@mkdir -p $(@D)
	$(CC) $(FO_FLAGS) -O2 -o $@ fuzz/c/fuzz_ops.c $(wildcard capi/*.c) $(FO_OSSL) -lpthread

# The same under ASan+UBSan (AFL_USE_ASAN): slower, for fuzzing with the
# sanitizers watching (fuzz-ops-quick runs it briefly; fuzz-long's
# fuzz_ops_asan target for longer).
$(FO_DIR)/fuzz_ops_afl_asan: $(FO_SRC)
	@mkdir -p $(@D)
	AFL_QUIET=1 AFL_USE_ASAN=1 AFL_USE_UBSAN=1 afl-clang-fast -DFZO_AFL $(FO_FLAGS) -O1 -fno-omit-frame-pointer \
	    -o $@ fuzz/c/fuzz_ops.c $(wildcard capi/*.c) $(FO_OSSL) -lpthread

# The regression and coverage tests of this work, under ASan+UBSan.
FO_TESTS := test_fuzzfound test_coverage
$(FO_DIR)/test_%: tests/c/test_%.c tests/c/harness.c tests/c/engine_helpers.c tests/c/t.h $(FO_SRC)
	@mkdir -p $(@D)
	$(CC) $(FO_FLAGS) -Werror $(FO_SAN) -o $@ $< tests/c/harness.c tests/c/engine_helpers.c \
	    $(wildcard capi/*.c) $(FO_OSSL) -lpthread -ldl

fuzz-ops-bins: $(FO_DIR)/fuzz_ops_asan $(FO_DIR)/fuzz_ops_afl $(FO_DIR)/fuzz_ops_afl_asan $(addprefix $(FO_DIR)/,$(FO_TESTS))

fuzz-ops-regress: $(FO_DIR)/fuzz_ops_asan $(addprefix $(FO_DIR)/,$(FO_TESTS))
	for t in $(FO_TESTS); do T_CERTS=fuzz/c/certs $(FO_DIR)/$$t || exit 1; done
	$(FO_DIR)/fuzz_ops_asan fuzz/c/ops-corpus fuzz/c/ops-regressions

fuzz-ops-afl: $(FO_DIR)/fuzz_ops_afl $(FO_DIR)/fuzz_ops_asan $(FO_DIR)/fuzz_ops_afl_asan
	fuzz/run.sh afl fuzz_ops $(FUZZ_OPS_TIME) $(FO_DIR)/run $(FO_DIR)/fuzz_ops_afl \
	    $(FO_DIR)/fuzz_ops_asan fuzz/c/ops-corpus fuzz/c/ops-regressions
	fuzz/run.sh afl fuzz_ops_asan $(FUZZ_OPS_ASAN_TIME) $(FO_DIR)/run-asan $(FO_DIR)/fuzz_ops_afl_asan \
	    $(FO_DIR)/fuzz_ops_asan fuzz/c/ops-corpus fuzz/c/ops-regressions

fuzz-ops-quick: fuzz-ops-regress fuzz-ops-afl

# Where an execution's time goes, on one core: a bare fork, then each seed
# run FUZZ_SPEED_RUNS times in forked copies (microseconds per run).
FUZZ_SPEED_RUNS ?= 300
fuzz-ops-speed: $(FO_DIR)/fuzz_ops_plain
	$(if $(shell command -v taskset),taskset -c $$(($$(nproc) - 1))) $(FO_DIR)/fuzz_ops_plain -speed \
	    $(FUZZ_SPEED_RUNS) fuzz/c/ops-corpus/*

fuzz-ops-seeds: $(FO_DIR)/fuzz_ops_asan
	$(FO_DIR)/fuzz_ops_asan -seeds fuzz/c/ops-corpus

# Hours, outside CI: each target FUZZ_TIME seconds in turn, on FUZZ_JOBS
# cores for fuzz_ops (the others use one), or only FUZZ_TARGETS.
FUZZ_TARGETS ?= fuzz_ops fuzz_ops_asan fuzz_engine $(FO_GO_TARGETS)
fuzz-long: $(FO_DIR)/fuzz_ops_afl $(FO_DIR)/fuzz_ops_asan $(FO_DIR)/fuzz_ops_afl_asan $(FZ_DIR)/fuzz_engine
	@st=0; \
	for t in $(FUZZ_TARGETS); do case $$t in \
	  fuzz_ops) fuzz/run.sh afl fuzz_ops $(FUZZ_TIME) $(FO_DIR)/long $(FO_DIR)/fuzz_ops_afl \
	      $(FO_DIR)/fuzz_ops_asan fuzz/c/ops-corpus fuzz/c/ops-regressions || st=1;; \
	  fuzz_ops_asan) fuzz/run.sh afl fuzz_ops_asan $(FUZZ_TIME) $(FO_DIR)/long-asan $(FO_DIR)/fuzz_ops_afl_asan \
	      $(FO_DIR)/fuzz_ops_asan fuzz/c/ops-corpus fuzz/c/ops-regressions || st=1;; \
	  fuzz_engine) fuzz/run.sh libfuzzer fuzz_engine $(FUZZ_TIME) $(FZ_DIR)/long $(FZ_DIR)/fuzz_engine \
	      fuzz/c/corpus fuzz/c/regressions -- $(FUZZ_C_FLAGS) || st=1;; \
	  *) fuzz/run.sh go $$t $(FUZZ_TIME) $(GO) ./sslbio || st=1;; \
	esac; done; \
	exit $$st
