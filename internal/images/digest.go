package images

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
)

// digester hashes what is written to it into a "sha256:<hex>" digest.
type digester struct{ h hash.Hash }

func newDigester() *digester { return &digester{h: sha256.New()} }

func (d *digester) Write(p []byte) (int, error) { return d.h.Write(p) }

func (d *digester) digest() string { return "sha256:" + hex.EncodeToString(d.h.Sum(nil)) }

// verifyReader passes r through and, at its end, fails instead of
// returning io.EOF when what was read is not want (size bytes with digest
// want; size < 0: any size). A reader that ends in an error makes the
// object store drop what it had written, so a blob is never stored under
// a digest it does not have.
type verifyReader struct {
	r     io.Reader
	d     *digester
	want  string
	size  int64
	n     int64
	check func() error // run at the end, after the digest matched; may be nil
}

func (v *verifyReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.n += int64(n)
	_, _ = v.d.Write(p[:n])
	if err != io.EOF {
		return n, err
	}
	if v.size >= 0 && v.n != v.size {
		return n, invalidf("blob %s has %d bytes, not the %d its descriptor says", v.want, v.n, v.size)
	}
	if got := v.d.digest(); got != v.want {
		return n, invalidf("blob %s has digest %s", v.want, got)
	}
	if v.check != nil {
		if err := v.check(); err != nil {
			return n, err
		}
	}
	return n, io.EOF
}
