// Package php is openfc's launcher for FC's built-in PHP runtime (php7.2):
// it runs the user's handler file under bootstrap.php, an HTTP server
// embedded here that speaks the same instance contract as a custom
// runtime, with a worker process per concurrent request.
package php

import (
	"embed"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/runtimes/launch"
)

// Files holds the bootstrap, written out once by the runtime registry:
// bootstrap.php (the server and its workers) and runtime.php (FC's
// handler signatures), which it requires from its own directory.
//
//go:embed bootstrap.php runtime.php
var Files embed.FS

// InterpreterEnv is the server's environment variable naming the php
// binary that runs every PHP function.
const InterpreterEnv = "OPENFC_PHP"

// defaultInterpreter runs PHP functions when InterpreterEnv is unset:
// Debian's php (php-cli), looked up in PATH.
const defaultInterpreter = "php"

// packages are the Debian packages the bootstrap needs: the interpreter
// with pcntl and posix (php-cli has both) and Guzzle's PSR-7 messages.
const packages = "php-cli php-guzzlehttp-psr7"

// minVersion is the oldest PHP the bootstrap runs on.
var minVersion = launch.Version{7, 2}

// Runtime is the launcher of FC's phpX.Y runtimes. Its zero value reads
// the interpreter from $OPENFC_PHP, else uses php.
type Runtime struct {
	// Interpreter overrides $OPENFC_PHP (tests).
	Interpreter string
}

func (r Runtime) interpreter() string {
	return launch.Setting(r.Interpreter, InterpreterEnv, defaultInterpreter)
}

// Matches reports whether rt is a PHP runtime: phpX.Y (FC has php7.2).
func (Runtime) Matches(rt string) bool {
	_, ok := requested(rt)
	return ok
}

// requested is X, Y of "phpX.Y".
func requested(rt string) (launch.Version, bool) {
	rest, ok := strings.CutPrefix(rt, "php")
	if !ok {
		return launch.Version{}, false
	}
	return launch.ParseVersion(rest)
}

// probe checks the bootstrap's needs and prints the PHP version.
const probe = `require_once 'GuzzleHttp/Psr7/autoload.php';
if (!class_exists('GuzzleHttp\Psr7\ServerRequest')) { fwrite(STDERR, "GuzzleHttp\\Psr7 is missing\n"); exit(3); }
echo PHP_VERSION;`

// Check reports why functions of runtime rt cannot run on this node (no
// php, no Guzzle PSR-7, a PHP older than the bootstrap needs), and a
// warning when php is older than rt asks for.
func (r Runtime) Check(rt string) (warning string, err error) {
	want, ok := requested(rt)
	if !ok {
		return "", fmt.Errorf("runtime %q is not a PHP runtime", rt)
	}
	php := r.interpreter()
	have, full, err := version(php)
	if err != nil {
		return "", fmt.Errorf("runtime %s needs PHP with Guzzle's PSR-7 on this node, and %s is not usable (%w): install Debian's packages (apt-get install %s), or set %s to a php binary", rt, php, err, packages, InterpreterEnv)
	}
	if have.Older(minVersion) {
		return "", fmt.Errorf("runtime %s needs PHP %d.%d or later, and %s is PHP %s: install Debian's packages (apt-get install %s), or set %s", rt, minVersion[0], minVersion[1], php, full, packages, InterpreterEnv)
	}
	if have.Older(want) {
		return fmt.Sprintf("openfc: runtime %s asks for PHP %d.%d; this node runs it on PHP %s (%s)", rt, want[0], want[1], full, php), nil
	}
	return "", nil
}

// version runs php to learn its version (and that Guzzle's PSR-7 loads).
func version(php string) (launch.Version, string, error) {
	path, full, _, err := launch.Probe(php, "-r", probe)
	if err != nil {
		return launch.Version{}, "", err
	}
	v, ok := launch.ParseVersion(full)
	if !ok {
		return launch.Version{}, full, errors.New(path + " printed version " + strconv.Quote(full))
	}
	return v, full, nil
}

// Launch says how to start an instance of fn: php running
// bootstrapDir/bootstrap.php, which finds the handler file in the code
// directory (FC_FUNC_CODE_PATH, set by the instance manager).
func (r Runtime) Launch(fn *fc.Function, codeDir, bootstrapDir string) (launch.Launch, error) {
	if err := checkHandler("handler", fn.Handler); err != nil {
		return launch.Launch{}, err
	}
	if fn.Initializer != "" {
		if err := checkHandler("initializer", fn.Initializer); err != nil {
			return launch.Launch{}, err
		}
	}
	env := []string{"FC_RUNTIME=" + fn.Runtime}
	argv := []string{r.interpreter(),
		// Errors go to the function's log; the bootstrap answers them.
		"-d", "display_errors=stderr", "-d", "html_errors=0", "-d", "log_errors=0",
		filepath.Join(bootstrapDir, "bootstrap.php")}
	return launch.Launch{Command: argv, Env: env}, nil
}

// checkHandler checks FC's "file.function" form of a PHP handler
// ("index.handler": function handler of index.php).
func checkHandler(what, h string) error {
	i := strings.LastIndex(h, ".")
	if i <= 0 || i == len(h)-1 || strings.ContainsAny(h, "\\ ") {
		return fc.Errorf(fc.CodeInvalidArgument, "%s %q of a PHP function must be file.function, e.g. index.handler for function handler in index.php", what, h)
	}
	return nil
}
