package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/pkg/fcsign"
)

// KeyStore is the store of access keys as Keys needs it
// (store.JetStream). Errors wrap fc.ErrNotFound and fc.ErrAlreadyExists.
type KeyStore interface {
	// CreateAccessKey stores a new record and returns its revision.
	CreateAccessKey(ctx context.Context, k *fc.AccessKeyRecord) (uint64, error)
	GetAccessKey(ctx context.Context, id string) (*fc.AccessKeyRecord, uint64, error)
	// ListAccessKeys returns every record sorted by ID.
	ListAccessKeys(ctx context.Context) ([]*fc.AccessKeyRecord, error)
	// DeleteAccessKey deletes a record and returns the revision it had.
	DeleteAccessKey(ctx context.Context, id string) (uint64, error)
	// WatchAccessKeys delivers every stored record, then calls loaded,
	// then delivers every change (k nil: deleted) until ctx ends (nil)
	// or the watch fails (the error).
	WatchAccessKeys(ctx context.Context, loaded func(), changed func(id string, rev uint64, k *fc.AccessKeyRecord)) error
}

// DefaultWatchRetry is how long Keys waits before watching the store
// again after its watch failed.
const DefaultWatchRetry = time.Second

// KeysOptions configure Keys.
type KeysOptions struct {
	// Admin is the admin key: always known, never stored, and the secret
	// access key secrets are sealed under.
	Admin fcsign.Credentials
	Store KeyStore
	// Logger gets one warning per record that does not unseal; nil
	// discards.
	Logger *slog.Logger
	// Now returns the current time (creation times); nil means time.Now.
	Now func() time.Time
	// WatchRetry is the pause before watching again after a failed
	// watch; zero means DefaultWatchRetry.
	WatchRetry time.Duration
}

// Keys knows the access keys: the admin key, and the others from the
// store, unsealed into memory and kept current by a watch of the store
// (a key deleted on any node stops working here as soon as the watch
// delivers the delete, milliseconds later). Lookup is what a Verifier
// uses as its Keys; Create, List, Get and Delete manage the stored keys.
//
// Two sources feed the cache, as they feed the store's catalog: the
// watch, in stream order, and this node's own creates and deletes, as
// soon as they return, so a key works (or stops) here at once. Revisions
// arbitrate: an entry never goes back to an older revision.
type Keys struct {
	admin   Key
	adminID string
	store   KeyStore
	seal    *sealer
	log     *slog.Logger
	now     func() time.Time
	retry   time.Duration

	mu sync.RWMutex
	m  map[string]cached
	// seen is the highest revision the watch has delivered.
	seen uint64
	// next collects a (re)load's snapshot until the watch says it is
	// complete; nil when not loading.
	next map[string]cached
	// warned names the records whose secret did not unseal and were
	// reported once already.
	warned map[string]bool

	cancel context.CancelFunc
	done   chan struct{}
	close  sync.Once
}

// cached is one key the cache knows. A gone entry is a tombstone: the key
// was deleted through this node and the watch has not delivered the
// delete yet.
type cached struct {
	key  Key
	rev  uint64
	gone bool
}

// StartKeys loads the stored access keys and starts the watch that keeps
// them current; it returns once every stored key is known. ctx bounds the
// load; the watch runs until Close.
func StartKeys(ctx context.Context, o KeysOptions) (*Keys, error) {
	if o.Admin.AccessKeyID == "" {
		return nil, errors.New("auth: access keys need the admin key")
	}
	seal, err := newSealer(o.Admin.AccessKeySecret)
	if err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.WatchRetry <= 0 {
		o.WatchRetry = DefaultWatchRetry
	}
	k := &Keys{
		admin:   Key{Secret: o.Admin.AccessKeySecret, Principal: fc.Principal{KeyID: o.Admin.AccessKeyID, Admin: true}},
		adminID: o.Admin.AccessKeyID,
		store:   o.Store, seal: seal, log: o.Logger, now: o.Now, retry: o.WatchRetry,
		m: map[string]cached{}, warned: map[string]bool{}, done: make(chan struct{}),
	}
	// The watch outlives ctx (the start-up's bound), so it gets its own:
	// nats.go ends a watch when the ctx it was started with ends.
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	k.cancel = cancel
	ready := make(chan error, 1)
	go k.run(wctx, ready)
	select {
	case err = <-ready:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		k.Close()
		return nil, fmt.Errorf("auth: loading access keys: %w", err)
	}
	return k, nil
}

// Close stops the watch and waits for it. The cache keeps its last
// state. Safe to call more than once.
func (k *Keys) Close() {
	k.close.Do(func() {
		k.cancel()
		<-k.done
	})
}

// run watches the store until ctx ends, watching again after a failure
// (a reload: what changed meanwhile, deletes included, is caught up). The
// first load's outcome goes to ready.
func (k *Keys) run(ctx context.Context, ready chan<- error) {
	defer close(k.done)
	first := true
	for {
		k.beginLoad()
		err := k.store.WatchAccessKeys(ctx, func() {
			k.endLoad()
			if first {
				first = false
				ready <- nil
			}
		}, k.changed)
		if first {
			if err == nil {
				err = ctx.Err()
			}
			if err == nil {
				err = errors.New("the watch ended before loading")
			}
			ready <- err
			return
		}
		if ctx.Err() != nil {
			return
		}
		k.log.Error("access key watch failed; deleted keys may keep working here until it is back", "err", err, "retry_in", k.retry)
		select {
		case <-time.After(k.retry):
		case <-ctx.Done():
			return
		}
	}
}

// Lookup returns the key with this ID: the admin key, or a stored key
// whose secret unsealed. It is a Verifier's Keys.
func (k *Keys) Lookup(id string) (Key, bool) {
	if id == k.adminID {
		return k.admin, true
	}
	k.mu.RLock()
	c, ok := k.m[id]
	k.mu.RUnlock()
	if !ok || c.gone {
		return Key{}, false
	}
	return c.key, true
}

func (k *Keys) beginLoad() {
	k.mu.Lock()
	k.next = map[string]cached{}
	k.mu.Unlock()
}

// endLoad makes the loaded snapshot the cache, keeping the entries this
// node wrote after the point the snapshot was taken.
func (k *Keys) endLoad() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for id, c := range k.m {
		n, ok := k.next[id]
		switch {
		case c.gone && ok && n.rev <= c.rev: // deleted here; the watch has not delivered the delete yet
			k.next[id] = c
		case !c.gone && !ok && c.rev > k.seen: // created here after the snapshot
			k.next[id] = c
		}
	}
	k.m, k.next = k.next, nil
}

// changed applies what the watch delivered; r nil means deleted.
func (k *Keys) changed(id string, rev uint64, r *fc.AccessKeyRecord) {
	c, ok := k.unseal(id, r)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.seen = max(k.seen, rev)
	if k.next != nil { // loading: the snapshot holds live keys only
		if ok {
			k.next[id] = cached{key: c, rev: rev}
		} else {
			delete(k.next, id)
		}
		return
	}
	if cur, found := k.m[id]; found && cur.rev >= rev {
		return // a local write ahead of the watch, or its echo
	}
	if ok {
		k.m[id] = cached{key: c, rev: rev}
	} else {
		delete(k.m, id)
	}
}

// unseal turns a record into the key a Verifier needs; false for a
// deleted record and for one whose secret does not unseal, which is
// skipped with one warning naming it (never its secret).
func (k *Keys) unseal(id string, r *fc.AccessKeyRecord) (Key, bool) {
	if r == nil {
		k.mu.Lock()
		delete(k.warned, id)
		k.mu.Unlock()
		return Key{}, false
	}
	secret, err := k.seal.open(id, r.SealedSecret)
	if err != nil {
		k.mu.Lock()
		first := !k.warned[id]
		k.warned[id] = true
		k.mu.Unlock()
		if first {
			k.log.Warn("skipping an access key whose secret does not unseal: it will not work on this node", "key_id", id, "err", err)
		}
		return Key{}, false
	}
	return recordKey(id, secret, r), true
}

// recordKey is the Verifier's view of a stored key.
func recordKey(id, secret string, r *fc.AccessKeyRecord) Key {
	return Key{Secret: secret, Principal: fc.Principal{KeyID: id, Scope: r.Scope}, Expires: r.ExpiresTime}
}

// localPut records a key this node just created (revision rev), unless
// the watch has delivered it or something newer already.
func (k *Keys) localPut(id string, rev uint64, key Key) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if rev <= k.seen {
		return
	}
	if cur, ok := k.m[id]; ok && cur.rev >= rev {
		return
	}
	k.m[id] = cached{key: key, rev: rev}
}

// localDelete stops a key this node just deleted (its record had
// revision rev): a tombstone until the watch delivers the delete, so that
// a late delivery of the record itself does not bring the key back.
func (k *Keys) localDelete(id string, rev uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if cur, ok := k.m[id]; ok && cur.rev > rev {
		return
	}
	if rev <= k.seen {
		// The watch is past the record; whether it has delivered the
		// delete or not, a tombstone at rev only stops older news.
		if _, ok := k.m[id]; !ok {
			return
		}
	}
	k.m[id] = cached{rev: rev, gone: true}
}
