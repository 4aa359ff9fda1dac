package daemon

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/openfc/openfc/internal/config"
	"github.com/openfc/openfc/internal/sandbox"
)

// newContainers builds the container sandbox (runc) next to the process
// sandbox, sharing its instance networks, and the sandbox that routes
// between them (d.run). Without a usable runc, one startup line says so
// and instances run as processes: custom-container functions then fail
// to start, saying that runc is missing.
func (d *Daemon) newContainers(owner string) error {
	o := d.opts
	c, err := sandbox.NewContainer(sandbox.ContainerOptions{
		StateDir: filepath.Join(o.DataDir, "run", "containers"),
		Owner:    owner, // the network's: a restart finds what a killed run left by it
		Network:  d.sb.Network(),
		// The data dir holds the admin key and every function's code: a
		// container with the host's root sees it empty.
		Hide:   []string{o.DataDir},
		Logger: d.log.With("component", "container"),
	})
	switch {
	case err == nil:
		d.containers = c
		d.run = sandbox.Choose(d.sb, c)
		return nil
	case !errors.Is(err, sandbox.ErrNoRuntime) && o.Isolation == config.IsolationContainer:
		return fmt.Errorf("container sandbox: %w", err)
	case o.Isolation == config.IsolationContainer:
		d.log.Warn("--isolation container: runc is not usable here, so instances run as processes and custom-container functions cannot start (apt-get install runc)", "err", err)
	default:
		d.log.Info("runc is not usable here: custom-container functions cannot start (apt-get install runc)", "err", err)
	}
	d.run = sandbox.Choose(d.sb, nil) // not a nil *Container: Choose tells nil apart
	return nil
}

// isolation is how custom-runtime instances run: "container" when asked
// for and runc is usable, else "process".
func (d *Daemon) isolation() string {
	if d.opts.Isolation == config.IsolationContainer && d.containers != nil {
		return config.IsolationContainer
	}
	return config.IsolationProcess
}
