// Package nodejs runs FC's Node.js runtimes (nodejs12 … nodejs20) on the
// machine's node: bootstrap.js serves the instance HTTP contract and calls
// the function's handler with FC's signature.
package nodejs

import (
	"embed"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/runtimes/launch"
)

// Files holds the bootstrap, written out by the registry.
//
//go:embed bootstrap.js runtime.js
var Files embed.FS

// Runtime is the Node.js launcher. Node is the node in PATH unless set
// (tests).
type Runtime struct {
	Node string
}

// versions are the FC Node.js runtimes openfc runs.
var versions = map[string]int{"nodejs12": 12, "nodejs14": 14, "nodejs16": 16, "nodejs18": 18, "nodejs20": 20}

// Matches reports whether rt is one of FC's Node.js runtimes openfc runs.
func (Runtime) Matches(rt string) bool { _, ok := versions[rt]; return ok }

func (r Runtime) node() string {
	if r.Node != "" {
		return r.Node
	}
	return "node"
}

// Check finds node and compares its major version with rt's: an older one
// runs with a warning (most handlers do not mind), a missing one cannot.
func (r Runtime) Check(rt string) (string, error) {
	want, ok := versions[rt]
	if !ok {
		return "", fmt.Errorf("runtime %q is not a Node.js runtime openfc runs", rt)
	}
	path, v, _, err := launch.Probe(r.node(), "--version")
	if errors.Is(err, exec.ErrNotFound) {
		return "", fmt.Errorf("runtime %s needs Node.js, which is not installed on this node (apt-get install nodejs): %w", rt, err)
	}
	if err != nil {
		return "", fmt.Errorf("runtime %s: %w", rt, err)
	}
	major, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(v, "v"), ".", 2)[0])
	if err != nil {
		return "", fmt.Errorf("runtime %s: %s --version printed %q: %w", rt, path, v, err)
	}
	if major < want {
		return fmt.Sprintf("openfc: warning: runtime %s asks for Node.js %d; this node runs Node.js %s (%s)", rt, want, v, path), nil
	}
	return "", nil
}

// Launch runs bootstrap.js on node, in the code directory.
func (r Runtime) Launch(fn *fc.Function, codeDir, bootstrapDir string) (launch.Launch, error) {
	return launch.Launch{
		Command: []string{r.node(), filepath.Join(bootstrapDir, "bootstrap.js")},
		Env:     []string{"NODE_PATH=" + filepath.Join(codeDir, "node_modules")},
	}, nil
}
