//go:build linux

package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/openfc/openfc/internal/sandbox/network"
)

// Stop on a process that ignores SIGTERM kills it, and the grandchild in
// its process group, once ctx ends.
func TestStopKillsStubbornGroup(t *testing.T) {
	for name, p := range modes(t) {
		t.Run(name, func(t *testing.T) {
			out := &syncBuffer{}
			in := start(t, p, Spec{
				ID:      "stubborn",
				Dir:     t.TempDir(),
				Command: []string{"sh", "-c", "trap '' TERM; sleep 1000 & echo $!; wait; wait"},
				Env:     []string{"PATH=/usr/bin:/bin"},
				Output:  out,
			})
			grandchild := atoi(t, waitLine(t, out))
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			began := time.Now()
			if err := in.Stop(ctx); err != nil {
				t.Errorf("Stop: %v", err)
			}
			if d := time.Since(began); d < 250*time.Millisecond {
				t.Errorf("Stop returned after %v, before its ctx ended", d)
			}
			select {
			case <-in.Done():
			default:
				t.Fatal("Stop returned before Done was closed")
			}
			if err := in.ExitErr(); err == nil || err.Error() != "signal: killed" {
				t.Errorf("ExitErr() = %v, want signal: killed", err)
			}
			waitGone(t, grandchild)
		})
	}
}

// Stop on a well-behaved server returns as soon as SIGTERM has worked.
func TestStopGraceful(t *testing.T) {
	for name, p := range modes(t) {
		t.Run(name, func(t *testing.T) {
			port := 9000
			if !p.NetNSEnabled() {
				port = freePort(t)
			}
			spec, out := nodeSpec(t, "graceful", port, "ok")
			in := start(t, p, spec)
			waitGet(t, in, out, "/")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			began := time.Now()
			if err := in.Stop(ctx); err != nil {
				t.Errorf("Stop: %v", err)
			}
			if d := time.Since(began); d > 5*time.Second {
				t.Errorf("Stop took %v", d)
			}
			if err := in.ExitErr(); err == nil || err.Error() != "signal: terminated" {
				t.Errorf("ExitErr() = %v, want signal: terminated", err)
			}
			if p.NetNSEnabled() {
				waitForeignThreads(t, p, 0)
			}
		})
	}
}

// Stop is idempotent and safe to call concurrently.
func TestStopConcurrent(t *testing.T) {
	for name, p := range modes(t) {
		t.Run(name, func(t *testing.T) {
			in := start(t, p, Spec{ID: "conc", Dir: t.TempDir(), Command: []string{"sleep", "1000"}, Env: []string{"PATH=/usr/bin:/bin"}})
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					if err := in.Stop(context.Background()); err != nil {
						t.Errorf("Stop: %v", err)
					}
					select {
					case <-in.Done():
					default:
						t.Error("Stop returned before Done was closed")
					}
				})
			}
			wg.Wait()
			if err := in.Stop(context.Background()); err != nil {
				t.Errorf("second Stop: %v", err)
			}
			if err := in.ExitErr(); err == nil || err.Error() != "signal: terminated" {
				t.Errorf("ExitErr() = %v, want signal: terminated", err)
			}
		})
	}
}

// When the main process exits by itself, the rest of its group is killed.
func TestLeaderExitKillsGroup(t *testing.T) {
	for name, p := range modes(t) {
		t.Run(name, func(t *testing.T) {
			out := &syncBuffer{}
			in := start(t, p, Spec{
				ID:      "leader",
				Dir:     t.TempDir(),
				Command: []string{"sh", "-c", "sleep 1000 & echo $!"},
				Env:     []string{"PATH=/usr/bin:/bin"},
				Output:  out,
			})
			waitDone(t, in, 10*time.Second)
			if err := in.ExitErr(); err != nil {
				t.Errorf("ExitErr() = %v", err)
			}
			waitGone(t, atoi(t, waitLine(t, out)))
		})
	}
}

// In netns mode even a process that left the group (setsid) is killed when
// the instance exits, since it is still in the instance's namespace.
func TestNetNSKillsEscapedProcess(t *testing.T) {
	p := netnsProcess(t)
	out := &syncBuffer{}
	in := start(t, p, Spec{
		ID:      "escape",
		Dir:     t.TempDir(),
		Command: []string{"sh", "-c", "setsid sleep 1000 >/dev/null 2>&1 & echo $!; sleep 1000"},
		Env:     []string{"PATH=/usr/bin:/bin"},
		Output:  out,
	})
	escaped := atoi(t, waitLine(t, out))
	// Wait until setsid has happened.
	deadline := time.Now().Add(5 * time.Second)
	for {
		sid, err := unix.Getsid(escaped)
		if err == nil && sid == escaped {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d did not become a session leader (sid %d, %v)", escaped, sid, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	in.Stop(ctx)
	waitGone(t, escaped)
	waitForeignThreads(t, p, 0)
}

// TestHelperServer is not a test: TestServerKilled runs the test binary
// with OPENFC_SANDBOX_HELPER=<netns mode> to be a server that it kills.
func TestHelperServer(t *testing.T) {
	mode := os.Getenv("OPENFC_SANDBOX_HELPER")
	if mode == "" {
		t.Skip("helper process for TestServerKilled")
	}
	// The directories are the parent test's: this process is killed, so
	// its own t.TempDir would never be removed.
	dir := os.Getenv("OPENFC_SANDBOX_DIR")
	owner := os.Getenv("OPENFC_SANDBOX_OWNER")
	p, err := NewProcess(ProcessOptions{NetNS: mode, Network: network.Options{Owner: owner, StateDir: filepath.Join(dir, "net")}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Start(context.Background(), Spec{
		ID:      "orphan",
		Dir:     dir,
		Command: []string{"sh", "-c", "echo $$; exec sleep 1000"},
		Env:     []string{"PATH=/usr/bin:/bin"},
		Output:  os.Stdout,
	})
	if err != nil {
		t.Fatal(err)
	}
	select {}
}

// No instance survives the server being killed with SIGKILL.
func TestServerKilled(t *testing.T) {
	for name, p := range modes(t) {
		mode := NetNSOff
		if p.NetNSEnabled() {
			mode = NetNSOn
		}
		t.Run(name, func(t *testing.T) {
			owner := netOptions(t).Owner
			line, kill := startHelper(t, "TestHelperServer", []string{"OPENFC_SANDBOX_HELPER=" + mode, "OPENFC_SANDBOX_OWNER=" + owner, "OPENFC_SANDBOX_DIR=" + t.TempDir()}, 20*time.Second)
			if line == "" || strings.Trim(line, "0123456789") != "" {
				t.Fatalf("helper printed %q, want the instance's pid", line)
			}
			child := atoi(t, line)
			if gone(child) {
				t.Fatalf("instance %d is not running", child)
			}
			kill()
			waitGone(t, child)
			if mode == NetNSOn {
				// The next server of the same owner removes the rules
				// the killed one left, and its own at Close.
				again, err := NewProcess(ProcessOptions{NetNS: NetNSOn, Network: network.Options{Owner: owner, StateDir: t.TempDir()}})
				if err != nil {
					t.Fatal(err)
				}
				again.Close(context.Background())
			}
		})
	}
}
