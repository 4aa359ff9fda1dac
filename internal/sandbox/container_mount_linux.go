package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// mountEntry is one line of /proc/self/mountinfo.
type mountEntry struct {
	point     string // the mount point, unescaped
	fstype    string
	superOpts string
}

// readMountInfo parses /proc/self/mountinfo.
func readMountInfo() ([]mountEntry, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseMountInfo(f)
}

// parseMountInfo reads mountinfo lines: "36 35 98:0 /root /point opts
// [optional fields] - fstype source superopts".
func parseMountInfo(r io.Reader) ([]mountEntry, error) {
	var out []mountEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 3 {
			continue
		}
		out = append(out, mountEntry{point: unescapeMount(f[4]), fstype: g[0], superOpts: g[2]})
	}
	return out, sc.Err()
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountsUnder lists the mount points at or below dir, deepest (last
// mounted) first.
func mountsUnder(dir string) ([]string, error) {
	mounts, err := readMountInfo()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range mounts {
		if m.point == dir || strings.HasPrefix(m.point, dir+"/") {
			out = append(out, m.point)
		}
	}
	slices.Reverse(out)
	return out, nil
}

// unmountUnder unmounts everything at or below dir. A mount still busy
// is detached (MNT_DETACH): it goes when its last user does.
func unmountUnder(dir string) error {
	points, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range points {
		if err := unmount(p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// unmount unmounts target, detaching it when it is busy.
func unmount(target string) error {
	err := unix.Unmount(target, unix.UMOUNT_NOFOLLOW)
	if errors.Is(err, unix.EBUSY) {
		err = unix.Unmount(target, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
	}
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount %s: %w", target, err)
	}
	return nil
}

// prepareStateDir creates StateDir as a private mount of its own, so the
// instances' overlay mounts neither propagate to other mount namespaces
// (each copy would cost time and could pin them) nor receive theirs.
func (c *Container) prepareStateDir() error {
	dir := c.opts.StateDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind the state directory %s: %w", dir, err)
	}
	if err := unix.Mount("", dir, "", unix.MS_PRIVATE, ""); err != nil {
		unmount(dir)
		return fmt.Errorf("make the state directory %s private: %w", dir, err)
	}
	for _, d := range []string{c.runcRoot(), c.bundleDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			c.unmountStateDir()
			return fmt.Errorf("state directory: %w", err)
		}
	}
	return nil
}

// unmountStateDir undoes prepareStateDir's mount, and whatever is still
// mounted below it.
func (c *Container) unmountStateDir() error {
	if err := unmountUnder(c.opts.StateDir); err != nil {
		return fmt.Errorf("sandbox: containers: %w", err)
	}
	return nil
}

// mountOverlay mounts layers (lowest first) under upper at target.
// overlayfs lists lower directories top-most first.
func mountOverlay(layers []string, upper, work, target string) error {
	lower := make([]string, len(layers))
	for i, l := range layers {
		if strings.ContainsAny(l, ":,") {
			return fmt.Errorf("layer directory %q: overlayfs cannot take ':' or ',' in a path", l)
		}
		lower[len(layers)-1-i] = l
	}
	data := "lowerdir=" + strings.Join(lower, ":") + ",upperdir=" + upper + ",workdir=" + work
	if len(data) >= os.Getpagesize()-1 {
		return mountOverlayFD(lower, upper, work, target)
	}
	if err := unix.Mount("overlay", target, "overlay", unix.MS_NODEV, data); err != nil {
		return fmt.Errorf("mount overlay of %d layers at %s: %w", len(layers), target, err)
	}
	return nil
}

// mountOverlayFD mounts an overlay whose options exceed a page, the
// limit of mount(2): one lower directory at a time with fsconfig's
// "lowerdir+" (Linux 6.8).
func mountOverlayFD(lower []string, upper, work, target string) error {
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("overlay of %d layers: fsopen: %w", len(lower), err)
	}
	defer unix.Close(fsfd)
	for _, l := range lower {
		if err := unix.FsconfigSetString(fsfd, "lowerdir+", l); err != nil {
			return fmt.Errorf("overlay of %d layers: too many for this kernel (lowerdir+ needs Linux 6.8): %w", len(lower), err)
		}
	}
	if err := unix.FsconfigSetString(fsfd, "upperdir", upper); err != nil {
		return fmt.Errorf("overlay upperdir: %w", err)
	}
	if err := unix.FsconfigSetString(fsfd, "workdir", work); err != nil {
		return fmt.Errorf("overlay workdir: %w", err)
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return fmt.Errorf("overlay of %d layers: %w", len(lower), err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NODEV)
	if err != nil {
		return fmt.Errorf("overlay fsmount: %w", err)
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("overlay move_mount to %s: %w", target, err)
	}
	return nil
}

// rootOpener opens files of the root file system at dir by their path
// inside it, resolving symbolic links (absolute ones too) within dir.
func rootOpener(dir string) openInRoot {
	return func(name string) (io.ReadCloser, error) {
		rel := strings.TrimPrefix(filepath.Clean("/"+name), "/")
		root, err := os.Open(dir)
		if err != nil {
			return nil, err
		}
		defer root.Close()
		fd, err := unix.Openat2(int(root.Fd()), rel, &unix.OpenHow{
			Flags:   unix.O_RDONLY | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
		})
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: name, Err: err}
		}
		return os.NewFile(uintptr(fd), name), nil
	}
}
