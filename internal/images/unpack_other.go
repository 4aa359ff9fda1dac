//go:build !linux

package images

import (
	"errors"
	"time"
)

// Layers are unpacked for overlayfs, which only Linux has.

const noFollow = 0

var errNotLinux = errors.New("unpacking image layers needs Linux (overlayfs)")

func mkWhiteout(string) error                    { return errNotLinux }
func setOpaque(string) error                     { return errNotLinux }
func setXattr(string, string, string)            {}
func mkfifo(string) error                        { return errNotLinux }
func lutimes(string, time.Time, time.Time) error { return errNotLinux }
