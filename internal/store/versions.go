package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/fc"
)

// storedVersion is a version's value in its bucket: the version and the
// snapshot of every function of the service at publish time (config and
// code reference), by function name. Triggers are not part of it: they
// stay live, bound to a qualifier.
type storedVersion struct {
	fc.Version
	Functions map[string]*fc.Function `json:"functions"`
}

// decodeVersion reads a stored version, naming its functions from the
// key: they belong to service and to version id.
func decodeVersion(key, service, id string, data []byte) (*storedVersion, error) {
	v := new(storedVersion)
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("store: decode version %q: %w", key, err)
	}
	v.VersionID = id
	for name, f := range v.Functions {
		if f == nil {
			delete(v.Functions, name)
			continue
		}
		f.ServiceName, f.FunctionName, f.VersionID = service, name, id
	}
	return v, nil
}

// nextVersionID takes the next version id of service from its counter:
// ids only grow, so a deleted version's id is never published again.
func (s *JetStream) nextVersionID(ctx context.Context, service string) (string, error) {
	for range unconditionalRetries {
		var last, rev uint64
		e, err := s.versionSeq.Get(ctx, service)
		switch {
		case err == nil:
			if last, err = strconv.ParseUint(string(e.Value()), 10, 64); err != nil {
				return "", fmt.Errorf("store: version counter of %q: %w", service, err)
			}
			rev = e.Revision()
		case !errors.Is(err, jetstream.ErrKeyNotFound) && !errors.Is(err, jetstream.ErrKeyDeleted):
			return "", fmt.Errorf("store: version counter of %q: %w", service, err)
		}
		next := strconv.FormatUint(last+1, 10)
		if rev == 0 {
			_, err = s.versionSeq.Create(ctx, service, []byte(next))
		} else {
			_, err = s.versionSeq.Update(ctx, service, []byte(next), rev)
		}
		if err == nil {
			return next, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return "", fmt.Errorf("store: version counter of %q: %w", service, err)
		}
	}
	return "", fmt.Errorf("store: version counter of %q: gave up after %d races: %w", service, unconditionalRetries, fc.ErrConflict)
}

// PublishVersion snapshots every function of service (as JetStream holds
// them now) into a new version with the next id; v carries the
// description and times, and gets the id. fc.ErrNotFound when the service
// does not exist.
func (s *JetStream) PublishVersion(ctx context.Context, service string, v *fc.Version) error {
	if _, _, err := s.GetService(ctx, service); err != nil {
		return err
	}
	fns, err := s.ListFunctions(ctx, service)
	if err != nil {
		return err
	}
	id, err := s.nextVersionID(ctx, service)
	if err != nil {
		return err
	}
	v.VersionID = id
	sv := storedVersion{Version: *v, Functions: make(map[string]*fc.Function, len(fns))}
	for _, f := range fns {
		sv.Functions[f.FunctionName] = f
	}
	_, err = s.create(ctx, bVersions, service+"."+id, &sv)
	return err
}

// ListVersions returns the versions of service, oldest first.
// fc.ErrNotFound when the service does not exist.
func (s *JetStream) ListVersions(ctx context.Context, service string) ([]*fc.Version, error) {
	if _, _, err := s.GetService(ctx, service); err != nil {
		return nil, err
	}
	items, err := s.list(ctx, bVersions, service+".*")
	if err != nil {
		return nil, err
	}
	out := make([]*fc.Version, 0, len(items))
	for _, it := range items {
		v, err := decode(bVersions, it.key, it.val)
		if err != nil {
			return nil, err
		}
		ver := v.(*storedVersion).Version
		out = append(out, &ver)
	}
	slices.SortFunc(out, func(a, b *fc.Version) int { return cmp.Compare(versionNum(a.VersionID), versionNum(b.VersionID)) })
	return out, nil
}

func versionNum(id string) uint64 {
	n, _ := strconv.ParseUint(id, 10, 64)
	return n
}

// VersionExists reports whether version id of service is stored (read
// from JetStream, for writes that must not name a missing version).
func (s *JetStream) VersionExists(ctx context.Context, service, id string) (bool, error) {
	if !validName(service) || !fc.IsVersionID(id) {
		return false, nil
	}
	return s.exists(ctx, bVersions, service+"."+id)
}

// DeleteVersion deletes version id of service and returns the code
// checksums its functions referenced (for code collection to release).
// fc.ErrNotFound when it does not exist; an fc.Error VersionInUse naming
// the aliases when aliases point to it (as their version or their
// additional one).
func (s *JetStream) DeleteVersion(ctx context.Context, service, id string) ([]string, error) {
	if !validName(service) || !fc.IsVersionID(id) {
		return nil, fmt.Errorf("store: version %s/%s: %w", service, id, fc.ErrNotFound)
	}
	aliases, err := s.ListAliases(ctx, service)
	if err != nil {
		return nil, err
	}
	var users []string
	for _, a := range aliases {
		if _, extra := a.AdditionalVersionWeight[id]; a.VersionID == id || extra {
			users = append(users, a.AliasName)
		}
	}
	if len(users) > 0 {
		return nil, fc.Errorf(fc.CodeVersionInUse, "version '%s' of service '%s' is used by alias(es) %s: point them elsewhere or delete them first",
			id, service, strings.Join(users, ", "))
	}
	key := service + "." + id
	v, rev, err := s.get(ctx, bVersions, key)
	if err != nil {
		return nil, err
	}
	if err := s.del(ctx, bVersions, key, rev); err != nil {
		return nil, err
	}
	var sums []string
	for _, f := range v.(*storedVersion).Functions {
		if f.CodeChecksum != "" {
			sums = append(sums, f.CodeChecksum)
		}
	}
	return sums, nil
}

// VersionCodeChecksums returns the code checksum of every function of
// every version (read from the store, as FunctionCodeChecksums is): code
// collection keeps them until their versions are deleted.
func (s *JetStream) VersionCodeChecksums(ctx context.Context) ([]string, error) {
	items, err := s.list(ctx, bVersions, "*.*")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, it := range items {
		v, err := decode(bVersions, it.key, it.val)
		if err != nil {
			return nil, err
		}
		for _, f := range v.(*storedVersion).Functions {
			if f.CodeChecksum != "" {
				out = append(out, f.CodeChecksum)
			}
		}
	}
	return out, nil
}

func aliasKey(service, alias string) string { return service + "." + alias }

// CreateAlias stores a new alias of an existing service (the caller
// validated it, fc.ValidateAlias). fc.ErrNotFound when the service does
// not exist, fc.ErrAlreadyExists when the alias does.
func (s *JetStream) CreateAlias(ctx context.Context, service string, a *fc.Alias) (uint64, error) {
	if _, _, err := s.GetService(ctx, service); err != nil {
		return 0, err
	}
	if err := checkNewNames(bAliases, a.AliasName); err != nil {
		return 0, err
	}
	return s.create(ctx, bAliases, aliasKey(service, a.AliasName), a)
}

// GetAlias reads an alias and its revision. fc.ErrNotFound when absent.
func (s *JetStream) GetAlias(ctx context.Context, service, name string) (*fc.Alias, uint64, error) {
	if err := checkNames(bAliases, service, name); err != nil {
		return nil, 0, err
	}
	v, rev, err := s.get(ctx, bAliases, aliasKey(service, name))
	if err != nil {
		return nil, 0, err
	}
	return v.(*fc.Alias), rev, nil
}

// UpdateAlias replaces an alias (rev 0: whatever its revision).
// fc.ErrNotFound when absent, fc.ErrConflict when rev is stale.
func (s *JetStream) UpdateAlias(ctx context.Context, service string, a *fc.Alias, rev uint64) (uint64, error) {
	if err := checkNames(bAliases, service, a.AliasName); err != nil {
		return 0, err
	}
	return s.update(ctx, bAliases, aliasKey(service, a.AliasName), a, rev)
}

// DeleteAlias deletes an alias (rev 0: whatever its revision).
func (s *JetStream) DeleteAlias(ctx context.Context, service, name string, rev uint64) error {
	if err := checkNames(bAliases, service, name); err != nil {
		return err
	}
	return s.del(ctx, bAliases, aliasKey(service, name), rev)
}

// ListAliases returns the aliases of service sorted by name.
func (s *JetStream) ListAliases(ctx context.Context, service string) ([]*fc.Alias, error) {
	if err := checkNames(bServices, service); err != nil {
		return nil, err
	}
	items, err := s.list(ctx, bAliases, service+".*")
	if err != nil {
		return nil, err
	}
	return decodeAll[fc.Alias](bAliases, service+".", items)
}
