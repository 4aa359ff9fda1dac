package cli

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
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
