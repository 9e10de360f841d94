# Faults and hostile peers (tests/faults/). The C programs compile the
# engine's C sources (capi/*.c) in, so that ASan/UBSan instrument the engine
# too and --wrap=malloc sends its allocations through libfiu:
#   faults   1-byte I/O and EAGAIN; transport errors and EOF at every k-th
#            byte (callbacks and feed/drain); bogus callback results;
#            allocation failure through libfiu (every k-th allocation of the
#            engine and of OpenSSL, once and from then on)
#   hostile  renegotiation refused, truncation at every byte, oversized
#            records, unexpected alerts, stalled peers' memory, regressions
#   gofaults the Go net.Conn adapters over failing net.Conns (-race)
# Each runs under ASan+UBSan (LeakSanitizer on), then a thinner sweep under
# valgrind memcheck (no definite leak allowed), then the random allocation
# failures of libfiu's POSIX preload (fiu-run) on a plain build.
#
#   make faults                   all of it (~3-4 min on 2 cores)
#   make faults FAULTS_STRIDE=1   every byte and every allocation (long)
TEST_TARGETS += faults

FX_DIR    := $(BUILD)/faults
FX_OSSL   := $(shell pkg-config --cflags --libs openssl 2>/dev/null || echo -lssl -lcrypto)
FX_ENGINE := $(wildcard capi/*.c)
FX_DEPS   := tests/faults/fx.h tests/c/pair.h $(FX_ENGINE) $(wildcard capi/*.h) include/sslbio.h
FX_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -Iinclude -Icapi
FX_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# The engine's own allocations go through libfiu's fault points too.
FX_WRAP   := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup -lfiu
FX_VALGRIND := valgrind --quiet --error-exitcode=99 --leak-check=full \
               --errors-for-leak-kinds=definite --show-leak-kinds=definite
FAULTS_STRIDE   ?= 7
FAULTS_VG_STRIDE ?= 199
FAULTS_FIU_PROBABILITY ?= 0.0005
FAULTS_FIU_SECONDS ?= 10

.PHONY: faults faults-asan faults-valgrind faults-fiu faults-go faults-bins
faults: faults-asan faults-valgrind faults-fiu faults-go
	@echo "faults: every injected fault ended in a clear status; ASan, valgrind and libfiu runs clean"

$(FX_DIR)/faults_asan: tests/faults/faults.c $(FX_DEPS)
	@mkdir -p $(@D)
	$(CC) $(FX_CFLAGS) $(FX_SAN) -o $@ $< $(FX_ENGINE) $(FX_OSSL) -lpthread $(FX_WRAP)
$(FX_DIR)/faults_plain: tests/faults/faults.c $(FX_DEPS)
	@mkdir -p $(@D)
	$(CC) $(FX_CFLAGS) -o $@ $< $(FX_ENGINE) $(FX_OSSL) -lpthread $(FX_WRAP)
$(FX_DIR)/faults_nofiu: tests/faults/faults.c $(FX_DEPS)
	@mkdir -p $(@D)
	$(CC) $(FX_CFLAGS) -DFX_NO_FIU -o $@ $< $(FX_ENGINE) $(FX_OSSL) -lpthread
$(FX_DIR)/hostile_asan: tests/faults/hostile.c $(FX_DEPS)
	@mkdir -p $(@D)
	$(CC) $(FX_CFLAGS) $(FX_SAN) -o $@ $< $(FX_ENGINE) $(FX_OSSL) -lpthread
$(FX_DIR)/hostile_plain: tests/faults/hostile.c $(FX_DEPS)
	@mkdir -p $(@D)
	$(CC) $(FX_CFLAGS) -o $@ $< $(FX_ENGINE) $(FX_OSSL) -lpthread

faults-bins: $(addprefix $(FX_DIR)/,faults_asan faults_plain faults_nofiu hostile_asan hostile_plain)

faults-asan: certs $(FX_DIR)/faults_asan $(FX_DIR)/hostile_asan
	FAULTS_STRIDE=$(FAULTS_STRIDE) $(FX_DIR)/faults_asan all
	$(FX_DIR)/hostile_asan reneg oversize alerts regress truncation

faults-valgrind: certs $(FX_DIR)/faults_plain $(FX_DIR)/hostile_plain
	@command -v valgrind >/dev/null || { echo "valgrind missing: run make deps"; exit 1; }
	FAULTS_STRIDE=$(FAULTS_VG_STRIDE) $(FX_VALGRIND) $(FX_DIR)/faults_plain all
	HOSTILE_STRIDE=23 $(FX_VALGRIND) $(FX_DIR)/hostile_plain reneg oversize alerts regress truncation
	$(FX_DIR)/hostile_plain stall   # heap figures: plain build, real malloc

faults-fiu: certs $(FX_DIR)/faults_nofiu
	@command -v fiu-run >/dev/null || { echo "fiu-run missing: run make deps"; exit 1; }
	FAULTS_SECONDS=$(FAULTS_FIU_SECONDS) fiu-run -x \
	    -c 'enable_random name=libc/mm/*,probability=$(FAULTS_FIU_PROBABILITY)' \
	    $(FX_DIR)/faults_nofiu alloc-random

faults-go:
	$(GO) run -race ./tests/faults/gofaults -stride 7
