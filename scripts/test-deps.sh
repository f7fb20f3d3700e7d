#!/usr/bin/env bash
# Installs what the test suite needs beyond Go modules: Debian's
# mosquitto-clients, chromium and the npm packages of test/interop.
# Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
need_apt=()
command -v mosquitto_pub >/dev/null 2>&1 || need_apt+=(mosquitto-clients)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium) # the headless browser test
if [ ${#need_apt[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# npm ci again when package-lock.json changed since the last install.
if [ -f test/interop/package-lock.json ] &&
	{ [ ! -f test/interop/node_modules/.package-lock.json ] ||
		[ test/interop/package-lock.json -nt test/interop/node_modules/.package-lock.json ]; }; then
	(cd test/interop && npm ci --no-audit --no-fund --silent)
fi
