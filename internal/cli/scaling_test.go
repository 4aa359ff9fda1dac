package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/api"
	"github.com/openfc/openfc/internal/auth"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/store"
	"github.com/openfc/openfc/internal/store/storetest"
	"github.com/openfc/openfc/pkg/client"
	"github.com/openfc/openfc/pkg/fcsign"
)

const (
	cliKeyID     = "LTAIclitestkey000001"
	cliKeySecret = "cli-test-secret-0123456789abcdef"
	cliAccount   = "1234567890123456"
)

// cannedInstances is an api.InstanceLister with fixed answers.
type cannedInstances map[string][]fc.InstanceInfo

func (c cannedInstances) ListInstances(service, function string) []fc.InstanceInfo {
	return c[service+"/"+function]
}

// cliServer serves the real management API over an embedded NATS store
// and returns a function that runs the CLI against it.
func cliServer(t *testing.T, inst cannedInstances) (run func(args ...string) (stdout string, err error), st *store.JetStream) {
	t.Helper()
	return cliServerEnv(t, inst, nil)
}

// cliServerEnv is cliServer with more environment variables for the CLI
// (TZ is UTC unless extra sets it).
func cliServerEnv(t *testing.T, inst cannedInstances, extra map[string]string) (run func(args ...string) (stdout string, err error), st *store.JetStream) {
	t.Helper()
	var ctx context.Context
	ctx, _, st = storetest.Open(t)
	srv := httptest.NewServer(api.New(api.Options{
		Store:     st,
		Verifier:  &auth.Verifier{Keys: auth.AdminKey(fcsign.Credentials{AccessKeyID: cliKeyID, AccessKeySecret: cliKeySecret})},
		Instances: inst,
		AccountID: cliAccount,
	}))
	t.Cleanup(srv.Close)
	env := map[string]string{
		"OPENFC_ENDPOINT":          srv.URL,
		"OPENFC_ACCESS_KEY_ID":     cliKeyID,
		"OPENFC_ACCESS_KEY_SECRET": cliKeySecret,
		"OPENFC_DATA":              t.TempDir(),
		"HOME":                     t.TempDir(),
		"TZ":                       "UTC",
	}
	for k, v := range extra {
		env[k] = v
	}
	run = func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		root := NewRoot(&out, &errb, func(k string) string { return env[k] })
		root.SetArgs(args)
		err := root.ExecuteContext(ctx)
		return out.String(), err
	}
	for _, s := range []string{"a", "b"} {
		if _, err := st.CreateService(ctx, &fc.Service{ServiceName: s}); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"f", "g"} {
			if _, err := st.CreateFunction(ctx, s, &fc.Function{FunctionName: f, Runtime: "custom.debian10"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return run, st
}

func TestScalingCommand(t *testing.T) {
	run, st := cliServer(t, cannedInstances{"a/f": {{InstanceID: "i1", Provisioned: true}}})
	steps := []struct {
		args    []string
		wantErr string   // substring of the error, "" for success
		want    []string // substrings of stdout
	}{
		{[]string{"scaling", "get", "a/f"}, "", []string{"a/f", "on-demand max instances: unlimited", "target 0, current 1"}},
		{[]string{"scaling", "set", "a/f", "--max", "4", "--provision", "2"}, "", []string{"on-demand max instances: 4", "target 2, current 1"}},
		{[]string{"scaling", "get", "a/f"}, "", []string{"on-demand max instances: 4", "target 2, current 1"}},
		{[]string{"scaling", "set", "a/f", "--max", "0"}, "", []string{"on-demand max instances: 0 (only provisioned", "target 2"}},
		{[]string{"scaling", "set", "a/f", "--max", "-1", "--provision", "0"}, "", []string{"unlimited", "target 0"}},
		{[]string{"scaling", "set", "a/f", "--max", "-1"}, "", []string{"unlimited"}},
		{[]string{"scaling", "set", "a/f"}, "nothing to set", nil},
		{[]string{"scaling", "set", "a/f", "--max", "-2"}, "--max -2", nil},
		{[]string{"scaling", "set", "a/f", "--provision", "1000"}, "InvalidArgument", nil},
		{[]string{"scaling", "get", "a/nope"}, "FunctionNotFound", nil},
		{[]string{"scaling", "get", "a"}, "<service>/<function>", nil},
		{[]string{"scaling", "--help"}, "", []string{"--max N", "--provision N"}},
	}
	for _, s := range steps {
		out, err := run(s.args...)
		switch {
		case s.wantErr == "" && err != nil:
			t.Fatalf("%v: %v", s.args, err)
		case s.wantErr != "" && (err == nil || !strings.Contains(err.Error(), s.wantErr)):
			t.Fatalf("%v: error %v, want one containing %q", s.args, err, s.wantErr)
		}
		for _, w := range s.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output %q lacks %q", s.args, out, w)
			}
		}
	}
	if got := st.ProvisionTargets(); len(got) != 0 {
		t.Errorf("targets left: %+v", got)
	}

	if _, err := run("scaling", "set", "b/g", "--max", "3", "--provision", "1"); err != nil {
		t.Fatal(err)
	}
	out, err := run("--json", "scaling", "get", "b/g")
	if err != nil {
		t.Fatal(err)
	}
	var got scalingState
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	if got.Function != "b/g" || got.OnDemand == nil || got.OnDemand.MaximumInstanceCount != 3 || got.Provision.Target != 1 ||
		got.Provision.Resource != fc.ScalingResource(cliAccount, "b", fc.LATEST, "g") {
		t.Errorf("--json = %+v (%+v %+v)", got, got.OnDemand, got.Provision)
	}
}

func TestInstancesCommand(t *testing.T) {
	run, _ := cliServer(t, cannedInstances{
		"a/g": {{InstanceID: "i-a", ServiceName: "a", FunctionName: "g", State: fc.InstanceReady, StartedTime: "2024-05-06T07:08:09Z",
			InFlight: 2, RequestsServed: 17, Restarts: 1, Provisioned: true, Address: "169.254.64.6"}},
		"b/f": {{InstanceID: "i-b", ServiceName: "b", FunctionName: "f", State: fc.InstanceStarting}},
	})
	out, err := run("instances")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	wantLines := [][]string{
		{"INSTANCE", "FUNCTION", "STATE", "ADDRESS", "STARTED", "INFLIGHT", "SERVED", "RESTARTS", "PROVISIONED"},
		{"i-a", "a/g", "Ready", "169.254.64.6", "2024-05-06T07:08:09Z", "2", "17", "1", "true"},
		{"i-b", "b/f", "Starting", "-", "0", "0", "0", "false"}, // no address, no start time yet
	}
	if len(lines) != len(wantLines) {
		t.Fatalf("output:\n%s", out)
	}
	for i, w := range wantLines {
		if got := strings.Fields(lines[i]); strings.Join(got, " ") != strings.Join(w, " ") {
			t.Errorf("line %d = %q, want fields %q", i, lines[i], w)
		}
	}

	out, err = run("instances", "a/g", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var list []client.Instance
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	if len(list) != 1 || list[0].InstanceID != "i-a" || list[0].RequestsServed != 17 || !list[0].Provisioned || list[0].Address != "169.254.64.6" {
		t.Errorf("--json = %+v", list)
	}

	out, err = run("instances", "a/f", "--json")
	if err != nil || strings.TrimSpace(out) != "[]" {
		t.Errorf("no instances --json = %q %v, want []", out, err)
	}
	if _, err := run("instances", "nope/f"); err == nil || !strings.Contains(err.Error(), "ServiceNotFound") {
		t.Errorf("unknown service: %v", err)
	}
}
