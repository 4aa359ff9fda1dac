package api

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/openfc/openfc/internal/codezip"
	"github.com/openfc/openfc/internal/fc"
)

// The counter finds the zipFile value however the JSON is written, and
// gives the size its base64 decodes to.
func TestZipFileCounter(t *testing.T) {
	zip := make([]byte, 1000)
	rand.Read(zip)
	b64 := base64.StdEncoding.EncodeToString(zip)
	escaped := strings.ReplaceAll(b64, "/", `\/`) // as PHP's json_encode writes it
	for _, tc := range []struct {
		name, body string
		size       int64
		complete   bool
		found      bool
	}{
		{"compact", `{"functionName":"f","code":{"zipFile":"` + b64 + `"}}`, 1000, true, true},
		{"spaced", "{\"code\" : { \"zipFile\" :\n \"" + b64 + "\" } }", 1000, true, true},
		{"escaped slashes", `{"code":{"zipFile":"` + escaped + `"}}`, 1000, true, true},
		{"line breaks", `{"code":{"zipFile":"` + b64[:400] + `\n` + b64[400:] + `"}}`, 1000, true, true},
		{"padding", `{"code":{"zipFile":"QQ=="}}`, 1, true, true},
		{"zipFile as a value first", `{"description":"zipFile","x":"\"zipFile\"","code":{"zipFile":"` + b64 + `"}}`, 1000, true, true},
		{"cut off", `{"code":{"zipFile":"` + b64[:800], 600, false, true},
		{"no zip", `{"description":"` + strings.Repeat("x", 5000) + `"}`, 0, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c zipFileCounter
			// Byte by byte: the key, the colon and the value may arrive in
			// separate writes.
			for i := 0; i < len(tc.body); i++ {
				c.Write([]byte{tc.body[i]})
			}
			size, complete := c.size()
			if size != tc.size || complete != tc.complete || c.found != tc.found {
				t.Errorf("size, complete, found = %d, %v, %v; want %d, %v, %v", size, complete, c.found, tc.size, tc.complete, tc.found)
			}
		})
	}
}

// A body over the cap that carries no code is EntityTooLarge, FC's code
// for a request too large; one that carries code names the zip's size and
// the code limit; the body is read on, so that the client, still sending,
// gets the answer.
func TestTooLargeBody(t *testing.T) {
	a := &API{lim: codezip.Limits{MaxZipBytes: 1 << 10, Knobs: codezip.Knobs{ZipBytes: "--max-code-size"}}.WithDefaults()}
	limit := a.maxBody()
	big := `{"description":"` + strings.Repeat("x", int(limit)) + `"}`
	err := a.decode(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(big)), &functionInput{})
	var fe *fc.Error
	if !errors.As(err, &fe) || fe.Code != fc.CodeEntityTooLarge || !strings.Contains(fe.Message, "payload size exceeds maximum allowed size") {
		t.Errorf("a large body without code: %v; want EntityTooLarge", err)
	}

	zip := make([]byte, 1<<20)
	rand.Read(zip)
	body := `{"functionName":"f","code":{"zipFile":"` + base64.StdEncoding.EncodeToString(zip) + `"}}`
	r := httptest.NewRequest(http.MethodPost, "/", iotest.HalfReader(strings.NewReader(body)))
	err = a.decode(r, &functionInput{})
	if !errors.As(err, &fe) || fe.Code != fc.CodeInvalidArgument || fe.Message != "code.zipFile is 1048576 bytes, over the limit of 1024 bytes; raise it with --max-code-size" {
		t.Errorf("a zip over the limit: %v", err)
	}
	if n, _ := r.Body.Read(make([]byte, 1)); n != 0 {
		t.Error("the body was not read to its end")
	}

	huge := bytes.Repeat([]byte("A"), int(3*limit))
	r = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"code":{"zipFile":"`+string(huge)+`"}}`))
	err = a.decode(r, &functionInput{})
	if !errors.As(err, &fe) || !strings.Contains(fe.Message, "code.zipFile is more than ") {
		t.Errorf("a zip beyond what is read: %v; want a lower bound", err)
	}
}
