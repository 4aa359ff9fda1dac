// Package runtimes runs FC's built-in runtimes: each language's launcher
// (a package under internal/runtimes/) starts its embedded bootstrap,
// which serves the instance HTTP contract of a custom runtime and calls
// the user's handler with FC's signature.
package runtimes

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/openfc/openfc/internal/runtimes/java"
	"github.com/openfc/openfc/internal/runtimes/launch"
	"github.com/openfc/openfc/internal/runtimes/nodejs"
	"github.com/openfc/openfc/internal/runtimes/php"
	"github.com/openfc/openfc/internal/runtimes/python"
)

// Launch and Runtime are the launcher's shape (package launch, which the
// language packages import).
type (
	Launch  = launch.Launch
	Runtime = launch.Runtime
)

// lang is one language: its launcher and its bootstrap files.
type lang struct {
	name  string
	rt    Runtime
	files fs.FS
}

// languages lists the built-in runtimes openfc runs: the one place a
// language is added.
func languages() []lang {
	return []lang{
		{"nodejs", nodejs.Runtime{}, nodejs.Files},
		{"python", python.Runtime{}, python.Files},
		{"php", php.Runtime{}, php.Files},
		{"java", java.Runtime{}, java.Files},
	}
}

// Registry finds the launcher of a runtime name.
type Registry struct {
	langs []lang
	dirs  []string // bootstrap directory of langs[i]
}

// New writes each language's bootstrap files under dir/<lang>/ (replacing
// what an older openfc left there) and returns the registry.
func New(dir string, log *slog.Logger) (*Registry, error) {
	r := &Registry{langs: languages()}
	for i, l := range r.langs {
		r.langs[i].rt = newChecked(l.rt, time.Now)
		d := filepath.Join(dir, l.name)
		if err := os.RemoveAll(d); err != nil {
			return nil, fmt.Errorf("runtimes: clearing %s: %w", d, err)
		}
		if err := os.CopyFS(d, l.files); err != nil {
			return nil, fmt.Errorf("runtimes: writing the %s bootstrap: %w", l.name, err)
		}
		r.dirs = append(r.dirs, d)
	}
	log.Debug("built-in runtimes ready", "dir", dir, "languages", len(r.langs))
	return r, nil
}

// For returns the launcher of FC runtime rt and its bootstrap directory;
// false when no language here runs rt.
func (r *Registry) For(rt string) (Runtime, string, bool) {
	for i, l := range r.langs {
		if l.rt.Matches(rt) {
			return l.rt, r.dirs[i], true
		}
	}
	return nil, "", false
}
