package e2e

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The front door's own duties, under whichever HTTP/1.1 server the run
// chose (OPENFC_E2E_HTTP1_SERVER): a client that leaves cancels its
// function's request and frees the slot; clients that trickle their
// request heads are cut at the header timeout without holding up anyone
// else; a large upload is streamed to the function, never held whole.
// The function is testdata/frontdoor/server.js.

// frontDoorFn is the path of the front-door function, fd/fn.
const frontDoorFn = "/2016-08-15/proxy/fd/fn"

// deployFrontDoor deploys testdata/frontdoor as fd/fn (instance
// concurrency 1) and starts its instance.
func (s *server) deployFrontDoor() {
	s.t.Helper()
	s.deployEcho(echoOpts{service: "fd", name: "fn", methods: "[GET, POST]",
		code: filepath.Join(repoRoot(), "test/e2e/testdata/frontdoor"), command: "[node, server.js]"})
	s.getOK(frontDoorFn + "/")
}

// frontDoorAddr is s's front door as host:port.
func (s *server) frontDoorAddr() string { return strings.TrimPrefix(s.URL, "http://") }

// A client that goes away 100 ms into a call the function answers after
// 5 s: the function sees its request cancelled, the access log records
// 499, and the function's only slot (one instance, concurrency 1) serves
// the next call at once instead of after the 5 s.
func TestFrontDoorDisconnect(t *testing.T) {
	s := startServer(t, "", "--max-instances-per-function", "1")
	s.deployFrontDoor()

	tag := rand.Text()
	conn, err := net.Dial("tcp", s.frontDoorAddr())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(conn, "GET %s/sleep?ms=5000&tag=%s HTTP/1.1\r\nHost: %s\r\n\r\n", frontDoorFn, tag, s.frontDoorAddr()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	conn.Close()

	began := time.Now()
	resp, body := s.do("GET", frontDoorFn+"/", nil, nil)
	if took := time.Since(began); resp.StatusCode != 200 || took > 2*time.Second {
		t.Errorf("the call right after the disconnect: %d %q in %v; want 200 at once from the freed slot, not after the first call's 5 s",
			resp.StatusCode, body, took.Round(time.Millisecond))
	}

	// Had the function not been cancelled, it would have answered at
	// 5 s and printed nothing. (The line is not matched by its request
	// id: printed after the request ended, it may be put down to the
	// next one.)
	waitFor(t, 10*time.Second, func() error {
		out, lines := s.lcLogs(t, "fd/fn")
		for _, l := range lines {
			if l.message == "cancelled "+tag {
				return nil
			}
		}
		return fmt.Errorf("the function did not print %q (its request cancelled):\n%s", "cancelled "+tag, out)
	})
	id := accessLogID(t, s, frontDoorFn+"/sleep")
	recs := s.rulesLogRecords(id)
	if len(recs) != 1 || recs[0]["status"] != "499" {
		t.Errorf("access log records of the cancelled request %s: %v; want one with status 499", id, recs)
	}
}

var requestIDRE = regexp.MustCompile(`\brequest_id=(\S+)`)

// accessLogID is the request id of the one access log record (msg=request)
// of path in s's log, waiting for it a while.
func accessLogID(t *testing.T, s *server, path string) string {
	t.Helper()
	var ids []string
	waitFor(t, 10*time.Second, func() error {
		ids = nil
		for _, l := range strings.Split(s.log.String(), "\n") {
			if strings.Contains(l, " msg=request ") && strings.Contains(l, " path="+path+" ") {
				if m := requestIDRE.FindStringSubmatch(l); m != nil {
					ids = append(ids, m[1])
				}
			}
		}
		if len(ids) != 1 {
			return fmt.Errorf("access log records of %s: %d (ids %v); want one", path, len(ids), ids)
		}
		return nil
	})
	return ids[0]
}

// needOpenFiles fails the test unless this process (and so the server it
// starts, which raises its limit the same way) may open n files.
func needOpenFiles(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur < n {
		t.Fatalf("the open files limit is %d (soft) / %d (hard); this test needs %d: raise ulimit -n", lim.Cur, lim.Max, n)
	}
}

// slowloris holds conns connections to addr that each send one byte of
// a request head per second, and records how long each lived until the
// server cut it.
type slowloris struct {
	conns  []net.Conn
	opened []time.Time
	lived  chan time.Duration // one per connection, as the server cuts it
	stop   chan struct{}
	wg     sync.WaitGroup
}

// slowHead is a request head longer than any test lasts at a byte a
// second; it never ends.
var slowHead = []byte("GET " + frontDoorFn + "/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + strings.Repeat("a", 100))

func startSlowloris(t *testing.T, addr string, n int) *slowloris {
	t.Helper()
	sl := &slowloris{lived: make(chan time.Duration, n), stop: make(chan struct{})}
	t.Cleanup(sl.close)
	for i := range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("slow connection %d: %v", i, err)
		}
		opened := time.Now()
		sl.conns, sl.opened = append(sl.conns, c), append(sl.opened, opened)
		c.Write(slowHead[:1])
		sl.wg.Go(func() {
			io.Copy(io.Discard, c) // until the server closes c (or close does)
			sl.lived <- time.Since(opened)
		})
	}
	sl.wg.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for k := 1; k < len(slowHead); k++ {
			select {
			case <-sl.stop:
				return
			case <-tick.C:
			}
			for _, c := range sl.conns {
				c.Write(slowHead[k : k+1]) // fails once c is cut
			}
		}
	})
	return sl
}

// close stops the trickle and closes every connection (the test's
// cleanup).
func (sl *slowloris) close() {
	close(sl.stop)
	for _, c := range sl.conns {
		c.Close()
	}
	sl.wg.Wait()
}

// 1,000 connections that send their request heads a byte a second do
// not stop other clients from being served, and the server cuts each at
// the header timeout (3 s here, not the 10 s the test would wait).
func TestFrontDoorSlowloris(t *testing.T) {
	const n, headerTimeout = 1000, 3 * time.Second
	// This process's connections and the server's, and room for the rest.
	needOpenFiles(t, 2*n+1024)
	s := startServer(t, "", "--header-timeout", headerTimeout.String())
	s.deployFrontDoor()

	sl := startSlowloris(t, s.frontDoorAddr(), n)
	t.Logf("%d slow connections opened in %v", n, time.Since(sl.opened[0]).Round(time.Millisecond))

	// Normal calls while they trickle, each on a connection of its own.
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	for i := range 20 {
		began := time.Now()
		resp, err := c.Get(s.URL + frontDoorFn + "/")
		took := time.Since(began)
		if err != nil {
			t.Fatalf("call %d during the slowloris: %v after %v", i, err, took.Round(time.Millisecond))
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || took > time.Second {
			t.Errorf("call %d during the slowloris: %d in %v; want 200 well under a second", i, resp.StatusCode, took.Round(time.Millisecond))
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Each slow connection is cut at the header timeout, give or take
	// the time to cut a thousand.
	lo, hi := headerTimeout-500*time.Millisecond, headerTimeout+3*time.Second
	var early, late []time.Duration
	var longest time.Duration
	deadline := time.After(time.Until(sl.opened[n-1].Add(10 * time.Second)))
	for cut := 0; cut < n; cut++ {
		select {
		case d := <-sl.lived:
			longest = max(longest, d)
			if d < lo {
				early = append(early, d)
			} else if d > hi {
				late = append(late, d)
			}
		case <-deadline:
			t.Fatalf("%d of %d slow connections still open 10 s after they opened; want each cut at the header timeout (%v)", n-cut, n, headerTimeout)
		}
	}
	t.Logf("the longest slow connection lived %v", longest.Round(time.Millisecond))
	if len(early) > 0 || len(late) > 0 {
		t.Errorf("slow connections cut before %v: %d (e.g. %v); after %v: %d (e.g. %v); want all cut at the header timeout %v",
			lo, len(early), early[:min(3, len(early))], hi, len(late), late[:min(3, len(late))], headerTimeout)
	}
}

// rssBytes is the resident set size of process pid.
func rssBytes(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// rssPeak is what peakRSS saw: the largest RSS and how many samples.
type rssPeak struct {
	most    int64
	samples int
	err     error
}

// peakRSS samples pid's resident set size every 20 ms, and once more
// when stop closes (a body held whole would still be resident), then
// sends the largest seen (or the first error).
func peakRSS(pid int, stop <-chan struct{}, peak chan<- rssPeak) {
	var p rssPeak
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-stop:
			done = true
		case <-tick.C:
		}
		rss, err := rssBytes(pid)
		if err != nil {
			peak <- rssPeak{err: err}
			return
		}
		p.most, p.samples = max(p.most, rss), p.samples+1
	}
	peak <- p
}

// uploadReply is what the function answers to an upload.
type uploadReply struct {
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// upload POSTs size pseudo-random bytes to the function's /upload,
// chunked or with a Content-Length, and returns what the function
// counted, the body's SHA-256 and the server's largest RSS growth over
// its RSS before the upload.
func (s *server) upload(t *testing.T, size int64, chunked bool) (got uploadReply, sum string, grew int64) {
	began := time.Now()
	t.Helper()
	hash := sha256.New()
	body := io.TeeReader(io.LimitReader(mrand.NewChaCha8([32]byte{byte(size)}), size), hash)
	req, err := http.NewRequest("POST", s.URL+frontDoorFn+"/upload", io.NopCloser(body))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1 // chunked
	if !chunked {
		req.ContentLength = size
	}
	pid := s.cmd.Process.Pid
	before, err := rssBytes(pid)
	if err != nil {
		t.Fatal(err)
	}
	stop, peak := make(chan struct{}), make(chan rssPeak, 1)
	go peakRSS(pid, stop, peak)
	resp, err := http.DefaultClient.Do(req)
	close(stop)
	if err != nil {
		t.Fatalf("upload of %d bytes: %v", size, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("upload of %d bytes: %d %q %v", size, resp.StatusCode, b, err)
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("upload of %d bytes: the function answered %q: %v", size, b, err)
	}
	p := <-peak
	if p.err != nil {
		t.Fatal(p.err)
	}
	t.Logf("%d bytes uploaded in %v, the server's RSS sampled %d times", size, time.Since(began).Round(time.Millisecond), p.samples)
	return got, hex.EncodeToString(hash.Sum(nil)), p.most - before
}

// A 32 MiB upload, FC's synchronous body limit exactly (the default
// --max-sync-body-bytes admits it), reaches the function whole, chunked
// or with a Content-Length, while the server's resident memory grows by
// far less than the body: it is streamed, never held whole.
func TestFrontDoorUploadStreamed(t *testing.T) {
	const size, bound = 32 * mib, 16 * mib
	s := startServer(t, "")
	s.deployFrontDoor()
	s.upload(t, mib, true) // the server's buffers for a streamed body exist before the measure
	for _, chunked := range []bool{true, false} {
		how := map[bool]string{true: "chunked", false: "with a Content-Length"}[chunked]
		got, sum, grew := s.upload(t, size, chunked)
		t.Logf("%s: the server's RSS grew by %.1f MiB at most", how, float64(grew)/mib)
		if got.Bytes != size || got.SHA256 != sum {
			t.Errorf("%s: the function read %d bytes, SHA-256 %s; want %d bytes, %s", how, got.Bytes, got.SHA256, size, sum)
		}
		if grew > bound {
			t.Errorf("%s: the server's RSS grew by %.1f MiB during a %d MiB upload; want under %d MiB (the body streamed, not buffered)",
				how, float64(grew)/mib, size/mib, bound/mib)
		}
	}
}
