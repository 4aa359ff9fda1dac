package e2e

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openfc/openfc/pkg/client"
)

const mib = 1 << 20

// dataDirBytes is the size of every file under dir: the JetStream store,
// the unpacked code, everything.
func dataDirBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) { // removed while walking
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			n += fi.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// unpacked lists the directories under <data>/code.
func unpacked(t *testing.T, dataDir string) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(dataDir, "code"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// newCodeVersion writes fresh random (incompressible) data of size bytes
// into dir/blob, next to the echo function's server.py.
func newCodeVersion(t *testing.T, dir string, size int) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot(), "test/e2e/testdata/pyecho/server.py"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "server.py"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "blob"), badInputRandom(size), 0o644); err != nil {
		t.Fatal(err)
	}
}

// codeChecksum returns the function's code checksum, from the API.
func (s *server) codeChecksum(service, function string) string {
	s.t.Helper()
	c := client.New(s.URL, accountID, client.Credentials{AccessKeyID: accessKeyID, AccessKeySecret: accessKeySecret})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fn, err := c.GetFunction(ctx, service, function)
	if err != nil {
		s.t.Fatalf("get %s/%s: %v", service, function, err)
	}
	return fn.CodeChecksum
}

// invoker calls path on s over and over until stop, recording every
// answer that is not a 200.
type invoker struct {
	wg       sync.WaitGroup
	stopCh   chan struct{}
	mu       sync.Mutex
	ok       int
	failures []string
}

func startInvoker(s *server, path string) *invoker {
	iv := &invoker{stopCh: make(chan struct{})}
	hc := &http.Client{Timeout: 60 * time.Second}
	iv.wg.Add(1)
	go func() {
		defer iv.wg.Done()
		for {
			select {
			case <-iv.stopCh:
				return
			default:
			}
			resp, err := hc.Get(s.URL + path)
			var failure string
			if err != nil {
				failure = err.Error()
			} else {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failure = fmt.Sprintf("%d %s", resp.StatusCode, body)
				}
			}
			iv.mu.Lock()
			if failure == "" {
				iv.ok++
			} else {
				iv.failures = append(iv.failures, failure)
			}
			iv.mu.Unlock()
		}
	}()
	return iv
}

func (iv *invoker) stop() (ok int, failures []string) {
	close(iv.stopCh)
	iv.wg.Wait()
	return iv.ok, iv.failures
}

// within waits until the data dir is at most limit bytes above base.
func within(t *testing.T, dataDir string, base, limit int64, what string) {
	t.Helper()
	waitFor(t, 60*time.Second, func() error {
		if grown := dataDirBytes(t, dataDir) - base; grown > limit {
			return fmt.Errorf("%s: the data dir is %.1f MiB above where it started (code dirs %v); want at most %.1f MiB",
				what, float64(grown)/mib, unpacked(t, dataDir), float64(limit)/mib)
		}
		return nil
	})
	t.Logf("%s: the data dir is %d bytes above where it started", what, dataDirBytes(t, dataDir)-base)
}

// Code nothing references is collected: updating a function 12 times with
// 1 MiB of fresh code each, then deleting it, leaves the data dir (the
// JetStream store included) within a few MiB of where it started, while
// a client invoking the function all along never fails.
func TestCodeCollected(t *testing.T) {
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	base := dataDirBytes(t, dataDir)
	code := t.TempDir()
	newCodeVersion(t, code, mib)
	opts := echoOpts{service: "gc", name: "echo", code: code}
	s.deployEcho(opts)
	s.getEcho("/2016-08-15/proxy/gc/echo/", nil)

	iv := startInvoker(s, "/2016-08-15/proxy/gc/echo/during")
	for range 12 {
		newCodeVersion(t, code, mib)
		s.deployEcho(opts)
	}
	time.Sleep(200 * time.Millisecond) // a few more calls on the last version
	ok, failures := iv.stop()
	if len(failures) > 0 {
		t.Errorf("%d of %d calls during the updates failed, first: %s", len(failures), ok+len(failures), failures[0])
	}
	if ok < 12 {
		t.Errorf("only %d calls succeeded during the 12 updates; the check saw little", ok)
	}
	// The current version's zip and unpacked directory (about 1 MiB
	// each) are left of 13 versions; the JetStream store may still hold
	// dead chunks in its last block (8 MiB), which it frees once the
	// block fills up (or empties).
	sum := s.codeChecksum("gc", "echo")
	waitFor(t, 30*time.Second, func() error {
		if got := unpacked(t, dataDir); len(got) != 1 || got[0] != sum {
			return fmt.Errorf("unpacked code %v; want only the current %s", got, sum)
		}
		return nil
	})
	within(t, dataDir, base, 11*mib, "after 12 updates")

	s.cli("functions", "delete", "gc/echo")
	waitFor(t, 30*time.Second, func() error {
		if got := unpacked(t, dataDir); len(got) != 0 {
			return fmt.Errorf("unpacked code %v left after the delete", got)
		}
		return nil
	})
	within(t, dataDir, base, 3*mib, "after the delete")
}

// An instance keeps the code it runs on, even once its function moved on
// to new code: a request it is serving completes; the code goes when the
// instance stops. What a crash left (the server killed while an old
// instance held its code) is collected when the server starts again.
func TestCodeInUseKeptAndCrashLeftoversCollected(t *testing.T) {
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	base := dataDirBytes(t, dataDir)
	code := t.TempDir()
	opts := echoOpts{service: "gcuse", name: "echo", code: code}
	newCodeVersion(t, code, mib)
	s.deployEcho(opts)
	v1 := s.codeChecksum("gcuse", "echo")

	type result struct {
		status int
		err    error
	}
	slow := func(ms int) <-chan result {
		ch := make(chan result, 1)
		go func() {
			resp, err := http.Get(fmt.Sprintf("%s/2016-08-15/proxy/gcuse/echo/sleep?ms=%d", s.URL, ms))
			if err != nil {
				ch <- result{err: err}
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			ch <- result{status: resp.StatusCode}
		}()
		return ch
	}
	c := client.New(s.URL, accountID, client.Credentials{AccessKeyID: accessKeyID, AccessKeySecret: accessKeySecret})
	waitInFlight := func() { // until the slow request has its instance
		waitFor(t, 30*time.Second, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			list, err := c.ListInstances(ctx, "gcuse", "", "echo")
			if err != nil {
				return err
			}
			for _, in := range list {
				if in.InFlight > 0 {
					return nil
				}
			}
			return fmt.Errorf("no instance of gcuse/echo serves a request yet: %+v", list)
		})
	}

	busy := slow(4000)
	waitInFlight()
	newCodeVersion(t, code, mib)
	s.deployEcho(opts) // v2: v1 is unreferenced, but its instance is busy
	time.Sleep(time.Second)
	if got := unpacked(t, dataDir); !contains(got, v1) {
		t.Fatalf("v1's code %s was removed while its instance served a request: %v", v1, got)
	}
	if r := <-busy; r.err != nil || r.status != 200 {
		t.Fatalf("the request on the updated function's old instance: %d %v; want 200", r.status, r.err)
	}
	waitFor(t, 30*time.Second, func() error {
		if got := unpacked(t, dataDir); contains(got, v1) {
			return fmt.Errorf("v1's code %s is still unpacked after its instance stopped", v1)
		}
		return nil
	})

	// The crash: v2's instance busy, v3 deployed, the server killed.
	killed := slow(60000)
	waitInFlight()
	v2 := s.codeChecksum("gcuse", "echo")
	newCodeVersion(t, code, mib)
	s.deployEcho(opts)
	time.Sleep(500 * time.Millisecond)
	if got := unpacked(t, dataDir); !contains(got, v2) {
		t.Fatalf("v2's code %s is gone while its instance is busy: %v", v2, got)
	}
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.done
	<-killed
	// Left: v2's zip and unpacked directory, v3's zip.
	if grown := dataDirBytes(t, dataDir) - base; grown < 3*mib {
		t.Fatalf("the data dir is only %.1f MiB above where it started at the crash; the check would see nothing", float64(grown)/mib)
	}

	// At start the server collects v2's directory and zip, before any
	// request (the zip's chunks may stay on disk in the store's last
	// block until it fills up: the start reports what it removed).
	s2 := startServer(t, dataDir)
	waitFor(t, 30*time.Second, func() error {
		if got := unpacked(t, dataDir); len(got) != 0 {
			return fmt.Errorf("unpacked code %v left by the crash is still there", got)
		}
		if log := s2.log.String(); !strings.Contains(log, `msg="collected unreferenced code" component=code zips=1 dirs=1`) {
			return fmt.Errorf("the server did not report collecting v2's zip and directory at start:\n%s", log)
		}
		return nil
	})
	if r := s2.getEcho("/2016-08-15/proxy/gcuse/echo/after", nil); r.Path != "/after" {
		t.Fatalf("after the restart the function answered %+v", r)
	}
	if got := unpacked(t, dataDir); len(got) != 1 || got[0] != s2.codeChecksum("gcuse", "echo") {
		t.Errorf("unpacked code after a call on v3: %v", got)
	}
	// Nothing is left over: without the function the data dir is back
	// where it started.
	s2.cli("functions", "delete", "gcuse/echo")
	within(t, dataDir, base, mib, "after the delete")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
