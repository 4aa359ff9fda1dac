#!/bin/sh
# `make deps`: a test tool from the system's packages. Usage:
#   ensure-tool.sh WHAT PACKAGE ENVVAR BINARY...
# WHAT says which tests need it; ENVVAR ("-" for none), when set, names
# the binary to use. The tool is installed where that needs no questions
# (root, apt-get); elsewhere the exact command is printed and the run
# fails, so that the tests do not fail minutes later.
set -eu
what=$1 pkg=$2 envvar=$3
shift 3
if [ "$envvar" != "-" ]; then
	val=$(printenv "$envvar" || true)
	if [ -n "$val" ]; then
		if [ -x "$val" ]; then exit 0; fi
		echo "$envvar=$val is not an executable file" >&2
		exit 1
	fi
fi
for b in "$@"; do
	if command -v "$b" >/dev/null 2>&1; then exit 0; fi
done
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
	echo "$1 is missing ($what needs it): apt-get install -y $pkg"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg"
	exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
	cmd="sudo apt-get update && sudo apt-get install -y $pkg"
else
	cmd="your package manager's $pkg package (e.g. sudo dnf install $pkg)"
fi
hint=""
if [ "$envvar" != "-" ]; then hint="or set $envvar to the binary, "; fi
cat >&2 <<MSG
$1 is missing; $what needs it. Install it with:

    $cmd

${hint}then run make deps again.
MSG
exit 1
