package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/codezip"
)

// runSDK runs a script of test/e2e/sdk (the official @alicloud/fc2 Node
// SDK, installed by `npm ci` there) against s with openfc's endpoint,
// account and admin key in OPENFC_* variables and env added, and decodes
// the JSON its last line of output is into res. It fails the test when
// the SDK is missing or the script fails.
func runSDK(t *testing.T, s *server, script string, timeout time.Duration, res any, env ...string) string {
	t.Helper()
	dir := filepath.Join(repoRoot(), "test/e2e/sdk")
	if _, err := os.Stat(filepath.Join(dir, "node_modules/@alicloud/fc2/package.json")); err != nil {
		t.Fatalf("the Node SDK is not installed: run npm ci in test/e2e/sdk (make test does): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "OPENFC_ENDPOINT="+s.URL, "OPENFC_ACCOUNT_ID="+accountID,
		"OPENFC_ACCESS_KEY_ID="+accessKeyID, "OPENFC_ACCESS_KEY_SECRET="+accessKeySecret), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\nstderr:\n%s\nstdout:\n%s", script, err, stderr.String(), stdout.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	last := lines[len(lines)-1]
	if err := json.Unmarshal([]byte(last), res); err != nil {
		t.Fatalf("%s: its last line is not JSON: %v\n%s", script, err, stdout.String())
	}
	return last
}

// sdkZipEnv zips dir (relative to the repository) for an SDK script:
// OPENFC_ZIP_B64_FILE names a file holding the zip in base64.
func sdkZipEnv(t *testing.T, dir string) string {
	t.Helper()
	zip, err := codezip.ZipDir(filepath.Join(repoRoot(), dir))
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "code.zip.b64")
	if err := os.WriteFile(f, []byte(base64.StdEncoding.EncodeToString(zip)), 0o600); err != nil {
		t.Fatal(err)
	}
	return "OPENFC_ZIP_B64_FILE=" + f
}
