package images

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// noFollow makes OpenFile refuse a symbolic link at the path.
const noFollow = unix.O_NOFOLLOW

// mkWhiteout writes an overlayfs whiteout: a 0/0 character device.
func mkWhiteout(p string) error {
	if err := unix.Mknod(p, unix.S_IFCHR|0o000, int(unix.Mkdev(0, 0))); err != nil {
		return &os.PathError{Op: "mknod whiteout", Path: p, Err: err}
	}
	return nil
}

// setOpaque marks a directory opaque for overlayfs.
func setOpaque(dir string) error {
	if err := unix.Lsetxattr(dir, "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		return fmt.Errorf("marking %s opaque (trusted.overlay.opaque needs root and a file system with trusted xattrs): %w", dir, err)
	}
	return nil
}

// setXattr sets an extended attribute when the file system takes it:
// one it refuses (ENOTSUP, EPERM) is an extra the image can do without.
func setXattr(p, attr, value string) { _ = unix.Lsetxattr(p, attr, []byte(value), 0) }

// mkfifo makes a named pipe.
func mkfifo(p string) error {
	if err := unix.Mkfifo(p, 0o600); err != nil {
		return &os.PathError{Op: "mkfifo", Path: p, Err: err}
	}
	return nil
}

// lutimes sets times without following a symbolic link.
func lutimes(p string, atime, mtime time.Time) error {
	ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "utimes", Path: p, Err: err}
	}
	return nil
}
