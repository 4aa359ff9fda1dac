package store

import (
	"bytes"
	"crypto/rand"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/natsx"
)

// diskBytes adds up the sizes of the files under dir.
func diskBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			n += fi.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Deleted zips give their disk space back: nothing of them, not even a
// delete marker, pins the blocks of the object store's stream.
func TestDeleteCodeFreesDisk(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	s := openStore(t, startNATS(t, natsx.Options{DataDir: dir}))
	before := diskBytes(t, dir)
	var sums []string
	for i := range 12 {
		zip := make([]byte, 1<<20)
		rand.Read(zip)
		sum := string(rune('a' + i))
		sums = append(sums, sum)
		wantErr(t, "put", s.PutCode(ctx, sum, bytes.NewReader(zip)), nil)
	}
	if grown := diskBytes(t, dir) - before; grown < 12<<20 {
		t.Fatalf("the store grew by %d bytes for 12 MiB of zips; the check measures nothing", grown)
	}
	for _, sum := range sums {
		wantErr(t, "delete", s.DeleteCode(ctx, sum), nil)
	}
	if left := diskBytes(t, dir) - before; left > 256<<10 {
		t.Errorf("12 MiB of zips stored and deleted left %d bytes on disk; want about none", left)
	}
	info, err := s.codeStream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 0 {
		t.Errorf("the code stream still holds %d messages after every zip was deleted", info.State.Msgs)
	}
}

// The marker purge stops at the delete: a zip stored again under the same
// checksum right after survives, and a zip is listed with when it was
// stored.
func TestListCodeAndStoreAgain(t *testing.T) {
	ctx := testCtx(t)
	s := newStore(t)
	if got, err := s.ListCode(ctx); err != nil || len(got) != 0 {
		t.Fatalf("ListCode of an empty store = %v, %v", got, err)
	}
	t0 := time.Now().Add(-time.Second)
	wantErr(t, "put", s.PutCode(ctx, "1", strings.NewReader("one")), nil)
	wantErr(t, "put", s.PutCode(ctx, "2", strings.NewReader("two!")), nil)
	wantErr(t, "delete", s.DeleteCode(ctx, "1"), nil)
	wantErr(t, "put again", s.PutCode(ctx, "1", strings.NewReader("uno")), nil)
	if got := readAll(t, s, "1"); string(got) != "uno" {
		t.Fatalf("code stored again after a delete = %q", got)
	}
	got, err := s.ListCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b CodeInfo) int { return strings.Compare(a.Checksum, b.Checksum) })
	if len(got) != 2 || got[0].Checksum != "1" || got[0].Size != 3 || got[1].Checksum != "2" || got[1].Size != 4 {
		t.Fatalf("ListCode = %+v; want 1 (3 bytes) and 2 (4 bytes)", got)
	}
	for _, c := range got {
		if c.ModTime.Before(t0) || c.ModTime.After(time.Now().Add(time.Second)) {
			t.Errorf("code %s: ModTime %v is not when it was stored", c.Checksum, c.ModTime)
		}
	}
}

// FunctionCodeChecksums reads every function's code checksum from the
// store, across services.
func TestFunctionCodeChecksums(t *testing.T) {
	ctx := testCtx(t)
	s := newStore(t)
	if got, err := s.FunctionCodeChecksums(ctx); err != nil || len(got) != 0 {
		t.Fatalf("FunctionCodeChecksums of an empty store = %v, %v", got, err)
	}
	for _, name := range []string{"a", "b"} {
		must[uint64](t, "service")(s.CreateService(ctx, svc(name)))
	}
	for _, f := range []struct{ svc, name, sum string }{{"a", "f", "11"}, {"a", "g", "22"}, {"b", "f", "11"}} {
		fn := fn(f.name)
		fn.CodeChecksum = f.sum
		must[uint64](t, "function")(s.CreateFunction(ctx, f.svc, fn))
	}
	wantErr(t, "delete", s.DeleteFunction(ctx, "a", "g", 0), nil)
	got, err := s.FunctionCodeChecksums(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"11", "11"}) {
		t.Errorf("FunctionCodeChecksums = %v; want [11 11]", got)
	}
}
