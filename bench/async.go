package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Asynchronous invocation (issue 16): how fast openfc accepts async
// requests. A 202 is answered only after JetStream acknowledged the
// request (design.md §5: ≥ 10,000 durable accepts/s, p50 ≤ 2 ms), so the
// figures are those of the durable write. wrk POSTs a small event with
// X-Fc-Invocation-Type: Async to bench/warm's proxy URL (the async
// workers run them on the cheap bench function while the measurement
// goes on, as they would in production), on the main server and on a
// second one started with --sync-always (JetStream fsyncs every write);
// a synchronous POST to the same function is measured in the same
// interleaved rounds, the yardstick of the ratios. Any answer other than
// the expected status (202, or 200 for the sync POST) fails the run.

// asyncTarget is one measured request kind: its name, the server's
// proxy URL of bench/warm and its wrk script.
type asyncTarget struct{ name, url, script string }

// asyncScript is a wrk Lua script POSTing a 17-byte event, with
// X-Fc-Invocation-Type: Async when async, that counts the answers whose
// status is not want and prints the count for parseWrk (reUnexpected).
func asyncScript(async bool, want int) string {
	header := ""
	if async {
		header = `wrk.headers["X-Fc-Invocation-Type"] = "Async"` + "\n"
	}
	return fmt.Sprintf(`wrk.method = "POST"
wrk.body = "async bench event"
wrk.headers["Content-Type"] = "text/plain"
%slocal threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) unexpected = 0 end
function response(status, headers, body)
  if status ~= %d then unexpected = unexpected + 1 end
end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("unexpected") end
  io.write(string.format("Unexpected status answers: %%d\n", n))
end
`, header, want)
}

// asyncBench measures the async accept path on s and on a second server
// started with --sync-always in tmp, and the sync POST on s.
func asyncBench(ctx context.Context, cfg config, children *procs, openfc, tmp string, s *server, res *results) {
	dir := filepath.Join(tmp, "async")
	scripts := map[string]string{"async": filepath.Join(dir, "async.lua"), "sync": filepath.Join(dir, "sync.lua")}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		res.fail("async: %v", err)
		return
	}
	if err := os.WriteFile(scripts["async"], []byte(asyncScript(true, 202)), 0o644); err != nil {
		res.fail("async: %v", err)
		return
	}
	if err := os.WriteFile(scripts["sync"], []byte(asyncScript(false, 200)), 0o644); err != nil {
		res.fail("async: %v", err)
		return
	}
	targets := []asyncTarget{
		{"sync-post", s.proxyURL("warm"), scripts["sync"]},
		{"async-accept", s.proxyURL("warm"), scripts["async"]},
	}
	durable, err := startSyncAlways(ctx, children, openfc, filepath.Join(dir, "sync-always"), cfg.logLevel, res)
	if err != nil {
		res.fail("async: openfc serve --sync-always: %v", err)
	} else {
		defer children.stop(durable.pid)
		targets = append(targets, asyncTarget{"async-accept-sync-always", durable.proxyURL("warm"), scripts["async"]})
	}
	for _, t := range targets { // warm-up, and the first check of the status
		if _, err := runWrkWith(ctx, wrkRun{url: t.url, script: t.script, conns: 32, d: time.Second}); err != nil {
			res.fail("%s warm-up: %v", t.name, err)
		}
	}
	rounds := asyncRounds(ctx, cfg, targets, res)
	var ts []target
	for _, t := range targets {
		ts = append(ts, target{name: t.name})
	}
	res.Warm = append(res.Warm, warmMedians(ts, rounds)...)
	asyncRatios(res)
}

// startSyncAlways starts `openfc serve --sync-always` in dir, sharing
// the run's function code, deploys bench/warm and waits for its answer.
func startSyncAlways(ctx context.Context, children *procs, openfc, dir, logLevel string, res *results) (*server, error) {
	logf("async: starting openfc serve --sync-always")
	srv, _, err := startWarmServer(ctx, children, openfc, filepath.Join(filepath.Dir(filepath.Dir(dir)), "code"), dir, logLevel, res, "--sync-always")
	return srv, err
}

// asyncRounds runs each target at 1 and 32 connections once per round,
// the order rotating as in warmRounds.
func asyncRounds(ctx context.Context, cfg config, targets []asyncTarget, res *results) map[roundKey][]wrkResult {
	rounds := map[roundKey][]wrkResult{}
	for round := 0; round < cfg.rounds; round++ {
		for _, conns := range []int{1, 32} {
			for i := range targets {
				t := targets[(i+round)%len(targets)]
				r, err := runWrkWith(ctx, wrkRun{url: t.url, script: t.script, conns: conns, d: cfg.duration})
				if err != nil {
					res.fail("%s c=%d round %d: %v", t.name, conns, round+1, err)
					continue
				}
				logf("round %d/%d %-24s c=%-2d %10.0f req/s  p50 %8.1f µs  p99 %8.1f µs", round+1, cfg.rounds, t.name, conns, r.RPS, r.P50us, r.P99us)
				rounds[roundKey{t.name, conns}] = append(rounds[roundKey{t.name, conns}], r)
			}
		}
	}
	return rounds
}

// asyncRatios records the accepts/s against the sync POST's requests/s,
// --sync-always against the default, and the p50 accept latency.
func asyncRatios(res *results) {
	get := func(name string, conns int) *wrkResult {
		for i := range res.Warm {
			if res.Warm[i].Target == name && res.Warm[i].Conns == conns {
				return &res.Warm[i]
			}
		}
		return nil
	}
	for _, conns := range []int{1, 32} {
		sync, async, durable := get("sync-post", conns), get("async-accept", conns), get("async-accept-sync-always", conns)
		if async == nil {
			res.fail("async accept c=%d produced no numbers", conns)
			continue
		}
		res.Ratios[fmt.Sprintf("async_accept_c%d_per_sec", conns)] = async.RPS
		res.Ratios[fmt.Sprintf("async_accept_c%d_p50_us", conns)] = round(async.P50us, 1)
		if sync != nil && sync.RPS > 0 {
			res.Ratios[fmt.Sprintf("async_accept_c%d_rps_vs_sync_post", conns)] = round(async.RPS/sync.RPS, 3)
		}
		if durable != nil && async.RPS > 0 {
			res.Ratios[fmt.Sprintf("async_accept_sync_always_c%d_per_sec", conns)] = durable.RPS
			res.Ratios[fmt.Sprintf("async_accept_sync_always_c%d_p50_us", conns)] = round(durable.P50us, 1)
			res.Ratios[fmt.Sprintf("async_accept_sync_always_c%d_rps_vs_default", conns)] = round(durable.RPS/async.RPS, 3)
		}
	}
}
