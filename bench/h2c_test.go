package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// h2loadOK is h2load 1.52's output for a timed h2c run.
const h2loadOK = `starting benchmark...
spawning thread #0: 2 total client(s). Timing-based test with 0s of warm-up time and 2s of main duration for measurements.
Application protocol: h2c
Main benchmark duration is over for thread #0. Stopping all clients.

finished in 2.00s, 25226.00 req/s, 1.25MB/s
requests: 50452 total, 50484 started, 50452 done, 50452 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 50452 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 2.50MB (2623808) total, 197.26KB (201990) headers (space savings 95.83%), 1.44MB (1513560) data
                     min         max         mean         sd        +/- sd
time for request:       68us     11.83ms      1.22ms       788us    85.48%
time for connect:      196us       317us       256us        85us   100.00%
time to 1st byte:     4.65ms      8.41ms      6.53ms      2.66ms   100.00%
req/s           :   12540.13    12681.60    12610.87      100.04   100.00%
`

func TestParseH2load(t *testing.T) {
	r, err := parseH2load(h2loadOK)
	if err != nil {
		t.Fatal(err)
	}
	if r.RPS != 25226 || r.Succeeded != 50452 || r.MinUs != 68 || r.MaxUs != 11830 || r.MeanUs != 1220 || r.SDUs != 788 {
		t.Fatalf("parsed %+v", r)
	}
	// Two threads printing at once (seen in a full run).
	interleaved := strings.Replace(h2loadOK, "Application protocol: h2c\nMain benchmark", "Application protocol: h2cMain benchmark", 1)
	if _, err := parseH2load(interleaved); err != nil {
		t.Fatalf("interleaved lines: %v", err)
	}
}

func TestParseH2loadFailures(t *testing.T) {
	for name, out := range map[string]string{
		"5xx": strings.NewReplacer("50452 succeeded, 0 failed", "0 succeeded, 50452 failed",
			"50452 2xx, 0 3xx, 0 4xx, 0 5xx", "0 2xx, 0 3xx, 0 4xx, 50452 5xx").Replace(h2loadOK),
		"some 4xx": strings.NewReplacer("50452 succeeded, 0 failed", "50450 succeeded, 2 failed",
			"50452 2xx, 0 3xx, 0 4xx", "50450 2xx, 0 3xx, 2 4xx").Replace(h2loadOK),
		"errored":  strings.Replace(h2loadOK, "0 errored", "3 errored", 1),
		"timeout":  strings.Replace(h2loadOK, "0 timeout", "1 timeout", 1),
		"http/1.1": strings.Replace(h2loadOK, "Application protocol: h2c", "Application protocol: http/1.1", 1),
		"no protocol (connection refused)": `starting benchmark...
spawning thread #0: 1 total client(s). 100 total requests

finished in 1.25ms, 0.00 req/s, 0B/s
requests: 100 total, 0 started, 0 done, 0 succeeded, 100 failed, 100 errored, 0 timeout
status codes: 0 2xx, 0 3xx, 0 4xx, 0 5xx
`,
		"no latency": strings.Replace(h2loadOK, "time for request:", "time for nothing:", 1),
		"empty":      "",
	} {
		if _, err := parseH2load(out); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestH2loadPercentiles(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := 1; i <= 100; i++ {
		b.WriteString("1796619658999274\t200\t" + strconv.Itoa(i*10) + "\n")
	}
	ok := filepath.Join(dir, "ok.log")
	if err := os.WriteFile(ok, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var r h2cSample
	if err := h2loadPercentiles(ok, &r); err != nil {
		t.Fatal(err)
	}
	if r.P50us != 500 || r.P99us != 990 || r.LogLines != 100 {
		t.Fatalf("p50 %v p99 %v lines %d", r.P50us, r.P99us, r.LogLines)
	}
	bad := filepath.Join(dir, "bad.log")
	if err := os.WriteFile(bad, []byte(b.String()+"1796619658999275\t502\t30\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := h2loadPercentiles(bad, &r); err == nil {
		t.Fatal("a 502 in the log passed")
	}
	empty := filepath.Join(dir, "empty.log")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := h2loadPercentiles(empty, &r); err == nil {
		t.Fatal("an empty log passed")
	}
}

func TestParseWrkLatencyStats(t *testing.T) {
	out := `Running 1s test @ http://127.0.0.1:18089/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     0.94ms    1.15ms  11.89ms   87.26%
    Req/Sec    21.07k     5.63k   43.74k    95.24%
  Latency Distribution
     50%  495.00us
     75%    1.24ms
     90%    2.39ms
     99%    5.21ms
  44099 requests in 1.10s, 6.18MB read
Requests/sec:  39968.50
Transfer/sec:      5.60MB
`
	r, err := parseWrk(out, 32)
	if err != nil {
		t.Fatal(err)
	}
	if r.RPS != 39968.5 || r.P50us != 495 || r.P99us != 5210 || r.MeanUs != 940 || r.SDUs != 1150 || r.MaxUs != 11890 || r.Requests != 44099 {
		t.Fatalf("parsed %+v", r)
	}
}

func TestCPUSeconds(t *testing.T) {
	before, err := cpuSeconds(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(300 * time.Millisecond); time.Now().Before(deadline); {
	}
	after, err := cpuSeconds(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if d := after - before; d < 0.1 || d > 10 {
		t.Fatalf("300 ms of spinning took %.2f s of CPU", d)
	}
}
