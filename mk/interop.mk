# Interop: sslbio against foreign TLS stacks, all on 127.0.0.1 (interop/,
# docs/interop.md). sslbio's Go API as client and server, and the C epoll
# example (C API, default configuration), against openssl s_client/s_server,
# gnutls-cli/gnutls-serv, curl, wget, Node.js tls, Python ssl and Go
# crypto/tls; then testssl.sh and sslscan against the epoll example. Prints
# the matrix, writes build/interop/matrix.md, fails on any failure.
#
#   make interop               the whole matrix (~3-5 min on 2 cores; testssl.sh runs beside it)
#   make interop-docs          the same, and refresh the matrix in docs/interop.md
#   make interop INTEROP_FLAGS='-only gnutls -scan=false'   a subset
TEST_TARGETS += interop

IO_DIR     := $(BUILD)/interop
IO_BINS    := $(IO_DIR)/sslbio-peer $(IO_DIR)/gotls-peer $(IO_DIR)/interop $(IO_DIR)/epoll_server
INTEROP_FLAGS   ?=
INTEROP_TIMEOUT ?= 420

.PHONY: interop interop-docs interop-bins
interop-bins: $(LIB_SO) certs
	@mkdir -p $(IO_DIR)
	$(GO) build -o $(IO_DIR)/ ./interop/cmd/...
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Iinclude -o $(IO_DIR)/epoll_server \
	    examples/c/epoll_server.c -L$(BUILD) -lsslbio -Wl,-rpath,$(CURDIR)/$(BUILD)

interop: interop-bins
	timeout $(INTEROP_TIMEOUT) interop/isolated.sh $(IO_DIR)/interop -bin $(IO_DIR) -certs $(BUILD)/certs \
	    -python $(PYTHON) -out $(IO_DIR)/matrix.md -logs $(IO_DIR)/logs $(INTEROP_FLAGS)

interop-docs: INTEROP_FLAGS += -docs docs/interop.md
interop-docs: interop
