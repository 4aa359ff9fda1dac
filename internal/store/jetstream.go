package store

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/fc"
)

// Bucket names.
const (
	servicesBucket  = "openfc_services"
	functionsBucket = "openfc_functions"
	triggersBucket  = "openfc_triggers"
	scalingBucket   = "openfc_scaling"
	versionsBucket  = "openfc_versions"
	aliasesBucket   = "openfc_aliases"
	// versionSeqBucket holds each service's last version id, so that ids
	// are never reused after a delete (versions.go). Not in the catalog.
	versionSeqBucket = "openfc_version_seq"
	codeBucket       = "openfc_code"
)

const (
	// unconditionalRetries bounds the read-modify-write loop of updates and
	// deletes made with revision 0 when other writers keep racing them.
	unconditionalRetries = 8
	// codeReadTimeout bounds a GetCode stream whose ctx has no deadline
	// (nats.go would otherwise apply its 5s API timeout to the whole read).
	codeReadTimeout = 10 * time.Minute
)

// bucket identifies one of the metadata KV buckets.
type bucket int

const (
	bServices bucket = iota
	bFunctions
	bTriggers
	bScaling
	bVersions
	bAliases
	numBuckets
)

// name returns the KV bucket name.
func (b bucket) name() string {
	switch b {
	case bServices:
		return servicesBucket
	case bFunctions:
		return functionsBucket
	case bTriggers:
		return triggersBucket
	case bVersions:
		return versionsBucket
	case bAliases:
		return aliasesBucket
	default:
		return scalingBucket
	}
}

// kind names the resource for error messages.
func (b bucket) kind() string {
	switch b {
	case bServices:
		return "service"
	case bFunctions:
		return "function"
	case bTriggers:
		return "trigger"
	case bVersions:
		return "version"
	case bAliases:
		return "alias"
	default:
		return "scaling config"
	}
}

// segments is the number of dot-separated segments of the bucket's keys:
// "svc", "svc.fn", "svc.fn.trig", "svc.qualifier.fn.kind", "svc.version",
// "svc.alias".
func (b bucket) segments() int {
	switch b {
	case bScaling:
		return 4
	case bVersions, bAliases:
		return 2
	}
	return int(b) + 1
}

// JetStream is the metadata and code store on NATS JetStream: KV buckets
// for metadata (keys "svc", "svc.fn", "svc.fn.trig" and, for scaling
// configs, "svc.qualifier.fn.ondemand|provision"; values JSON) and an
// object store for code zips named by checksum.
//
// Errors: fc.ErrNotFound, fc.ErrAlreadyExists, fc.ErrConflict (the revision
// passed to an update or delete is not the current one) and fc.ErrNotEmpty
// (deleting a service that has functions, or a function that has triggers),
// wrapped with %w. A revision of 0 means "unconditional". Deleting a
// function also deletes its scaling configs.
//
// Reads through Get*/List* go to JetStream. The catalog methods
// (LookupFunction, LookupTrigger, Scaling, OnDemandMax, ProvisionTargets)
// answer from an in-memory copy of the buckets kept current by KV watches
// (this node's writes are visible in it as soon as the write returns), for
// the request hot path. The values they return are shared: callers must
// not modify them.
type JetStream struct {
	log  *slog.Logger
	kv   [numBuckets]jetstream.KeyValue
	code jetstream.ObjectStore
	// codeStream is code's stream, for what the object store API lacks
	// (DeleteCode).
	codeStream jetstream.Stream
	cat        *catalog
	// keys holds the access keys (keys.go); its watch belongs to the
	// key cache (internal/auth), not to the catalog.
	keys jetstream.KeyValue
	// versionSeq holds the services' last version ids (versions.go).
	versionSeq jetstream.KeyValue
	// domains holds the custom domains (domains.go), dcat their
	// in-memory copy (domaincat.go).
	domains jetstream.KeyValue
	dcat    *domainCatalog
	// marks holds what every node shares: the admin mark.
	marks *AdminMarks

	cancel    context.CancelFunc // stops the watchers
	wg        sync.WaitGroup     // the watcher goroutines
	closeOnce sync.Once
}

// Open creates or binds openfc's KV buckets and object store on js, starts
// the catalog watchers and returns once the catalog holds every stored
// service, function, trigger and scaling config. Close stops the watchers;
// the NATS connection stays with its owner. New buckets get replicas
// copies (a cluster's --replicas; 1 on a single node).
func Open(ctx context.Context, js jetstream.JetStream, replicas int, logger *slog.Logger) (*JetStream, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &JetStream{log: logger, cat: newCatalog(), dcat: newDomainCatalog()}
	for b := range numBuckets {
		kv, err := OpenKV(ctx, js, Spec{Name: b.name(), Description: "openfc metadata", Replicas: replicas})
		if err != nil {
			return nil, err
		}
		s.kv[b] = kv
	}
	keys, err := OpenKV(ctx, js, Spec{Name: accessKeysBucket, Description: "openfc access keys (secrets sealed)", Replicas: replicas})
	if err != nil {
		return nil, err
	}
	s.keys = keys
	if s.versionSeq, err = OpenKV(ctx, js, Spec{Name: versionSeqBucket, Description: "openfc last version id per service", Replicas: replicas}); err != nil {
		return nil, err
	}
	if s.domains, err = OpenKV(ctx, js, Spec{Name: domainsBucket, Description: "openfc custom domains", Replicas: replicas}); err != nil {
		return nil, err
	}
	if s.marks, err = OpenAdminMarks(ctx, js, replicas); err != nil {
		return nil, err
	}
	code, err := OpenObjectStore(ctx, js, Spec{Name: codeBucket, Description: "openfc code packages", Replicas: replicas})
	if err != nil {
		return nil, err
	}
	s.code = code
	if s.codeStream, err = ObjectStream(ctx, js, codeBucket); err != nil {
		return nil, err
	}

	// The watchers live until Close, so they get their own context: nats.go
	// unsubscribes a watcher when the ctx it was created with ends.
	wctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	ready := make(chan error, numBuckets+1)
	for b := range numBuckets {
		s.wg.Add(1)
		go s.watch(wctx, b, ready)
	}
	s.wg.Add(1)
	go s.watchDomains(wctx, ready)
	for range numBuckets + 1 {
		select {
		case err := <-ready:
			if err != nil {
				s.Close()
				return nil, err
			}
		case <-ctx.Done():
			s.Close()
			return nil, fmt.Errorf("store: loading the catalog: %w", ctx.Err())
		}
	}
	return s, nil
}

// Close stops the catalog watchers and waits for them. The catalog keeps
// its last state. Safe to call more than once.
func (s *JetStream) Close() {
	s.closeOnce.Do(func() {
		s.cancel()
		s.wg.Wait()
	})
}

func functionKey(service, function string) string { return service + "." + function }

func triggerKey(service, function, trigger string) string {
	return service + "." + function + "." + trigger
}

// CreateService stores a new service and returns its revision.
// fc.ErrAlreadyExists when it exists.
func (s *JetStream) CreateService(ctx context.Context, svc *fc.Service) (uint64, error) {
	if err := checkNewNames(bServices, svc.ServiceName); err != nil {
		return 0, err
	}
	return s.create(ctx, bServices, svc.ServiceName, svc)
}

// GetService reads a service and its revision. fc.ErrNotFound when it
// does not exist.
func (s *JetStream) GetService(ctx context.Context, name string) (*fc.Service, uint64, error) {
	if err := checkNames(bServices, name); err != nil {
		return nil, 0, err
	}
	v, rev, err := s.get(ctx, bServices, name)
	if err != nil {
		return nil, 0, err
	}
	return v.(*fc.Service), rev, nil
}

// UpdateService replaces a service and returns its new revision (rev 0:
// whatever its revision). fc.ErrNotFound when it does not exist,
// fc.ErrConflict when rev is not its current revision.
func (s *JetStream) UpdateService(ctx context.Context, svc *fc.Service, rev uint64) (uint64, error) {
	if err := checkNames(bServices, svc.ServiceName); err != nil {
		return 0, err
	}
	return s.update(ctx, bServices, svc.ServiceName, svc, rev)
}

// DeleteService deletes a service that has no functions (rev 0: whatever
// its revision). fc.ErrNotEmpty when it has functions, fc.ErrNotFound when
// it does not exist, fc.ErrConflict when rev is not its current revision.
func (s *JetStream) DeleteService(ctx context.Context, name string, rev uint64) error {
	if err := checkNames(bServices, name); err != nil {
		return err
	}
	for _, b := range []bucket{bFunctions, bVersions, bAliases} {
		busy, err := s.hasChildren(ctx, b, name+".*")
		if err != nil {
			return err
		}
		if busy {
			return fmt.Errorf("store: delete service %q: it has %ss: %w", name, b.kind(), fc.ErrNotEmpty)
		}
	}
	return s.del(ctx, bServices, name, rev)
}

// ListServices returns every service sorted by name.
func (s *JetStream) ListServices(ctx context.Context) ([]*fc.Service, error) {
	items, err := s.list(ctx, bServices, "*")
	if err != nil {
		return nil, err
	}
	return decodeAll[fc.Service](bServices, "", items)
}

// CreateFunction stores a new function in an existing service and returns
// its revision. fc.ErrNotFound when the service does not exist,
// fc.ErrAlreadyExists when the function does.
func (s *JetStream) CreateFunction(ctx context.Context, service string, f *fc.Function) (uint64, error) {
	if err := checkNames(bServices, service); err != nil {
		return 0, err
	}
	if err := checkNewNames(bFunctions, f.FunctionName); err != nil {
		return 0, err
	}
	if _, err := s.currentRev(ctx, bServices, service); err != nil {
		return 0, err
	}
	return s.create(ctx, bFunctions, functionKey(service, f.FunctionName), f)
}

// GetFunction reads a function and its revision. fc.ErrNotFound when it
// does not exist.
func (s *JetStream) GetFunction(ctx context.Context, service, name string) (*fc.Function, uint64, error) {
	if err := checkNames(bFunctions, service, name); err != nil {
		return nil, 0, err
	}
	v, rev, err := s.get(ctx, bFunctions, functionKey(service, name))
	if err != nil {
		return nil, 0, err
	}
	return v.(*fc.Function), rev, nil
}

// UpdateFunction replaces a function and returns its new revision (rev 0:
// whatever its revision). fc.ErrNotFound when it does not exist,
// fc.ErrConflict when rev is not its current revision.
func (s *JetStream) UpdateFunction(ctx context.Context, service string, f *fc.Function, rev uint64) (uint64, error) {
	if err := checkNames(bFunctions, service, f.FunctionName); err != nil {
		return 0, err
	}
	return s.update(ctx, bFunctions, functionKey(service, f.FunctionName), f, rev)
}

// DeleteFunction deletes a function that has no triggers (rev 0: whatever
// its revision), then its scaling configs (every qualifier). fc.ErrNotEmpty
// when it has triggers, fc.ErrNotFound when it does not exist,
// fc.ErrConflict when rev is not its current revision. When removing a
// scaling config fails the function is gone all the same and the error
// says so.
func (s *JetStream) DeleteFunction(ctx context.Context, service, name string, rev uint64) error {
	if err := checkNames(bFunctions, service, name); err != nil {
		return err
	}
	key := functionKey(service, name)
	busy, err := s.hasChildren(ctx, bTriggers, key+".*")
	if err != nil {
		return err
	}
	if busy {
		return fmt.Errorf("store: delete function %q: it has triggers: %w", key, fc.ErrNotEmpty)
	}
	if err := s.del(ctx, bFunctions, key, rev); err != nil {
		return err
	}
	if err := s.deleteScalingOf(ctx, service, name); err != nil {
		return fmt.Errorf("store: function %q deleted, but not its scaling configs: %w", key, err)
	}
	return nil
}

// ListFunctions returns the service's functions sorted by name. A service
// without functions, or an unknown one, gives an empty list.
func (s *JetStream) ListFunctions(ctx context.Context, service string) ([]*fc.Function, error) {
	if !validName(service) {
		return []*fc.Function{}, nil
	}
	items, err := s.list(ctx, bFunctions, service+".*")
	if err != nil {
		return nil, err
	}
	return decodeAll[fc.Function](bFunctions, service+".", items)
}

// CreateTrigger stores a new trigger on an existing function and returns
// its revision. fc.ErrNotFound when the function does not exist,
// fc.ErrAlreadyExists when the trigger does.
func (s *JetStream) CreateTrigger(ctx context.Context, service, function string, t *fc.Trigger) (uint64, error) {
	if err := checkNames(bFunctions, service, function); err != nil {
		return 0, err
	}
	if err := checkNewNames(bTriggers, t.TriggerName); err != nil {
		return 0, err
	}
	if _, err := s.currentRev(ctx, bFunctions, functionKey(service, function)); err != nil {
		return 0, err
	}
	return s.create(ctx, bTriggers, triggerKey(service, function, t.TriggerName), t)
}

// GetTrigger reads a trigger and its revision. fc.ErrNotFound when it does
// not exist.
func (s *JetStream) GetTrigger(ctx context.Context, service, function, name string) (*fc.Trigger, uint64, error) {
	if err := checkNames(bTriggers, service, function, name); err != nil {
		return nil, 0, err
	}
	v, rev, err := s.get(ctx, bTriggers, triggerKey(service, function, name))
	if err != nil {
		return nil, 0, err
	}
	return v.(*fc.Trigger), rev, nil
}

// UpdateTrigger replaces a trigger and returns its new revision (rev 0:
// whatever its revision). fc.ErrNotFound when it does not exist,
// fc.ErrConflict when rev is not its current revision.
func (s *JetStream) UpdateTrigger(ctx context.Context, service, function string, t *fc.Trigger, rev uint64) (uint64, error) {
	if err := checkNames(bTriggers, service, function, t.TriggerName); err != nil {
		return 0, err
	}
	return s.update(ctx, bTriggers, triggerKey(service, function, t.TriggerName), t, rev)
}

// DeleteTrigger deletes a trigger (rev 0: whatever its revision).
// fc.ErrNotFound when it does not exist, fc.ErrConflict when rev is not
// its current revision.
func (s *JetStream) DeleteTrigger(ctx context.Context, service, function, name string, rev uint64) error {
	if err := checkNames(bTriggers, service, function, name); err != nil {
		return err
	}
	return s.del(ctx, bTriggers, triggerKey(service, function, name), rev)
}

// ListTriggers returns the function's triggers sorted by name. An unknown
// function gives an empty list.
func (s *JetStream) ListTriggers(ctx context.Context, service, function string) ([]*fc.Trigger, error) {
	if !validName(service) || !validName(function) {
		return []*fc.Trigger{}, nil
	}
	prefix := triggerKey(service, function, "")
	items, err := s.list(ctx, bTriggers, prefix+"*")
	if err != nil {
		return nil, err
	}
	return decodeAll[fc.Trigger](bTriggers, prefix, items)
}
