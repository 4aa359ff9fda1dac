package store

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/fc"
)

// domainsBucket holds the custom domains, one fc.CustomDomain (JSON, its
// private key included) per domain. Its watch feeds the domain catalog
// (domaincat.go): the front door's routing and the TLS certificates.
const domainsBucket = "openfc_custom_domains"

// domainKey is a domain's key: its name in hex, since KV keys cannot
// hold '*' and their dots are separators. Hex keeps the order of the
// names, so a list comes back sorted by name.
func domainKey(name string) string { return hex.EncodeToString([]byte(name)) }

func domainName(key string) (string, bool) {
	b, err := hex.DecodeString(key)
	return string(b), err == nil
}

// CreateCustomDomain stores a new domain (validated, its name normalized)
// and returns its revision. fc.ErrAlreadyExists when the name is taken.
func (s *JetStream) CreateCustomDomain(ctx context.Context, d *fc.CustomDomain) (uint64, error) {
	data, err := json.Marshal(d)
	if err != nil {
		return 0, fmt.Errorf("store: encode custom domain %q: %w", d.DomainName, err)
	}
	rev, err := s.domains.Create(ctx, domainKey(d.DomainName), data)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return 0, fmt.Errorf("store: create custom domain %q: %w", d.DomainName, fc.ErrAlreadyExists)
	}
	if err != nil {
		return 0, fmt.Errorf("store: create custom domain %q: %w", d.DomainName, err)
	}
	s.dcat.put(d.DomainName, rev, d, s.log)
	return rev, nil
}

// GetCustomDomain reads a domain and its revision. fc.ErrNotFound when
// there is none.
func (s *JetStream) GetCustomDomain(ctx context.Context, name string) (*fc.CustomDomain, uint64, error) {
	e, err := s.domains.Get(ctx, domainKey(name))
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return nil, 0, fmt.Errorf("store: custom domain %q: %w", name, fc.ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("store: get custom domain %q: %w", name, err)
	}
	d, err := decodeDomain(e.Key(), e.Value())
	return d, e.Revision(), err
}

// UpdateCustomDomain replaces a domain stored at revision rev (0: any)
// and returns the new revision. fc.ErrNotFound when there is none,
// fc.ErrConflict when rev is not current.
func (s *JetStream) UpdateCustomDomain(ctx context.Context, d *fc.CustomDomain, rev uint64) (uint64, error) {
	if rev == 0 {
		_, cur, err := s.GetCustomDomain(ctx, d.DomainName)
		if err != nil {
			return 0, err
		}
		rev = cur
	}
	data, err := json.Marshal(d)
	if err != nil {
		return 0, fmt.Errorf("store: encode custom domain %q: %w", d.DomainName, err)
	}
	nrev, err := s.domains.Update(ctx, domainKey(d.DomainName), data, rev)
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return 0, fmt.Errorf("store: update custom domain %q: %w", d.DomainName, fc.ErrConflict)
	}
	if err != nil {
		return 0, fmt.Errorf("store: update custom domain %q: %w", d.DomainName, err)
	}
	s.dcat.put(d.DomainName, nrev, d, s.log)
	return nrev, nil
}

// DeleteCustomDomain deletes a domain. fc.ErrNotFound when there is none.
func (s *JetStream) DeleteCustomDomain(ctx context.Context, name string) error {
	for range unconditionalRetries {
		_, rev, err := s.GetCustomDomain(ctx, name)
		if err != nil {
			return err
		}
		err = s.domains.Delete(ctx, domainKey(name), jetstream.LastRevision(rev))
		if err == nil {
			s.dcat.put(name, rev+1, nil, s.log)
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return fmt.Errorf("store: delete custom domain %q: %w", name, err)
		}
	}
	return fmt.Errorf("store: delete custom domain %q: gave up after %d races: %w", name, unconditionalRetries, fc.ErrConflict)
}

// ListCustomDomains returns every domain sorted by name.
func (s *JetStream) ListCustomDomains(ctx context.Context) ([]*fc.CustomDomain, error) {
	items, err := listKV(ctx, s.domains, "custom domain", ">")
	if err != nil {
		return nil, err
	}
	out := make([]*fc.CustomDomain, 0, len(items))
	for _, it := range items {
		d, err := decodeDomain(it.key, it.val)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// watchDomains feeds the domain catalog until ctx ends, reporting on
// ready once, as watch does for the metadata buckets.
func (s *JetStream) watchDomains(ctx context.Context, ready chan<- error) {
	defer s.wg.Done()
	w, err := watchAll(ctx, s.domains)
	if err != nil {
		ready <- fmt.Errorf("store: watch %s: %w", domainsBucket, err)
		return
	}
	defer stopWatcher(w)
	loading := true
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				err := fmt.Errorf("store: watch %s: %w", domainsBucket, errWatchClosed)
				if loading {
					ready <- err
				} else if ctx.Err() == nil {
					s.log.Error("custom domain watcher stopped; new domains will not be served", "err", err)
				}
				return
			}
			if e == nil {
				if loading {
					loading = false
					ready <- nil
				}
				continue
			}
			name, ok := domainName(e.Key())
			if !ok {
				continue
			}
			var d *fc.CustomDomain
			if e.Operation() == jetstream.KeyValuePut {
				if d, err = decodeDomain(e.Key(), e.Value()); err != nil {
					s.log.Warn("custom domains: skipping bad record", "domain", name, "rev", e.Revision(), "err", err)
				}
			}
			s.dcat.watched(name, e.Revision(), d, s.log)
		case <-ctx.Done():
			if loading {
				ready <- fmt.Errorf("store: watch %s: %w", domainsBucket, ctx.Err())
			}
			return
		}
	}
}

func decodeDomain(key string, data []byte) (*fc.CustomDomain, error) {
	name, ok := domainName(key)
	if !ok {
		return nil, fmt.Errorf("store: malformed custom domain key %q", key)
	}
	d := new(fc.CustomDomain)
	if err := json.Unmarshal(data, d); err != nil {
		return nil, fmt.Errorf("store: decode custom domain %q: %w", name, err)
	}
	d.DomainName = name
	return d, nil
}
