package cli

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"

	"github.com/openfc/openfc/internal/fc"
)

// functionBody is the JSON of the function with its code as zipFile, and
// allocates little more than the base64 of the code.
func TestFunctionBody(t *testing.T) {
	zip := make([]byte, 3<<20)
	rand.Read(zip)
	fns := []*fc.Function{
		{FunctionName: "f", Runtime: "custom.debian10", MemorySize: 512, Timeout: 30,
			EnvironmentVariables: map[string]string{"A": `quote " and \ backslash`}},
		{}, // every field omitted: "{}"
	}
	for _, fn := range fns {
		body, err := functionBody(fn, zip)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			fc.Function
			Code *fc.FunctionCode `json:"code"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("the body is not valid JSON: %v (starts %q)", err, body[:min(len(body), 200)])
		}
		if !reflect.DeepEqual(&got.Function, fn) {
			t.Errorf("function decoded from the body = %+v; want %+v", got.Function, *fn)
		}
		if got.Code == nil || !bytes.Equal(got.Code.ZipFile, zip) {
			t.Error("the code decoded from the body differs from the zip")
		}
	}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := functionBody(fns[0], zip); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if perByte := float64(after.TotalAlloc-before.TotalAlloc) / float64(len(zip)); perByte > 1.5 {
		t.Errorf("rendering the body allocated %.2f bytes per byte of code; want at most 1.5 (its base64 is 1.33)", perByte)
	}
}

// A custom-container function is sent without code, its container config
// in FC 2.0's form.
func TestFunctionBodyContainer(t *testing.T) {
	fn := &fc.Function{FunctionName: "f", Runtime: fc.RuntimeCustomContainer,
		CustomContainerConfig: &fc.CustomContainerConfig{Image: "app:v1", Command: fc.StringArray{"/srv"}}}
	body, err := functionBody(fn, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	if _, ok := got["code"]; ok {
		t.Errorf("body %s has code", body)
	}
	if want := `{"image":"app:v1","command":"[\"/srv\"]"}`; string(got["customContainerConfig"]) != want {
		t.Errorf("customContainerConfig %s; want %s", got["customContainerConfig"], want)
	}
	if string(got["customRuntimeConfig"]) != "null" {
		t.Errorf("customRuntimeConfig %s; want null", got["customRuntimeConfig"])
	}
}

// A refused s.yaml prints its warnings on stderr before the error, and
// never reaches the server (the endpoint here listens nowhere).
func TestDeployWarnsBeforeRefusing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.yaml")
	data := "edition: 3.0.0\nname: app\nresources:\n  web:\n    component: fc3\n    props:\n" +
		"      functionName: web\n      runtime: custom\n      code: .\n      vpcConfig: auto\n      timout: 10\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	root := NewRoot(&out, &errb, func(string) string { return "" })
	root.SetArgs([]string{"--endpoint", "http://127.0.0.1:1", "deploy", "-f", path})
	err := root.Execute()
	want := path + `:11: resources.web.props.timout: unknown key "timout" in an fc3 function; did you mean "timeout"?`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if got, want := errb.String(), "warning: "+path+":10: resources.web.props.vpcConfig: openfc does not apply vpcConfig; ignored\n"; got != want {
		t.Errorf("stderr = %q\nwant %q", got, want)
	}
	if out.Len() != 0 {
		t.Errorf("stdout = %q", out.String())
	}
}

// A deploy states customDNS and internetAccess even when the s.yaml leaves
// them out (null), so that removing them from the file removes them from
// the function; set ones are sent as they are.
func TestFunctionBodyNetworkFields(t *testing.T) {
	off := false
	for _, tc := range []struct {
		fn   *fc.Function
		want map[string]string
	}{
		{&fc.Function{FunctionName: "f"}, map[string]string{"customDNS": "null", "internetAccess": "null",
			"customRuntimeConfig": "null", "customContainerConfig": "null"}},
		{&fc.Function{FunctionName: "f", InternetAccess: &off, CustomDNS: &fc.CustomDNS{NameServers: []string{"8.8.8.8"}}},
			map[string]string{"customDNS": `{"nameServers":["8.8.8.8"]}`, "internetAccess": "false"}},
	} {
		body, err := functionBody(tc.fn, []byte("zip"))
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]json.RawMessage
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("body %s: %v", body, err)
		}
		for k, want := range tc.want {
			if string(got[k]) != want {
				t.Errorf("body %s: %s = %s; want %s", body, k, got[k], want)
			}
		}
	}
}
