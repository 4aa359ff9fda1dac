package images

import (
	"archive/tar"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// This file holds the rules a layer's tar entries must follow, written
// once: the import (and pull) checks every layer with them before it is
// stored, and the unpacker applies them again to what it reads from the
// store.

// Whiteout names of the OCI layer format.
const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// entryKind is what an entry asks of the unpacker.
type entryKind int

const (
	// kindNormal: create the entry (file, directory, link, fifo).
	kindNormal entryKind = iota
	// kindSkip: nothing to create (devices, other whiteout metadata,
	// global headers).
	kindSkip
	// kindWhiteout: hide Name of the lower layers (overlayfs: a 0/0
	// character device named Name).
	kindWhiteout
	// kindOpaque: hide everything the lower layers have in directory Name
	// (overlayfs: trusted.overlay.opaque=y on it).
	kindOpaque
)

// entry is a checked tar entry: Name is clean, relative to the layer's
// root ("." is the root itself), and never escapes it.
type entry struct {
	kind entryKind
	name string
	// link is a hard link's target, clean and relative to the root.
	link string
}

// checkEntry applies the rules to one header: no absolute path, no ".."
// that leaves the layer, no hard link to a path outside it, no symbolic
// link whose relative target climbs above the root. Absolute symbolic
// link targets are fine: the container resolves them inside its root, and
// the unpacker never follows a link it wrote. The error names the entry.
func checkEntry(h *tar.Header) (entry, error) {
	bad := func(why string) (entry, error) {
		return entry{}, invalidf("layer entry %q: %s", h.Name, why)
	}
	name, err := cleanName(h.Name)
	if err != nil {
		return bad(err.Error())
	}
	base := path.Base(name)
	switch {
	case h.Typeflag == tar.TypeXGlobalHeader:
		return entry{kind: kindSkip}, nil
	case base == whiteoutOpaque:
		return entry{kind: kindOpaque, name: path.Dir(name)}, nil
	case strings.HasPrefix(base, whiteoutMeta):
		return entry{kind: kindSkip}, nil // aufs metadata (.wh..wh.plnk …)
	case strings.HasPrefix(base, whiteoutPrefix):
		hidden := strings.TrimPrefix(base, whiteoutPrefix)
		if hidden == "" || hidden == "." || hidden == ".." {
			return bad("a whiteout of nothing")
		}
		return entry{kind: kindWhiteout, name: path.Join(path.Dir(name), hidden)}, nil
	}
	e := entry{kind: kindNormal, name: name}
	switch h.Typeflag {
	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse, tar.TypeFifo:
	case tar.TypeDir:
		return e, nil
	case tar.TypeChar, tar.TypeBlock:
		e.kind = kindSkip // the container gets its /dev from runc
		return e, nil
	case tar.TypeSymlink:
		if h.Linkname == "" {
			return bad("a symbolic link to nothing")
		}
		if !path.IsAbs(h.Linkname) && escapes(path.Join(path.Dir(name), h.Linkname)) {
			return bad(fmt.Sprintf("a symbolic link to %q, outside the layer", h.Linkname))
		}
	case tar.TypeLink:
		if path.IsAbs(h.Linkname) {
			return bad(fmt.Sprintf("a hard link to %q, an absolute path", h.Linkname))
		}
		link, err := cleanName(h.Linkname)
		if err != nil || link == "." {
			return bad(fmt.Sprintf("a hard link to %q, outside the layer", h.Linkname))
		}
		e.link = link
	default:
		return bad(fmt.Sprintf("unsupported tar entry type %q", h.Typeflag))
	}
	if name == "." {
		return bad("the layer's root must be a directory")
	}
	return e, nil
}

// cleanName cleans a tar entry name relative to the layer's root.
func cleanName(n string) (string, error) {
	if n == "" {
		return "", errors.New("an empty name")
	}
	if path.IsAbs(n) {
		return "", errors.New("an absolute path")
	}
	c := path.Clean(n)
	if escapes(c) {
		return "", errors.New("a path outside the layer")
	}
	return c, nil
}

// escapes reports whether a clean relative path leaves its root.
func escapes(clean string) bool {
	return clean == ".." || strings.HasPrefix(clean, "../") || path.IsAbs(clean)
}

// scanLayer reads an uncompressed layer to its end and checks every entry
// as the unpacker will meet it: checkEntry, no path through a symbolic
// link or a file the layer made, hard links only to a file the layer made
// before. It returns the layer's diff ID (the digest of the uncompressed
// tar).
func scanLayer(r io.Reader) (string, error) {
	d := newDigester()
	r = io.TeeReader(r, d)
	tr := tar.NewReader(r)
	made := map[string]byte{} // entry name → type of the last entry there
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", invalidf("reading the layer's tar: %v", err)
		}
		e, err := checkEntry(hdr)
		if err != nil {
			return "", err
		}
		if e.kind == kindSkip {
			continue
		}
		if err := throughNonDir(made, e.name, e.kind == kindOpaque); err != nil {
			return "", invalidf("layer entry %q: %v", hdr.Name, err)
		}
		if e.kind != kindNormal {
			continue
		}
		if t, ok := made[e.link]; e.link != "" && (!ok || t == tar.TypeDir) {
			return "", invalidf("layer entry %q: a hard link to %q, which the layer does not hold", hdr.Name, hdr.Linkname)
		}
		if e.link != "" {
			made[e.name] = made[e.link]
		} else {
			made[e.name] = hdr.Typeflag
		}
	}
	// The tar's end blocks and any padding are part of the digest.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return "", fmt.Errorf("reading the layer: %w", err)
	}
	return d.digest(), nil
}

// throughNonDir reports a path whose parents (and itself, with self) the
// layer made as something else than a directory: writing it would follow
// a symbolic link, or fail.
func throughNonDir(made map[string]byte, name string, self bool) error {
	if name == "." {
		return nil
	}
	parts := strings.Split(name, "/")
	n := len(parts) - 1
	if self {
		n++
	}
	for i := 1; i <= n; i++ {
		p := strings.Join(parts[:i], "/")
		if t, ok := made[p]; ok && t != tar.TypeDir {
			if t == tar.TypeSymlink {
				return fmt.Errorf("its path goes through the symbolic link %q", p)
			}
			return fmt.Errorf("its path goes through %q, which is not a directory", p)
		}
	}
	return nil
}

// Magic numbers of the compressions layers come in.
var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// decompress returns the uncompressed stream of a layer blob, gzip, zstd
// or plain tar, told from its first bytes (media types lie often enough:
// Docker's uncompressed layers in an OCI layout, for one).
func decompress(r io.Reader) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading the layer: %w", err)
	}
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, invalidf("the layer's gzip stream: %v", err)
		}
		return zr, nil
	case bytes.HasPrefix(head, zstdMagic):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, invalidf("the layer's zstd stream: %v", err)
		}
		return zr.IOReadCloser(), nil
	}
	return io.NopCloser(br), nil
}

// compressedMediaType is the OCI layer media type of a blob, told from its
// first bytes.
func compressedMediaType(head []byte) string {
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		return "application/vnd.oci.image.layer.v1.tar+gzip"
	case bytes.HasPrefix(head, zstdMagic):
		return "application/vnd.oci.image.layer.v1.tar+zstd"
	}
	return "application/vnd.oci.image.layer.v1.tar"
}
