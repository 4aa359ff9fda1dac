package images

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// layerDirs lists the layer directories of the env's cache.
func (e *env) layerDirs(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(e.cache, "layers"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, en := range entries {
		out = append(out, en.Name())
	}
	return out
}

func (e *env) blobNames(t *testing.T) []string {
	t.Helper()
	objs, err := e.store.blobs.List(testCtx(t))
	if err != nil {
		return nil
	}
	var out []string
	for _, o := range objs {
		out = append(out, o.Name)
	}
	slices.Sort(out)
	return out
}

func TestCollect(t *testing.T) {
	ctx := testCtx(t)
	e := newEnv(t)
	rs := newRegistry(t)
	shared := layer(t, file{name: "shared", body: "s"})
	used := rs.push(t, "used:1", image(t, shared, layer(t, file{name: "u", body: "u"})))
	unused := rs.push(t, "unused:1", image(t, shared, layer(t, file{name: "x", body: "x"})))
	imported := image(t, layer(t, file{name: "i", body: "i"}))
	if _, err := e.store.Import(ctx, bytes.NewReader(saveTarball(t, "example.com/imported:1", imported)), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{used, unused} {
		_, release, err := e.store.Get(ctx, ref, nil)
		if err != nil {
			t.Fatal(err)
		}
		release()
	}
	// Held by a running instance: its layers stay whatever happens.
	heldImg, releaseHeld, err := e.store.Get(ctx, unused, nil)
	if err != nil {
		t.Fatal(err)
	}
	inUse := func() []string { return []string{used} }
	collect := func() CollectResult {
		t.Helper()
		res, err := e.store.Collect(ctx, inUse)
		if err != nil {
			t.Fatalf("Collect: %v", err)
		}
		return res
	}
	blobsBefore := e.blobNames(t)

	// First pass: the unused image is seen unused; nothing goes yet.
	if res := collect(); res != (CollectResult{}) {
		t.Errorf("first pass removed %+v", res)
	}
	// The grace period later: the unused pulled image goes, but its
	// layers are held.
	e.clock.add(DefaultGrace + time.Second)
	if res := collect(); res.Images != 1 || res.Layers != 0 {
		t.Errorf("second pass: %+v, want the unused image only", res)
	}
	refs, want := listRefs(t, e), []string{"example.com/imported:1", used}
	slices.Sort(want)
	if !slices.Equal(refs, want) {
		t.Errorf("refs = %v", refs)
	}
	for _, d := range heldImg.Layers {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("a held layer was removed: %v", err)
		}
	}
	// Released: its own layer goes (the shared one is the used image's).
	releaseHeld()
	if res := collect(); res.Layers != 1 {
		t.Errorf("after release: %+v, want 1 layer", res)
	}
	if _, err := os.Stat(heldImg.Layers[0]); err != nil {
		t.Errorf("the shared layer went: %v", err)
	}
	// Its blobs (manifest, config, top layer) go once unreferenced for
	// the grace period.
	e.clock.add(DefaultGrace + time.Second)
	if res := collect(); res.Blobs != 3 {
		t.Errorf("third pass: %+v, want 3 blobs", res)
	}
	if got := e.blobNames(t); len(got) != len(blobsBefore)-3 {
		t.Errorf("blobs %d → %d", len(blobsBefore), len(got))
	}
	// The used and the imported images are whole.
	for _, ref := range []string{used, "example.com/imported:1"} {
		img, release, err := e.store.Get(ctx, ref, nil)
		if err != nil {
			t.Errorf("Get %s after collection: %v", ref, err)
			continue
		}
		release()
		if len(img.Layers) == 0 {
			t.Errorf("%s has no layers", ref)
		}
	}
}

func TestCollectWithoutReferencesKeepsImages(t *testing.T) {
	ctx := testCtx(t)
	e := newEnv(t)
	rs := newRegistry(t)
	ref := rs.push(t, "p:1", image(t, layer(t, file{name: "p", body: "p"})))
	_, release, err := e.store.Get(ctx, ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	release()
	// An orphan blob (an interrupted import's).
	if err := e.store.putSmall(ctx, []byte(`{"orphan":true}`)); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		res, err := e.store.Collect(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Images != 0 || res.Layers != 0 {
			t.Errorf("Collect(nil) removed %+v", res)
		}
		e.clock.add(DefaultGrace + time.Second)
	}
	if got := listRefs(t, e); !slices.Equal(got, []string{ref}) {
		t.Errorf("refs = %v", got)
	}
	if names := e.blobNames(t); slices.Contains(names, digestBytes([]byte(`{"orphan":true}`))) {
		t.Error("the orphan blob is still stored")
	}
}

// An import that reuses a blob the collector found unreferenced keeps it.
func TestCollectSparesBlobsBeingWritten(t *testing.T) {
	ctx := testCtx(t)
	e := newEnv(t)
	b := []byte(`{"config":1}`)
	if err := e.store.putSmall(ctx, b); err != nil {
		t.Fatal(err)
	}
	release := e.store.holdWriting([]string{digestBytes(b)})
	for range 3 {
		if res, err := e.store.Collect(ctx, func() []string { return nil }); err != nil || res.Blobs != 0 {
			t.Fatalf("Collect = %+v, %v", res, err)
		}
		e.clock.add(DefaultGrace + time.Second)
	}
	release()
	if res, err := e.store.Collect(ctx, func() []string { return nil }); err != nil || res.Blobs != 1 {
		t.Errorf("after release: %+v, %v", res, err)
	}
}

func TestRemove(t *testing.T) {
	ctx := testCtx(t)
	e := newEnv(t)
	tb := saveTarball(t, "example.com/r:1", image(t, layer(t, file{name: "r", body: "r"})))
	recs, err := e.store.Import(ctx, bytes.NewReader(tb), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Import(ctx, bytes.NewReader(tb), ImportOptions{Ref: "example.com/r:2"}); err != nil {
		t.Fatal(err)
	}
	if got, err := e.store.Remove(ctx, "example.com/r:1"); err != nil || len(got) != 1 {
		t.Fatalf("Remove by ref = %+v, %v", got, err)
	}
	if got := listRefs(t, e); !slices.Equal(got, []string{"example.com/r:2"}) {
		t.Errorf("refs = %v", got)
	}
	if got, err := e.store.Remove(ctx, recs[0].Digest); err != nil || len(got) != 1 || got[0].Ref != "example.com/r:2" {
		t.Fatalf("Remove by digest = %+v, %v", got, err)
	}
	if _, err := e.store.Remove(ctx, "example.com/r:1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Remove of a missing image: %v", err)
	}
}

func listRefs(t *testing.T, e *env) []string {
	t.Helper()
	recs, err := e.store.List(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, r.Ref)
	}
	return out
}

// The chunks of a put a killed server never finished go after the grace
// period; a stored blob's stay.
func TestCollectPurgesOrphanChunks(t *testing.T) {
	ctx := testCtx(t)
	e := newEnv(t)
	tb := saveTarball(t, "example.com/kept:1", image(t, layer(t, file{name: "k", body: "k"})))
	if _, err := e.store.Import(ctx, bytes.NewReader(tb), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	orphan := "$O." + bucket + ".C.ORPHANNUID0000000000"
	if _, err := e.nats.JS.Publish(ctx, orphan, []byte("half a layer")); err != nil {
		t.Fatal(err)
	}
	chunks := func() map[string]uint64 {
		info, err := e.store.blobStream.Info(ctx, jetstream.WithSubjectFilter("$O."+bucket+".C.>"))
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Subjects
	}
	stored := len(chunks()) - 1
	inUse := func() []string { return nil }
	for i := range 2 {
		if _, err := e.store.Collect(ctx, inUse); err != nil {
			t.Fatal(err)
		}
		if _, ok := chunks()[orphan]; !ok {
			t.Fatalf("pass %d purged the orphan within the grace period", i)
		}
		e.clock.add(DefaultGrace / 2)
	}
	e.clock.add(time.Second)
	if _, err := e.store.Collect(ctx, inUse); err != nil {
		t.Fatal(err)
	}
	left := chunks()
	if _, ok := left[orphan]; ok || len(left) != stored {
		t.Errorf("chunks after the grace period: %v; want the %d stored blobs' only", left, stored)
	}
}
