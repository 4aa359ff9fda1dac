// Package launch holds what the runtime registry and the language
// packages share: a language package imports it (and fc) only, so that
// the registry in package runtimes can import every language without a
// cycle.
package launch

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/openfc/openfc/internal/fc"
)

// Launch is how to start one instance of a function on a built-in runtime.
type Launch struct {
	Command []string // argv; Command[0] an absolute path or a name looked up in PATH
	Env     []string // KEY=value added to the instance's environment (after the function's, before FC's)
}

// Runtime is one language's launcher.
type Runtime interface {
	// Matches reports whether this launcher runs FC runtime name rt
	// ("nodejs18", "python3.10").
	Matches(rt string) bool
	// Check reports why functions of runtime rt cannot run on this
	// machine (interpreter missing: the error names the Debian package),
	// and a warning ("" when none) when the interpreter is older than rt
	// asks.
	Check(rt string) (warning string, err error)
	// Launch says how to start an instance of fn whose code is unpacked
	// at codeDir; bootstrapDir holds this runtime's embedded bootstrap
	// files, written out once by the registry.
	Launch(fn *fc.Function, codeDir, bootstrapDir string) (Launch, error)
}

// Setting is how a launcher finds a program or file it runs with: the
// launcher's own override (tests), else the server's environment
// variable env (the operator's choice), else def.
func Setting(override, env, def string) string {
	if override != "" {
		return override
	}
	if v := os.Getenv(env); v != "" {
		return v
	}
	return def
}

// probeTimeout bounds a launcher's run of its interpreter.
const probeTimeout = 20 * time.Second

// Probe looks program up in PATH and runs it with args, as a launcher
// does to learn an interpreter's version, within probeTimeout: its path
// and what it wrote to stdout and stderr, trimmed. A program not found
// wraps exec.ErrNotFound; a failed run's error carries its stderr.
func Probe(program string, args ...string) (path, stdout, stderr string, err error) {
	path, err = exec.LookPath(program)
	if err != nil {
		return "", "", "", fmt.Errorf("looking up %s: %w", program, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	var out, errb strings.Builder
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	stdout, stderr = strings.TrimSpace(out.String()), strings.TrimSpace(errb.String())
	if err != nil {
		return path, stdout, stderr, fmt.Errorf("running %s: %w: %s", path, err, stderr)
	}
	return path, stdout, stderr, nil
}
