#!/usr/bin/env bash
# Cross-compiles static, stripped mqgate binaries into dist/ for the
# platforms mqgate ships for, version stamped, and prints their sizes:
#   linux/amd64, linux/arm64, linux/arm v6 (Pi Zero, Pi 1) and v7 (Pi 2-4
#   on a 32-bit OS).
# VERSION defaults to git describe. The build command is the Dockerfile's.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo 0.1.0-dev)}
OUT=${OUT:-dist}
mkdir -p "$OUT"
for target in amd64: arm64: arm:6 arm:7; do
	IFS=: read -r arch arm <<<"$target"
	name="mqgate-linux-$arch${arm:+v$arm}"
	GOOS=linux GOARCH=$arch GOARM=$arm CGO_ENABLED=0 $GO build -trimpath \
		-ldflags "-s -w -X github.com/mqgate/mqgate/gateway.Version=$VERSION" -o "$OUT/$name" ./cmd/mqgate
	awk -v n="$name" -v s="$(stat -c %s "$OUT/$name")" 'BEGIN { printf "%-24s %6.1f MiB\n", n, s / 1048576 }'
done
