#!/bin/sh
# Installs what `go run ./bench` needs: wrk, nginx and h2load (package
# nghttp2-client) (Debian/Ubuntu). Does nothing when all three are
# already on PATH.
set -eu
if command -v wrk >/dev/null 2>&1 && command -v nginx >/dev/null 2>&1 && command -v h2load >/dev/null 2>&1; then
	exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends wrk nginx nghttp2-client
# The nginx package may start a system nginx on port 80; the benchmark runs
# its own instance from a temporary directory and does not need it.
