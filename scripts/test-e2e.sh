#!/usr/bin/env bash
# `make test-e2e`: the e2e suite against each front-door HTTP/1.1 server
# (openfc serve --http1-server), all runs at once, since each takes about
# 12 minutes alone. Each `go test` writes to a file of its own, so the
# runs never interleave: a passing run shows its summary, a failing one
# its whole output, last and framed. Exits non-zero unless every run
# passes. Usage:
#   test-e2e.sh [SERVER...]     (default: nethttp fast)
# Environment: GO (go), E2E_RUN (a -run pattern for every run),
# E2E_TIMEOUT (each run's -timeout, default 40m).
set -u
go=${GO:-go}
servers=("$@")
[ ${#servers[@]} -gt 0 ] || servers=(nethttp fast)
logs=$(mktemp -d)
declare -A server_of rc_of secs_of
# Each run is a session of its own (setsid), so that stopping this
# script stops the whole run, its servers and instances included.
cleanup() {
	for p in "${!server_of[@]}"; do kill -TERM -- "-$p" 2>/dev/null; done
	wait
	rm -rf "$logs"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start=$SECONDS
for s in "${servers[@]}"; do
	OPENFC_E2E_HTTP1_SERVER=$s setsid "$go" test -count=1 -timeout "${E2E_TIMEOUT:-40m}" \
		${E2E_RUN:+-run "$E2E_RUN"} ./test/e2e/ >"$logs/$s.log" 2>&1 &
	server_of[$!]=$s
done
echo "e2e: running against ${servers[*]} at once${E2E_RUN:+ (-run $E2E_RUN)}"
while [ ${#server_of[@]} -gt 0 ]; do
	wait -n -p pid
	rc=$?
	s=${server_of[$pid]}
	unset "server_of[$pid]"
	rc_of[$s]=$rc secs_of[$s]=$((SECONDS - start))
	echo "e2e --http1-server $s: $([ "$rc" -eq 0 ] && echo PASS || echo "FAIL (exit $rc)") after ${secs_of[$s]}s"
done

failed=()
for s in "${servers[@]}"; do
	if [ "${rc_of[$s]}" -eq 0 ]; then
		grep -E '^(ok|e2e:)' "$logs/$s.log" | sed "s/^/    $s: /"
	else
		failed+=("$s")
	fi
done
for s in "${failed[@]}"; do
	echo "=================== e2e --http1-server $s: FAIL (exit ${rc_of[$s]}); its output:"
	cat "$logs/$s.log"
	echo "=================== end of e2e --http1-server $s"
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "e2e FAILED with --http1-server ${failed[*]}"
	exit 1
fi
