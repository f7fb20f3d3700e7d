# mqgate: `make test` runs every test, installing the external test clients
# (Debian's mosquitto-clients, npm's mqtt) when they are missing.
GO ?= go

.PHONY: all build test test-deps test-qemu vet fuzz bench release

all: build

build:
	$(GO) build -o mqgate ./cmd/mqgate

test-deps:
	@./scripts/test-deps.sh

vet:
	$(GO) vet ./...

# Every test under the race detector, then the allocation counts once more
# without it: it makes sync.Pool drop items.
test: test-deps vet
	$(GO) test -race -count=1 ./...
	$(GO) test -count=1 -run 'Alloc' ./...

# The store and restore tests as 32-bit ARM and arm64 binaries under
# qemu-user (installed when missing); separate from test because the
# cross builds take minutes on a cold cache.
test-qemu:
	@GO=$(GO) ./scripts/qemu-test.sh

# Static, stripped, version-stamped binaries for linux/amd64, arm64, armv6
# and armv7 in dist/ (test-qemu runs them).
release:
	@GO=$(GO) ./scripts/release.sh

# Short fuzzing pass over every decoder.
fuzz:
	$(GO) test -run=NONE -fuzz=FuzzDecode -fuzztime=30s ./adapters/mqtt/packet/
	$(GO) test -run=NONE -fuzz='^FuzzParse$$' -fuzztime=30s ./adapters/coap/
	$(GO) test -run=NONE -fuzz='^FuzzTopicFromPath$$' -fuzztime=15s ./adapters/coap/
	$(GO) test -run=NONE -fuzz='^FuzzParseQuery$$' -fuzztime=15s ./adapters/coap/
	$(GO) test -run=NONE -fuzz='^FuzzDatagram$$' -fuzztime=30s ./adapters/coap/
	$(GO) test -run=NONE -fuzz='^FuzzReadTap$$' -fuzztime=15s ./adapters/bridge/

# One package at a time (-p 1): packages benchmarked side by side on a
# small machine would take each other's CPUs and halve each other's figures.
bench:
	$(GO) test -p 1 -run=NONE -bench=. -benchmem ./...
