package instance

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/runtimes/launch"
	"github.com/openfc/openfc/internal/sandbox"
)

// This file starts instances of built-in runtimes (nodejs18, python3.10):
// the runtime's launcher (internal/runtimes) says how to start its
// bootstrap, which serves the same instance HTTP contract as a custom
// runtime.

// Runtimes finds the launcher of a built-in runtime (runtimes.Registry).
type Runtimes interface {
	// For returns the launcher of FC runtime rt and the directory of its
	// bootstrap files; false when none runs rt.
	For(rt string) (launch.Runtime, string, bool)
}

// builtinLaunch returns argv and the bootstrap's environment (KEY=value)
// of instance in of fn, whose code is at codePath, and the warning of an
// interpreter older than fn's runtime asks. It gives in its token. In a
// container (root not nil) the bootstrap's directory, which lives in the
// data directory the container hides, is bound back read-only.
func (m *Manager) builtinLaunch(fn *fc.Function, codePath string, in *inst, root *sandbox.RootFS) (argv, env []string, warning string, err error) {
	notStarted := func(err error) error {
		return fc.Errorf(fc.CodeFunctionNotStarted, "The function cannot be started: runtime %s: %w", fn.Runtime, err)
	}
	if m.opts.Runtimes == nil {
		return nil, nil, "", notStarted(fmt.Errorf("this node has no built-in runtimes"))
	}
	rt, bootstrapDir, ok := m.opts.Runtimes.For(fn.Runtime)
	if !ok {
		return nil, nil, "", notStarted(fmt.Errorf("not available on this node"))
	}
	if warning, err = rt.Check(fn.Runtime); err != nil {
		return nil, nil, "", notStarted(err)
	}
	l, err := rt.Launch(fn, codePath, bootstrapDir)
	if err != nil {
		return nil, nil, "", notStarted(err)
	}
	if root != nil {
		root.Binds = append(root.Binds, bootstrapDir)
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, nil, "", notStarted(fmt.Errorf("runtime token: %w", err))
	}
	in.token = hex.EncodeToString(b[:])
	style := fn.HandlerStyle
	if style == "" {
		style = fc.HandlerStyleHTTP
	}
	preStop := ""
	if h := fn.PreStop(); h != nil {
		preStop = h.Handler
	}
	env = append(l.Env,
		"FC_FUNCTION_INITIALIZER="+fn.Initializer,
		"FC_PRE_STOP_HANDLER="+preStop,
		"FC_INSTANCE_CONCURRENCY="+strconv.Itoa(fn.InstanceConcurrency),
		"OPENFC_HANDLER_STYLE="+style,
		"OPENFC_RUNTIME_TOKEN="+in.token,
	)
	return l.Command, env, warning, nil
}
