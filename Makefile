# mqgate: `make test` runs every test, installing the external test clients
# (Debian's mosquitto-clients, npm's mqtt) when they are missing.
GO ?= go

.PHONY: all build test test-deps vet fuzz bench

all: build

build:
	$(GO) build -o mqgate ./cmd/mqgate

test-deps:
	@./scripts/test-deps.sh

vet:
	$(GO) vet ./...

test: test-deps vet
	$(GO) test -race -count=1 ./...

# Short fuzzing pass over every decoder.
fuzz:
	$(GO) test -run=NONE -fuzz=FuzzDecode -fuzztime=30s ./adapters/mqtt/packet/

bench:
	$(GO) test -run=NONE -bench=. -benchmem ./...
