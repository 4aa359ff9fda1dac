package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
)

func keyRecord(id string) *fc.AccessKeyRecord {
	return &fc.AccessKeyRecord{AccessKeyID: id, Description: "d", Scope: fc.KeyScope{InvokeOnly: true},
		CreatedTime: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), SealedSecret: []byte{1, 2, 3}}
}

func TestAccessKeysCRUD(t *testing.T) {
	s := newStore(t)
	ctx := testCtx(t)
	rev, err := s.CreateAccessKey(ctx, keyRecord("LTAIb"))
	if err != nil || rev == 0 {
		t.Fatalf("create: %d, %v", rev, err)
	}
	if _, err := s.CreateAccessKey(ctx, keyRecord("LTAIb")); !errors.Is(err, fc.ErrAlreadyExists) {
		t.Errorf("second create: %v; want ErrAlreadyExists", err)
	}
	if _, err := s.CreateAccessKey(ctx, keyRecord("LTAI.bad")); fc.AsError(err).Code != fc.CodeInvalidArgument {
		t.Errorf("create with a dotted ID: %v; want InvalidArgument", err)
	}
	must[uint64](t, "create a")(s.CreateAccessKey(ctx, keyRecord("LTAIa")))
	got, grev, err := s.GetAccessKey(ctx, "LTAIb")
	if err != nil || grev != rev || got.Description != "d" || !got.Scope.InvokeOnly || string(got.SealedSecret) != "\x01\x02\x03" {
		t.Errorf("get = %+v, %d, %v", got, grev, err)
	}
	list, err := s.ListAccessKeys(ctx)
	if err != nil || len(list) != 2 || list[0].AccessKeyID != "LTAIa" || list[1].AccessKeyID != "LTAIb" {
		t.Errorf("list = %+v, %v", list, err)
	}
	drev, err := s.DeleteAccessKey(ctx, "LTAIb")
	if err != nil || drev != rev {
		t.Errorf("delete = %d, %v; want %d", drev, err, rev)
	}
	for what, err := range map[string]error{
		"get":    func() error { _, _, err := s.GetAccessKey(ctx, "LTAIb"); return err }(),
		"delete": func() error { _, err := s.DeleteAccessKey(ctx, "LTAIb"); return err }(),
		"get *":  func() error { _, _, err := s.GetAccessKey(ctx, "*"); return err }(),
	} {
		if !errors.Is(err, fc.ErrNotFound) {
			t.Errorf("%s after delete: %v; want ErrNotFound", what, err)
		}
	}
}

// keyChange is one delivery of WatchAccessKeys.
type keyChange struct {
	id   string
	rev  uint64
	live bool
}

func TestWatchAccessKeys(t *testing.T) {
	s := newStore(t)
	ctx := testCtx(t)
	must[uint64](t, "create a")(s.CreateAccessKey(ctx, keyRecord("LTAIa")))
	// A record that does not decode is delivered as deleted.
	if _, err := s.keys.Put(ctx, "LTAIbroken", []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		changes []keyChange
		loaded  = make(chan struct{})
	)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- s.WatchAccessKeys(wctx, func() { close(loaded) }, func(id string, rev uint64, k *fc.AccessKeyRecord) {
			mu.Lock()
			changes = append(changes, keyChange{id, rev, k != nil})
			mu.Unlock()
		})
	}()
	<-loaded
	snapshot := func() []keyChange {
		mu.Lock()
		defer mu.Unlock()
		return append([]keyChange(nil), changes...)
	}
	if got := snapshot(); len(got) != 2 || got[0].id != "LTAIa" || !got[0].live || got[1].id != "LTAIbroken" || got[1].live {
		t.Fatalf("loaded %+v; want LTAIa live, LTAIbroken as deleted", got)
	}
	rev := must[uint64](t, "create c")(s.CreateAccessKey(ctx, keyRecord("LTAIc")))
	if _, err := s.DeleteAccessKey(ctx, "LTAIc"); err != nil {
		t.Fatal(err)
	}
	// The bucket keeps one value per key, so a watch that falls behind
	// may see only the delete: the last change must be it.
	deleted := func(got []keyChange) bool {
		last := got[len(got)-1]
		return last.id == "LTAIc" && !last.live && last.rev > rev
	}
	deadline := time.Now().Add(time.Second)
	for !deleted(snapshot()) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	got := snapshot()
	if !deleted(got) || (len(got) == 4 && got[2] != (keyChange{"LTAIc", rev, true})) || len(got) > 4 {
		t.Errorf("changes %+v; want LTAIc (put at %d, unless overtaken) then deleted", got, rev)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("watch ended with %v; want nil when its ctx ends", err)
	}
}
