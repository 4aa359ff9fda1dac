// Package store keeps openfc's metadata (services, functions, HTTP triggers)
// and code packages. The implementation is NATS JetStream: KV buckets for
// metadata and an object store for code zips, either on the embedded server
// or on an external cluster shared by several openfc nodes.
package store

import (
	"context"
	"io"

	"github.com/openfc/openfc/internal/fc"
)

// Store is the metadata and code store.
//
// Errors: fc.ErrNotFound, fc.ErrAlreadyExists, fc.ErrConflict (the revision
// passed to an update or delete is not the current one) and fc.ErrNotEmpty
// (deleting a service that has functions, or a function that has triggers),
// wrapped with %w. A revision of 0 means "unconditional". Deleting a
// function also deletes its scaling configs.
//
// Reads through Get*/List* go to JetStream. The Catalog methods answer from
// an in-memory copy kept current by KV watches (this node's writes are
// visible in it as soon as the write returns), for the request hot path.
type Store interface {
	CreateService(ctx context.Context, s *fc.Service) (rev uint64, err error)
	GetService(ctx context.Context, name string) (*fc.Service, uint64, error)
	UpdateService(ctx context.Context, s *fc.Service, rev uint64) (uint64, error)
	DeleteService(ctx context.Context, name string, rev uint64) error
	// ListServices returns every service sorted by name.
	ListServices(ctx context.Context) ([]*fc.Service, error)

	CreateFunction(ctx context.Context, service string, f *fc.Function) (uint64, error)
	GetFunction(ctx context.Context, service, name string) (*fc.Function, uint64, error)
	UpdateFunction(ctx context.Context, service string, f *fc.Function, rev uint64) (uint64, error)
	DeleteFunction(ctx context.Context, service, name string, rev uint64) error
	// ListFunctions returns the service's functions sorted by name.
	ListFunctions(ctx context.Context, service string) ([]*fc.Function, error)

	CreateTrigger(ctx context.Context, service, function string, t *fc.Trigger) (uint64, error)
	GetTrigger(ctx context.Context, service, function, name string) (*fc.Trigger, uint64, error)
	UpdateTrigger(ctx context.Context, service, function string, t *fc.Trigger, rev uint64) (uint64, error)
	DeleteTrigger(ctx context.Context, service, function, name string, rev uint64) error
	// ListTriggers returns the function's triggers sorted by name.
	ListTriggers(ctx context.Context, service, function string) ([]*fc.Trigger, error)

	// PutOnDemandConfig stores the on-demand config of an existing
	// function version (fc.ErrNotFound when the function is missing),
	// replacing any previous one. Keys: "{service}.{qualifier}.{function}.ondemand".
	PutOnDemandConfig(ctx context.Context, service, qualifier, function string, c *fc.OnDemandConfig) error
	// GetOnDemandConfig: fc.ErrNotFound when there is none.
	GetOnDemandConfig(ctx context.Context, service, qualifier, function string) (*fc.OnDemandConfig, error)
	// DeleteOnDemandConfig: fc.ErrNotFound when there is none.
	DeleteOnDemandConfig(ctx context.Context, service, qualifier, function string) error
	// ListOnDemandConfigs returns every on-demand config sorted by
	// service, qualifier and function.
	ListOnDemandConfigs(ctx context.Context) ([]OnDemandEntry, error)

	// PutProvisionConfig stores the provision config (Target; Current is
	// not stored) of an existing function version, replacing any previous
	// one. Keys: "{service}.{qualifier}.{function}.provision".
	PutProvisionConfig(ctx context.Context, service, qualifier, function string, c *fc.ProvisionConfig) error
	// GetProvisionConfig: fc.ErrNotFound when there is none.
	GetProvisionConfig(ctx context.Context, service, qualifier, function string) (*fc.ProvisionConfig, error)
	// DeleteProvisionConfig: fc.ErrNotFound when there is none.
	DeleteProvisionConfig(ctx context.Context, service, qualifier, function string) error
	// ListProvisionConfigs returns every provision config sorted by
	// service, qualifier and function.
	ListProvisionConfigs(ctx context.Context) ([]ProvisionEntry, error)

	// PutCode stores a code zip under its checksum; storing the same
	// checksum twice is a no-op.
	PutCode(ctx context.Context, checksum string, r io.Reader) error
	// GetCode opens a stored zip. fc.ErrNotFound when absent.
	GetCode(ctx context.Context, checksum string) (io.ReadCloser, error)
	// DeleteCode removes a zip; absent is not an error.
	DeleteCode(ctx context.Context, checksum string) error

	Catalog
}

// Catalog answers the front door's lookups from memory. The returned values
// are shared: callers must not modify them.
type Catalog interface {
	// LookupFunction returns the function and, when it has one, its HTTP
	// trigger (nil otherwise). ok is false when the service or function is
	// unknown (serviceFound tells which).
	LookupFunction(service, function string) (f *fc.Function, httpTrigger *fc.Trigger, serviceFound, ok bool)
	// LookupTrigger finds a trigger by its URLID (the id in its
	// subdomain), with its function.
	LookupTrigger(urlID string) (f *fc.Function, t *fc.Trigger, ok bool)
	// Scaling returns a function version's on-demand instance cap and
	// provision target, each 0 when unset (see OnDemandMax).
	Scaling(service, qualifier, function string) (onDemandMax, provisionTarget int)
	// OnDemandMax returns the on-demand instance cap; set is false when
	// there is no on-demand config (no cap). A cap of 0 allows no
	// on-demand instances (FC's meaning).
	OnDemandMax(service, qualifier, function string) (limit int, set bool)
	// ProvisionTargets lists the function versions with a provision target
	// above 0, sorted by service, qualifier and function. The slice is the
	// caller's.
	ProvisionTargets() []ProvisionTarget
}
