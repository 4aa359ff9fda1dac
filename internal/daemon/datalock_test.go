package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// flock locks belong to an open file description, so a second open of the
// lock file in this process is refused just as another process would be.
func TestDataLockRefusesSecondHolderNamingDirAndPID(t *testing.T) {
	dir := t.TempDir()
	l, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = lockDataDir(dir)
	var inUse *DataDirInUseError
	if !errors.As(err, &inUse) {
		t.Fatalf("second lock: %v, want *DataDirInUseError", err)
	}
	if inUse.PID != os.Getpid() {
		t.Errorf("holder pid = %d, want %d", inUse.PID, os.Getpid())
	}
	for _, want := range []string{dir, "pid " + strconv.Itoa(os.Getpid()), "one server per data dir"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}

	l.release()
	l2, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	l2.release()
	l2.release() // the daemon may release on a failed Start and again later
}

// A killed server leaves its pid in the file but no lock: the next server
// takes the lock and writes its own pid.
func TestDataLockIgnoresStalePID(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, lockFileName)
	if err := os.WriteFile(path, []byte("2147480000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("stale lock file blocked the lock: %v", err)
	}
	defer l.release()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), strconv.Itoa(os.Getpid())+"\n"; got != want {
		t.Fatalf("lock file holds %q, want %q", got, want)
	}
}

// A second server that finds the lock held but the file still naming a
// dead process (the holder has not written its pid yet) does not name the
// dead one.
func TestDataLockHolderPIDMustBeAlive(t *testing.T) {
	dir := t.TempDir()
	l, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.release()
	if err := os.WriteFile(filepath.Join(dir, lockFileName), []byte("2147480000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = lockDataDir(dir)
	var inUse *DataDirInUseError
	if !errors.As(err, &inUse) {
		t.Fatalf("second lock: %v, want *DataDirInUseError", err)
	}
	if inUse.PID != 0 || !strings.Contains(err.Error(), "pid unknown") {
		t.Fatalf("named a dead holder: %v", err)
	}
	if d := time.Since(start); d < holderWait || d > holderWait+2*time.Second {
		t.Errorf("waited %v for the holder's pid, want about %v", d, holderWait)
	}
}
