package php

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/fc"
)

func decode64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMatches(t *testing.T) {
	for rt, want := range map[string]bool{"php7.2": true, "php8.2": true, "php": false, "php7": false, "python3.10": false, "php7.x": false} {
		if got := (Runtime{}).Matches(rt); got != want {
			t.Errorf("Matches(%q) = %v", rt, got)
		}
	}
}

// fakePHP is a php that prints version v.
func fakePHP(t *testing.T, v string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "php")
	if err := os.WriteFile(p, []byte("#!/bin/sh\nprintf '"+v+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheck(t *testing.T) {
	if w, err := (Runtime{Interpreter: fakePHP(t, "8.2.36")}).Check("php7.2"); w != "" || err != nil {
		t.Errorf("8.2 for php7.2: %q %v", w, err)
	}
	if w, err := (Runtime{Interpreter: fakePHP(t, "7.4.1")}).Check("php8.1"); err != nil || !strings.Contains(w, "PHP 7.4.1") {
		t.Errorf("7.4 for php8.1: %q %v", w, err)
	}
	if _, err := (Runtime{Interpreter: fakePHP(t, "7.1.0")}).Check("php7.2"); err == nil || !strings.Contains(err.Error(), "php-cli") {
		t.Errorf("7.1: %v", err)
	}
	if _, err := (Runtime{Interpreter: filepath.Join(t.TempDir(), "none")}).Check("php7.2"); err == nil || !strings.Contains(err.Error(), "apt-get install php-cli php-guzzlehttp-psr7") {
		t.Errorf("missing: %v", err)
	}
}

func TestLaunch(t *testing.T) {
	fn := &fc.Function{Runtime: "php7.2", Handler: "index.handler", Initializer: "index.init"}
	l, err := (Runtime{Interpreter: "/usr/bin/php"}).Launch(fn, "/code", "/boot")
	if err != nil || l.Command[0] != "/usr/bin/php" || l.Command[len(l.Command)-1] != "/boot/bootstrap.php" {
		t.Fatalf("%v %v", l, err)
	}
	fn.Handler = "index"
	if _, err := (Runtime{}).Launch(fn, "/code", "/boot"); err == nil {
		t.Errorf("handler without a function accepted")
	}
}

func TestFilesHoldBootstrap(t *testing.T) {
	for _, f := range []string{"bootstrap.php", "runtime.php"} {
		if _, err := Files.Open(f); err != nil {
			t.Error(err)
		}
	}
}
