package java

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/fc"
)

func TestMatches(t *testing.T) {
	for rt, want := range map[string]bool{"java8": true, "java11": true, "java17": false, "python3": false, "": false} {
		if got := (Runtime{}).Matches(rt); got != want {
			t.Errorf("Matches(%q) = %v; want %v", rt, got, want)
		}
	}
}

func TestCheckMissingServletJar(t *testing.T) {
	if _, err := exec.LookPath("java"); err != nil {
		t.Skip("no JDK")
	}
	_, err := Runtime{ServletJar: filepath.Join(t.TempDir(), "none.jar")}.Check("java11")
	if err == nil || !strings.Contains(err.Error(), "libservlet-api-java") {
		t.Errorf("Check without the servlet API: %v; want an error naming libservlet-api-java", err)
	}
}

// Launch compiles the embedded bootstrap once, and the command runs it.
func TestLaunchCompiles(t *testing.T) {
	r := Runtime{}
	if _, err := r.Check("java8"); err != nil {
		t.Skipf("no Java toolchain here: %v", err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, Files); err != nil {
		t.Fatal(err)
	}
	fn := &fc.Function{Runtime: "java8", Handler: "example.App::handleRequest", MemorySize: 256}
	l, err := r.Launch(fn, t.TempDir(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "classes", "openfc", "bootstrap", "Main.class")); err != nil {
		t.Errorf("bootstrap not compiled: %v", err)
	}
	if l.Command[0] != "java" || l.Command[len(l.Command)-1] != "openfc.bootstrap.Main" || !strings.Contains(strings.Join(l.Command, " "), "-Xmx192m") {
		t.Errorf("command %q", l.Command)
	}
	if _, err := r.Launch(fn, t.TempDir(), dir); err != nil {
		t.Errorf("second launch: %v", err)
	}
}
