package console

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"io/fs"
	"strings"
	"testing"
)

// zipFile is one entry of the zips the JS reader and writer exchange
// with archive/zip.
type zipFile struct {
	Name string `json:"name"`
	Data string `json:"data"` // base64
	Mode uint32 `json:"mode"`
}

// goZip writes files with archive/zip, each with the method given.
func goZip(t *testing.T, files []zipFile, methods []uint16) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	if _, err := zw.Create("dir/"); err != nil { // a directory entry: left out
		t.Fatal(err)
	}
	for i, f := range files {
		h := &zip.FileHeader{Name: f.Name, Method: methods[i%len(methods)]}
		h.SetMode(fs.FileMode(f.Mode & 0o777))
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := base64.StdEncoding.DecodeString(f.Data)
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func testFiles() []zipFile {
	enc := base64.StdEncoding.EncodeToString
	return []zipFile{
		{Name: "index.js", Data: enc([]byte("exports.handler = (req, resp) => resp.send('hi');\n")), Mode: 0o644},
		{Name: "bootstrap", Data: enc([]byte("#!/bin/sh\nexec node index.js\n")), Mode: 0o755},
		{Name: "dir/ünï.txt", Data: enc([]byte(strings.Repeat("compressible text ", 5000))), Mode: 0o644},
		{Name: "logo.png", Data: enc(append([]byte("\x89PNG\r\n\x1a\n\x00\x00"), bytes.Repeat([]byte{0, 255, 7}, 3000)...)), Mode: 0o644},
		{Name: "empty", Data: "", Mode: 0o644},
	}
}

// TestJSUnzip reads zips archive/zip wrote, stored and deflated, with
// the browser's reader: names, contents and modes; a corrupt one fails.
func TestJSUnzip(t *testing.T) {
	files := testFiles()
	for _, methods := range [][]uint16{{zip.Store}, {zip.Deflate}, {zip.Deflate, zip.Store}} {
		z := goZip(t, files, methods)
		corrupt := bytes.Clone(z)
		// Flip a byte of index.js's data: a stored entry fails its CRC, a
		// deflated one its CRC or its inflation.
		at := bytes.Index(corrupt, []byte("index.js")) + len("index.js") + 2
		corrupt[at] ^= 0xff
		var out struct {
			Files   []zipFile `json:"files"`
			Corrupt string    `json:"corrupt"`
			NotZip  string    `json:"notZip"`
		}
		runJS(t, jsPrelude+`
const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const files = (await unzip.readZip(b64(input.zip))).map((f) => ({ name: f.name, data: zip.base64(f.data), mode: f.mode }));
const fails = async (bytes) => { try { await unzip.readZip(bytes); return ''; } catch (e) { return String(e.message || e); } };
process.stdout.write(JSON.stringify({ files, corrupt: await fails(b64(input.corrupt)), notZip: await fails(new TextEncoder().encode('hello')) }));
`, map[string]string{"zip": base64.StdEncoding.EncodeToString(z), "corrupt": base64.StdEncoding.EncodeToString(corrupt)}, &out)
		if len(out.Files) != len(files) {
			t.Fatalf("methods %v: %d files %v; want %d (no directory entry)", methods, len(out.Files), out.Files, len(files))
		}
		for i, f := range files {
			got := out.Files[i]
			if got.Name != f.Name || got.Data != f.Data || got.Mode != 0o100000|f.Mode {
				t.Errorf("methods %v: file %d = %s (%d base64 chars, mode %o); want %s (%d, mode %o)", methods, i, got.Name, len(got.Data), got.Mode, f.Name, len(f.Data), 0o100000|f.Mode)
			}
		}
		if out.Corrupt == "" {
			t.Errorf("methods %v: a corrupt zip was read", methods)
		}
		if !strings.Contains(out.NotZip, "not a zip") {
			t.Errorf("reading a text file: %q; want 'not a zip'", out.NotZip)
		}
	}
}

// TestJSZipRoundTrip writes with the JS writer (deflating where it
// pays, keeping modes) and reads with archive/zip, then with the JS
// reader.
func TestJSZipRoundTrip(t *testing.T) {
	files := testFiles()
	var out struct {
		Zip   string    `json:"zip"`
		Again []zipFile `json:"again"`
	}
	runJS(t, jsPrelude+`
const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const entries = await Promise.all(input.map((f) => zip.deflateEntry({ name: f.name, data: b64(f.data), mode: f.mode })));
const z = zip.makeZip(entries);
const again = (await unzip.readZip(z)).map((f) => ({ name: f.name, data: zip.base64(f.data), mode: f.mode }));
process.stdout.write(JSON.stringify({ zip: zip.base64(z), again }));
`, files, &out)
	b, err := base64.StdEncoding.DecodeString(out.Zip)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("archive/zip cannot read the JS zip: %v", err)
	}
	if len(zr.File) != len(files) || len(out.Again) != len(files) {
		t.Fatalf("%d entries, %d read back; want %d", len(zr.File), len(out.Again), len(files))
	}
	deflated := 0
	for i, f := range zr.File {
		data := zipEntry(t, f)
		if f.Method == zip.Deflate {
			deflated++
		}
		want := files[i]
		if f.Name != want.Name || base64.StdEncoding.EncodeToString(data) != want.Data || uint32(f.Mode().Perm()) != want.Mode {
			t.Errorf("entry %d: %s mode %v (%d bytes); want %s mode %o", i, f.Name, f.Mode(), len(data), want.Name, want.Mode)
		}
		if a := out.Again[i]; a.Name != want.Name || a.Data != want.Data {
			t.Errorf("JS read back entry %d as %s", i, a.Name)
		}
	}
	if deflated == 0 {
		t.Errorf("no entry was deflated; the compressible text should be")
	}
}
