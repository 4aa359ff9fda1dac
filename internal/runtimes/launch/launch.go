// Package launch holds what the runtime registry and the language
// packages share: a language package imports it (and fc) only, so that
// the registry in package runtimes can import every language without a
// cycle.
package launch

import (
	"os"

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
