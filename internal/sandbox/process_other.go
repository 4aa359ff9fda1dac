//go:build !linux

package sandbox

import (
	"context"
	"errors"
)

var errNotLinux = errors.New("sandbox: the process sandbox requires Linux")

// NewProcess fails: the process sandbox requires Linux.
func NewProcess(o ProcessOptions) (*Process, error) { return nil, errNotLinux }

// Start fails: the process sandbox requires Linux.
func (p *Process) Start(ctx context.Context, spec Spec) (Instance, error) { return nil, errNotLinux }

// Close does nothing: there is nothing to release off Linux.
func (p *Process) Close(ctx context.Context) error { return nil }
