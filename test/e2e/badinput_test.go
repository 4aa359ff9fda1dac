package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/pkg/client"
)

// badInputMaxCode is the --max-code-size the server runs with.
const badInputMaxCode = 65536

// badInputZipEntry is one entry of a zip built in memory.
type badInputZipEntry struct {
	name string
	data []byte
	mode fs.FileMode
}

func badInputZip(t *testing.T, entries ...badInputZipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Store}
		h.SetMode(e.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func badInputRandom(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// Bad code and bad s.yaml files are refused with errors that say what is
// wrong and where; none of them leaves a function behind, and the server
// keeps serving.
func TestBadInput(t *testing.T) {
	s := startServer(t, "", "--max-code-size", fmt.Sprint(badInputMaxCode))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := client.New(s.URL, accountID, client.Credentials{AccessKeyID: accessKeyID, AccessKeySecret: accessKeySecret})
	const svc = "badin"
	if _, err := c.CreateService(ctx, client.Service{ServiceName: svc}); err != nil {
		t.Fatalf("create service: %v", err)
	}
	server := badInputZipEntry{name: "server.py", data: []byte("print('hi')\n"), mode: 0o644}

	// Signed API calls with bad code packages.
	for _, tc := range []struct {
		name string
		zip  []byte
		msgs []string
	}{
		{"bad-dotdot", badInputZip(t, server, badInputZipEntry{name: "../evil", data: []byte("x"), mode: 0o644}),
			[]string{"code.zipFile", `"../evil"`}},
		{"bad-toolarge", badInputZip(t, server, badInputZipEntry{name: "blob", data: badInputRandom(badInputMaxCode + 4096), mode: 0o644}),
			[]string{"code.zipFile", fmt.Sprint(badInputMaxCode)}},
	} {
		_, err := c.CreateFunction(ctx, svc, client.FunctionInput{
			Function: client.Function{FunctionName: tc.name, Runtime: "custom.debian10",
				CustomRuntimeConfig: &client.CustomRuntimeConfig{Command: []string{"python3", "server.py"}}},
			Code: &client.Code{ZipFile: base64.StdEncoding.EncodeToString(tc.zip)},
		})
		var ae *client.Error
		if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != "InvalidArgument" {
			t.Errorf("%s: create = %v; want 400 InvalidArgument", tc.name, err)
			continue
		}
		for _, m := range tc.msgs {
			if !strings.Contains(ae.Message, m) {
				t.Errorf("%s: message %q does not name %s", tc.name, ae.Message, m)
			}
		}
		if _, err := c.GetFunction(ctx, svc, tc.name); !client.HasCode(err, "FunctionNotFound") {
			t.Errorf("%s: GET after the refused create = %v; want FunctionNotFound", tc.name, err)
		}
	}

	// openfc deploy of bad s.yaml files.
	pyecho := filepath.Join(repoRoot(), "test/e2e/testdata/pyecho")
	noBootstrap := t.TempDir() // server.py only: no bootstrap
	if err := os.WriteFile(filepath.Join(noBootstrap, "server.py"), []byte("print('hi')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bigDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(bigDir, "blob"), badInputRandom(badInputMaxCode+4096), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		// props are the function's props, indented by 6 spaces.
		props string
		// wantLine is the props line (0-based) the error must point at,
		// -1 when the error comes from the server.
		wantLine int
		msgs     []string
	}{
		{"bad-yaml", strings.Join([]string{
			"      functionName: bad-yaml",
			"      runtime: custom.debian10",
			"      code: " + pyecho,
			"      memorySize: big",
			"      customRuntimeConfig: {command: [python3, server.py]}",
		}, "\n"), 3, []string{"memorySize", `"big"`}},
		{"bad-noboot", strings.Join([]string{
			"      functionName: bad-noboot",
			"      runtime: custom.debian10",
			"      code: " + noBootstrap,
		}, "\n"), -1, []string{"bad-noboot", "customRuntimeConfig.command", "bootstrap"}},
		{"bad-bigcode", strings.Join([]string{
			"      functionName: bad-bigcode",
			"      runtime: custom.debian10",
			"      code: " + bigDir,
			"      customRuntimeConfig: {command: [python3, server.py]}",
		}, "\n"), -1, []string{"bad-bigcode", "code.zipFile", fmt.Sprint(badInputMaxCode)}},
	} {
		header := fmt.Sprintf("edition: 3.0.0\nname: %s\nresources:\n  fn:\n    component: fc3\n    props:\n", svc)
		path := writeYAML(t, header+tc.props+"\n")
		out, err := s.tryCLI("deploy", "-f", path)
		if err == nil {
			t.Errorf("%s: deploy succeeded:\n%s", tc.name, out)
			continue
		}
		t.Logf("%s: deploy output:\n%s", tc.name, out)
		msgs := tc.msgs
		if tc.wantLine >= 0 {
			line := strings.Count(header, "\n") + tc.wantLine + 1
			msgs = append(msgs, fmt.Sprintf("%s:%d:", path, line))
		}
		for _, m := range msgs {
			if !strings.Contains(out, m) {
				t.Errorf("%s: deploy output does not contain %q:\n%s", tc.name, m, out)
			}
		}
	}

	// None of the bad functions exists.
	list := s.cli("functions", "list", svc)
	if strings.Contains(list, "bad-") {
		t.Errorf("functions list shows a refused function:\n%s", list)
	}
	if !strings.Contains(list, "NAME") {
		t.Errorf("functions list printed no table:\n%s", list)
	}

	// The server still serves: a good deploy works and answers.
	s.deployEcho(echoOpts{service: svc, name: "good"})
	if r := s.getEcho("/2016-08-15/proxy/"+svc+"/good/after-bad", nil); r.Name != "good" || r.Path != "/after-bad" {
		t.Fatalf("good function answered %+v", r)
	}
	list = s.cli("functions", "list", svc)
	if !strings.Contains(list, "good") || strings.Contains(list, "bad-") {
		t.Errorf("functions list after the good deploy:\n%s", list)
	}
}
