package wsrelay

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestReadHeader(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want header
		n    int
		err  error
	}{
		{"text, 7-bit length", []byte{0x81, 5}, header{fin: true, opcode: opText, length: 5}, 2, nil},
		{"RSV1 kept", []byte{0xC1, 0}, header{fin: true, rsv: 0x40, opcode: opText}, 2, nil},
		{"16-bit length, masked", []byte{0x02, 0xfe, 0x01, 0x00, 1, 2, 3, 4},
			header{opcode: opBinary, masked: true, key: [4]byte{1, 2, 3, 4}, length: 256}, 8, nil},
		{"64-bit length", []byte{0x80, 127, 0, 0, 0, 0, 0, 1, 0, 0},
			header{fin: true, opcode: opContinuation, length: 65536}, 10, nil},
		{"64-bit length with the top bit", []byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0}, header{}, 0, errProtocol},
		{"nothing", nil, header{}, 0, io.EOF},
		{"cut in the first 2 bytes", []byte{0x81}, header{}, 0, io.ErrUnexpectedEOF},
		{"cut in the length", []byte{0x81, 126, 1}, header{}, 0, io.ErrUnexpectedEOF},
		{"cut in the key", []byte{0x81, 0x85, 1, 2}, header{}, 0, io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var raw [maxHeaderLen]byte
			h, n, err := readHeader(bytes.NewReader(tc.in), &raw)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if h != tc.want || n != tc.n {
				t.Fatalf("got %+v (%d bytes), want %+v (%d bytes)", h, n, tc.want, tc.n)
			}
			if err == nil && !bytes.Equal(raw[:n], tc.in[:n]) {
				t.Fatalf("raw %x, want %x", raw[:n], tc.in[:n])
			}
		})
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name       string
		h          header
		fromClient bool
		inMessage  bool
		ok         bool
	}{
		{"masked text from the client", header{fin: true, opcode: opText, masked: true}, true, false, true},
		{"unmasked from the client", header{fin: true, opcode: opText}, true, false, false},
		{"masked from the instance", header{fin: true, opcode: opText, masked: true}, false, false, false},
		{"continuation in a message", header{opcode: opContinuation}, false, true, true},
		{"continuation outside", header{opcode: opContinuation}, false, false, false},
		{"binary inside a message", header{opcode: opBinary}, false, true, false},
		{"ping inside a message", header{fin: true, opcode: opPing, length: 125}, false, true, true},
		{"ping of 126", header{fin: true, opcode: opPing, length: 126}, false, false, false},
		{"fragmented pong", header{opcode: opPong}, false, false, false},
		{"reserved data opcode", header{fin: true, opcode: 0x3}, false, false, false},
		{"reserved control opcode", header{fin: true, opcode: 0xB}, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.h.check(tc.fromClient, tc.inMessage)
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, errProtocol)) {
				t.Fatalf("check: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestCloseFrame(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes: cut between characters
	for _, masked := range []bool{false, true} {
		b := closeFrame(1009, long, masked)
		var raw [maxHeaderLen]byte
		r := bytes.NewReader(b)
		h, _, err := readHeader(r, &raw)
		if err != nil {
			t.Fatal(err)
		}
		if h.masked != masked || h.opcode != opClose || !h.fin || h.length > maxControlPayload {
			t.Fatalf("header %+v", h)
		}
		payload, _ := io.ReadAll(r)
		code, reason, err := parseClose(h, payload)
		if err != nil || code != 1009 || !utf8.ValidString(reason) || len(reason) != 122 || !strings.HasPrefix(long, reason) {
			t.Fatalf("close %d %q (%d bytes), %v", code, reason, len(reason), err)
		}
	}
	if a, b := closeFrame(1000, "", true), closeFrame(1000, "", true); bytes.Equal(a[2:6], b[2:6]) {
		t.Fatal("two close frames to the instance share a masking key")
	}
}

// FuzzFrameHeader feeds the header parser arbitrary bytes: it never
// panics, never claims more than it read, and what it parses encodes back
// to a header that parses the same.
func FuzzFrameHeader(f *testing.F) {
	f.Add([]byte{0x81, 0x85, 1, 2, 3, 4, 'h', 'e', 'l', 'l', 'o'}, true, false)
	f.Add([]byte{0x88, 0x02, 0x03, 0xe8}, false, false)
	f.Add([]byte{0x82, 127, 0xff, 0, 0, 0, 0, 0, 0, 0}, false, true)
	f.Add([]byte{0x00, 126, 0xff, 0xff}, false, true)
	f.Add([]byte{0x88, 0x81, 9, 9, 9, 9, 1}, true, false)
	f.Fuzz(func(t *testing.T, in []byte, fromClient, inMessage bool) {
		var raw [maxHeaderLen]byte
		r := bytes.NewReader(in)
		h, n, err := readHeader(r, &raw)
		if err != nil {
			return
		}
		if n < 2 || n > maxHeaderLen || n != len(in)-r.Len() || !bytes.Equal(raw[:n], in[:n]) {
			t.Fatalf("parsed %d bytes, read %d", n, len(in)-r.Len())
		}
		if h.length < 0 {
			t.Fatalf("negative length %d", h.length)
		}
		if h.check(fromClient, inMessage) == nil && h.opcode == opClose {
			payload := in[n:]
			if int64(len(payload)) > h.length {
				payload = payload[:h.length]
			}
			_, _, _ = parseClose(h, payload)
		}
		var again [maxHeaderLen]byte
		h2, _, err := readHeader(bytes.NewReader(appendHeader(nil, h)), &again)
		if err != nil || h2 != h {
			t.Fatalf("re-encoded %+v parses as %+v, %v", h, h2, err)
		}
	})
}
