# sslbio — `make` builds the libraries, `make test` runs every test,
# `make demo` runs the main example, `make bench` prints the benchmark table.
# Each area adds its own targets in mk/*.mk.

GO      ?= go
CC      ?= gcc
PYTHON  ?= python3
BUILD   := build
PREFIX  ?= /usr/local
VERSION := $(shell sed -n 's/^\#define SSLBIO_VERSION_STRING "\(.*\)"/\1/p' include/sslbio.h)

LIB_SO  := $(BUILD)/libsslbio.so
LIB_A   := $(BUILD)/libsslbio.a
PC      := $(BUILD)/sslbio.pc
CERTS   := $(BUILD)/certs/ca.pem

ENGINE_SRC := $(filter-out %_test.go,$(wildcard sslbio/*.c sslbio/*.h sslbio/*.go include/*.h capi/*.go error/*.go))

# Targets that `make test` and `make demo` run; mk/*.mk files append to them.
TEST_TARGETS :=
DEMO_TARGETS :=

.PHONY: all lib certs test demo bench install deps clean
all: lib certs

lib: $(LIB_SO) $(LIB_A) $(PC)

$(LIB_SO): $(ENGINE_SRC)
	@mkdir -p $(BUILD)
	$(GO) build -buildmode=c-shared -o $@ ./capi
	@rm -f $(BUILD)/libsslbio.h   # cgo's generated header; include/sslbio.h is the real one

$(LIB_A): $(ENGINE_SRC)
	@mkdir -p $(BUILD)
	$(GO) build -buildmode=c-archive -o $@ ./capi
	@rm -f $(BUILD)/libsslbio.h

$(PC): capi/sslbio.pc.in include/sslbio.h
	@mkdir -p $(BUILD)
	sed -e 's|@PREFIX@|$(CURDIR)|' -e 's|@INCLUDEDIR@|$(CURDIR)/include|' \
	    -e 's|@LIBDIR@|$(CURDIR)/$(BUILD)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

certs: $(CERTS)
$(CERTS): internal/testpki/testpki.go internal/cmd/gencerts/main.go
	$(GO) run ./internal/cmd/gencerts -dir $(BUILD)/certs

install: lib
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 0755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/
	install -m 0644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 0644 include/sslbio.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@INCLUDEDIR@|$(PREFIX)/include|' \
	    -e 's|@LIBDIR@|$(PREFIX)/lib|' -e 's|@VERSION@|$(VERSION)|' capi/sslbio.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/sslbio.pc

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
