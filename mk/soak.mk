# Soak: connections churned through the C API (soak/c/soak.c, 2 threads,
# linked against build/libsslbio.so) and the Go API (soak/gosoak, 2
# goroutines), random sizes and pauses, every byte checksummed, RSS printed
# at the start and the end and required flat.
#
#   make soak-quick                    (make test) SOAK_QUICK_SECONDS each (default 40)
#   make soak                          long: SOAK_CONNS connections each (default 100000)
#   make soak SOAK_CONNS=0 SOAK_SECONDS=3600    an hour each instead
TEST_TARGETS += soak-quick

SK_DIR := $(BUILD)/soak
SOAK_QUICK_SECONDS ?= 40
SOAK_CONNS   ?= 100000
SOAK_SECONDS ?= 3600

.PHONY: soak soak-quick
$(SK_DIR)/soak_c: soak/c/soak.c tests/c/pair.h include/sslbio.h $(LIB_SO)
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Iinclude -o $@ $< \
	    -L$(BUILD) -lsslbio -Wl,-rpath,$(CURDIR)/$(BUILD) -lpthread

soak-quick: certs $(SK_DIR)/soak_c
	SOAK_SECONDS=$(SOAK_QUICK_SECONDS) SOAK_CONNS=0 $(SK_DIR)/soak_c
	SOAK_SECONDS=$(SOAK_QUICK_SECONDS) SOAK_CONNS=0 $(GO) run ./soak/gosoak

soak: certs $(SK_DIR)/soak_c
	SOAK_SECONDS=$(SOAK_SECONDS) SOAK_CONNS=$(SOAK_CONNS) $(SK_DIR)/soak_c
	SOAK_SECONDS=$(SOAK_SECONDS) SOAK_CONNS=$(SOAK_CONNS) $(GO) run ./soak/gosoak
