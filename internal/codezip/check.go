// Package codezip handles function code packages: zip archives uploaded as
// code.zipFile. It computes FC's code checksum, validates archives against
// path traversal, escaping symlinks and size limits, unpacks them safely,
// and zips a directory for deployment.
package codezip

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"io/fs"
	"math"
	"path"
	"strconv"
	"strings"

	"github.com/openfc/openfc/internal/fc"
)

// field is the request field every validation error names.
const field = "code.zipFile"

// Default limits, FC's code package quotas: a 100 MiB archive, 500 MiB
// unpacked, and a generous file count for node_modules-heavy packages.
const (
	DefaultMaxZipBytes      = 100 << 20
	DefaultMaxUnpackedBytes = 500 << 20
	DefaultMaxFiles         = 100_000
)

// maxLinkTarget bounds the length of a symlink target, PATH_MAX on Linux.
const maxLinkTarget = 4096

// Name limits: NAME_MAX for one path component, and a total well under
// PATH_MAX so that the unpack directory's own path fits in front of it.
const (
	maxNameComponent = 255
	maxNameLen       = 2048
)

// maxLinkHops bounds the symlinks followed while resolving one target,
// like the kernel's ELOOP limit.
const maxLinkHops = 40

// Checksum returns FC's codeChecksum of a code package: the CRC-64/ECMA
// (hash/crc64 ECMA table, as used by OSS) of the zip bytes, in decimal.
func Checksum(b []byte) string {
	return strconv.FormatUint(crc64.Checksum(b, crc64.MakeTable(crc64.ECMA)), 10)
}

// Limits bounds a code package. A zero or negative field takes its default.
type Limits struct {
	// MaxZipBytes bounds the size of the archive itself.
	MaxZipBytes int64
	// MaxUnpackedBytes bounds the total size of the unpacked files and
	// symlinks.
	MaxUnpackedBytes int64
	// MaxFiles bounds the number of archive entries (files, directories
	// and symlinks).
	MaxFiles int
	// Knobs say how each limit is raised; errors about a limit name its
	// knob, so that whoever hits it knows what to change.
	Knobs Knobs
}

// Knobs name the settings that raise the limits, as a user would type
// them (e.g. "openfc serve --max-code-size"). An empty name is left out of
// the errors.
type Knobs struct {
	ZipBytes, UnpackedBytes, Files string
}

// DefaultLimits returns the default limits.
func DefaultLimits() Limits {
	return Limits{MaxZipBytes: DefaultMaxZipBytes, MaxUnpackedBytes: DefaultMaxUnpackedBytes, MaxFiles: DefaultMaxFiles}
}

// WithDefaults returns l with every unset limit at its default: the
// limits Check and Unpack apply.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	if l.MaxZipBytes <= 0 {
		l.MaxZipBytes = d.MaxZipBytes
	}
	if l.MaxUnpackedBytes <= 0 {
		l.MaxUnpackedBytes = d.MaxUnpackedBytes
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = d.MaxFiles
	}
	return l
}

// Info describes a valid code package.
type Info struct {
	// Files counts regular files and symlinks (not directories).
	Files int
	// UnpackedBytes is the total size of the files and symlink targets.
	UnpackedBytes int64
	// HasBootstrap reports an executable regular file named "bootstrap" at
	// the root, or a root "bootstrap" symlink that resolves to one.
	HasBootstrap bool
}

// kind is the type of an archive entry.
type kind int

const (
	kindFile kind = iota + 1
	kindDir
	kindSymlink
)

// entry is one validated archive entry.
type entry struct {
	f      *zip.File
	name   string // cleaned, slash-separated, relative to the root
	kind   kind
	mode   fs.FileMode // permission bits of a file
	target string      // symlink target
}

// archive is a validated archive: its entries and what they add up to.
type archive struct {
	entries []entry
	info    Info
}

// invalid returns an InvalidArgument error about the code package.
func invalid(format string, args ...any) error {
	return fc.Errorf(fc.CodeInvalidArgument, field+": "+format, args...)
}

// Check validates a code package without writing anything: it must be a
// readable zip within lim whose entries all stay inside the code root
// (no absolute paths, no "..", no entry below a symlink or a file) and
// whose symlinks, followed through each other, resolve inside the root.
// Every file is decompressed to verify its size and CRC. Errors are
// *fc.Error InvalidArgument values naming code.zipFile and the entry.
func Check(zipBytes []byte, lim Limits) (Info, error) {
	lim = lim.WithDefaults()
	a, err := scan(zipBytes, lim)
	if err != nil {
		return Info{}, err
	}
	budget := lim.MaxUnpackedBytes
	for _, e := range a.entries {
		if e.kind != kindFile {
			continue
		}
		n, err := copyEntry(io.Discard, e, budget)
		if errors.Is(err, errOverBudget) {
			return Info{}, lim.unpackedTooLarge(0, e.f.Name)
		}
		if err != nil {
			return Info{}, err
		}
		budget -= n
	}
	return a.info, nil
}

// scan opens the archive and applies every structural rule. File contents
// are not read, except symlink targets.
func scan(zipBytes []byte, lim Limits) (*archive, error) {
	if int64(len(zipBytes)) > lim.MaxZipBytes {
		return nil, lim.ZipTooLarge(int64(len(zipBytes)), false)
	}
	zr, err := zip.NewReader(bytes.NewReader(zipBytes), int64(len(zipBytes)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, invalid("not a valid zip archive: %w", err)
	}
	if len(zr.File) > lim.MaxFiles {
		return nil, invalid("the archive has %d entries, over the limit of %d%s", len(zr.File), lim.MaxFiles, raise(lim.Knobs.Files))
	}
	if total := declaredSize(zr.File); total > uint64(lim.MaxUnpackedBytes) {
		return nil, lim.unpackedTooLarge(total, "")
	}
	a := &archive{entries: make([]entry, 0, len(zr.File))}
	kinds := make(map[string]kind, len(zr.File))
	links := map[string]string{}
	var total uint64
	for _, f := range zr.File {
		e, skip, err := classify(f)
		if err != nil {
			return nil, err
		}
		if skip {
			continue
		}
		if prev, dup := kinds[e.name]; dup {
			if prev == kindDir && e.kind == kindDir {
				continue
			}
			return nil, invalid("entry %q appears more than once", f.Name)
		}
		kinds[e.name] = e.kind
		if e.kind == kindDir {
			a.entries = append(a.entries, e)
			continue
		}
		total += f.UncompressedSize64 // no overflow: declaredSize bounded the sum
		if e.kind == kindSymlink {
			if e.target, err = readLink(f); err != nil {
				return nil, err
			}
			links[e.name] = e.target
		}
		a.info.Files++
		a.entries = append(a.entries, e)
	}
	a.info.UnpackedBytes = int64(total)
	for _, e := range a.entries {
		if err := checkParents(e, kinds); err != nil {
			return nil, err
		}
		if e.kind == kindSymlink {
			if _, err := resolve(links, e.name); err != nil {
				return nil, err
			}
		}
	}
	a.info.HasBootstrap = hasBootstrap(a.entries, links)
	return a, nil
}

// classify checks an entry's name and type. skip is true for the root
// directory entry ("./").
func classify(f *zip.File) (e entry, skip bool, err error) {
	name := strings.ReplaceAll(f.Name, `\`, "/")
	if name == "" || strings.IndexByte(name, 0) >= 0 {
		return entry{}, false, invalid("entry %q has an invalid name", f.Name)
	}
	if strings.HasPrefix(name, "/") {
		return entry{}, false, invalid("entry %q has an absolute path", f.Name)
	}
	clean := path.Clean(name)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return entry{}, false, invalid("entry %q escapes the code root", f.Name)
	}
	if len(clean) > maxNameLen {
		return entry{}, false, invalid("entry %q has a path longer than %d bytes", f.Name, maxNameLen)
	}
	for _, c := range strings.Split(clean, "/") {
		if len(c) > maxNameComponent {
			return entry{}, false, invalid("entry %q has a name component longer than %d bytes", f.Name, maxNameComponent)
		}
	}
	mode := f.Mode()
	e = entry{f: f, name: clean}
	switch {
	case mode.IsDir() || strings.HasSuffix(name, "/"):
		e.kind = kindDir
		return e, clean == ".", nil
	case clean == ".":
		return entry{}, false, invalid("entry %q has an invalid name", f.Name)
	case mode&fs.ModeSymlink != 0:
		e.kind = kindSymlink
	case mode.IsRegular():
		e.kind = kindFile
		e.mode = mode.Perm()
		if e.mode == 0 {
			e.mode = 0o644
		}
	default:
		return entry{}, false, invalid("entry %q has unsupported type %v", f.Name, mode.Type())
	}
	return e, false, nil
}

// readLink reads and checks a symlink entry's target.
func readLink(f *zip.File) (string, error) {
	if f.UncompressedSize64 > maxLinkTarget {
		return "", invalid("symlink %q has a target longer than %d bytes", f.Name, maxLinkTarget)
	}
	rc, err := f.Open()
	if err != nil {
		return "", invalid("symlink %q: %w", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxLinkTarget+1))
	if err != nil {
		return "", invalid("symlink %q: %w", f.Name, err)
	}
	target := string(b)
	switch {
	case target == "" || len(b) > maxLinkTarget || strings.IndexByte(target, 0) >= 0:
		return "", invalid("symlink %q has an invalid target", f.Name)
	case strings.HasPrefix(target, "/") || strings.Contains(target, `\`):
		return "", invalid("symlink %q points to %q, outside the code root", f.Name, target)
	}
	return target, nil
}

// checkParents rejects an entry placed below a file or a symlink: writing
// it would either fail or go through the link.
func checkParents(e entry, kinds map[string]kind) error {
	for p := path.Dir(e.name); p != "."; p = path.Dir(p) {
		switch kinds[p] {
		case kindFile:
			return invalid("entry %q is below the file %q", e.f.Name, p)
		case kindSymlink:
			return invalid("entry %q is below the symlink %q", e.f.Name, p)
		}
	}
	return nil
}

// resolve follows the symlink at name through the archive's other symlinks
// and returns where it ends, relative to the root. It fails when a step
// leaves the root or the chain loops. A target that does not exist is fine:
// it cannot lead anywhere.
func resolve(links map[string]string, name string) (string, error) {
	hops := 0
	var walk func(dir []string, target string) ([]string, error)
	walk = func(dir []string, target string) ([]string, error) {
		cur := append([]string(nil), dir...)
		for _, c := range strings.Split(target, "/") {
			switch c {
			case "", ".":
				continue
			case "..":
				if len(cur) == 0 {
					return nil, invalid("symlink %q points outside the code root", name)
				}
				cur = cur[:len(cur)-1]
				continue
			}
			cur = append(cur, c)
			t, ok := links[strings.Join(cur, "/")]
			if !ok {
				continue
			}
			if hops++; hops > maxLinkHops {
				return nil, invalid("symlink %q is part of a loop or a chain of more than %d links", name, maxLinkHops)
			}
			if strings.HasPrefix(t, "/") {
				return nil, invalid("symlink %q points outside the code root", name)
			}
			var err error
			if cur, err = walk(cur[:len(cur)-1], t); err != nil {
				return nil, err
			}
		}
		return cur, nil
	}
	var dir []string
	if d := path.Dir(name); d != "." {
		dir = strings.Split(d, "/")
	}
	end, err := walk(dir, links[name])
	if err != nil {
		return "", err
	}
	return strings.Join(end, "/"), nil
}

// hasBootstrap reports whether the root "bootstrap" is an executable file,
// directly or through symlinks.
func hasBootstrap(entries []entry, links map[string]string) bool {
	name := "bootstrap"
	if _, ok := links[name]; ok {
		end, err := resolve(links, name)
		if err != nil {
			return false
		}
		name = end
	}
	for _, e := range entries {
		if e.name == name && e.kind == kindFile {
			return e.mode&0o111 != 0
		}
	}
	return false
}

// copyEntry decompresses a file entry into w, failing when it holds more
// than budget bytes. Archive errors (corrupt data, bad CRC) are
// InvalidArgument; write errors are returned wrapped.
func copyEntry(w io.Writer, e entry, budget int64) (int64, error) {
	rc, err := e.f.Open()
	if err != nil {
		return 0, invalid("entry %q cannot be read: %w", e.f.Name, err)
	}
	defer rc.Close()
	limit := budget
	if limit < math.MaxInt64 {
		limit++ // read one byte more to detect an overflow
	}
	src := &errTagReader{r: io.LimitReader(rc, limit)}
	n, err := io.Copy(w, src)
	switch {
	case src.err != nil:
		return n, invalid("entry %q cannot be read: %w", e.f.Name, src.err)
	case err != nil:
		return n, fmt.Errorf("write %s: %w", e.name, err)
	case n > budget:
		return n, errOverBudget
	}
	return n, nil
}

// errOverBudget is copyEntry's report that an entry held more than the
// unpacked budget left: its header understated its size. Callers turn it
// into Limits.unpackedTooLarge.
var errOverBudget = errors.New("over the unpacked budget")

// ZipTooLarge returns the error for a code zip of size bytes, over
// MaxZipBytes: it gives the size in the units the user sent (the zip's
// bytes, not its base64), the limit and the knob that raises it.
// atLeast says size is only what was counted before giving up: the zip is
// larger still.
func (l Limits) ZipTooLarge(size int64, atLeast bool) error {
	l = l.WithDefaults()
	more := ""
	if atLeast {
		more = "more than "
	}
	return fc.Errorf(fc.CodeInvalidArgument, "%s is %s%d bytes, over the limit of %d bytes%s",
		field, more, size, l.MaxZipBytes, raise(l.Knobs.ZipBytes))
}

// unpackedTooLarge returns the error for files that unpack to more than
// MaxUnpackedBytes: total is what the archive declares; an entry, when
// named, is one that held more than its header declared.
func (l Limits) unpackedTooLarge(total uint64, entry string) error {
	if entry != "" {
		return invalid("the files unpack to more than the limit of %d bytes (entry %q holds more than its header declares)%s",
			l.MaxUnpackedBytes, entry, raise(l.Knobs.UnpackedBytes))
	}
	return invalid("the files unpack to %d bytes, over the limit of %d bytes%s", total, l.MaxUnpackedBytes, raise(l.Knobs.UnpackedBytes))
}

// raise is the part of a limit's error that names the knob raising it.
func raise(knob string) string {
	if knob == "" {
		return ""
	}
	return "; raise it with " + knob
}

// declaredSize adds up the sizes the headers of the entries other than
// directories declare (what scan counts), saturating at MaxUint64.
func declaredSize(files []*zip.File) uint64 {
	var total uint64
	for _, f := range files {
		if f.Mode().IsDir() || strings.HasSuffix(strings.ReplaceAll(f.Name, `\`, "/"), "/") {
			continue
		}
		if f.UncompressedSize64 > math.MaxUint64-total {
			return math.MaxUint64
		}
		total += f.UncompressedSize64
	}
	return total
}

// errTagReader records the error of its reader so that a copy can tell
// read errors from write errors.
type errTagReader struct {
	r   io.Reader
	err error
}

func (t *errTagReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		t.err = err
	}
	return n, err
}
