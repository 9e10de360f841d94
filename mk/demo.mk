# The Go demo: engine client + engine server over TCP on one epoll loop.
DEMO_TARGETS += demo-go
TEST_TARGETS += test-example-go

.PHONY: demo-go test-example-go
demo-go:
	$(GO) run ./examples/go/demo

# Examples are run by the tests: an example that is not run is broken.
test-example-go:
	$(GO) run ./examples/go/demo -bytes 1048576
