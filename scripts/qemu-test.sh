#!/usr/bin/env bash
# Runs the store's conformance, power-loss and durability tests, and the
# core's restore tests, as 32-bit ARM (GOARM=7, Raspberry Pi 2/3/4 on a
# 32-bit OS) and arm64 binaries under Debian's qemu-user. Installs
# qemu-user with apt-get when qemu-arm or qemu-aarch64 is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}

if ! command -v qemu-arm >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
	echo "qemu-test: installing qemu-user" >&2
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO=sudo
	$SUDO apt-get update -q
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q qemu-user
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
pkgs=(./core/store/memory ./core/store/pebble ./core)
fail=0
for target in "arm:7:qemu-arm" "arm64::qemu-aarch64"; do
	IFS=: read -r arch arm qemu <<<"$target"
	for pkg in "${pkgs[@]}"; do
		bin="$out/$(basename "$pkg")-$arch.test"
		GOOS=linux GOARCH=$arch GOARM=$arm CGO_ENABLED=0 $GO test -c -o "$bin" "$pkg"
		args=(-test.count=1)
		# In core only the store-backed tests matter here; the rest is
		# architecture-independent and slow under emulation.
		[ "$pkg" = ./core ] && args+=(-test.run='Restore|Store|SessionEnds|CleanSessions')
		echo "qemu-test: $qemu $pkg" >&2
		# A test that starts a child process of itself runs it through
		# the same emulator (MQGATE_TEST_EXEC).
		if ! (cd "$pkg" && MQGATE_TEST_EXEC=$qemu "$qemu" "$bin" "${args[@]}"); then
			fail=1
		fi
	done
done
# The process-level kill -9 test with the gateway itself built for each
# architecture and run under qemu-user; the test and its clients stay native.
for target in "arm:7:qemu-arm" "arm64::qemu-aarch64"; do
	IFS=: read -r arch arm qemu <<<"$target"
	echo "qemu-test: $qemu mqgate, test/durability" >&2
	if ! MQGATE_TEST_GOARCH=$arch MQGATE_TEST_GOARM=$arm MQGATE_TEST_EXEC=$qemu \
		$GO test -count=1 ./test/durability/; then
		fail=1
	fi
done
# The release binaries: each starts (arm and arm64 under qemu-user, amd64
# natively), carries a publish/subscribe round trip, and keeps to the size
# budget and the idle memory budget (under qemu-user, the guest's own
# pages; test/release says how they are told from the emulator's).
dist="$out/dist"
DIST=$dist GO=$GO ./scripts/release.sh
for target in "amd64:" "arm64:qemu-aarch64" "armv7:qemu-arm" "armv6:qemu-arm"; do
	IFS=: read -r name qemu <<<"$target"
	echo "qemu-test: release binary $name ${qemu:+under $qemu}" >&2
	if ! MQGATE_TEST_BINARY="$dist/mqgate-linux-$name" MQGATE_TEST_EXEC=$qemu \
		$GO test -count=1 -v -run ReleaseBinary ./test/release/; then
		fail=1
	fi
done
exit $fail
