#!/usr/bin/env bash
# Builds the release binaries: static (CGO off), stripped, version stamped,
# for linux/amd64, linux/arm64 and linux/arm (v6: Raspberry Pi Zero and 1;
# v7: 2 and later on a 32-bit OS), into DIST (default dist/), and prints
# their sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
DIST=${DIST:-dist}
VERSION=${VERSION:-$(git describe --always --dirty 2>/dev/null || echo dev)}
mkdir -p "$DIST"
for target in amd64: arm64: arm:6 arm:7; do
	IFS=: read -r arch arm <<<"$target"
	name=mqgate-linux-$arch${arm:+v$arm}
	GOOS=linux GOARCH=$arch GOARM=$arm CGO_ENABLED=0 $GO build -trimpath \
		-ldflags "-s -w -X github.com/mqgate/mqgate/gateway.Version=$VERSION" \
		-o "$DIST/$name" ./cmd/mqgate
	awk -v n="$name" -v s="$(stat -c %s "$DIST/$name")" 'BEGIN { printf "%-24s %6.1f MiB\n", n, s / 1048576 }'
done
