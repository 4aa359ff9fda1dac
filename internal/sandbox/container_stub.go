package sandbox

// This file is replaced by the runc part: minimal stand-ins for the
// container sandbox's agreed names, so that the instance manager and the
// daemon build against them. Delete it when the real container*.go files
// arrive.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/openfc/openfc/internal/sandbox/network"
)

// ErrNoRuntime means that no usable container runtime (runc) is on this
// node.
var ErrNoRuntime = errors.New("sandbox: no container runtime (runc)")

// ContainerOptions configure the container sandbox.
type ContainerOptions struct {
	Runc, StateDir, Owner string
	Network               *network.Manager
	Logger                *slog.Logger
}

// Container runs instances under runc.
type Container struct{}

// NewContainer fails: the stand-in has no runtime.
func NewContainer(ContainerOptions) (*Container, error) {
	return nil, fmt.Errorf("%w: this build has no container sandbox", ErrNoRuntime)
}

// Start fails: the stand-in has no runtime.
func (*Container) Start(context.Context, Spec) (Instance, error) { return nil, ErrNoRuntime }

// Close has nothing to release.
func (*Container) Close(context.Context) error { return nil }

// Network returns the process sandbox's instance networks (nil in the
// host network).
func (p *Process) Network() *network.Manager { return p.net }

// Choose routes a Spec with Root to container (nil: ErrNoRuntime) and
// any other to process.
func Choose(process, container Sandbox) Sandbox { return chooser{process, container} }

type chooser struct{ process, container Sandbox }

func (c chooser) Start(ctx context.Context, spec Spec) (Instance, error) {
	if spec.Root == nil {
		return c.process.Start(ctx, spec)
	}
	if c.container == nil {
		return nil, fmt.Errorf("sandbox: start instance %s: %w", spec.ID, ErrNoRuntime)
	}
	return c.container.Start(ctx, spec)
}
