package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// codeLimitYAML is an fc3 s.yaml deploying code from dir as svc/name.
func codeLimitYAML(t *testing.T, svc, name, dir string) string {
	t.Helper()
	return writeYAML(t, fmt.Sprintf(`edition: 3.0.0
name: %s
resources:
  fn:
    component: fc3
    props:
      functionName: %s
      runtime: custom.debian10
      code: %s
      customRuntimeConfig: {command: [python3, server.py]}
`, svc, name, dir))
}

// codeDirWith returns a code directory holding server.py and the given
// files.
func codeDirWith(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	files["server.py"] = []byte("print('hi')\n")
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// zipSizeRE reads the size a code-size error gives.
var zipSizeRE = regexp.MustCompile(`code\.zipFile is (\d+) bytes, over the limit of (\d+) bytes; raise it with openfc serve --max-code-size`)

// A code zip over --max-code-size is refused, by `openfc deploy`, with the
// zip's size as the user sent it (the zip's bytes, not the base64 in the
// request body, even when that body is past the request cap and is not
// decoded), the limit and the flag that raises it; files that unpack to
// more than --max-unpacked-code-size likewise.
func TestCodeLimitsNameTheirKnob(t *testing.T) {
	const maxCode, maxUnpacked = 64 << 10, 1 << 20
	s := startServer(t, "", "--max-code-size", fmt.Sprint(maxCode), "--max-unpacked-code-size", fmt.Sprint(maxUnpacked))
	for _, tc := range []struct {
		name string
		blob int // bytes of random data in the code
	}{
		{"over", maxCode + 4096},
		// Its base64 is past the request cap (the limit in base64 + 1 MiB).
		{"far-over", 1536 << 10},
	} {
		out, err := s.tryCLI("deploy", "-f", codeLimitYAML(t, "limits", tc.name, codeDirWith(t, map[string][]byte{"blob": badInputRandom(tc.blob)})))
		if err == nil {
			t.Errorf("%s: deploy of a %d-byte blob succeeded:\n%s", tc.name, tc.blob, out)
			continue
		}
		t.Logf("%s: %s", tc.name, out)
		m := zipSizeRE.FindStringSubmatch(out)
		if m == nil || !strings.Contains(out, "InvalidArgument") {
			t.Errorf("%s: deploy output does not give the zip's size, the limit %d and --max-code-size:\n%s", tc.name, maxCode, out)
			continue
		}
		// The zip of random data is the blob and a little more; its
		// base64 would be a third larger.
		size, _ := strconv.Atoi(m[1])
		if size < tc.blob || size > tc.blob+4096 || m[2] != fmt.Sprint(maxCode) {
			t.Errorf("%s: the error gives %s bytes over the limit of %s; want the zip's size (a %d-byte blob zipped) and %d:\n%s",
				tc.name, m[1], m[2], tc.blob, maxCode, out)
		}
	}

	zeros := codeDirWith(t, map[string][]byte{"zeros": make([]byte, 2<<20)}) // a small zip
	out, err := s.tryCLI("deploy", "-f", codeLimitYAML(t, "limits", "unpacked", zeros))
	want := fmt.Sprintf("the files unpack to %d bytes, over the limit of %d bytes; raise it with openfc serve --max-unpacked-code-size", 2<<20+12, maxUnpacked)
	if err == nil || !strings.Contains(out, want) {
		t.Errorf("deploy of code unpacking to 2 MiB: err %v, output does not contain %q:\n%s", err, want, out)
	}
	if list := s.cli("functions", "list", "limits"); strings.Contains(list, "over") || strings.Contains(list, "unpacked") {
		t.Errorf("a refused function exists:\n%s", list)
	}
}

// The file-count limit is a flag too, and its error names it.
func TestCodeFileLimitNamesItsKnob(t *testing.T) {
	s := startServer(t, "", "--max-code-files", "20")
	files := map[string][]byte{}
	for i := range 30 {
		files[fmt.Sprintf("f%02d.txt", i)] = []byte("x")
	}
	out, err := s.tryCLI("deploy", "-f", codeLimitYAML(t, "limits", "files", codeDirWith(t, files)))
	want := "the archive has 31 entries, over the limit of 20; raise it with openfc serve --max-code-files"
	if err == nil || !strings.Contains(out, want) {
		t.Errorf("deploy of 31 files: err %v, output does not contain %q:\n%s", err, want, out)
	}
}
