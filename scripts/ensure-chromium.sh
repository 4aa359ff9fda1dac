#!/bin/sh
# `make deps`: the browser CORS e2e test needs Chromium. Install it where
# that needs no questions (root, apt-get); elsewhere print the exact
# command and fail, so that the test run does not fail 8 minutes later.
set -eu
if [ -n "${OPENFC_E2E_CHROMIUM:-}" ]; then
	if [ -x "$OPENFC_E2E_CHROMIUM" ]; then exit 0; fi
	echo "OPENFC_E2E_CHROMIUM=$OPENFC_E2E_CHROMIUM is not an executable file" >&2
	exit 1
fi
for b in chromium chromium-browser google-chrome google-chrome-stable; do
	if command -v "$b" >/dev/null 2>&1; then exit 0; fi
done
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
	echo "Chromium is missing (the browser CORS e2e test needs it): apt-get install -y chromium"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
	exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
	cmd="sudo apt-get update && sudo apt-get install -y chromium"
else
	cmd="your package manager's chromium package (e.g. sudo dnf install chromium)"
fi
cat >&2 <<MSG
Chromium is missing; the browser CORS e2e test needs it. Install it with:

    $cmd

or set OPENFC_E2E_CHROMIUM to a Chromium or Chrome binary, then run make deps again.
MSG
exit 1
