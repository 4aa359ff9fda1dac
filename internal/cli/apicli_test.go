package cli

import (
	"bytes"
	"context"
	"net/http/httptest"
	"testing"

	"github.com/openfc/openfc/internal/api"
	"github.com/openfc/openfc/internal/auth"
	"github.com/openfc/openfc/internal/store"
	"github.com/openfc/openfc/internal/store/storetest"
	"github.com/openfc/openfc/pkg/fcsign"
)

// cliRunner runs the CLI as the given key: exit code, stdout, stderr.
type cliRunner func(id, secret string, args ...string) (int, string, string)

// admin runs the CLI as the admin key.
func (run cliRunner) admin(args ...string) (int, string, string) {
	return run(cliKeyID, cliKeySecret, args...)
}

// apiCLI serves the management API on a fresh store with the admin key,
// with(o, st, keys) adding what a test needs (nil: nothing), and returns the
// store and a runner of the CLI against it.
func apiCLI(t *testing.T, with func(*api.Options, *store.JetStream, *auth.Keys)) (context.Context, *store.JetStream, cliRunner) {
	t.Helper()
	ctx, _, st := storetest.Open(t)
	keys, err := auth.StartKeys(ctx, auth.KeysOptions{Admin: fcsign.Credentials{AccessKeyID: cliKeyID, AccessKeySecret: cliKeySecret}, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(keys.Close)
	o := api.Options{Store: st, Verifier: &auth.Verifier{Keys: keys.Lookup}, AccountID: cliAccount}
	if with != nil {
		with(&o, st, keys)
	}
	srv := httptest.NewServer(api.New(o))
	t.Cleanup(srv.Close)
	home := t.TempDir()
	return ctx, st, func(id, secret string, args ...string) (int, string, string) {
		env := map[string]string{"OPENFC_ENDPOINT": srv.URL, "OPENFC_ACCESS_KEY_ID": id, "OPENFC_ACCESS_KEY_SECRET": secret,
			"OPENFC_DATA": home, "HOME": home, "TZ": "UTC", "OPENFC_ACCOUNT_ID": cliAccount}
		var out, errb bytes.Buffer
		root := NewRoot(&out, &errb, func(k string) string { return env[k] })
		root.SetArgs(args)
		code := Report(&errb, root.ExecuteContext(ctx))
		return code, out.String(), errb.String()
	}
}
