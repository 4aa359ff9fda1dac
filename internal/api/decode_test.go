package api

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/openfc/openfc/internal/codezip"
	"github.com/openfc/openfc/internal/fc"
)

// codeBody is a create-function body carrying size bytes of code.
func codeBody(t testing.TB, size int) ([]byte, []byte) {
	zip := make([]byte, size)
	rand.Read(zip)
	b, err := json.Marshal(functionInput{
		Function: fc.Function{FunctionName: "f", Runtime: "custom.debian10"},
		Code:     &fc.FunctionCode{ZipFile: zip},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b, zip
}

// decodeCode decodes body as the create handler does and returns the
// code.
func decodeCode(t testing.TB, a *API, body []byte) []byte {
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	var in functionInput
	if err := a.decode(r, &in); err != nil {
		t.Fatal(err)
	}
	return in.Code.ZipFile
}

// allocatedPerByte returns the bytes f allocates per byte of a size-byte
// code package.
func allocatedPerByte(f func(), size int) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return float64(after.TotalAlloc-before.TotalAlloc) / float64(size)
}

// A code upload is read into one buffer of the body's size and its base64
// decoded straight into the zip's bytes: about 2.4 bytes allocated per
// byte of code (1.33 of base64 + 1 of zip), for a create and for an
// update (whose patch points into the body rather than copying it).
// Before, reading the body by doubling (~2.8), copying the base64 into a
// string (1.33) and decoding that (1) took about 5; an update's merge
// copied and re-encoded it on top.
func TestDecodeCodeMemory(t *testing.T) {
	const size = 4 << 20
	a := &API{lim: codezip.Limits{MaxZipBytes: 8 << 20}.WithDefaults()}
	body, zip := codeBody(t, size)
	if got := decodeCode(t, a, body); !bytes.Equal(got, zip) {
		t.Fatal("the decoded code differs from what was sent")
	}
	patch := func() []byte {
		_, code, err := a.decodeFunctionPatch(httptest.NewRequest(http.MethodPut, "/", bytes.NewReader(body)))
		if err != nil {
			t.Fatal(err)
		}
		return code.ZipFile
	}
	if got := patch(); !bytes.Equal(got, zip) {
		t.Fatal("the code decoded from an update differs from what was sent")
	}
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"create", func() { decodeCode(t, a, body) }},
		{"update", func() { patch() }},
	} {
		perByte := allocatedPerByte(c.f, size)
		t.Logf("%s: decoding %d bytes of code allocated %.2f bytes per byte", c.name, size, perByte)
		if perByte > 3 {
			t.Errorf("%s: decoding a code upload allocated %.2f bytes per byte of code; want at most 3", c.name, perByte)
		}
	}
}

func BenchmarkDecodeCode(b *testing.B) {
	const size = 4 << 20
	a := &API{lim: codezip.Limits{MaxZipBytes: 8 << 20}.WithDefaults()}
	body, _ := codeBody(b, size)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		decodeCode(b, a, body)
	}
}

// readBody returns the whole body whatever Content-Length announced.
func TestReadBody(t *testing.T) {
	const body = "0123456789"
	for _, cl := range []int64{-1, 0, 4, 9, 10, 11, 64, 1 << 40} {
		got, err := readBody(iotest.OneByteReader(strings.NewReader(body)), cl, 1<<20)
		if err != nil || string(got) != body {
			t.Errorf("Content-Length %d: readBody = %q, %v; want %q", cl, got, err, body)
		}
	}
	wantErr := errors.New("broken")
	if _, err := readBody(iotest.DataErrReader(iotest.ErrReader(wantErr)), 10, 1<<20); !errors.Is(err, wantErr) {
		t.Errorf("readBody of a failing reader = %v; want %v", err, wantErr)
	}
}
