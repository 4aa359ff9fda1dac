package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/fc"
)

// accessKeysBucket holds the access keys other than the admin key, one
// fc.AccessKeyRecord (JSON, its secret sealed) per key ID. The store never
// sees a secret in the clear: sealing and unsealing are internal/auth's.
const accessKeysBucket = "openfc_access_keys"

// CreateAccessKey stores a new access key record and returns its
// revision. fc.ErrAlreadyExists when the ID is taken.
func (s *JetStream) CreateAccessKey(ctx context.Context, k *fc.AccessKeyRecord) (uint64, error) {
	if !validName(k.AccessKeyID) {
		return 0, fc.Errorf(fc.CodeInvalidArgument, "access key ID %q is invalid", k.AccessKeyID)
	}
	data, err := json.Marshal(k)
	if err != nil {
		return 0, fmt.Errorf("store: encode access key %q: %w", k.AccessKeyID, err)
	}
	rev, err := s.keys.Create(ctx, k.AccessKeyID, data)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return 0, fmt.Errorf("store: create access key %q: %w", k.AccessKeyID, fc.ErrAlreadyExists)
	}
	if err != nil {
		return 0, fmt.Errorf("store: create access key %q: %w", k.AccessKeyID, err)
	}
	return rev, nil
}

// GetAccessKey reads an access key record. fc.ErrNotFound when there is
// none.
func (s *JetStream) GetAccessKey(ctx context.Context, id string) (*fc.AccessKeyRecord, uint64, error) {
	if !validName(id) {
		return nil, 0, fmt.Errorf("store: access key %q: %w", id, fc.ErrNotFound)
	}
	e, err := s.keys.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return nil, 0, fmt.Errorf("store: access key %q: %w", id, fc.ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("store: get access key %q: %w", id, err)
	}
	k, err := decodeAccessKey(id, e.Value())
	return k, e.Revision(), err
}

// ListAccessKeys returns every access key record sorted by ID.
func (s *JetStream) ListAccessKeys(ctx context.Context) ([]*fc.AccessKeyRecord, error) {
	items, err := listKV(ctx, s.keys, "access key", ">")
	if err != nil {
		return nil, err
	}
	out := make([]*fc.AccessKeyRecord, 0, len(items))
	for _, it := range items {
		k, err := decodeAccessKey(it.key, it.val)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

// DeleteAccessKey deletes an access key and returns the revision of the
// record it deleted. fc.ErrNotFound when there is none.
func (s *JetStream) DeleteAccessKey(ctx context.Context, id string) (uint64, error) {
	for range unconditionalRetries {
		_, rev, err := s.GetAccessKey(ctx, id)
		if err != nil {
			return 0, err
		}
		err = s.keys.Delete(ctx, id, jetstream.LastRevision(rev))
		if err == nil {
			return rev, nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return 0, fmt.Errorf("store: delete access key %q: %w", id, err)
		}
	}
	return 0, fmt.Errorf("store: delete access key %q: gave up after %d races: %w", id, unconditionalRetries, fc.ErrConflict)
}

// WatchAccessKeys calls changed for every stored access key, then loaded
// once, then changed for every later change (k nil: deleted or purged),
// in stream order, until ctx ends (it returns nil) or the watch fails
// (it returns why). rev is the change's revision: a record delivered
// with a revision at or below one already applied is old news. A record
// that does not decode is logged and delivered as deleted, so a damaged
// record never leaves an older version of the key working.
func (s *JetStream) WatchAccessKeys(ctx context.Context, loaded func(), changed func(id string, rev uint64, k *fc.AccessKeyRecord)) error {
	w, err := s.keys.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("store: watch %s: %w", accessKeysBucket, err)
	}
	defer stopWatcher(w)
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("store: watch %s: %w", accessKeysBucket, errWatchClosed)
			}
			if e == nil {
				loaded()
				continue
			}
			var k *fc.AccessKeyRecord
			if e.Operation() == jetstream.KeyValuePut {
				if k, err = decodeAccessKey(e.Key(), e.Value()); err != nil {
					s.log.Warn("access keys: skipping bad record", "key_id", e.Key(), "rev", e.Revision(), "err", err)
				}
			}
			changed(e.Key(), e.Revision(), k)
		case <-ctx.Done():
			return nil
		}
	}
}

// decodeAccessKey decodes a stored record; its ID is the key it is
// stored under.
func decodeAccessKey(id string, data []byte) (*fc.AccessKeyRecord, error) {
	k := new(fc.AccessKeyRecord)
	if err := json.Unmarshal(data, k); err != nil {
		return nil, fmt.Errorf("store: decode access key %q: %w", id, err)
	}
	k.AccessKeyID = id
	return k, nil
}
