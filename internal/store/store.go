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
// wrapped with %w. A revision of 0 means "unconditional".
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
}
