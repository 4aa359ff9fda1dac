// Package python is openfc's launcher for FC's built-in Python runtimes
// (python3, python3.9, python3.10, …): it runs the user's handler file
// under bootstrap.py, an HTTP server embedded here that speaks the same
// instance contract as a custom runtime.
package python

import (
	"embed"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/runtimes/launch"
)

// Files holds the bootstrap, written out once by the runtime registry:
// bootstrap.py and the module it imports from its own directory
// (_openfc_event.py, FC 3.0's event). Launch runs bootstrap.py there.
//
//go:embed bootstrap.py _openfc_event.py
var Files embed.FS

// InterpreterEnv is the server's environment variable naming the Python
// interpreter that runs every Python function: the one that has the
// packages the functions import (a virtualenv's bin/python, say).
const InterpreterEnv = "OPENFC_PYTHON"

// defaultInterpreter runs Python functions when InterpreterEnv is unset:
// Debian's python3, looked up in PATH.
const defaultInterpreter = "python3"

// minMinor is the oldest Python 3 the bootstrap runs on.
const minMinor = 9

// Runtime is the launcher of FC's python3.x runtimes. Its zero value
// reads the interpreter from $OPENFC_PYTHON, else uses python3: one
// interpreter per node, chosen by the operator, so that a deploy-time
// Check tells the truth about every function.
type Runtime struct {
	// Interpreter overrides $OPENFC_PYTHON (tests).
	Interpreter string
}

// interpreter is the Python that runs functions.
func (r Runtime) interpreter() string {
	return launch.Setting(r.Interpreter, InterpreterEnv, defaultInterpreter)
}

// Matches reports whether rt is one of FC's Python 3 runtimes: python3
// or python3.N.
func (Runtime) Matches(rt string) bool {
	_, ok := requestedMinor(rt)
	return ok
}

// requestedMinor is N of "python3.N" (0 for plain "python3", which asks
// for no particular version).
func requestedMinor(rt string) (int, bool) {
	rest, ok := strings.CutPrefix(rt, "python3")
	if !ok {
		return 0, false
	}
	if rest == "" {
		return 0, true
	}
	digits, ok := strings.CutPrefix(rest, ".")
	if !ok || digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil
}

// Check reports why functions of runtime rt cannot run on this node
// (no interpreter, or one older than the bootstrap needs), and a warning
// when the interpreter is older than rt asks for: such functions run,
// and the warning goes to their log.
func (r Runtime) Check(rt string) (warning string, err error) {
	want, ok := requestedMinor(rt)
	if !ok {
		return "", fmt.Errorf("runtime %q is not a Python 3 runtime", rt)
	}
	py := r.interpreter()
	major, minor, full, err := version(py)
	if err != nil {
		if py == defaultInterpreter {
			return "", fmt.Errorf("runtime %s needs Python 3 on this node, and %s is not usable (%w): install Debian's python3 package (apt-get install python3), or set %s to an interpreter", rt, py, err, InterpreterEnv)
		}
		return "", fmt.Errorf("runtime %s: %s=%s is not usable: %w", rt, InterpreterEnv, py, err)
	}
	if major != 3 || minor < minMinor {
		return "", fmt.Errorf("runtime %s needs Python 3.%d or later, and %s is Python %s: install Debian's python3 package (apt-get install python3), or set %s", rt, minMinor, py, full, InterpreterEnv)
	}
	if minor < want {
		return fmt.Sprintf("openfc: runtime %s asks for Python 3.%d; this node runs it on Python %s (%s)", rt, want, full, py), nil
	}
	return "", nil
}

// version runs py to learn its version.
func version(py string) (major, minor int, full string, err error) {
	path, full, _, err := launch.Probe(py, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])")
	if err != nil {
		return 0, 0, "", err
	}
	v, ok := launch.ParseVersion(full)
	if !ok {
		return 0, 0, full, fmt.Errorf("%s printed version %q", path, full)
	}
	return v[0], v[1], full, nil
}

// Launch says how to start an instance of fn: the interpreter running
// bootstrapDir/bootstrap.py, which finds the handler file in the code
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
	env := []string{
		// Code directories are shared by instances (and read-only in
		// containers): no __pycache__ written into them.
		"PYTHONDONTWRITEBYTECODE=1",
		"PYTHONUNBUFFERED=1",
		"FC_RUNTIME=" + fn.Runtime,
	}
	return launch.Launch{Command: []string{r.interpreter(), filepath.Join(bootstrapDir, "bootstrap.py")}, Env: env}, nil
}

// checkHandler checks FC's "file.function" form of a Python handler
// ("index.handler": function handler of index.py; "src/app.handler" or
// "src.app.handler": of src/app.py).
func checkHandler(what, h string) error {
	file, fn, ok := strings.Cut(h, ".")
	if !ok || file == "" || fn == "" || strings.ContainsAny(h, "\\ ") {
		return fc.Errorf(fc.CodeInvalidArgument, "%s %q of a Python function must be file.function, e.g. index.handler for function handler in index.py", what, h)
	}
	return nil
}
