package auth

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"

	"github.com/openfc/openfc/pkg/fcsign"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadOrCreateAdmin(t *testing.T) {
	t.Run("environment wins", func(t *testing.T) {
		dir := t.TempDir()
		c, err := LoadOrCreateAdmin(dir, envOf(map[string]string{EnvAccessKeyID: "id", EnvAccessKeySecret: "sec"}))
		if err != nil || c != (fcsign.Credentials{AccessKeyID: "id", AccessKeySecret: "sec"}) {
			t.Fatalf("got %v, %v", c, err)
		}
		if _, err := os.Stat(filepath.Join(dir, CredentialsFile)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("file written although env was set: %v", err)
		}
	})
	t.Run("half-set environment is an error", func(t *testing.T) {
		for _, env := range []map[string]string{{EnvAccessKeyID: "id"}, {EnvAccessKeySecret: "sec"}} {
			if _, err := LoadOrCreateAdmin(t.TempDir(), envOf(env)); err == nil {
				t.Errorf("env %v: no error", env)
			}
		}
	})
	t.Run("generates, persists with 0600, then reloads", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		c, err := LoadOrCreateAdmin(dir, envOf(nil))
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^LTAI[A-Za-z0-9]{20}$`).MatchString(c.AccessKeyID) ||
			!regexp.MustCompile(`^[A-Za-z0-9]{30}$`).MatchString(c.AccessKeySecret) {
			t.Errorf("bad key shape %q / %q", c.AccessKeyID, c.AccessKeySecret)
		}
		fi, err := os.Stat(filepath.Join(dir, CredentialsFile))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
		}
		again, err := LoadOrCreateAdmin(dir, envOf(nil))
		if err != nil || again != c {
			t.Errorf("reload = %v, %v; want %v", again, err, c)
		}
		loaded, err := LoadAdmin(dir, envOf(nil))
		if err != nil || loaded != c {
			t.Errorf("LoadAdmin = %v, %v; want %v", loaded, err, c)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Errorf("leftover temp files: %v", entries)
		}
	})
	t.Run("concurrent creators agree", func(t *testing.T) {
		dir := t.TempDir()
		const n = 8
		got := make([]fcsign.Credentials, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { got[i], errs[i] = LoadOrCreateAdmin(dir, envOf(nil)) })
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil || got[i] != got[0] {
				t.Fatalf("caller %d: %v, %v; caller 0: %v", i, got[i], errs[i], got[0])
			}
		}
	})
	t.Run("corrupt file is not overwritten", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, CredentialsFile)
		if err := os.WriteFile(path, []byte("{nope"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreateAdmin(dir, envOf(nil)); err == nil {
			t.Fatal("no error")
		}
		if b, _ := os.ReadFile(path); string(b) != "{nope" {
			t.Errorf("file overwritten: %q", b)
		}
	})
}

func TestLoadAdminNothing(t *testing.T) {
	_, err := LoadAdmin(t.TempDir(), envOf(nil))
	if !errors.Is(err, ErrNoAdmin) {
		t.Fatalf("err = %v, want ErrNoAdmin", err)
	}
}

func TestRandomAlnum(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s, err := randomAlnum(30)
		if err != nil || len(s) != 30 || seen[s] {
			t.Fatalf("%q %v", s, err)
		}
		seen[s] = true
	}
}
