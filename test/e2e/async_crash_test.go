package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// crashAccepts sends async requests to url from clients goroutines until
// stop is closed or limit requests (counted in total) got their 202, and returns the request
// ids of the 202s. A request that fails (the server killed under it) or
// gets another answer is not counted: only a 202 promises a run.
func crashAccepts(url string, clients int, total *atomic.Int64, limit int64, stop <-chan struct{}) ([]string, map[string]int) {
	var mu sync.Mutex
	var ids []string
	other := map[string]int{}
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if total.Load() >= limit {
					return
				}
				req, _ := http.NewRequestWithContext(context.Background(), "POST", url+fmt.Sprintf("?sleep=200&c=%d&n=%d", c, n), strings.NewReader("crash"))
				req.Header.Set("X-Fc-Invocation-Type", "Async")
				resp, err := client.Do(req)
				if err != nil {
					mu.Lock()
					other["error"]++
					mu.Unlock()
					time.Sleep(20 * time.Millisecond)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				id := resp.Header.Get("X-Fc-Request-Id")
				mu.Lock()
				if resp.StatusCode == http.StatusAccepted && id != "" {
					total.Add(1) // past the limit too: every 202 is tracked
					ids = append(ids, id)
				} else if resp.StatusCode != http.StatusAccepted {
					other[fmt.Sprint(resp.StatusCode)]++
				}
				mu.Unlock()
			}
		}(c)
	}
	wg.Wait()
	return ids, other
}

// TestAsyncCrashKill9: while 1,000 async requests are accepted by 16
// concurrent clients and run (each run takes 200 ms, so that runs are
// under way at the kill), openfc is killed with SIGKILL mid-way and
// restarted on the same data dir. Every request that got a 202 runs to
// its end at least once (a run the kill cut off does not count); how
// many started twice (at-least-once) is reported.
func TestAsyncCrashKill9(t *testing.T) {
	const total, clients = 1000, 16
	began := time.Now()
	dir := t.TempDir()
	s := startServer(t, dir)
	f := s.deployRec(recOpts{service: "crash", name: "rec", concurrency: 100})
	t.Cleanup(func() {
		// Instances of the killed server may outlive it; they are this
		// test's (their environment names its log).
		for _, pid := range processesWithEnv("ASYNC_LOG=" + f.log) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	if resp, body := s.do("GET", f.proxy("warm"), nil, nil); resp.StatusCode != 200 {
		t.Fatalf("warm-up: %d %s", resp.StatusCode, body)
	}

	var accepted atomic.Int64
	stop := make(chan struct{})
	var before []string
	var beforeOther map[string]int
	done := make(chan struct{})
	go func() {
		defer close(done)
		before, beforeOther = crashAccepts(s.URL+f.proxy("run"), clients, &accepted, total, stop)
	}()
	waitFor(t, 60*time.Second, func() error {
		if n := accepted.Load(); n < total/2 {
			return fmt.Errorf("%d of %d accepted", n, total/2)
		}
		return nil
	})
	ranAtKill := len(phaseIDs(f, "start"))
	s.kill9()
	close(stop)
	<-done
	t.Logf("killed after %d accepted (%d ran by then; other answers %v) in %v", len(before), ranAtKill, beforeOther, time.Since(began).Round(time.Millisecond))

	s2 := startServer(t, dir)
	after, afterOther := crashAccepts(s2.URL+f.proxy("run"), clients, &accepted, total, nil)
	ids := append(before, after...)
	if len(ids) < total {
		t.Fatalf("%d requests accepted in all; want %d (other answers after the restart: %v)", len(ids), total, afterOther)
	}
	if len(afterOther) > 0 {
		t.Errorf("after the restart, answers other than 202: %v", afterOther)
	}

	// Wait until every accepted request ran to its end, or the runs stop
	// growing.
	var missing []string
	last, lastChange := -1, time.Now()
	for {
		runs := phaseIDs(f, "end")
		missing = missing[:0]
		for _, id := range ids {
			if runs[id] == 0 {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 {
			break
		}
		if n := len(runs); n != last {
			last, lastChange = n, time.Now()
		}
		if time.Since(lastChange) > 15*time.Second || time.Since(began) > 110*time.Second {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	runs, ended, cut := phaseIDs(f, "start"), phaseIDs(f, "end"), phaseIDs(f, "cut")
	twice, extra := 0, 0
	accepted202 := map[string]bool{}
	for _, id := range ids {
		accepted202[id] = true
		if runs[id] > 1 {
			twice++
		}
	}
	for id := range runs {
		if !accepted202[id] && id != "" {
			extra++
		}
	}
	t.Logf("%d accepted (%d before the kill, %d after); %d runs saw the kill cut their connection (an instance that died with openfc records none); %d started more than once, %d ran to the end more than once; %d requests ran whose 202 the kill cut off (or the warm-up); %v in all",
		len(ids), len(before), len(after), len(cut), twice, countOver(ended, 1), extra, time.Since(began).Round(time.Millisecond))
	if len(missing) > 0 {
		shown := missing
		if len(shown) > 10 {
			shown = shown[:10]
		}
		t.Errorf("%d of %d requests that got a 202 never ran to their end (lost), e.g. %v", len(missing), len(ids), shown)
	}
}

// phaseIDs counts the entries in phase of each request id f recorded.
func phaseIDs(f *recFn, phase string) map[string]int {
	runs := map[string]int{}
	for _, e := range f.entries() {
		if e.Phase == phase {
			runs[e.RequestID]++
		}
	}
	return runs
}

// countOver is how many ids were counted more than n times.
func countOver(counts map[string]int, n int) int {
	k := 0
	for _, c := range counts {
		if c > n {
			k++
		}
	}
	return k
}
