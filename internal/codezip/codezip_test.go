package codezip

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"hash/crc64"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
)

// ent describes one entry of a test archive.
type ent struct {
	name string
	body string      // file content, or symlink target
	mode fs.FileMode // 0: 0644 file; fs.ModeDir; fs.ModeSymlink|0777 ...
}

func file(name, body string) ent { return ent{name: name, body: body, mode: 0o644} }
func exe(name, body string) ent  { return ent{name: name, body: body, mode: 0o755} }
func dir(name string) ent        { return ent{name: name, mode: fs.ModeDir | 0o755} }
func link(name, target string) ent {
	return ent{name: name, body: target, mode: fs.ModeSymlink | 0o777}
}
func special(name string, m fs.FileMode) ent    { return ent{name: name, mode: m} }
func mkzip(t testing.TB, entries ...ent) []byte { return buildZip(t, zip.Deflate, entries...) }

func buildZip(t testing.TB, method uint16, entries ...ent) []byte {
	t.Helper()
	b, err := tryZip(method, entries...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tryZip writes a zip of entries, written in order.
func tryZip(method uint16, entries ...ent) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: method}
		h.SetMode(e.mode)
		if e.mode.IsDir() {
			h.Method = zip.Store
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// wantInvalid checks err is InvalidArgument naming code.zipFile and msg.
func wantInvalid(t *testing.T, err error, msg string) {
	t.Helper()
	var fe *fc.Error
	if !errors.As(err, &fe) || fe.Code != fc.CodeInvalidArgument {
		t.Fatalf("error = %v, want InvalidArgument", err)
	}
	if !strings.Contains(fe.Message, field) || !strings.Contains(fe.Message, msg) {
		t.Fatalf("message %q does not contain %q and %q", fe.Message, field, msg)
	}
}

func TestChecksum(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		// CRC-64/XZ (the ECMA-182 polynomial, reflected, inverted) check value.
		{"check value", []byte("123456789"), "11051210869376104954"},
		{"empty", nil, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Checksum(tt.in); got != tt.want {
				t.Errorf("Checksum = %s, want %s", got, tt.want)
			}
		})
	}
	t.Run("matches hash/crc64 on a zip", func(t *testing.T) {
		z := mkzip(t, exe("bootstrap", "#!/bin/sh\n"), file("a/b.txt", "hello"))
		h := crc64.New(crc64.MakeTable(crc64.ECMA))
		h.Write(z)
		if got, want := Checksum(z), strconv.FormatUint(h.Sum64(), 10); got != want {
			t.Errorf("Checksum = %s, want %s", got, want)
		}
	})
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		zip     []byte
		lim     Limits
		want    Info
		wantErr string // substring of the error message; "" for success
	}{
		{
			name: "simple package with bootstrap",
			zip:  mkzip(t, exe("bootstrap", "#!/bin/sh\n"), dir("lib/"), file("lib/a.txt", "hello"), dir("./")),
			want: Info{Files: 2, UnpackedBytes: 15, HasBootstrap: true},
		},
		{
			name: "bootstrap not executable",
			zip:  mkzip(t, file("bootstrap", "x")),
			want: Info{Files: 1, UnpackedBytes: 1},
		},
		{
			name: "bootstrap below the root does not count",
			zip:  mkzip(t, exe("bin/bootstrap", "x")),
			want: Info{Files: 1, UnpackedBytes: 1},
		},
		{
			name: "bootstrap symlink to an executable",
			zip:  mkzip(t, exe("bin/server", "x"), link("bootstrap", "bin/server")),
			want: Info{Files: 2, UnpackedBytes: 11, HasBootstrap: true},
		},
		{
			name: "npm bin links stay inside",
			zip: mkzip(t, file("node_modules/foo/cli.js", "js"),
				link("node_modules/.bin/foo", "../foo/cli.js"),
				link("node_modules/.bin/dangling", "../missing/x")),
			want: Info{Files: 3, UnpackedBytes: 2 + 13 + 12},
		},
		{
			name: "dot-dot that stays inside",
			zip:  mkzip(t, file("a/../b", "x"), link("c/d", "../c/./e/.."), file("./f", "")),
			want: Info{Files: 3, UnpackedBytes: 1 + 11},
		},
		{name: "parent traversal", zip: mkzip(t, file("../x", "x")), wantErr: `"../x" escapes`},
		{name: "absolute path", zip: mkzip(t, file("/etc/x", "x")), wantErr: `"/etc/x" has an absolute path`},
		{name: "nested traversal", zip: mkzip(t, file("a/../../x", "x")), wantErr: `"a/../../x" escapes`},
		{name: "backslash traversal", zip: mkzip(t, file(`a\..\..\x`, "x")), wantErr: "escapes"},
		{name: "bare dot-dot dir", zip: mkzip(t, dir("../")), wantErr: "escapes"},
		{name: "symlink escaping", zip: mkzip(t, link("a/b", "../../etc/passwd")), wantErr: `symlink "a/b" points outside`},
		{name: "absolute symlink", zip: mkzip(t, link("passwd", "/etc/passwd")), wantErr: `symlink "passwd" points to "/etc/passwd"`},
		{
			name:    "symlink escaping through another symlink",
			zip:     mkzip(t, link("x/y/s", "../.."), link("t", "x/y/s/..")),
			wantErr: `symlink "t" points outside`,
		},
		{name: "symlink loop", zip: mkzip(t, link("a", "b"), link("b", "a")), wantErr: "loop"},
		{
			name:    "file written through a symlink",
			zip:     mkzip(t, link("lib", "lib64"), file("lib/evil", "x")),
			wantErr: `"lib/evil" is below the symlink "lib"`,
		},
		{
			name:    "entry below a file",
			zip:     mkzip(t, file("a", "x"), file("a/b", "y")),
			wantErr: `"a/b" is below the file "a"`,
		},
		{name: "duplicate file", zip: mkzip(t, file("a", "1"), file("./a", "2")), wantErr: "more than once"},
		{name: "file and dir clash", zip: mkzip(t, dir("a/"), file("a", "1")), wantErr: "more than once"},
		{name: "long component", zip: mkzip(t, file("a/"+strings.Repeat("x", 256), "")), wantErr: "longer than 255 bytes"},
		{name: "long path", zip: mkzip(t, file(strings.Repeat("abcdefgh/", 230)+"x", "")), wantErr: "longer than 2048 bytes"},
		{name: "named pipe", zip: mkzip(t, special("p", fs.ModeNamedPipe|0o644)), wantErr: "unsupported type"},
		{name: "not a zip", zip: []byte("PK nope"), wantErr: "not a valid zip"},
		{
			name:    "zip too large",
			zip:     mkzip(t, file("a", strings.Repeat("x", 100))),
			lim:     Limits{MaxZipBytes: 50},
			wantErr: "over the limit of 50 bytes",
		},
		{
			name:    "unpacked too large",
			zip:     mkzip(t, file("a", strings.Repeat("x", 60)), file("b", strings.Repeat("x", 60))),
			lim:     Limits{MaxUnpackedBytes: 100},
			wantErr: "the files unpack to 120 bytes, over the limit of 100 bytes",
		},
		{
			name: "unpacked exactly at the limit",
			zip:  mkzip(t, file("a", strings.Repeat("x", 60)), file("b", strings.Repeat("x", 40))),
			lim:  Limits{MaxUnpackedBytes: 100},
			want: Info{Files: 2, UnpackedBytes: 100},
		},
		{
			name:    "too many files",
			zip:     mkzip(t, file("a", ""), file("b", ""), dir("c/")),
			lim:     Limits{MaxFiles: 2},
			wantErr: "3 entries, over the limit of 2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Check(tt.zip, tt.lim)
			if tt.wantErr != "" {
				wantInvalid(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Info = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCheckCorruptData(t *testing.T) {
	z := buildZip(t, zip.Store, file("a.txt", "hello world"))
	i := bytes.Index(z, []byte("hello world"))
	if i < 0 {
		t.Fatal("content not found")
	}
	z[i] = 'j'
	_, err := Check(z, Limits{})
	wantInvalid(t, err, `"a.txt" cannot be read`)
	err = Unpack(z, filepath.Join(t.TempDir(), "code"), Limits{})
	wantInvalid(t, err, `"a.txt" cannot be read`)
}

// writeTree creates a test tree: files with modes, a symlink, an empty dir.
func writeTree(t *testing.T, root string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "lib", "deep"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "empty"), 0o755))
	must(os.WriteFile(filepath.Join(root, "bootstrap"), []byte("#!/bin/sh\necho hi\n"), 0o755))
	must(os.WriteFile(filepath.Join(root, "lib", "deep", "data.txt"), []byte("data"), 0o640))
	must(os.WriteFile(filepath.Join(root, "lib", "tool"), []byte("tool"), 0o700))
	must(os.Chmod(filepath.Join(root, "lib", "deep", "data.txt"), 0o640))
	must(os.Chmod(filepath.Join(root, "lib", "tool"), 0o700))
	must(os.Symlink("../tool", filepath.Join(root, "lib", "deep", "tool-link")))
	must(os.Symlink("lib", filepath.Join(root, "lib-link")))
}

func TestZipDirUnpackRoundTrip(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	writeTree(t, src)
	z, err := ZipDir(src)
	if err != nil {
		t.Fatal(err)
	}
	info, err := Check(z, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !info.HasBootstrap || info.Files != 5 {
		t.Errorf("Info = %+v", info)
	}
	dest := filepath.Join(t.TempDir(), "nested", "code")
	if err := Unpack(z, dest, Limits{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path   string
		mode   fs.FileMode
		target string
		body   string
	}{
		{path: "bootstrap", mode: 0o755, body: "#!/bin/sh\necho hi\n"},
		{path: "lib", mode: fs.ModeDir | 0o755},
		{path: "lib/tool", mode: 0o700, body: "tool"},
		{path: "lib/deep/data.txt", mode: 0o640, body: "data"},
		{path: "lib/deep/tool-link", mode: fs.ModeSymlink, target: "../tool"},
		{path: "lib-link", mode: fs.ModeSymlink, target: "lib"},
		{path: "empty", mode: fs.ModeDir | 0o755},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p := filepath.Join(dest, tt.path)
			fi, err := os.Lstat(p)
			if err != nil {
				t.Fatal(err)
			}
			if tt.mode&fs.ModeSymlink != 0 {
				if fi.Mode()&fs.ModeSymlink == 0 {
					t.Fatalf("mode = %v, want a symlink", fi.Mode())
				}
				if got, _ := os.Readlink(p); got != tt.target {
					t.Errorf("target = %q, want %q", got, tt.target)
				}
				return
			}
			if fi.Mode() != tt.mode {
				t.Errorf("mode = %v, want %v", fi.Mode(), tt.mode)
			}
			if tt.body != "" {
				if b, _ := os.ReadFile(p); string(b) != tt.body {
					t.Errorf("body = %q, want %q", b, tt.body)
				}
			}
		})
	}
	t.Run("deterministic", func(t *testing.T) {
		if err := os.Chtimes(filepath.Join(src, "bootstrap"), fixedTime(), fixedTime()); err != nil {
			t.Fatal(err)
		}
		z2, err := ZipDir(src)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(z, z2) {
			t.Error("zipping the same tree twice gave different bytes")
		}
	})
}

func TestZipDirSymlinkedRoot(t *testing.T) {
	base := t.TempDir()
	writeTree(t, filepath.Join(base, "real"))
	if err := os.Symlink("real", filepath.Join(base, "alias")); err != nil {
		t.Fatal(err)
	}
	a, errA := ZipDir(filepath.Join(base, "real"))
	b, errB := ZipDir(filepath.Join(base, "alias"))
	if errA != nil || errB != nil || !bytes.Equal(a, b) {
		t.Fatalf("zip via symlinked root differs: %v %v", errA, errB)
	}
	if _, err := ZipDir(filepath.Join(base, "real", "bootstrap")); err == nil {
		t.Error("zipping a file: no error")
	}
}

func TestUnpackDest(t *testing.T) {
	z := mkzip(t, exe("bootstrap", "x"))
	tests := []struct {
		name    string
		setup   func(dest string) error
		wantErr string
	}{
		{name: "absent", setup: func(string) error { return nil }},
		{name: "empty dir", setup: func(d string) error { return os.Mkdir(d, 0o700) }},
		{name: "non-empty dir", setup: func(d string) error {
			if err := os.Mkdir(d, 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(d, "x"), nil, 0o644)
		}, wantErr: "not empty"},
		{name: "file", setup: func(d string) error { return os.WriteFile(d, nil, 0o644) }, wantErr: "not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dest := filepath.Join(parent, "code")
			if err := tt.setup(dest); err != nil {
				t.Fatal(err)
			}
			err := Unpack(z, dest, Limits{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if fi, err := os.Stat(filepath.Join(dest, "bootstrap")); err != nil || fi.Mode().Perm() != 0o755 {
					t.Errorf("bootstrap: %v %v", fi, err)
				}
				if fi, _ := os.Stat(dest); fi.Mode().Perm() != 0o755 {
					t.Errorf("dest mode = %v", fi.Mode())
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			assertNoTemp(t, parent)
		})
	}
}

func TestUnpackRejectsAndLeavesNothing(t *testing.T) {
	tests := []struct {
		name string
		zip  []byte
		lim  Limits
		msg  string
	}{
		{name: "traversal", zip: mkzip(t, file("ok", "1"), file("../evil", "x")), msg: "escapes"},
		{name: "escaping symlink", zip: mkzip(t, file("ok", "1"), link("l", "../../etc/passwd")), msg: "points outside"},
		{name: "write through symlink", zip: mkzip(t, link("d", "."), file("d/x", "x")), msg: "below the symlink"},
		{name: "too big", zip: mkzip(t, file("a", "123456")), lim: Limits{MaxUnpackedBytes: 5}, msg: "limit of 5 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dest := filepath.Join(parent, "code")
			wantInvalid(t, Unpack(tt.zip, dest, tt.lim), tt.msg)
			if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("dest exists after a failed unpack: %v", err)
			}
			assertNoTemp(t, parent)
		})
	}
}

// TestExtractBudget exercises the byte count of the extraction itself,
// independent of the header sizes scan trusts.
func TestExtractBudget(t *testing.T) {
	z := mkzip(t, file("a", "1234"), file("b", "5678"))
	a, err := scan(z, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	err = extract(a, t.TempDir(), Limits{MaxUnpackedBytes: 6, Knobs: Knobs{UnpackedBytes: "--unpacked"}})
	wantInvalid(t, err, `more than the limit of 6 bytes (entry "b" holds more than its header declares); raise it with --unpacked`)
}

// Every limit's error gives the size in the units the user sent (the
// zip's bytes, the files' bytes, the entries), the limit, and the knob
// that raises it.
func TestLimitErrorsNameTheirKnob(t *testing.T) {
	knobs := Knobs{ZipBytes: "serve --zip", UnpackedBytes: "serve --unpacked", Files: "serve --files"}
	big := mkzip(t, file("a", strings.Repeat("x", 100)))
	for _, tc := range []struct {
		name string
		zip  []byte
		lim  Limits
		msg  string
	}{
		{"zip", big, Limits{MaxZipBytes: 50, Knobs: knobs},
			fmt.Sprintf("code.zipFile is %d bytes, over the limit of 50 bytes; raise it with serve --zip", len(big))},
		{"unpacked", mkzip(t, file("a", strings.Repeat("x", 60)), file("b", strings.Repeat("x", 60))), Limits{MaxUnpackedBytes: 100, Knobs: knobs},
			"the files unpack to 120 bytes, over the limit of 100 bytes; raise it with serve --unpacked"},
		{"files", mkzip(t, file("a", ""), file("b", ""), dir("c/")), Limits{MaxFiles: 2, Knobs: knobs},
			"the archive has 3 entries, over the limit of 2; raise it with serve --files"},
		{"no knob", big, Limits{MaxZipBytes: 50}, "over the limit of 50 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Check(tc.zip, tc.lim)
			wantInvalid(t, err, tc.msg)
			if tc.lim.Knobs == (Knobs{}) && strings.Contains(err.Error(), "raise it") {
				t.Errorf("error %q names a knob; none is set", err)
			}
			dest := filepath.Join(t.TempDir(), "code")
			wantInvalid(t, Unpack(tc.zip, dest, tc.lim), tc.msg)
		})
	}
	if err := (Limits{MaxZipBytes: 10, Knobs: knobs}).ZipTooLarge(4096, true); err == nil ||
		!strings.Contains(err.Error(), "code.zipFile is more than 4096 bytes, over the limit of 10 bytes; raise it with serve --zip") {
		t.Errorf("ZipTooLarge(atLeast) = %v", err)
	}
}

func fixedTime() time.Time { return time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC) }

func assertNoTemp(t *testing.T, parent string) {
	t.Helper()
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".unpack-") {
			t.Errorf("temporary dir left behind: %s", e.Name())
		}
	}
}
