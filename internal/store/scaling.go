package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/openfc/openfc/internal/fc"
)

// The last key segment of a scaling config, after
// "{service}.{qualifier}.{function}.".
const (
	kindOnDemand  = "ondemand"
	kindProvision = "provision"
)

// ScalingKey names the function version a scaling config applies to.
type ScalingKey struct {
	Service, Qualifier, Function string
}

// String renders the key as "service.qualifier/function" for messages.
func (k ScalingKey) String() string { return k.Service + "." + k.Qualifier + "/" + k.Function }

// OnDemandEntry is one stored on-demand config and what it applies to.
type OnDemandEntry struct {
	ScalingKey
	Config *fc.OnDemandConfig
}

// ProvisionEntry is one stored provision config and what it applies to.
type ProvisionEntry struct {
	ScalingKey
	Config *fc.ProvisionConfig
}

// ProvisionTarget is a function version that must keep Target instances
// warm.
type ProvisionTarget struct {
	Service, Qualifier, Function string
	Target                       int
}

func scalingKey(service, qualifier, function, kind string) string {
	return service + "." + qualifier + "." + function + "." + kind
}

// decodeScaling decodes a scaling config value; kind is the key's last
// segment.
func decodeScaling(key, kind string, data []byte) (any, error) {
	var v any
	switch kind {
	case kindOnDemand:
		v = new(fc.OnDemandConfig)
	case kindProvision:
		v = new(fc.ProvisionConfig)
	case kindAsync:
		v = new(fc.AsyncInvokeConfig) // asyncconfig.go
	default:
		return nil, fmt.Errorf("store: scaling config %q: unknown kind %q", key, kind)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("store: decode scaling config %q: %w", key, err)
	}
	return v, nil
}

// putScaling stores v under the scaling key of an existing function,
// whatever was there before.
func (s *JetStream) putScaling(ctx context.Context, service, qualifier, function, kind string, v any) error {
	if err := checkNewNames(bScaling, service, qualifier, function); err != nil {
		return err
	}
	if _, err := s.currentRev(ctx, bFunctions, functionKey(service, function)); err != nil {
		return err
	}
	key := scalingKey(service, qualifier, function, kind)
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode scaling config %q: %w", key, err)
	}
	val, err := decode(bScaling, key, data)
	if err != nil {
		return err
	}
	rev, err := s.kv[bScaling].Put(ctx, key, data)
	if err != nil {
		return fmt.Errorf("store: put scaling config %q: %w", key, err)
	}
	s.cat.localPut(bScaling, key, rev, val)
	return nil
}

// getScaling reads the scaling config at key.
func (s *JetStream) getScaling(ctx context.Context, service, qualifier, function, kind string) (any, error) {
	if err := checkNames(bScaling, service, qualifier, function); err != nil {
		return nil, err
	}
	v, _, err := s.get(ctx, bScaling, scalingKey(service, qualifier, function, kind))
	return v, err
}

// deleteScaling deletes the scaling config at key; fc.ErrNotFound when
// there is none.
func (s *JetStream) deleteScaling(ctx context.Context, service, qualifier, function, kind string) error {
	if err := checkNames(bScaling, service, qualifier, function); err != nil {
		return err
	}
	return s.del(ctx, bScaling, scalingKey(service, qualifier, function, kind), 0)
}

// scalingItem is one decoded scaling config found by listScaling.
type scalingItem struct {
	key ScalingKey
	val any // *fc.OnDemandConfig or *fc.ProvisionConfig
}

// listScaling returns the live scaling configs of one kind, sorted by
// service, qualifier and function.
func (s *JetStream) listScaling(ctx context.Context, kind string) ([]scalingItem, error) {
	items, err := s.list(ctx, bScaling, "*.*.*."+kind)
	if err != nil {
		return nil, err
	}
	out := make([]scalingItem, 0, len(items))
	for _, it := range items {
		v, err := decode(bScaling, it.key, it.val)
		if err != nil {
			return nil, err
		}
		parts := strings.Split(it.key, ".") // decode checked the count
		out = append(out, scalingItem{key: ScalingKey{Service: parts[0], Qualifier: parts[1], Function: parts[2]}, val: v})
	}
	slices.SortFunc(out, func(a, b scalingItem) int { return compareScalingKeys(a.key, b.key) })
	return out, nil
}

func compareScalingKeys(a, b ScalingKey) int {
	return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.Qualifier, b.Qualifier), cmp.Compare(a.Function, b.Function))
}

// deleteScalingOf deletes every scaling config of a function, whatever
// its qualifier.
func (s *JetStream) deleteScalingOf(ctx context.Context, service, function string) error {
	items, err := s.list(ctx, bScaling, service+".*."+function+".*")
	if err != nil {
		return err
	}
	var errs []error
	for _, it := range items {
		if err := s.del(ctx, bScaling, it.key, 0); err != nil && !errors.Is(err, fc.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// PutOnDemandConfig stores the on-demand config of an existing function
// version, replacing any previous one. fc.ErrNotFound when the function
// does not exist. Key: "{service}.{qualifier}.{function}.ondemand".
func (s *JetStream) PutOnDemandConfig(ctx context.Context, service, qualifier, function string, c *fc.OnDemandConfig) error {
	if c.MaximumInstanceCount < 0 {
		return fc.Errorf(fc.CodeInvalidArgument, "maximumInstanceCount %d is negative", c.MaximumInstanceCount)
	}
	return s.putScaling(ctx, service, qualifier, function, kindOnDemand, c)
}

// GetOnDemandConfig reads the on-demand config of a function version.
// fc.ErrNotFound when there is none.
func (s *JetStream) GetOnDemandConfig(ctx context.Context, service, qualifier, function string) (*fc.OnDemandConfig, error) {
	v, err := s.getScaling(ctx, service, qualifier, function, kindOnDemand)
	if err != nil {
		return nil, err
	}
	return v.(*fc.OnDemandConfig), nil
}

// DeleteOnDemandConfig deletes the on-demand config of a function version.
// fc.ErrNotFound when there is none.
func (s *JetStream) DeleteOnDemandConfig(ctx context.Context, service, qualifier, function string) error {
	return s.deleteScaling(ctx, service, qualifier, function, kindOnDemand)
}

// ListOnDemandConfigs returns every on-demand config sorted by service,
// qualifier and function.
func (s *JetStream) ListOnDemandConfigs(ctx context.Context) ([]OnDemandEntry, error) {
	items, err := s.listScaling(ctx, kindOnDemand)
	if err != nil {
		return nil, err
	}
	out := make([]OnDemandEntry, len(items))
	for i, it := range items {
		out[i] = OnDemandEntry{ScalingKey: it.key, Config: it.val.(*fc.OnDemandConfig)}
	}
	return out, nil
}

// PutProvisionConfig stores the provision config of an existing function
// version, replacing any previous one. Current is not stored. A Target of
// 0 is stored as such (the API deletes the config instead).
// fc.ErrNotFound when the function does not exist. Key:
// "{service}.{qualifier}.{function}.provision".
func (s *JetStream) PutProvisionConfig(ctx context.Context, service, qualifier, function string, c *fc.ProvisionConfig) error {
	if c.Target < 0 {
		return fc.Errorf(fc.CodeInvalidArgument, "target %d is negative", c.Target)
	}
	cp := *c
	cp.Current = 0
	return s.putScaling(ctx, service, qualifier, function, kindProvision, &cp)
}

// GetProvisionConfig reads the provision config of a function version.
// fc.ErrNotFound when there is none.
func (s *JetStream) GetProvisionConfig(ctx context.Context, service, qualifier, function string) (*fc.ProvisionConfig, error) {
	v, err := s.getScaling(ctx, service, qualifier, function, kindProvision)
	if err != nil {
		return nil, err
	}
	return v.(*fc.ProvisionConfig), nil
}

// DeleteProvisionConfig deletes the provision config of a function
// version. fc.ErrNotFound when there is none.
func (s *JetStream) DeleteProvisionConfig(ctx context.Context, service, qualifier, function string) error {
	return s.deleteScaling(ctx, service, qualifier, function, kindProvision)
}

// ListProvisionConfigs returns every provision config sorted by service,
// qualifier and function.
func (s *JetStream) ListProvisionConfigs(ctx context.Context) ([]ProvisionEntry, error) {
	items, err := s.listScaling(ctx, kindProvision)
	if err != nil {
		return nil, err
	}
	out := make([]ProvisionEntry, len(items))
	for i, it := range items {
		out[i] = ProvisionEntry{ScalingKey: it.key, Config: it.val.(*fc.ProvisionConfig)}
	}
	return out, nil
}

// Scaling returns a function version's on-demand instance cap and
// provision target from the catalog; each is 0 when unset. An on-demand
// config of 0 (FC: no on-demand instances at all) also reads as 0 here:
// use OnDemandMax to tell the two apart.
func (s *JetStream) Scaling(service, qualifier, function string) (onDemandMax, provisionTarget int) {
	c := s.cat
	c.mu.RLock()
	defer c.mu.RUnlock()
	m := c.tab[bScaling][parent{service, qualifier, function}]
	if od, ok := m[kindOnDemand].val.(*fc.OnDemandConfig); ok {
		onDemandMax = od.MaximumInstanceCount
	}
	if pc, ok := m[kindProvision].val.(*fc.ProvisionConfig); ok {
		provisionTarget = pc.Target
	}
	return onDemandMax, provisionTarget
}

// OnDemandMax returns a function version's on-demand instance cap from the
// catalog; set is false when it has no on-demand config (no cap). A cap
// of 0 allows no on-demand instances (FC's meaning): only provisioned
// instances may serve.
func (s *JetStream) OnDemandMax(service, qualifier, function string) (limit int, set bool) {
	c := s.cat
	c.mu.RLock()
	defer c.mu.RUnlock()
	if od, ok := c.tab[bScaling][parent{service, qualifier, function}][kindOnDemand].val.(*fc.OnDemandConfig); ok {
		return od.MaximumInstanceCount, true
	}
	return 0, false
}

// ProvisionTargets returns, from the catalog, every function version with
// a provision target above 0, sorted by service, qualifier and function.
// The slice is the caller's. An entry may outlive its function briefly
// (another node's delete not yet watched); callers look the function up.
func (s *JetStream) ProvisionTargets() []ProvisionTarget {
	c := s.cat
	c.mu.RLock()
	var out []ProvisionTarget
	for p, m := range c.tab[bScaling] {
		if pc, ok := m[kindProvision].val.(*fc.ProvisionConfig); ok && pc.Target > 0 {
			out = append(out, ProvisionTarget{Service: p[0], Qualifier: p[1], Function: p[2], Target: pc.Target})
		}
	}
	c.mu.RUnlock()
	slices.SortFunc(out, func(a, b ProvisionTarget) int {
		return compareScalingKeys(ScalingKey{a.Service, a.Qualifier, a.Function}, ScalingKey{b.Service, b.Qualifier, b.Function})
	})
	return out
}
