package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/api"
	"github.com/openfc/openfc/internal/auth"
	"github.com/openfc/openfc/internal/store"
	"github.com/openfc/openfc/pkg/client"
)

// keysCLI serves the API with real access keys over a real store and
// returns a function that runs the CLI against it with the given
// credentials (exit code, stdout, stderr).
func keysCLI(t *testing.T) cliRunner {
	t.Helper()
	_, _, run := apiCLI(t, func(o *api.Options, _ *store.JetStream, keys *auth.Keys) { o.Keys = keys })
	return run
}

func TestKeysCommands(t *testing.T) {
	run := keysCLI(t)
	admin := func(args ...string) (int, string, string) { return run(cliKeyID, cliKeySecret, args...) }

	code, out, errOut := admin("keys", "create", "--invoke-only", "--resource", "shop/checkout", "--resource", "blog", "--expires", "720h", "--description", "front end")
	if code != 0 {
		t.Fatalf("keys create: %d %s %s", code, out, errOut)
	}
	id := field(out, "AccessKeyId:")
	secret := field(out, "AccessKeySecret:")
	if !strings.HasPrefix(id, "LTAI") || len(secret) != 30 || field(out, "Scope:") != "invoke-only shop/checkout,blog" || field(out, "Expires:") == "never" {
		t.Errorf("keys create printed:\n%s", out)
	}
	if !strings.Contains(errOut, "shown only now") {
		t.Errorf("keys create says nothing of the secret shown once: %q", errOut)
	}

	code, out, _ = admin("keys", "create", "--json")
	var k client.AccessKey
	if code != 0 || json.Unmarshal([]byte(out), &k) != nil || k.AccessKeySecret == "" || k.ExpiresTime != "" {
		t.Fatalf("keys create --json: %d %s", code, out)
	}

	code, out, _ = admin("keys", "list")
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, k.AccessKeyID) || strings.Contains(out, secret) ||
		!strings.Contains(out, "front end") || !strings.Contains(out, "ACCESS KEY ID") {
		t.Errorf("keys list: %d\n%s", code, out)
	}
	code, out, _ = admin("keys", "list", "--json")
	var list []client.AccessKey
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 || list[0].AccessKeySecret != "" || list[1].AccessKeySecret != "" {
		t.Errorf("keys list --json: %d %s", code, out)
	}

	// A key that is not the admin's may not manage keys; the refusal is
	// FC's error, exit 1.
	code, _, errOut = run(k.AccessKeyID, k.AccessKeySecret, "keys", "list")
	if code != 1 || !strings.Contains(errOut, "AccessDenied") {
		t.Errorf("keys list with a non-admin key: %d %q", code, errOut)
	}
	// Bad input: the server names the field.
	code, _, errOut = admin("keys", "create", "--expires", "-1h")
	if code != 1 || !strings.Contains(errOut, "InvalidArgument") || !strings.Contains(errOut, "expiresIn") {
		t.Errorf("keys create --expires -1h: %d %q", code, errOut)
	}
	code, _, errOut = admin("keys", "create", "--resource", "a/b/c")
	if code != 1 || !strings.Contains(errOut, "resources[0]") {
		t.Errorf("keys create --resource a/b/c: %d %q", code, errOut)
	}
	// Usage errors exit 2.
	for _, args := range [][]string{{"keys", "create", "--bogus"}, {"keys", "delete"}, {"keys", "list", "extra"}, {"keys", "frob"}} {
		if code, _, errOut := admin(args...); code != exitUsage {
			t.Errorf("%v: exit %d (%s); want %d", args, code, errOut, exitUsage)
		}
	}

	code, out, _ = admin("keys", "delete", id, k.AccessKeyID)
	if code != 0 || !strings.Contains(out, "deleted access key "+id) || !strings.Contains(out, "deleted access key "+k.AccessKeyID) {
		t.Errorf("keys delete: %d %s", code, out)
	}
	code, _, errOut = admin("keys", "delete", id)
	if code != 1 || !strings.Contains(errOut, "AccessKeyNotFound") {
		t.Errorf("second keys delete: %d %q", code, errOut)
	}
	if code, out, _ = admin("keys", "list", "--json"); code != 0 || strings.TrimSpace(out) != "[]" {
		t.Errorf("keys list after deleting all: %d %q", code, out)
	}
}

// field returns the value printed after label on its own line.
func field(out, label string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, label); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
