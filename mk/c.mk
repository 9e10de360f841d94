# C API: header check, exported symbols, proof that the data path never
# enters Go, the C test suite (tests/c/) run three ways, and the C examples
# (examples/c/) against real peers. Everything builds under build/c/.
#
#   make test-c          all of the below
#   make test-c-header   include/sslbio.h alone: gcc -std=c99 -pedantic, g++ -std=c++17 (and clang if installed)
#   make test-c-symbols  nm -D: contract names exported, no sslbio__ helper, no Go export
#   make test-c-nogo     static call-graph walk + gdb count of C->Go entries during 1 MiB
#   make test-c-unit     tests linked against build/libsslbio.so, plus dlopen of it
#   make test-c-asan     tests with -fsanitize=address,undefined linked against build/libsslbio.a;
#                        then again with the engine's C sources compiled in and instrumented
#   make test-c-valgrind tests under valgrind memcheck (shared library, suppressions for Go's runtime)
#   make test-c-examples examples/c against openssl s_client/s_server, Python ssl, curl
#   make demo-c          the epoll server with every client, printing what each negotiated
#
# ASan and the Go runtime: a Go c-archive linked into an ASan binary works as
# is (checked: heap errors, SEGVs and leaks in C code are reported; the Go
# runtime forwards signals it does not own to ASan's handlers), so no
# ASAN_OPTIONS are needed. The Go runtime's own memory is mmap'ed, never
# malloc'ed, so LeakSanitizer sees nothing of it. libsslbio.a's C code is
# compiled by cgo without instrumentation, so the second ASan pass compiles
# capi/*.c into the test binaries with the sanitizers on (the engine is
# plain C and needs no Go at all).

TEST_TARGETS += test-c
DEMO_TARGETS += demo-c

C_OUT       := $(BUILD)/c
C_OPENSSL_CFLAGS := $(shell pkg-config --cflags openssl 2>/dev/null)
C_OPENSSL_LIBS   := $(shell pkg-config --libs openssl 2>/dev/null || echo -lssl -lcrypto)
C_FLAGS     := -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -Iinclude $(C_OPENSSL_CFLAGS)
C_SAN       := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
C_SO_LINK   := -L$(BUILD) -lsslbio -Wl,-rpath,$(CURDIR)/$(BUILD)
C_TESTS     := test_engine test_batch test_secure test_handoff test_errqueue test_transport test_peers \
               test_info test_hooks
C_HELPERS   := tests/c/harness.c tests/c/engine_helpers.c
C_DEPS      := $(C_HELPERS) tests/c/t.h include/sslbio.h
C_ENGINE_SRC := $(wildcard capi/*.c)
C_EXAMPLES  := epoll_server select_client cxx_handoff
C_VALGRIND  := valgrind --quiet --error-exitcode=99 --leak-check=full \
               --errors-for-leak-kinds=definite --show-leak-kinds=definite \
               --suppressions=tests/c/valgrind.supp --gen-suppressions=all

.PHONY: test-c test-c-header test-c-symbols test-c-nogo test-c-unit test-c-asan \
        test-c-valgrind test-c-examples demo-c c-build

test-c: test-c-header test-c-symbols test-c-nogo test-c-unit test-c-asan test-c-valgrind \
        test-c-examples
	@echo "test-c: all C checks passed"

# ---- builds ----

$(C_OUT)/normal/%: tests/c/%.c $(C_DEPS) $(LIB_SO)
	@mkdir -p $(@D)
	$(CC) $(C_FLAGS) -o $@ $< $(C_HELPERS) $(C_SO_LINK) $(C_OPENSSL_LIBS) -lpthread

$(C_OUT)/asan/%: tests/c/%.c $(C_DEPS) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(C_FLAGS) $(C_SAN) -o $@ $< $(C_HELPERS) $(LIB_A) $(C_OPENSSL_LIBS) -lpthread -ldl

$(C_OUT)/srcsan/%: tests/c/%.c $(C_DEPS) $(C_ENGINE_SRC) $(wildcard capi/*.h)
	@mkdir -p $(@D)
	$(CC) $(C_FLAGS) -Icapi $(C_SAN) -o $@ $< $(C_HELPERS) $(C_ENGINE_SRC) \
	    $(C_OPENSSL_LIBS) -lpthread -ldl

$(C_OUT)/normal/test_dlopen: tests/c/test_dlopen.c tests/c/harness.c tests/c/t.h include/sslbio.h
	@mkdir -p $(@D)
	$(CC) $(C_FLAGS) -o $@ $< tests/c/harness.c -ldl   # no libsslbio, no OpenSSL

$(C_OUT)/normal/nogo_transfer: tests/c/nogo_transfer.c include/sslbio.h $(LIB_SO)
	@mkdir -p $(@D)
	$(CC) $(C_FLAGS) -o $@ $< $(C_SO_LINK)

$(C_OUT)/examples/%: examples/c/%.c include/sslbio.h $(LIB_SO)
	@mkdir -p $(@D)
	$(CC) $(C_FLAGS) -o $@ $< $(C_SO_LINK) $(C_OPENSSL_LIBS) -lpthread

$(C_OUT)/examples/cxx_handoff: examples/c/cxx_handoff.cpp include/sslbio.h $(LIB_SO)
	@mkdir -p $(@D)
	$(CXX) -std=c++17 -g -O1 -Wall -Wextra -Werror -Iinclude $(C_OPENSSL_CFLAGS) -o $@ $< \
	    $(C_SO_LINK) $(C_OPENSSL_LIBS)

C_NORMAL  := $(addprefix $(C_OUT)/normal/,$(C_TESTS))
C_ASAN    := $(addprefix $(C_OUT)/asan/,$(C_TESTS))
C_SRCSAN  := $(addprefix $(C_OUT)/srcsan/,$(C_TESTS))
C_EX_BINS := $(addprefix $(C_OUT)/examples/,$(C_EXAMPLES))

c-build: $(C_NORMAL) $(C_ASAN) $(C_SRCSAN) $(C_EX_BINS) $(C_OUT)/normal/test_dlopen \
         $(C_OUT)/normal/nogo_transfer

# ---- checks ----

test-c-header:
	gcc -std=c99 -Wall -Wextra -pedantic -Werror -Iinclude -fsyntax-only tests/c/header_only.c
	g++ -x c++ -std=c++17 -Wall -Wextra -pedantic -Werror -Iinclude -fsyntax-only tests/c/header_only.c
	@if command -v clang >/dev/null 2>&1; then \
	  echo "clang -std=c99 -pedantic"; \
	  clang -std=c99 -Wall -Wextra -pedantic -Werror -Iinclude -fsyntax-only tests/c/header_only.c; \
	else echo "clang not installed: header checked with gcc and g++"; fi
	@! grep -n '#include *<openssl' include/sslbio.h || { echo "header needs OpenSSL"; exit 1; }
	@echo "test-c-header: ok"

test-c-symbols: lib
	tests/c/check_symbols.sh $(LIB_SO) $(LIB_A)

test-c-nogo: $(C_OUT)/normal/nogo_transfer
	tests/c/check_nogo.sh $(C_OUT)/normal/nogo_transfer $(LIB_SO)

# Each test program prints "ok NAME" per test; T_TIMEOUT bounds each one.
test-c-unit: certs $(C_NORMAL) $(C_OUT)/normal/test_dlopen
	@set -e; for t in $(C_NORMAL) $(C_OUT)/normal/test_dlopen; do \
	  echo "== $$t"; T_TIMEOUT=120 T_LIB=$(LIB_SO) $$t; done

test-c-asan: certs $(C_ASAN) $(C_SRCSAN)
	@set -e; for t in $(C_ASAN) $(C_SRCSAN); do \
	  echo "== $$t"; T_CHECKED=1 T_TIMEOUT=180 $$t; done

test-c-valgrind: certs $(C_NORMAL) $(C_OUT)/normal/test_dlopen
	@command -v valgrind >/dev/null || { echo "valgrind missing: run make deps"; exit 1; }
	@set -e; for t in $(C_NORMAL) $(C_OUT)/normal/test_dlopen; do \
	  echo "== valgrind $$t"; T_CHECKED=1 T_SLOW=1 T_TIMEOUT=600 T_LIB=$(LIB_SO) \
	    $(C_VALGRIND) $$t; done

test-c-examples: certs $(C_EX_BINS)
	tests/c/run_examples.sh $(C_OUT)/examples

demo-c: certs $(C_EX_BINS)
	@SHOW=1 tests/c/run_examples.sh $(C_OUT)/examples
