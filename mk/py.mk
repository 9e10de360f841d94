# Python: pybio (ctypes over build/libsslbio.so), stdlib only.
#
#   make test-py           the unittest suite (tests/python), then the examples
#   make test-py-unit      tests/python only
#   make test-py-examples  examples/python: asyncio STARTTLS, epoll client vs the C epoll server
#   make bench-py          pybio vs the stdlib's ssl module, JSON lines (bench/python)
#
# Everything runs from the repository root with PYTHONPATH=. so `import pybio`
# finds pybio/ and pybio finds build/libsslbio.so beside it.

TEST_TARGETS += test-py

PY_RUN        := env PYTHONPATH=$(CURDIR) $(PYTHON)
PY_EPOLL_SRV  := $(BUILD)/c/examples/epoll_server

.PHONY: test-py test-py-unit test-py-examples bench-py

test-py: test-py-unit test-py-examples
	@echo "test-py: Python suite and examples passed"

test-py-unit: lib certs
	$(PY_RUN) -m unittest discover -s tests/python -t tests/python -v

# The epoll server binary comes from mk/c.mk's examples rule.
test-py-examples: lib certs $(PY_EPOLL_SRV)
	timeout 120 $(PY_RUN) examples/python/asyncio_starttls.py --clients 3
	timeout 120 $(PY_RUN) examples/python/epoll_client.py --spawn $(PY_EPOLL_SRV) --conns 8
	timeout 120 $(PY_RUN) bench/python/pybio_bench.py --quick --runs 1

bench-py: lib certs
	$(PY_RUN) bench/python/pybio_bench.py
