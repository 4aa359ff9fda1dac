package store

import (
	"bytes"
	"testing"

	"github.com/openfc/openfc/internal/fc"
)

func TestAdminMark(t *testing.T) {
	s := newStore(t)
	ctx := testCtx(t)
	_, err := s.AdminMark(ctx)
	wantErr(t, "the mark of a new store", err, fc.ErrNotFound)
	m := &fc.AdminMark{AccessKeyID: "admin", Sealed: []byte("sealed")}
	wantErr(t, "create", s.CreateAdminMark(ctx, m), nil)
	wantErr(t, "create again", s.CreateAdminMark(ctx, &fc.AdminMark{AccessKeyID: "other"}), fc.ErrAlreadyExists)
	got := must[*fc.AdminMark](t, "read")(s.AdminMark(ctx))
	if got.AccessKeyID != "admin" || !bytes.Equal(got.Sealed, m.Sealed) {
		t.Fatalf("mark = %+v, want %+v", got, m)
	}
	// A deleted mark (an operator's reset) reads as none.
	if err := s.marks.kv.Delete(ctx, adminMarkKey); err != nil {
		t.Fatal(err)
	}
	_, err = s.AdminMark(ctx)
	wantErr(t, "the deleted mark", err, fc.ErrNotFound)
}
