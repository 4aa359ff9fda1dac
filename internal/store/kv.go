package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/fc"
)

// validName reports whether name can be one segment of a key: FC's name
// alphabet, which has no '.', '*', '>' or space.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// checkNames validates the key segments of a lookup: a name that cannot
// be stored cannot be found.
func checkNames(b bucket, names ...string) error {
	for _, n := range names {
		if !validName(n) {
			return fmt.Errorf("store: %s %q: %w", b.kind(), strings.Join(names, "/"), fc.ErrNotFound)
		}
	}
	return nil
}

// checkNewNames validates the key segments of a write.
func checkNewNames(b bucket, names ...string) error {
	for _, n := range names {
		if !validName(n) {
			return fc.Errorf(fc.CodeInvalidArgument, "%s name %q is invalid", b.kind(), n)
		}
	}
	return nil
}

// decode turns a stored value into its fc type, filling the names the JSON
// does not carry from the key.
func decode(b bucket, key string, data []byte) (any, error) {
	parts := strings.Split(key, ".")
	if len(parts) != b.segments() {
		return nil, fmt.Errorf("store: malformed %s key %q", b.kind(), key)
	}
	var v any
	switch b {
	case bScaling:
		return decodeScaling(key, parts[3], data)
	case bVersions:
		return decodeVersion(key, parts[0], parts[1], data)
	case bAliases:
		a := new(fc.Alias)
		if err := json.Unmarshal(data, a); err != nil {
			return nil, fmt.Errorf("store: decode alias %q: %w", key, err)
		}
		a.AliasName = parts[1]
		return a, nil
	case bServices:
		s := new(fc.Service)
		if err := json.Unmarshal(data, s); err != nil {
			return nil, fmt.Errorf("store: decode service %q: %w", key, err)
		}
		s.ServiceName = parts[0]
		v = s
	case bFunctions:
		f := new(fc.Function)
		if err := json.Unmarshal(data, f); err != nil {
			return nil, fmt.Errorf("store: decode function %q: %w", key, err)
		}
		f.ServiceName, f.FunctionName = parts[0], parts[1]
		v = f
	default:
		t := new(fc.Trigger)
		if err := json.Unmarshal(data, t); err != nil {
			return nil, fmt.Errorf("store: decode trigger %q: %w", key, err)
		}
		t.ServiceName, t.FunctionName, t.TriggerName = parts[0], parts[1], parts[2]
		v = t
	}
	return v, nil
}

// create stores v under key unless the key exists.
func (s *JetStream) create(ctx context.Context, b bucket, key string, v any) (uint64, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("store: encode %s %q: %w", b.kind(), key, err)
	}
	val, err := decode(b, key, data)
	if err != nil {
		return 0, err
	}
	rev, err := s.kv[b].Create(ctx, key, data)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return 0, fmt.Errorf("store: create %s %q: %w", b.kind(), key, fc.ErrAlreadyExists)
	}
	if err != nil {
		return 0, fmt.Errorf("store: create %s %q: %w", b.kind(), key, err)
	}
	s.cat.localPut(b, key, rev, val)
	return rev, nil
}

// get reads the current value of key.
func (s *JetStream) get(ctx context.Context, b bucket, key string) (any, uint64, error) {
	e, err := s.kv[b].Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return nil, 0, fmt.Errorf("store: %s %q: %w", b.kind(), key, fc.ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("store: get %s %q: %w", b.kind(), key, err)
	}
	v, err := decode(b, key, e.Value())
	if err != nil {
		return nil, 0, err
	}
	return v, e.Revision(), nil
}

// exists reports whether key holds a live value.
func (s *JetStream) exists(ctx context.Context, b bucket, key string) (bool, error) {
	_, err := s.kv[b].Get(ctx, key)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
		return false, nil
	default:
		return false, fmt.Errorf("store: get %s %q: %w", b.kind(), key, err)
	}
}

// mismatch turns a failed compare-and-set on key into fc.ErrNotFound when
// the key is gone and fc.ErrConflict when it changed.
func (s *JetStream) mismatch(ctx context.Context, b bucket, op, key string) error {
	ok, err := s.exists(ctx, b, key)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("store: %s %s %q: %w", op, b.kind(), key, fc.ErrNotFound)
	}
	return fmt.Errorf("store: %s %s %q: %w", op, b.kind(), key, fc.ErrConflict)
}

// currentRev returns the revision of key's live value.
func (s *JetStream) currentRev(ctx context.Context, b bucket, key string) (uint64, error) {
	e, err := s.kv[b].Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return 0, fmt.Errorf("store: %s %q: %w", b.kind(), key, fc.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("store: get %s %q: %w", b.kind(), key, err)
	}
	return e.Revision(), nil
}

// update replaces key's value if it exists and, when rev != 0, if rev is
// its current revision.
func (s *JetStream) update(ctx context.Context, b bucket, key string, v any, rev uint64) (uint64, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("store: encode %s %q: %w", b.kind(), key, err)
	}
	val, err := decode(b, key, data)
	if err != nil {
		return 0, err
	}
	conditional := rev != 0
	for range unconditionalRetries {
		if !conditional {
			if rev, err = s.currentRev(ctx, b, key); err != nil {
				return 0, err
			}
		}
		newRev, err := s.kv[b].Update(ctx, key, data, rev)
		if err == nil {
			s.cat.localPut(b, key, newRev, val)
			return newRev, nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return 0, fmt.Errorf("store: update %s %q: %w", b.kind(), key, err)
		}
		if conditional {
			return 0, s.mismatch(ctx, b, "update", key)
		}
	}
	return 0, fmt.Errorf("store: update %s %q: gave up after %d races: %w", b.kind(), key, unconditionalRetries, fc.ErrConflict)
}

// del deletes key if it exists and, when rev != 0, if rev is its current
// revision.
func (s *JetStream) del(ctx context.Context, b bucket, key string, rev uint64) error {
	conditional := rev != 0
	for range unconditionalRetries {
		if !conditional {
			var err error
			if rev, err = s.currentRev(ctx, b, key); err != nil {
				return err
			}
		}
		err := s.kv[b].Delete(ctx, key, jetstream.LastRevision(rev))
		if err == nil {
			s.cat.localDelete(b, key, rev)
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return fmt.Errorf("store: delete %s %q: %w", b.kind(), key, err)
		}
		if conditional {
			return s.mismatch(ctx, b, "delete", key)
		}
	}
	return fmt.Errorf("store: delete %s %q: gave up after %d races: %w", b.kind(), key, unconditionalRetries, fc.ErrConflict)
}

// listed is one live entry found by list.
type listed struct {
	key  string
	name string // the last key segment
	rev  uint64
	val  []byte
}

// list returns the live entries whose keys match filter, sorted by name.
// It reads them with one ordered consumer rather than a Get per key.
func (s *JetStream) list(ctx context.Context, b bucket, filter string) ([]listed, error) {
	return listKV(ctx, s.kv[b], b.kind(), filter)
}

// listKV is list on any KV bucket; kind names its values in errors.
func listKV(ctx context.Context, kv jetstream.KeyValue, kind, filter string) ([]listed, error) {
	ctx, cancel := context.WithCancel(ctx) // also ends nats.go's per-watch goroutine
	defer cancel()
	w, err := kv.WatchFiltered(ctx, []string{filter})
	if err != nil {
		return nil, fmt.Errorf("store: list %ss %q: %w", kind, filter, err)
	}
	defer stopWatcher(w)
	latest := map[string]jetstream.KeyValueEntry{}
	for done := false; !done; {
		select {
		case e, ok := <-w.Updates():
			switch {
			case !ok:
				return nil, fmt.Errorf("store: list %ss %q: watcher closed early", kind, filter)
			case e == nil:
				done = true
			case e.Operation() != jetstream.KeyValuePut:
				delete(latest, e.Key())
			default:
				if prev, ok := latest[e.Key()]; !ok || e.Revision() > prev.Revision() {
					latest[e.Key()] = e
				}
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("store: list %ss %q: %w", kind, filter, ctx.Err())
		}
	}
	out := make([]listed, 0, len(latest))
	for k, e := range latest {
		out = append(out, listed{key: k, name: k[strings.LastIndexByte(k, '.')+1:], rev: e.Revision(), val: e.Value()})
	}
	slices.SortFunc(out, func(a, b listed) int { return cmp.Compare(a.name, b.name) })
	return out, nil
}

// hasChildren reports whether any live key matches filter.
func (s *JetStream) hasChildren(ctx context.Context, b bucket, filter string) (bool, error) {
	kids, err := s.list(ctx, b, filter)
	return len(kids) > 0, err
}

// stopWatcher unsubscribes w and drains its channel until nats.go closes
// it, so that its delivery goroutine is never left blocked on a send.
func stopWatcher(w jetstream.KeyWatcher) {
	_ = w.Stop() // fails only when already stopped or the connection is closing; both close the channel
	for range w.Updates() {
	}
}

// decodeAll decodes list results; prefix is the key prefix of the names.
func decodeAll[T any](b bucket, prefix string, items []listed) ([]*T, error) {
	out := make([]*T, 0, len(items))
	for _, it := range items {
		v, err := decode(b, prefix+it.name, it.val)
		if err != nil {
			return nil, err
		}
		out = append(out, v.(*T))
	}
	return out, nil
}
