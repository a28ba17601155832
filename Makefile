# auditshot build and test entry points. README.md documents them; the two a
# new user needs are `make run` and `make test`.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO ?= go
# Project-local tools and binaries; gitignored.
BIN := $(CURDIR)/.bin
# VCS stamping fails where git is missing or refuses the checkout (another
# user's clone); builds must not depend on it.
export GOFLAGS ?= -buildvcs=false

# staticcheck v0.8.2 is release 2026.2.2, which builds with Go 1.26. The binary
# name carries the version, so changing it here installs the new one.
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(BIN)/staticcheck-$(STATICCHECK_VERSION)

TEST_TIMEOUT ?= 25m
# How long each fuzz target runs under `make fuzz`.
FUZZTIME ?= 60s

.PHONY: help
help:
	@echo 'make run            install system packages, build, and start the service on ./auditshot-data'
	@echo 'make demo           run the example agents against the demo app end to end; bundles in ./demo-output'
	@echo 'make test           install packages and tools, vet, staticcheck, go test -race, the Python client tests'
	@echo 'make test-python    run the Python client tests against the built server'
	@echo 'make build          build .bin/auditshot'
	@echo 'make lint           gofmt check, go vet and staticcheck'
	@echo 'make fuzz           run every fuzz target for FUZZTIME (default 60s) each'
	@echo 'make bench-capture  run the capture benchmark (go run ./internal/benchcapture)'
	@echo 'make bench-ledger   run the ledger benchmark against Tessera (go run ./internal/benchledger)'
	@echo 'make bench-api      run the API benchmark: capture overhead, event ingestion (go run ./internal/benchapi)'
	@echo 'make bench-video    run the video benchmark: a flow with and without video (go run ./internal/benchvideo)'
	@echo 'make bench-ui       run the console benchmark: the runs list over 100,000 runs (go run ./internal/benchui)'
	@echo 'make deps           install the Debian/Ubuntu packages (scripts/install-deps)'
	@echo 'make tools          install staticcheck into .bin/'
	@echo 'make clean          remove .bin/ and demo and test output'

.PHONY: deps
deps:
	@scripts/install-deps

.PHONY: tools
tools: $(STATICCHECK)

$(STATICCHECK):
	@mkdir -p $(BIN)/staticcheck.tmp
	GOBIN=$(BIN)/staticcheck.tmp $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@mv $(BIN)/staticcheck.tmp/staticcheck $@
	@rmdir $(BIN)/staticcheck.tmp
	@ln -sf $(notdir $@) $(BIN)/staticcheck

.PHONY: build
build:
	$(GO) build -o $(BIN)/auditshot ./cmd/auditshot

# `make run` starts the service on the embedded default: SQLite, blobs and
# the signing key in ./auditshot-data. It prints the URL and, on first start,
# the bootstrap admin key. ADDR and ARGS pass more settings to `serve`.
ADDR ?= 127.0.0.1:8080
.PHONY: run
run: deps build
	$(BIN)/auditshot serve --addr $(ADDR) --data auditshot-data $(ARGS)

# `make demo` runs the three example agents (examples/agents) against the
# demo app through a fresh service, exports and verifies their evidence
# bundles (scripts/demo). DEMO_ARGS=--serve keeps both running until Ctrl-C.
.PHONY: demo
demo: deps
	GO=$(GO) BIN=$(BIN) scripts/demo $(DEMO_ARGS)

.PHONY: lint
lint: $(STATICCHECK)
	@unformatted=$$(gofmt -l . | grep -v '/testdata/' || true); \
	if [[ -n $$unformatted ]]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

.PHONY: test
test: deps lint test-python
	$(GO) test -race -timeout $(TEST_TIMEOUT) ./...

# The Python client's tests run against the real server binary.
.PHONY: test-python
test-python: build
	AUDITSHOT_BIN=$(BIN)/auditshot python3 -m unittest discover -s sdk/python/tests -t sdk/python

# Lists the fuzz targets of every package (one build of the test binaries),
# then runs each on its own: `go test -fuzz` takes one target at a time.
.PHONY: fuzz
fuzz: deps
	@targets=$$($(GO) test -list '^Fuzz' ./... | awk '/^Fuzz/ { n[++c] = $$1; next } /^ok/ { for (i = 1; i <= c; i++) print $$2 " " n[i]; c = 0 }'); \
	if [[ -z $$targets ]]; then echo "no fuzz targets"; exit 0; fi; \
	while read -r pkg fn; do \
		echo "== $$pkg $$fn ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) "$$pkg" </dev/null; \
	done <<<"$$targets"

.PHONY: bench-capture
bench-capture: deps
	$(GO) run ./internal/benchcapture

# Durable appends to the SQLite ledger and a Tessera POSIX log side by side,
# inclusion proofs at 1M entries and bundle verification; under 10 minutes.
.PHONY: bench-api
bench-api: deps
	$(GO) run ./internal/benchapi

.PHONY: bench-video
bench-video: deps
	$(GO) run ./internal/benchvideo

.PHONY: bench-ui
bench-ui:
	$(GO) run ./internal/benchui

.PHONY: bench-ledger
bench-ledger:
	$(GO) run ./internal/benchledger

.PHONY: clean
clean:
	rm -rf $(BIN) auditshot-demo.png auditshot-demo-evidence demo-output testoutput
