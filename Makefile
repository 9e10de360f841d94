# sslbio — `make` builds the libraries, `make test` runs every test,
# `make demo` runs the main example, `make bench` prints the benchmark table.
# Each area adds its own targets in mk/*.mk.

GO      ?= go
CC      ?= gcc
PYTHON  ?= python3
BUILD   := build
PREFIX  ?= /usr/local
VERSION := $(shell sed -n 's/^\#define SSLBIO_VERSION_STRING "\(.*\)"/\1/p' include/sslbio.h)

# The C library: the engine's sources in capi/, built by the C compiler
# alone (no Go toolchain). The soname follows SSLBIO_ABI_VERSION.
ABI      := $(shell sed -n 's/^\#define SSLBIO_ABI_VERSION \([0-9]*\)/\1/p' include/sslbio.h)
SONAME   := libsslbio.so.$(ABI)
LIB_SO   := $(BUILD)/libsslbio.so
LIB_SOV  := $(BUILD)/$(SONAME)
LIB_A    := $(BUILD)/libsslbio.a
PC       := $(BUILD)/sslbio.pc
CERTS    := $(BUILD)/certs/ca.pem
PKG_CONFIG ?= pkg-config
LIB_SRC  := $(wildcard capi/*.c)
LIB_HDR  := $(wildcard capi/*.h) include/sslbio.h
LIB_OBJ  := $(patsubst capi/%.c,$(BUILD)/obj/%.o,$(LIB_SRC))
OPENSSL_CFLAGS = $(shell $(PKG_CONFIG) --cflags libssl libcrypto)
OPENSSL_LIBS   = $(shell $(PKG_CONFIG) --libs libssl libcrypto)
LIB_CFLAGS ?= -O2 -g
LIB_CFLAGS += -std=gnu11 -fPIC -fvisibility=hidden -Wall -Wextra -Iinclude $(OPENSSL_CFLAGS)
# Everything the Go package compiles (for targets that build Go binaries).
ENGINE_SRC := $(filter-out %_test.go,$(LIB_SRC) $(LIB_HDR) $(wildcard sslbio/*.c sslbio/*.go error/*.go))

# Targets that `make test` and `make demo` run; mk/*.mk files append to them.
TEST_TARGETS :=
DEMO_TARGETS :=

.PHONY: all lib certs test demo bench install deps clean
all: lib certs

lib: $(LIB_SO) $(LIB_A) $(PC)

$(BUILD)/obj/%.o: capi/%.c $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(LIB_CFLAGS) -c -o $@ $<

# -z nodelete: dlclose leaves the library loaded. OpenSSL and libpthread keep
# pointers into it for the process's life (an SSL_CTX ex_data free callback
# called for every SSL_CTX freed, the queue BIO_METHOD, a thread-exit
# destructor); unmapped, the next of those calls would crash (test_dlopen).
$(LIB_SOV): $(LIB_OBJ) capi/sslbio.map
	$(CC) -shared -o $@ $(LIB_OBJ) -Wl,-soname,$(SONAME) -Wl,--version-script=capi/sslbio.map \
	    -Wl,--no-undefined -Wl,-z,nodelete $(LDFLAGS) $(OPENSSL_LIBS) -lpthread

$(LIB_SO): $(LIB_SOV)
	ln -sf $(SONAME) $@

$(LIB_A): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $(LIB_OBJ)

# In the build tree the .pc adds an rpath, so a program built against
# build/ runs from anywhere; the installed .pc (make install) does not.
$(PC): capi/sslbio.pc.in include/sslbio.h
	@mkdir -p $(BUILD)
	sed -e 's|@PREFIX@|$(CURDIR)|' -e 's|@INCLUDEDIR@|$(CURDIR)/include|' \
	    -e 's|@LIBDIR@|$(CURDIR)/$(BUILD)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@RPATH@| -Wl,-rpath,$${libdir}|' $< > $@

certs: $(CERTS)
$(CERTS): internal/testpki/testpki.go internal/cmd/gencerts/main.go
	$(GO) run ./internal/cmd/gencerts -dir $(BUILD)/certs

# PREFIX is where the files will live, DESTDIR a staging root (packagers).
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
install: lib
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)
	install -m 0755 $(LIB_SOV) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libsslbio.so
	install -m 0644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	install -m 0644 include/sslbio.h $(DESTDIR)$(INCLUDEDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@VERSION@|$(VERSION)|' -e 's|@RPATH@||' \
	    capi/sslbio.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/sslbio.pc

# Installs what a fresh machine lacks (Debian packages); a no-op when present.
deps:
	./scripts/install-deps.sh

clean:
	find $(BUILD) -mindepth 1 -not -name .keep -delete

include $(sort $(wildcard mk/*.mk))

# Both install what a fresh machine lacks first (a quick no-op afterwards).
test: deps
	$(MAKE) all
	$(MAKE) $(TEST_TARGETS)
	@echo "make test: all suites passed ($(TEST_TARGETS))"

demo: deps
	$(MAKE) all
	$(MAKE) $(DEMO_TARGETS)
