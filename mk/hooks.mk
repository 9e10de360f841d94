# Hooks under real tools: sslbio's key log, SNI and exporters checked by
# tshark, curl and openssl s_client/s_server (tests/hooks/check_tools.sh;
# the sslbio peer is tests/hooks/tool_peer.py, over pybio).
#
#   make test-hooks-tools   (make test) tshark decrypts a capture with sslbio's
#                           key log; curl --resolve against the epoll server's
#                           names; exporters and key logs equal openssl's
TEST_TARGETS += test-hooks-tools

.PHONY: test-hooks-tools
# The epoll server binary comes from mk/c.mk's examples rule.
test-hooks-tools: lib certs $(BUILD)/c/examples/epoll_server
	EPOLL_SERVER=$(CURDIR)/$(BUILD)/c/examples/epoll_server PYTHON=$(PYTHON) \
	    timeout 120 tests/hooks/check_tools.sh
