package gateway

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"testing"
	"testing/iotest"

	"github.com/openfc/openfc/internal/fc"
)

// grpcStream is length-prefixed messages of the given sizes.
func grpcStream(sizes ...int) []byte {
	var b bytes.Buffer
	for _, n := range sizes {
		var prefix [5]byte
		binary.BigEndian.PutUint32(prefix[1:], uint32(n))
		b.Write(prefix[:])
		b.Write(bytes.Repeat([]byte{'m'}, n))
	}
	return b.Bytes()
}

// Messages up to the limit pass byte for byte, whatever the reads' sizes.
func TestGRPCMessagesPass(t *testing.T) {
	stream := grpcStream(0, 10, 100, 3, 100)
	for _, r := range []io.Reader{bytes.NewReader(stream), iotest.OneByteReader(bytes.NewReader(stream)), iotest.HalfReader(bytes.NewReader(stream))} {
		m := newGRPCMessages(r, 100, "client")
		got, err := io.ReadAll(m)
		if err != nil || !bytes.Equal(got, stream) || m.exceeded() != nil {
			t.Fatalf("read %d of %d bytes, %v, %v", len(got), len(stream), err, m.exceeded())
		}
	}
}

// A message over the limit ends the stream before its prefix: what came
// before it passes whole, nothing of it does, however the reads split
// the prefix.
func TestGRPCMessagesOverLimit(t *testing.T) {
	before := grpcStream(7, 100)
	stream := append(append([]byte{}, before...), grpcStream(101, 1)...)
	for _, name := range []string{"whole", "one byte", "half"} {
		var r io.Reader = bytes.NewReader(stream)
		switch name {
		case "one byte":
			r = iotest.OneByteReader(r)
		case "half":
			r = iotest.HalfReader(r)
		}
		m := newGRPCMessages(r, 100, "function")
		got, err := io.ReadAll(m)
		var fe *fc.Error
		if !errors.As(err, &fe) || fe.Code != fc.CodeEntityTooLarge || fe.Code.GRPC() != fc.GRPCResourceExhausted {
			t.Fatalf("%s: err %v; want EntityTooLarge", name, err)
		}
		if !bytes.Equal(got, before) {
			t.Fatalf("%s: passed %d bytes; want the %d before the large message", name, len(got), len(before))
		}
		if e := m.exceeded(); e == nil || e.Message != "a gRPC message of 101 bytes from the function is over the limit of 100 bytes" {
			t.Fatalf("%s: exceeded %v", name, e)
		}
	}
}

func TestIsGRPC(t *testing.T) {
	for _, tc := range []struct {
		major int
		ct    string
		want  bool
	}{
		{2, "application/grpc", true},
		{2, "application/grpc+proto", true},
		{2, "Application/GRPC; charset=utf-8", true},
		{2, "application/grpc-web", false},
		{2, "application/json", false},
		{2, "", false},
		{1, "application/grpc", false},
	} {
		r := &http.Request{ProtoMajor: tc.major, Header: http.Header{}}
		if tc.ct != "" {
			r.Header.Set("Content-Type", tc.ct)
		}
		if got := isGRPC(r); got != tc.want {
			t.Errorf("HTTP/%d %q: %v; want %v", tc.major, tc.ct, got, tc.want)
		}
	}
}

func TestGRPCPercentEncode(t *testing.T) {
	if got := grpcPercentEncode("a 100% é\n"); got != "a 100%25 %C3%A9%0A" {
		t.Errorf("got %q", got)
	}
}
