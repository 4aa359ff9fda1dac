package codezip

import (
	"archive/zip"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/fc"
)

// FuzzCheck feeds arbitrary bytes to Check. Check must not panic, must
// only fail with InvalidArgument, and whatever it accepts must unpack into
// a tree whose every symlink stays inside the destination.
func FuzzCheck(f *testing.F) {
	seeds := [][]ent{
		{exe("bootstrap", "#!/bin/sh\n"), dir("lib/"), file("lib/a", "x")},
		{file("node_modules/foo/cli.js", "js"), link("node_modules/.bin/foo", "../foo/cli.js")},
		{link("x/y/s", "../.."), link("t", "x/y/s/..")},
		{link("lib", "lib64"), file("lib/evil", "x")},
		{file("../x", "x")},
		{link("a", "b"), link("b", "a")},
	}
	for _, s := range seeds {
		f.Add(mkzip(f, s...))
	}
	f.Add(buildZip(f, zip.Store, file("a", "hello"), link("b", "a")))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, data []byte) { checkInvariants(t, data) })
}

// FuzzCheckEntries builds archives from fuzzed entry names, symlink
// targets and kinds, which reaches the traversal and symlink rules far
// more often than random bytes do.
func FuzzCheckEntries(f *testing.F) {
	f.Add("x/y/s", "../..", uint8(2), "t", "x/y/s/..", uint8(2), "t/evil", "", uint8(0))
	f.Add("node_modules/.bin/foo", "../foo/cli.js", uint8(2), "node_modules/foo/cli.js", "js", uint8(0), "bootstrap", "#!", uint8(3))
	f.Add("lib", "lib64", uint8(2), "lib/evil", "x", uint8(0), "a/", "", uint8(1))
	f.Add("a", "b/../..", uint8(2), "b", "c", uint8(2), "c", "..", uint8(2))
	f.Fuzz(func(t *testing.T, n1, b1 string, k1 uint8, n2, b2 string, k2 uint8, n3, b3 string, k3 uint8) {
		var entries []ent
		for _, e := range []struct {
			name, body string
			k          uint8
		}{{n1, b1, k1}, {n2, b2, k2}, {n3, b3, k3}} {
			switch e.k % 4 {
			case 0:
				entries = append(entries, file(e.name, e.body))
			case 1:
				entries = append(entries, dir(e.name))
			case 2:
				entries = append(entries, link(e.name, e.body))
			case 3:
				entries = append(entries, exe(e.name, e.body))
			}
		}
		data, err := tryZip(zip.Deflate, entries...)
		if err != nil {
			t.Skip(err) // not representable (e.g. data in a directory entry)
		}
		checkInvariants(t, data)
	})
}

// checkInvariants runs Check on data: it must not panic, must only fail
// with InvalidArgument, and whatever it accepts must unpack into a tree
// with as many files as Check counted and no symlink leading outside.
func checkInvariants(t *testing.T, data []byte) {
	lim := Limits{MaxZipBytes: 1 << 20, MaxUnpackedBytes: 1 << 20, MaxFiles: 200}
	info, err := Check(data, lim)
	if err != nil {
		var fe *fc.Error
		if !errors.As(err, &fe) || fe.Code != fc.CodeInvalidArgument {
			t.Fatalf("Check error is not InvalidArgument: %v", err)
		}
		return
	}
	if info.Files < 0 || info.UnpackedBytes < 0 || info.UnpackedBytes > lim.MaxUnpackedBytes {
		t.Fatalf("bad info %+v", info)
	}
	dest := filepath.Join(t.TempDir(), "code")
	if err := Unpack(data, dest, lim); err != nil {
		t.Fatalf("Check accepted but Unpack failed: %v", err)
	}
	realDest, err := filepath.EvalSymlinks(dest)
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	err = filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files++
		}
		if d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		if filepath.IsAbs(target) {
			t.Errorf("absolute symlink %s -> %s", p, target)
		}
		// A dangling or looping link cannot be evaluated; one that
		// can must land inside the destination.
		if r, err := filepath.EvalSymlinks(p); err == nil && r != realDest && !strings.HasPrefix(r, realDest+string(filepath.Separator)) {
			t.Errorf("symlink %s resolves outside: %s", p, r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files != info.Files {
		t.Errorf("unpacked %d files, Check counted %d", files, info.Files)
	}
}
