# Line coverage of the engine (capi/*.c) by every suite: `make coverage`
# builds libsslbio with --coverage into build/cov, runs against it the C
# tests (tests/c, linked to build/cov's library), tests/c/test_fuzzfound,
# the Python suite (SSLBIO_LIBRARY), the Go package (cgo compiles capi/ in
# through sslbio/engine_*.c, with --coverage and its work directory kept),
# and the fuzz corpora replayed (fuzz_ops, fuzz_engine, capi/ compiled in),
# then gcovr prints a table per engine file and, last,
#   engine line coverage: NN.N%
# Lines no test reaches are listed with the reason in fuzz/COVERAGE.md.
#
#   make coverage            all of it (~6 min on 2 busy cores)
#   make coverage COV_GO=0   without the Go suite (faster)

COV_DIR   := $(BUILD)/cov
COV_CFLAGS := -std=gnu11 -O0 -g -fPIC -fvisibility=hidden -Wall -Wextra -Iinclude \
              --coverage -fprofile-update=atomic $(shell $(PKG_CONFIG) --cflags libssl libcrypto)
COV_OSSL  := $(shell $(PKG_CONFIG) --libs libssl libcrypto 2>/dev/null || echo -lssl -lcrypto)
COV_OBJ   := $(patsubst capi/%.c,$(COV_DIR)/obj/%.o,$(wildcard capi/*.c))
COV_C_TESTS := test_engine test_batch test_secure test_handoff test_errqueue test_transport \
               test_peers test_info test_hooks test_fuzzfound test_coverage
COV_GO ?= 1
COV_ALLOC_STRIDE ?= 1  # every allocation fails once, in turn (tests/faults/faults.c alloc)
COV_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup -lfiu

.PHONY: coverage coverage-run coverage-report

$(COV_DIR)/obj/%.o: capi/%.c $(wildcard capi/*.h) include/sslbio.h
	@mkdir -p $(@D)
	$(CC) $(COV_CFLAGS) -c -o $@ $<

$(COV_DIR)/$(SONAME): $(COV_OBJ) capi/sslbio.map
	$(CC) --coverage -shared -o $@ $(COV_OBJ) -Wl,-soname,$(SONAME) \
	    -Wl,--version-script=capi/sslbio.map -Wl,-z,nodelete $(COV_OSSL) -lpthread
	ln -sf $(SONAME) $(COV_DIR)/libsslbio.so

$(COV_DIR)/tests/%: tests/c/%.c tests/c/harness.c tests/c/engine_helpers.c tests/c/t.h tests/c/pair.h \
                    $(COV_DIR)/$(SONAME)
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude -Icapi -o $@ $< tests/c/harness.c \
	    tests/c/engine_helpers.c -L$(COV_DIR) -lsslbio -Wl,-rpath,$(CURDIR)/$(COV_DIR) $(COV_OSSL) \
	    -lpthread -ldl

# The fuzz replay tools with the engine compiled in (their own .gcda files).
$(COV_DIR)/fuzz/fuzz_ops: fuzz/c/fuzz_ops.c fuzz/c/fuzz_ops.h fuzz/c/fuzz_common.h $(wildcard capi/*.c)
	@mkdir -p $(@D)
	cd $(@D) && $(CC) -std=c11 -D_GNU_SOURCE -g -O0 --coverage -fprofile-update=atomic \
	    -Wno-deprecated-declarations -I$(CURDIR)/include -I$(CURDIR)/capi -o fuzz_ops \
	    $(CURDIR)/fuzz/c/fuzz_ops.c $(addprefix $(CURDIR)/,$(wildcard capi/*.c)) $(COV_OSSL) -lpthread
$(COV_DIR)/fuzz/fuzz_replay: fuzz/c/fuzz_engine.c fuzz/c/fuzz_common.h $(wildcard capi/*.c)
	@mkdir -p $(@D)/replay
	cd $(@D)/replay && $(CC) -std=c11 -D_GNU_SOURCE -DFZ_STANDALONE -g -O0 --coverage \
	    -fprofile-update=atomic -Wno-deprecated-declarations -I$(CURDIR)/include -I$(CURDIR)/capi \
	    -o ../fuzz_replay $(CURDIR)/fuzz/c/fuzz_engine.c $(addprefix $(CURDIR)/,$(wildcard capi/*.c)) \
	    $(COV_OSSL) -lpthread

# The fault-injection and hostile-peer programs (tests/faults, libfiu).
$(COV_DIR)/faults/%: tests/faults/%.c tests/faults/fx.h tests/c/pair.h $(wildcard capi/*.c)
	@mkdir -p $(@D)/$*.d
	cd $(@D)/$*.d && $(CC) -std=c11 -D_GNU_SOURCE -g -O0 --coverage -fprofile-update=atomic \
	    -I$(CURDIR)/include -I$(CURDIR)/capi -o ../$* $(CURDIR)/$< \
	    $(addprefix $(CURDIR)/,$(wildcard capi/*.c)) $(COV_OSSL) -lpthread \
	    $(if $(filter faults,$*),$(COV_WRAP))

coverage: certs
	find $(COV_DIR) -name '*.gcda' -delete 2>/dev/null; rm -rf $(COV_DIR)/_gowork; true
	$(MAKE) coverage-run
	$(MAKE) -s coverage-report

coverage-run: $(addprefix $(COV_DIR)/tests/,$(COV_C_TESTS)) $(COV_DIR)/fuzz/fuzz_ops $(COV_DIR)/fuzz/fuzz_replay \
              $(COV_DIR)/faults/faults $(COV_DIR)/faults/hostile
	@set -e; for t in $(COV_C_TESTS); do \
	  if [ $$t = test_fuzzfound ] || [ $$t = test_coverage ]; then T_CERTS=fuzz/c/certs $(COV_DIR)/tests/$$t; \
	  else $(COV_DIR)/tests/$$t; fi | tail -1; done
	for w in chunks transport bogus; do FAULTS_STRIDE=$(FAULTS_STRIDE) $(COV_DIR)/faults/faults $$w 2>&1 | tail -1; done
	FAULTS_STRIDE=$(COV_ALLOC_STRIDE) $(COV_DIR)/faults/faults alloc 2>&1 | tail -1
	$(COV_DIR)/faults/hostile reneg oversize alerts regress truncation 2>&1 | tail -1
	$(COV_DIR)/fuzz/fuzz_ops fuzz/c/ops-corpus fuzz/c/ops-regressions | tail -1
	$(COV_DIR)/fuzz/fuzz_replay fuzz/c/corpus fuzz/c/regressions | tail -1
	SSLBIO_LIBRARY=$(CURDIR)/$(COV_DIR)/$(SONAME) PYTHONPATH=$(CURDIR) \
	    $(PYTHON) -m unittest discover -s tests/python -t tests/python 2>&1 | tail -3
	@if [ "$(COV_GO)" = 1 ]; then \
	  set -e; rm -rf $(COV_DIR)/_gowork && mkdir -p $(COV_DIR)/_gowork; \
	  : "the Go work tree is kept for its .gcda files; _ keeps go vet ./... out of it"; \
	  $(CC) -shared -fPIC -O1 -o $(COV_DIR)/gcov_flush.so fuzz/c/gcov_flush.c -ldl -lpthread; \
	  CGO_CFLAGS="-O0 -g --coverage -fprofile-update=atomic" CGO_LDFLAGS="--coverage -rdynamic -Wl,-u,__gcov_dump -Wl,-u,__gcov_reset" \
	    $(GO) test -c -work -o $(CURDIR)/$(COV_DIR)/sslbio.test ./sslbio 2>$(COV_DIR)/go.log; \
	  w=$$(sed -n 's/^WORK=//p' $(COV_DIR)/go.log | head -1); \
	  (cd sslbio && LD_PRELOAD=$(CURDIR)/$(COV_DIR)/gcov_flush.so $(CURDIR)/$(COV_DIR)/sslbio.test \
	      -test.count=1 2>&1 | tail -1); \
	  sleep 0.2; cp -r "$$w" $(COV_DIR)/_gowork/ && rm -rf "$$w"; \
	fi

coverage-report:
	gcovr --root . --filter 'capi/' --gcov-ignore-parse-errors \
	    --txt $(COV_DIR)/cov.txt --json-summary $(COV_DIR)/cov.json $(COV_DIR) >/dev/null
	cat $(COV_DIR)/cov.txt
	@$(PYTHON) -c 'import json,sys; d=json.load(open("$(COV_DIR)/cov.json")); print("engine line coverage: %.1f%%" % (100.0*d["line_covered"]/d["line_total"]))'
