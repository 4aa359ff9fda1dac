package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/pkg/fcsign"
)

var testAdmin = fcsign.Credentials{AccessKeyID: "LTAIadminkey00000001", AccessKeySecret: "admin-secret-0123456789abcdefgh"}

func TestSealRoundTrip(t *testing.T) {
	s, err := newSealer(testAdmin.AccessKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.seal("LTAIkey1", "the-secret")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("the-secret")) {
		t.Fatalf("the sealed secret holds the secret in the clear: %q", sealed)
	}
	again, _ := s.seal("LTAIkey1", "the-secret")
	if bytes.Equal(sealed, again) {
		t.Error("two seals of one secret are equal: the nonce is not random")
	}
	if got, err := s.open("LTAIkey1", sealed); err != nil || got != "the-secret" {
		t.Fatalf("open = %q, %v; want the-secret", got, err)
	}
	other, _ := newSealer("another-admin-secret")
	flipped := slices.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	for name, open := range map[string]func() (string, error){
		"another key ID (additional data)": func() (string, error) { return s.open("LTAIkey2", sealed) },
		"another admin secret":             func() (string, error) { return other.open("LTAIkey1", sealed) },
		"a flipped bit":                    func() (string, error) { return s.open("LTAIkey1", flipped) },
		"truncated":                        func() (string, error) { return s.open("LTAIkey1", sealed[:10]) },
		"empty":                            func() (string, error) { return s.open("LTAIkey1", nil) },
	} {
		if got, err := open(); !errors.Is(err, errUnseal) || got != "" {
			t.Errorf("%s: open = %q, %v; want errUnseal", name, got, err)
		}
	}
	if _, err := newSealer(""); err == nil {
		t.Error("newSealer with an empty admin secret succeeded")
	}
}

// fakeKeyStore is a KeyStore in memory whose watch delivers every change.
type fakeKeyStore struct {
	mu      sync.Mutex
	rev     uint64
	recs    map[string]*fc.AccessKeyRecord
	revs    map[string]uint64
	watches []chan keyEvent
	// failWatch ends the current watches with an error.
	failWatch chan struct{}
}

type keyEvent struct {
	id  string
	rev uint64
	rec *fc.AccessKeyRecord
}

func newFakeKeyStore() *fakeKeyStore {
	return &fakeKeyStore{recs: map[string]*fc.AccessKeyRecord{}, revs: map[string]uint64{}, failWatch: make(chan struct{})}
}

func (f *fakeKeyStore) put(r *fc.AccessKeyRecord) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rev++
	f.recs[r.AccessKeyID], f.revs[r.AccessKeyID] = r, f.rev
	f.notify(keyEvent{r.AccessKeyID, f.rev, r})
	return f.rev
}

func (f *fakeKeyStore) notify(e keyEvent) {
	for _, w := range f.watches {
		w <- e
	}
}

func (f *fakeKeyStore) CreateAccessKey(_ context.Context, r *fc.AccessKeyRecord) (uint64, error) {
	f.mu.Lock()
	_, taken := f.recs[r.AccessKeyID]
	f.mu.Unlock()
	if taken {
		return 0, fc.ErrAlreadyExists
	}
	return f.put(r), nil
}

func (f *fakeKeyStore) GetAccessKey(_ context.Context, id string) (*fc.AccessKeyRecord, uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.recs[id]
	if !ok {
		return nil, 0, fmt.Errorf("key %s: %w", id, fc.ErrNotFound)
	}
	return r, f.revs[id], nil
}

func (f *fakeKeyStore) ListAccessKeys(context.Context) ([]*fc.AccessKeyRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*fc.AccessKeyRecord
	for _, r := range f.recs {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *fc.AccessKeyRecord) int { return strings.Compare(a.AccessKeyID, b.AccessKeyID) })
	return out, nil
}

func (f *fakeKeyStore) DeleteAccessKey(_ context.Context, id string) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.recs[id]; !ok {
		return 0, fmt.Errorf("key %s: %w", id, fc.ErrNotFound)
	}
	rev := f.revs[id]
	delete(f.recs, id)
	delete(f.revs, id)
	f.rev++
	f.notify(keyEvent{id, f.rev, nil})
	return rev, nil
}

func (f *fakeKeyStore) WatchAccessKeys(ctx context.Context, loaded func(), changed func(string, uint64, *fc.AccessKeyRecord)) error {
	f.mu.Lock()
	ch := make(chan keyEvent, 100)
	f.watches = append(f.watches, ch)
	var snap []keyEvent
	for id, r := range f.recs {
		snap = append(snap, keyEvent{id, f.revs[id], r})
	}
	fail := f.failWatch
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.watches = slices.DeleteFunc(f.watches, func(c chan keyEvent) bool { return c == ch })
		f.mu.Unlock()
	}()
	for _, e := range snap {
		changed(e.id, e.rev, e.rec)
	}
	loaded()
	for {
		select {
		case e := <-ch:
			changed(e.id, e.rev, e.rec)
		case <-fail:
			return errors.New("watch broke")
		case <-ctx.Done():
			return nil
		}
	}
}

// breakWatch fails the current watches, which Keys then watches again.
func (f *fakeKeyStore) breakWatch() {
	f.mu.Lock()
	close(f.failWatch)
	f.failWatch = make(chan struct{})
	f.mu.Unlock()
}

// sealedRecord is a record sealed under admin.
func sealedRecord(t *testing.T, admin, id, secret string, scope fc.KeyScope) *fc.AccessKeyRecord {
	t.Helper()
	s, err := newSealer(admin)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.seal(id, secret)
	if err != nil {
		t.Fatal(err)
	}
	return &fc.AccessKeyRecord{AccessKeyID: id, Scope: scope, SealedSecret: sealed}
}

func startTestKeys(t *testing.T, st *fakeKeyStore, log *slog.Logger) *Keys {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	k, err := StartKeys(ctx, KeysOptions{Admin: testAdmin, Store: st, Logger: log, WatchRetry: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	return k
}

// eventually polls cond for up to a second: the bound the issue sets on a
// change reaching every node.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a second", what)
		}
	}
}

func TestKeysCache(t *testing.T) {
	st := newFakeKeyStore()
	scope := fc.KeyScope{InvokeOnly: true}
	st.put(sealedRecord(t, testAdmin.AccessKeySecret, "LTAIstored", "stored-secret", scope))
	var logs bytes.Buffer
	k := startTestKeys(t, st, slog.New(slog.NewTextHandler(&logs, nil)))

	if got, ok := k.Lookup(testAdmin.AccessKeyID); !ok || !got.Principal.Admin || got.Secret != testAdmin.AccessKeySecret {
		t.Errorf("admin Lookup = %+v, %v", got, ok)
	}
	got, ok := k.Lookup("LTAIstored")
	if !ok || got.Secret != "stored-secret" || got.Principal.Admin || !got.Principal.Scope.InvokeOnly || got.Principal.KeyID != "LTAIstored" {
		t.Fatalf("loaded key: Lookup = %+v, %v", got, ok)
	}
	if _, ok := k.Lookup("LTAIunknown"); ok {
		t.Error("unknown key found")
	}

	// A key written by another node arrives through the watch; a delete
	// made elsewhere stops it.
	st.put(sealedRecord(t, testAdmin.AccessKeySecret, "LTAIother", "other-secret", fc.KeyScope{}))
	eventually(t, "a key stored elsewhere", func() bool { _, ok := k.Lookup("LTAIother"); return ok })
	if _, err := st.DeleteAccessKey(context.Background(), "LTAIother"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a key deleted elsewhere", func() bool { _, ok := k.Lookup("LTAIother"); return !ok })

	// A record sealed under another admin key is skipped with one warning
	// naming it; the others keep working.
	bad := sealedRecord(t, "a-previous-admin-secret", "LTAIsealedelsewhere", "bad-secret", fc.KeyScope{})
	st.put(bad)
	st.put(bad) // delivered twice, warned once
	st.put(sealedRecord(t, testAdmin.AccessKeySecret, "LTAIafter", "after-secret", fc.KeyScope{}))
	eventually(t, "the key after the bad one", func() bool { _, ok := k.Lookup("LTAIafter"); return ok })
	if _, ok := k.Lookup("LTAIsealedelsewhere"); ok {
		t.Error("a key sealed under another admin key works")
	}
	if n := strings.Count(logs.String(), "key_id=LTAIsealedelsewhere"); n != 1 {
		t.Errorf("warnings naming the unsealable key: %d; want 1\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "bad-secret") || strings.Contains(logs.String(), "stored-secret") {
		t.Errorf("a secret is in the log:\n%s", logs.String())
	}
}

// Keys created and deleted through this node work, and stop, when the
// call returns, before the watch delivers them; the watch's late news
// never brings a deleted key back.
func TestKeysLocalWrites(t *testing.T) {
	st := newFakeKeyStore()
	k := startTestKeys(t, st, nil)
	ctx := context.Background()
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	spec := fc.AccessKey{Description: "ci", Scope: fc.KeyScope{Resources: []fc.KeyResource{{Service: "s"}}}, ExpiresTime: exp}
	created, err := k.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(created.AccessKeyID, "LTAI") || len(created.AccessKeyID) != 24 || len(created.AccessKeySecret) != 30 {
		t.Errorf("created key %q / secret of %d characters; want LTAI+20 and 30", created.AccessKeyID, len(created.AccessKeySecret))
	}
	if created.Description != "ci" || !created.ExpiresTime.Equal(exp) || created.CreatedTime.IsZero() || len(created.Scope.Resources) != 1 {
		t.Errorf("created = %+v", created)
	}
	got, ok := k.Lookup(created.AccessKeyID)
	if !ok || got.Secret != created.AccessKeySecret || !got.Expires.Equal(exp) {
		t.Fatalf("Lookup after Create = %+v, %v", got, ok)
	}
	r, _, _ := st.GetAccessKey(ctx, created.AccessKeyID)
	if bytes.Contains(r.SealedSecret, []byte(created.AccessKeySecret)) || r.SealedSecret == nil {
		t.Errorf("stored record holds the secret unsealed: %+v", r)
	}
	list, err := k.List(ctx)
	if err != nil || len(list) != 1 || list[0].AccessKeySecret != "" || list[0].AccessKeyID != created.AccessKeyID {
		t.Errorf("List = %+v, %v", list, err)
	}
	if g, err := k.Get(ctx, created.AccessKeyID); err != nil || g.AccessKeySecret != "" || g.Description != "ci" {
		t.Errorf("Get = %+v, %v", g, err)
	}
	if err := k.Delete(ctx, created.AccessKeyID); err != nil {
		t.Fatal(err)
	}
	if _, ok := k.Lookup(created.AccessKeyID); ok {
		t.Error("key works after Delete returned")
	}
	for what, err := range map[string]error{
		"Get":    func() error { _, err := k.Get(ctx, created.AccessKeyID); return err }(),
		"Delete": k.Delete(ctx, created.AccessKeyID),
	} {
		if fc.AsError(err).Code != fc.CodeAccessKeyNotFound {
			t.Errorf("%s of a deleted key: %v; want AccessKeyNotFound", what, err)
		}
	}
	if err := k.Delete(ctx, testAdmin.AccessKeyID); fc.AsError(err).Code != fc.CodeInvalidArgument {
		t.Errorf("Delete of the admin key: %v; want InvalidArgument", err)
	}
	if _, ok := k.Lookup(testAdmin.AccessKeyID); !ok {
		t.Error("admin key gone")
	}
}

// The watch's order of news against local writes, driven by hand.
func TestKeysRevisions(t *testing.T) {
	k := startTestKeys(t, newFakeKeyStore(), nil)
	key := Key{Secret: "s"}
	k.changed("LTAIa", 5, sealedRecord(t, testAdmin.AccessKeySecret, "LTAIa", "s", fc.KeyScope{}))
	k.localDelete("LTAIa", 5)
	k.changed("LTAIa", 5, sealedRecord(t, testAdmin.AccessKeySecret, "LTAIa", "s", fc.KeyScope{})) // a late echo
	if _, ok := k.Lookup("LTAIa"); ok {
		t.Error("a late echo of the record brought a deleted key back")
	}
	k.changed("LTAIa", 6, nil)
	k.localPut("LTAIb", 9, key) // ahead of the watch
	if _, ok := k.Lookup("LTAIb"); !ok {
		t.Error("local create not visible")
	}
	k.changed("LTAIb", 10, nil) // deleted elsewhere after
	k.localPut("LTAIb", 9, key) // a stale local put
	if _, ok := k.Lookup("LTAIb"); ok {
		t.Error("a stale local put brought a deleted key back")
	}
}

// After the watch fails, Keys watches again and catches up, deletes made
// meanwhile included.
func TestKeysRewatch(t *testing.T) {
	st := newFakeKeyStore()
	st.put(sealedRecord(t, testAdmin.AccessKeySecret, "LTAIa", "a", fc.KeyScope{}))
	k := startTestKeys(t, st, nil)
	if _, ok := k.Lookup("LTAIa"); !ok {
		t.Fatal("LTAIa not loaded")
	}
	// Delete while no watch listens: remove the record without news.
	st.mu.Lock()
	delete(st.recs, "LTAIa")
	st.rev++
	st.mu.Unlock()
	st.breakWatch()
	st.put(sealedRecord(t, testAdmin.AccessKeySecret, "LTAIb", "b", fc.KeyScope{}))
	eventually(t, "catching up after a failed watch", func() bool {
		_, a := k.Lookup("LTAIa")
		_, b := k.Lookup("LTAIb")
		return !a && b
	})
}

func TestStartKeysNeedsAdmin(t *testing.T) {
	if _, err := StartKeys(context.Background(), KeysOptions{Store: newFakeKeyStore()}); err == nil {
		t.Error("StartKeys without an admin key succeeded")
	}
}

// A stored key signs until its expiry, then is refused like an unknown
// key, through the Verifier that uses the cache.
func TestKeysExpiry(t *testing.T) {
	k := startTestKeys(t, newFakeKeyStore(), nil)
	exp := testNow.Add(time.Hour)
	key, err := k.Create(context.Background(), fc.AccessKey{ExpiresTime: exp})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		now  time.Time
		code fc.Code // "" : accepted
	}{
		{exp.Add(-time.Second), ""},
		{exp, fc.CodeInvalidAccessKeyID},
		{exp.Add(time.Hour), fc.CodeInvalidAccessKeyID},
	} {
		now := tc.now
		v := &Verifier{Keys: k.Lookup, Now: func() time.Time { return now }}
		r := signedRequest(t, "GET", "http://x/2016-08-15/services", now.Format(http.TimeFormat))
		fcsign.Sign(fcsign.Credentials{AccessKeyID: key.AccessKeyID, AccessKeySecret: key.AccessKeySecret}, r)
		p, err := v.VerifyHeader(r, false)
		switch {
		case tc.code == "" && (err != nil || p.KeyID != key.AccessKeyID || p.Admin):
			t.Errorf("at %s: %+v, %v; want the key's principal", now, p, err)
		case tc.code != "" && fc.AsError(err).Code != tc.code:
			t.Errorf("at %s: %v; want %s", now, err, tc.code)
		}
	}
}
