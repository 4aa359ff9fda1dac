package images

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Whatever a layer holds, what checkEntry lets through stays in the
// layer, and extracting it writes nothing outside the root. "@P" in a
// link target stands for the directory around the root, so that a
// symbolic link can aim there.
func FuzzExtractLayer(f *testing.F) {
	for _, s := range [][3]string{
		{"a/b", "", "0"}, {"../x", "", "0"}, {"/abs", "", "0"}, {"s", "/etc", "2"}, {"s", "../..", "2"},
		{"h", "a/b", "1"}, {"s", "@P", "2"}, {"s", "@P/", "2"}, {"d/.wh.x", "", "0"}, {"d/.wh..wh..opq", "", "0"}, {"./", "", "5"},
	} {
		f.Add(s[0], s[1], s[2][0], "s/x")
	}
	f.Fuzz(func(t *testing.T, name, link string, typ byte, second string) {
		parent := t.TempDir()
		h := &tar.Header{Name: name, Linkname: strings.ReplaceAll(link, "@P", parent), Typeflag: typ}
		e, err := checkEntry(h)
		if err == nil && e.kind != kindSkip {
			if escapes(e.name) || (e.link != "" && escapes(e.link)) {
				t.Fatalf("checkEntry(%q, %q) = %+v: escapes", name, link, e)
			}
		}
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, hh := range []*tar.Header{h, {Name: second, Typeflag: tar.TypeReg, Size: 1, Mode: 0o644}} {
			if hh.Typeflag == tar.TypeReg || hh.Typeflag == tar.TypeRegA {
				hh.Size = 1
			}
			if tw.WriteHeader(hh) != nil {
				return
			}
			if hh.Size == 1 {
				tw.Write([]byte("x"))
			}
		}
		if tw.Close() != nil {
			return
		}
		root := filepath.Join(parent, "root")
		if err := os.Mkdir(root, 0o755); err != nil {
			t.Fatal(err)
		}
		_, _ = extractLayer(bytes.NewReader(buf.Bytes()), root)
		entries, _ := os.ReadDir(parent)
		if len(entries) != 1 {
			t.Fatalf("extracting %q (%q) then %q wrote outside the root: %v", name, link, second, entries)
		}
	})
}
