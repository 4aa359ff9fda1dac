package api

import (
	"context"
	"io"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/store"
)

// Store is what the API needs of the metadata and code store
// (store.JetStream), grouped by resource.
//
// Errors follow store.JetStream's contract (see its doc): fc.ErrNotFound,
// fc.ErrAlreadyExists, fc.ErrConflict (the revision passed to an update or
// delete is not the current one) and fc.ErrNotEmpty (deleting a service
// that has functions, or a function that has triggers), wrapped with %w;
// storeErr turns them into FC's errors. A revision of 0 means
// "unconditional".
type Store interface {
	ServiceStore
	FunctionStore
	TriggerStore
	ScalingStore
	AsyncConfigStore // async.go
	CodeStore
	VersionStore // versions.go
	FunctionLookup
}

// ServiceStore reads and writes services (store.JetStream).
type ServiceStore interface {
	CreateService(ctx context.Context, s *fc.Service) (rev uint64, err error)
	GetService(ctx context.Context, name string) (*fc.Service, uint64, error)
	UpdateService(ctx context.Context, s *fc.Service, rev uint64) (uint64, error)
	DeleteService(ctx context.Context, name string, rev uint64) error
	// ListServices returns every service sorted by name.
	ListServices(ctx context.Context) ([]*fc.Service, error)
}

// FunctionStore reads and writes functions (store.JetStream). Deleting a
// function also deletes its scaling configs.
type FunctionStore interface {
	CreateFunction(ctx context.Context, service string, f *fc.Function) (uint64, error)
	GetFunction(ctx context.Context, service, name string) (*fc.Function, uint64, error)
	UpdateFunction(ctx context.Context, service string, f *fc.Function, rev uint64) (uint64, error)
	DeleteFunction(ctx context.Context, service, name string, rev uint64) error
	// ListFunctions returns the service's functions sorted by name.
	ListFunctions(ctx context.Context, service string) ([]*fc.Function, error)
}

// TriggerStore reads and writes triggers (store.JetStream).
type TriggerStore interface {
	CreateTrigger(ctx context.Context, service, function string, t *fc.Trigger) (uint64, error)
	GetTrigger(ctx context.Context, service, function, name string) (*fc.Trigger, uint64, error)
	UpdateTrigger(ctx context.Context, service, function string, t *fc.Trigger, rev uint64) (uint64, error)
	DeleteTrigger(ctx context.Context, service, function, name string, rev uint64) error
	// ListTriggers returns the function's triggers sorted by name.
	ListTriggers(ctx context.Context, service, function string) ([]*fc.Trigger, error)
}

// ScalingStore reads and writes the on-demand and provision configs of
// function versions (store.JetStream). Get* and Delete* return
// fc.ErrNotFound when there is no config; Put* replace any previous one
// and return fc.ErrNotFound when the function does not exist. List*
// return every config sorted by service, qualifier and function.
type ScalingStore interface {
	PutOnDemandConfig(ctx context.Context, service, qualifier, function string, c *fc.OnDemandConfig) error
	GetOnDemandConfig(ctx context.Context, service, qualifier, function string) (*fc.OnDemandConfig, error)
	DeleteOnDemandConfig(ctx context.Context, service, qualifier, function string) error
	ListOnDemandConfigs(ctx context.Context) ([]store.OnDemandEntry, error)

	PutProvisionConfig(ctx context.Context, service, qualifier, function string, c *fc.ProvisionConfig) error
	GetProvisionConfig(ctx context.Context, service, qualifier, function string) (*fc.ProvisionConfig, error)
	DeleteProvisionConfig(ctx context.Context, service, qualifier, function string) error
	ListProvisionConfigs(ctx context.Context) ([]store.ProvisionEntry, error)
}

// CodeStore keeps code zips by checksum (store.JetStream).
type CodeStore interface {
	// PutCode stores a zip; storing the same checksum twice is a no-op.
	PutCode(ctx context.Context, checksum string, r io.Reader) error
	// GetCode opens a stored zip; fc.ErrNotFound when absent.
	GetCode(ctx context.Context, checksum string) (io.ReadCloser, error)
	// DeleteCode removes a zip; absent is not an error.
	DeleteCode(ctx context.Context, checksum string) error
}

// FunctionLookup finds a function in the store's in-memory catalog
// (store.JetStream), for the invocation hot path.
type FunctionLookup interface {
	// LookupFunction returns the function and its HTTP trigger (nil when
	// it has none). ok is false when the service or function is unknown
	// (serviceFound tells which). The values are shared: do not modify
	// them.
	LookupFunction(service, function string) (f *fc.Function, httpTrigger *fc.Trigger, serviceFound, ok bool)
	// ResolveFunction returns the function at qualifier (LATEST, a
	// version, or an alias's version chosen with pick: 1 is the alias's
	// main version), failing with FC's NotFound errors.
	ResolveFunction(service, qualifier, function string, pick float64) (*fc.Function, *fc.Trigger, error)
	// QualifierExists reports whether qualifier is LATEST, a version or an
	// alias of service.
	QualifierExists(service, qualifier string) bool
}
