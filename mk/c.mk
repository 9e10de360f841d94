# C API: header check, exported symbols, the C test suite (tests/c/) run
# three ways, a static link, and the C examples (examples/c/) against real
# peers. libsslbio itself is built by the top Makefile (`make lib`: capi/*.c,
# C compiler only). Everything here builds under build/c/.
#
#   make test-c          all of the below
#   make test-c-header   include/sslbio.h alone: gcc -std=c99 -pedantic, g++ -std=c++17 (and clang if installed)
#   make test-c-symbols  against include/sslbio.h: exported names, soname, no Go, the .a's names
#   make test-c-lib-without-go  `make lib` in a copy of the tree with no go on PATH and GO=false
#   make test-c-unit     tests linked against build/libsslbio.so, plus dlopen of it
#   make test-c-asan     tests with -fsanitize=address,undefined and capi/*.c compiled in, instrumented
#   make test-c-static   test_engine linked -static against build/libsslbio.a (pkg-config --static)
#   make test-c-valgrind tests under valgrind memcheck (shared library, no suppressions)
#   make test-c-examples examples/c against openssl s_client/s_server, Python ssl, curl
#   make test-c-quickstart  README's C quick start as written: its cc line, its run line vs s_server -www
#   make test-c-install  make install (PREFIX, then DESTDIR staging); select_client built with
#                        pkg-config alone (shared, then -static) runs against openssl s_server
#   make demo-c          the epoll server with every client, printing what each negotiated

TEST_TARGETS += test-c
DEMO_TARGETS += demo-c

C_OUT       := $(BUILD)/c
C_OPENSSL_CFLAGS := $(shell pkg-config --cflags openssl 2>/dev/null)
C_OPENSSL_LIBS   := $(shell pkg-config --libs openssl 2>/dev/null || echo -lssl -lcrypto)
C_FLAGS     := -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -Iinclude $(C_OPENSSL_CFLAGS)
C_SAN       := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
C_SO_LINK   := -L$(BUILD) -lsslbio -Wl,-rpath,$(CURDIR)/$(BUILD)
C_TESTS     := test_engine test_batch test_secure test_handoff test_errqueue test_transport test_peers \
               test_info test_hooks test_groups
C_HELPERS   := tests/c/harness.c tests/c/engine_helpers.c
C_DEPS      := $(C_HELPERS) tests/c/t.h tests/c/pair.h include/sslbio.h
C_ENGINE_SRC := $(wildcard capi/*.c)
C_EXAMPLES  := epoll_server select_client cxx_handoff quickstart
C_VALGRIND  := valgrind --quiet --error-exitcode=99 --leak-check=full \
               --errors-for-leak-kinds=definite --show-leak-kinds=definite

.PHONY: test-c test-c-header test-c-symbols test-c-lib-without-go test-c-unit test-c-asan test-c-static \
        test-c-valgrind test-c-examples test-c-quickstart test-c-install demo-c c-build

test-c: test-c-header test-c-symbols test-c-lib-without-go test-c-unit test-c-asan test-c-static \
        test-c-valgrind test-c-examples test-c-quickstart test-c-install
	@echo "test-c: all C checks passed"

# ---- builds ----

$(C_OUT)/normal/%: tests/c/%.c $(C_DEPS) $(LIB_SO)
	@mkdir -p $(@D)
	$(CC) $(C_FLAGS) -o $@ $< $(C_HELPERS) $(C_SO_LINK) $(C_OPENSSL_LIBS) -lpthread

$(C_OUT)/asan/%: tests/c/%.c $(C_DEPS) $(C_ENGINE_SRC) $(wildcard capi/*.h)
	@mkdir -p $(@D)
	$(CC) $(C_FLAGS) -Icapi $(C_SAN) -o $@ $< $(C_HELPERS) $(C_ENGINE_SRC) \
	    $(C_OPENSSL_LIBS) -lpthread -ldl

# What a user of the installed library does: the .pc's static flags alone.
$(C_OUT)/static/test_engine: tests/c/test_engine.c $(C_DEPS) $(LIB_A) $(PC)
	@mkdir -p $(@D)
	$(CC) $(C_FLAGS) -static -o $@ $< $(C_HELPERS) \
	    $$(PKG_CONFIG_PATH=$(BUILD) $(PKG_CONFIG) --static --cflags --libs sslbio)

$(C_OUT)/normal/test_dlopen: tests/c/test_dlopen.c tests/c/harness.c tests/c/t.h tests/c/pair.h include/sslbio.h
	@mkdir -p $(@D)
	$(CC) $(C_FLAGS) -o $@ $< tests/c/harness.c -ldl -lpthread   # no libsslbio, no OpenSSL

$(C_OUT)/examples/%: examples/c/%.c include/sslbio.h $(LIB_SO)
	@mkdir -p $(@D)
	$(CC) $(C_FLAGS) -o $@ $< $(C_SO_LINK) $(C_OPENSSL_LIBS) -lpthread

$(C_OUT)/examples/cxx_handoff: examples/c/cxx_handoff.cpp include/sslbio.h $(LIB_SO)
	@mkdir -p $(@D)
	$(CXX) -std=c++17 -g -O1 -Wall -Wextra -Werror -Iinclude $(C_OPENSSL_CFLAGS) -o $@ $< \
	    $(C_SO_LINK) $(C_OPENSSL_LIBS)

C_NORMAL  := $(addprefix $(C_OUT)/normal/,$(C_TESTS))
C_ASAN  := $(addprefix $(C_OUT)/asan/,$(C_TESTS))
C_EX_BINS := $(addprefix $(C_OUT)/examples/,$(C_EXAMPLES))

c-build: $(C_NORMAL) $(C_ASAN) $(C_OUT)/static/test_engine $(C_EX_BINS) $(C_OUT)/normal/test_dlopen

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

test-c-lib-without-go:
	tests/c/check_lib_without_go.sh

# Each test program prints "ok NAME" per test; T_TIMEOUT bounds each one.
test-c-unit: certs $(C_NORMAL) $(C_OUT)/normal/test_dlopen
	@set -e; for t in $(C_NORMAL) $(C_OUT)/normal/test_dlopen; do \
	  echo "== $$t"; T_TIMEOUT=120 T_LIB=$(LIB_SO) $$t; done

test-c-asan: certs $(C_ASAN)
	@set -e; for t in $(C_ASAN); do \
	  echo "== $$t"; T_CHECKED=1 T_TIMEOUT=180 $$t; done

# The glibc linker warnings about getaddrinfo/dlopen in a static program come
# from libcrypto.a; the test engine uses neither.
test-c-static: certs $(C_OUT)/static/test_engine
	@! readelf -d $(C_OUT)/static/test_engine | grep -q NEEDED || \
	  { echo "test-c-static: not a static program"; readelf -d $(C_OUT)/static/test_engine; exit 1; }
	T_TIMEOUT=120 $(C_OUT)/static/test_engine

test-c-valgrind: certs $(C_NORMAL) $(C_OUT)/normal/test_dlopen
	@command -v valgrind >/dev/null || { echo "valgrind missing: run make deps"; exit 1; }
	@set -e; for t in $(C_NORMAL) $(C_OUT)/normal/test_dlopen; do \
	  echo "== valgrind $$t"; T_CHECKED=1 T_SLOW=1 T_TIMEOUT=600 T_LIB=$(LIB_SO) \
	    $(C_VALGRIND) $$t; done

test-c-examples: certs $(C_EX_BINS)
	tests/c/run_examples.sh $(C_OUT)/examples

test-c-quickstart: lib certs
	tests/c/check_quickstart.sh

test-c-install: lib certs
	MAKE="$(MAKE)" CC="$(CC)" tests/c/check_install.sh

demo-c: certs $(C_EX_BINS)
	@SHOW=1 tests/c/run_examples.sh $(C_OUT)/examples
