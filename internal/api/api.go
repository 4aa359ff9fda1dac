// Package api serves FC's 2016-08-15 management REST API (services,
// functions, HTTP triggers, invocations, on-demand, provision and async
// configs, tasks, instances) over the store, with FC's JSON
// field names, status codes and error bodies, and openfc's access-keys
// extension. Every request must carry a valid FC signature made with the
// admin key, or with an access key whose scope allows the call (check).
package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/openfc/openfc/internal/codezip"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/route"
)

// Verifier checks the FC signature of a management request and says who
// signed (auth.Verifier).
type Verifier interface {
	VerifyHeader(r *http.Request, withQuery bool) (fc.Principal, error)
	// VerifyURL checks a signed URL (the code download, code.go).
	VerifyURL(r *http.Request) (fc.Principal, error)
	// PresignURL signs u for method with the access key accessKeyID,
	// valid for ttl (GetFunctionCode's url, code.go).
	PresignURL(accessKeyID, method string, u *url.URL, ttl time.Duration) (*url.URL, error)
}

// Invoker runs a synchronous event invocation (the gateway).
type Invoker interface {
	Invoke(w http.ResponseWriter, r *http.Request, requestID string, fn *fc.Function, qualifier string)
}

// Options configure the API.
type Options struct {
	Store    Store
	Verifier Verifier
	Invoker  Invoker
	// AccountID: requests naming another account are refused.
	AccountID string
	// PublicURL is the base of trigger URLs, e.g. "http://127.0.0.1:8080".
	PublicURL string
	// TriggerDomain is the parent domain of trigger subdomains; empty
	// reports only proxy-form URLs.
	TriggerDomain string
	// CodeLimits bound code zips (zero fields: codezip's defaults); their
	// errors name the knobs that raise them.
	CodeLimits codezip.Limits
	// Code keeps the code packages that creates and updates store or
	// reuse from collection until the function is written, and is told
	// of the packages a write stopped referencing. May be nil: nothing is
	// collected.
	Code CodeCollector
	// FunctionChanged is called after a function is updated or deleted
	// through this API (to retire its instances). May be nil.
	FunctionChanged func(service, function string)
	// ServiceChanged is called after a service update that changes how
	// its functions' instances run (fc.ServiceNetworkChanged), to retire
	// them. May be nil.
	ServiceChanged func(service string)
	// CodeReceived is called after a create or update that carried a code
	// package has been handled, whatever the outcome: such a request
	// allocates a few times the size of its zip. May be nil.
	CodeReceived func()
	// Instances lists running instances, for the instances endpoint and
	// provision-config's current. May be nil: no instances.
	Instances InstanceLister
	// MaxProvisionTarget caps provision-config targets; 0 means
	// DefaultMaxProvisionTarget.
	MaxProvisionTarget int
	Logger             *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Logs serves GET …/functions/{function}/logs; nil answers 503.
	Logs LogReader
	// Images serves the images endpoints (images.go); nil answers 503.
	Images Images
	// ImageUsers names the functions ("service/function") whose image is
	// ref (normalised, images.Normalize), so that removing it is refused.
	// May be nil: no check.
	ImageUsers func(ref string) []string
	// CheckRuntime reports why a built-in runtime (fc.IsBuiltinRuntime)
	// cannot run on this node (its interpreter is missing: the error
	// names the package to install). May be nil: no check.
	CheckRuntime func(runtime string) error
	// MaxImageBytes bounds an imported tarball; 0 means
	// DefaultMaxImageBytes.
	MaxImageBytes int64
	// Keys manages the access keys (keys.go); nil answers 503.
	Keys AccessKeys
	// Tasks reads and stops async tasks (async.go); nil answers 503.
	Tasks Tasks
	// Domains keeps the custom domains (domains.go); nil answers 503.
	Domains DomainStore
	// Cluster tells the cluster's status (cluster.go); nil answers 503.
	Cluster Cluster
}

// CodeCollector collects the code packages no function references
// (codegc.Collector).
type CodeCollector interface {
	// Hold keeps checksum from collection until release is called: from
	// before a write stores or reuses the package until the function
	// referencing it is written (or the write failed).
	Hold(checksum string) (release func())
	// Released tells that a write stopped referencing checksum: an update
	// replaced it, a delete removed it, or a failed write never stored
	// the function. The package goes if nothing else references it.
	Released(ctx context.Context, checksum string)
}

// API is the management API handler.
type API struct {
	opts Options
	lim  codezip.Limits // opts.CodeLimits with the defaults filled in
	log  *slog.Logger
	mux  *http.ServeMux
	// patterns lists the registered routes, for the test that checks
	// every one of them has its scope (scope.go).
	patterns []string
}

// New returns the API handler.
func New(o Options) *API {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	a := &API{opts: o, lim: o.CodeLimits.WithDefaults(), log: o.Logger, mux: http.NewServeMux()}
	a.routes()
	return a
}

// handlerFunc is an API handler: it returns the value to encode (with its
// status) or an error.
type handlerFunc func(r *http.Request, reqID string) (status int, body any, header http.Header, err error)

const v = "/" + fc.APIVersion

// handle registers a route; every handler is behind authenticated.
func (a *API) handle(pattern string, next func(w http.ResponseWriter, r *http.Request, reqID string)) {
	a.patterns = append(a.patterns, pattern)
	a.mux.Handle(pattern, a.authenticated(next))
}

func (a *API) routes() {
	h := func(pattern string, fn handlerFunc) { a.handle(pattern, a.wrap(fn)) }
	h("POST "+v+"/services", a.createService)
	h("GET "+v+"/services", a.listServices)
	h("GET "+v+"/services/{service}", a.getService)
	h("PUT "+v+"/services/{service}", a.updateService)
	h("DELETE "+v+"/services/{service}", a.deleteService)

	h("POST "+v+"/services/{service}/functions", a.createFunction)
	h("GET "+v+"/services/{service}/functions", a.listFunctions)
	h("GET "+v+"/services/{service}/functions/{function}", a.getFunction)
	h("PUT "+v+"/services/{service}/functions/{function}", a.updateFunction)
	h("DELETE "+v+"/services/{service}/functions/{function}", a.deleteFunction)

	h("POST "+v+"/services/{service}/functions/{function}/triggers", a.createTrigger)
	h("GET "+v+"/services/{service}/functions/{function}/triggers", a.listTriggers)
	h("GET "+v+"/services/{service}/functions/{function}/triggers/{trigger}", a.getTrigger)
	h("PUT "+v+"/services/{service}/functions/{function}/triggers/{trigger}", a.updateTrigger)
	h("DELETE "+v+"/services/{service}/functions/{function}/triggers/{trigger}", a.deleteTrigger)

	const fnv = v + "/services/{service}/functions/{function}"
	h("PUT "+fnv+"/on-demand-config", a.putOnDemandConfig)
	h("GET "+fnv+"/on-demand-config", a.getOnDemandConfig)
	h("DELETE "+fnv+"/on-demand-config", a.deleteOnDemandConfig)
	h("GET "+v+"/on-demand-configs", a.listOnDemandConfigs)
	h("PUT "+fnv+"/provision-config", a.putProvisionConfig)
	h("GET "+fnv+"/provision-config", a.getProvisionConfig)
	h("DELETE "+fnv+"/provision-config", a.deleteProvisionConfig)
	h("GET "+v+"/provision-configs", a.listProvisionConfigs)
	h("GET "+fnv+"/instances", a.listInstances)

	a.imageRoutes(h)
	a.keyRoutes(h)
	a.asyncRoutes(h)   // async.go
	a.versionRoutes(h) // versions.go
	a.domainRoutes(h)  // domains.go
	a.clusterRoutes(h) // cluster.go
	a.codeRoutes(h)    // code.go

	a.handle(invokePattern, a.invoke)
	a.handle("GET "+v+"/services/{service}/functions/{function}/logs", a.functionLogs)
	h("/", func(r *http.Request, _ string) (int, any, http.Header, error) {
		return 0, nil, nil, fc.Errorf(fc.CodePathNotSupported, "'%s' against '%s' is not supported", r.Method, r.URL.Path)
	})
}

// ServeHTTP serves the management API.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// check authenticates a request (FC signature and account) and applies
// the signing key's scope to what the route does (routeScope): the one
// place where management calls meet access-key scopes. It returns who
// signed.
func (a *API) check(r *http.Request) (fc.Principal, error) {
	p, err := a.verify(r)
	if err != nil {
		return fc.Principal{}, err
	}
	if acct := r.Header.Get("X-Fc-Account-Id"); acct != "" && acct != a.opts.AccountID {
		return p, fc.Errorf(fc.CodeAccessDenied, "the caller is not authorized to access account '%s'", acct)
	}
	action, service, function := routeScope(r)
	return p, p.Allow(action, service, function)
}

// authenticated wraps a handler with check: a refused call never reaches
// it. The handler finds the principal with principalFrom.
func (a *API) authenticated(next func(w http.ResponseWriter, r *http.Request, reqID string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqID := fc.NewRequestID()
		p, err := a.check(r)
		r = r.WithContext(withPrincipal(r.Context(), p))
		if err != nil {
			a.writeErr(w, r, reqID, err)
			return
		}
		a.log.Debug("management API call", "request_id", reqID, "key_id", p.KeyID, "method", r.Method, "path", r.URL.Path)
		next(w, r, reqID)
	})
}

func (a *API) wrap(fn handlerFunc) func(w http.ResponseWriter, r *http.Request, reqID string) {
	return func(w http.ResponseWriter, r *http.Request, reqID string) {
		status, body, header, err := fn(r, reqID)
		if err != nil {
			a.writeErr(w, r, reqID, err)
			return
		}
		for k, vs := range header {
			w.Header()[k] = vs
		}
		w.Header().Set(fc.HeaderRequestID, reqID)
		if body == nil {
			w.WriteHeader(status)
			return
		}
		b, err := json.Marshal(body)
		if err != nil {
			a.writeErr(w, r, reqID, fmt.Errorf("encoding response: %w", err))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(status)
		_, _ = w.Write(b)
	}
}

func (a *API) writeErr(w http.ResponseWriter, r *http.Request, reqID string, err error) {
	fe := fc.AsError(err)
	keyID := principalFrom(r.Context()).KeyID
	if fe.Code == fc.CodeInternalServerError {
		a.log.Error("management API error", "request_id", reqID, "key_id", keyID, "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		a.log.Debug("management API request refused", "request_id", reqID, "key_id", keyID, "method", r.Method, "path", r.URL.Path, "code", fe.Code, "msg", fe.Message)
	}
	fc.WriteError(w, reqID, fe)
}

// maxBody bounds a management request body: the code zip in base64 plus
// some room for the JSON around it.
func (a *API) maxBody() int64 {
	return int64(base64.StdEncoding.EncodedLen(int(a.lim.MaxZipBytes))) + 1<<20
}

// decode reads a JSON body into v, strictly typed, with FC's errors.
func (a *API) decode(r *http.Request, v any) error {
	limit := a.maxBody()
	// One byte past the limit tells a body over it; nothing read is lost,
	// so tooLarge can go on counting where this stopped.
	b, err := readBody(io.LimitReader(r.Body, limit+1), r.ContentLength, limit+1)
	if err != nil {
		return fc.Errorf(fc.CodeInvalidArgument, "reading request body: %v", err)
	}
	if int64(len(b)) > limit {
		return a.tooLarge(b, r.Body, limit)
	}
	if len(b) == 0 {
		return fc.Errorf(fc.CodeInvalidArgument, "the request body is empty; a JSON object is required")
	}
	return unmarshalBody(b, v)
}

// unmarshalBody decodes a request body (or part of one) into v, with FC's
// errors.
func unmarshalBody(b []byte, v any) error {
	err := json.Unmarshal(b, v)
	if err == nil {
		return nil
	}
	var fe *fc.Error
	if errors.As(err, &fe) { // a type's own check (fc.CustomContainerConfig)
		return fe
	}
	var ce base64.CorruptInputError
	if errors.As(err, &ce) { // the one []byte field: fc.FunctionCode.ZipFile
		return fc.Errorf(fc.CodeInvalidArgument, "code.zipFile is not valid base64: %v", err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field == "" {
		return fc.Errorf(fc.CodeInvalidArgument, "the request body must be a JSON object, got JSON %s", te.Value)
	}
	if errors.As(err, &te) {
		return fc.Errorf(fc.CodeInvalidArgument, "field %s: expected %s, got JSON %s", te.Field, te.Type, te.Value)
	}
	return fc.Errorf(fc.CodeInvalidArgument, "the request body is not valid JSON: %v", err)
}

// readBody reads body whole. With a Content-Length (within limit) it reads
// into one buffer of that size, instead of growing one by doubling: a code
// upload is the largest thing the server reads, and ReadAll's growth would
// allocate about twice its size.
func readBody(body io.Reader, contentLength, limit int64) ([]byte, error) {
	if contentLength <= 0 || contentLength > limit {
		return io.ReadAll(body)
	}
	buf := make([]byte, 0, contentLength+1) // +1: room to see EOF
	for {
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) { // longer than announced
			rest, err := io.ReadAll(body)
			return append(buf, rest...), err
		}
	}
}

// etag renders a store revision as an ETag.
func etag(rev uint64) http.Header {
	return http.Header{"Etag": {strconv.Quote(strconv.FormatUint(rev, 16))}}
}

// ifMatch returns the revision named by an If-Match header, 0 if absent.
func ifMatch(r *http.Request) (uint64, error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" || v == "*" {
		return 0, nil
	}
	v = strings.TrimPrefix(v, "W/")
	if uq, err := strconv.Unquote(v); err == nil {
		v = uq
	}
	rev, err := strconv.ParseUint(v, 16, 64)
	if err != nil || rev == 0 {
		// An etag we never issued cannot match.
		return 0, fc.Errorf(fc.CodePreconditionFailed, "the resource being modified has been changed")
	}
	return rev, nil
}

// page is a list request's pagination.
type page struct {
	limit     int
	prefix    string
	startKey  string
	nextToken string
}

func parsePage(r *http.Request) (page, error) {
	q := r.URL.Query()
	p := page{limit: 20, prefix: q.Get("prefix"), startKey: q.Get("startKey"), nextToken: q.Get("nextToken")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			return p, fc.Errorf(fc.CodeInvalidArgument, "limit %q is invalid: use 1 to 100", s)
		}
		p.limit = n
	}
	return p, nil
}

// paginate applies prefix, startKey/nextToken and limit to items sorted
// by name, returning the page and the next token ("" on the last page).
func paginate[T any](p page, items []T, name func(T) string) ([]T, string) {
	start := p.startKey
	if p.nextToken != "" {
		start = p.nextToken
	}
	out := make([]T, 0, min(len(items), p.limit))
	for _, it := range items {
		n := name(it)
		if n < start || !strings.HasPrefix(n, p.prefix) {
			continue
		}
		if len(out) == p.limit {
			return out, n
		}
		out = append(out, it)
	}
	return out, ""
}

// storeErr turns a store error into FC's error for a resource.
func storeErr(err error, notFound, exists *fc.Error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fc.ErrNotFound) && notFound != nil:
		return notFound
	case errors.Is(err, fc.ErrAlreadyExists) && exists != nil:
		return exists
	case errors.Is(err, fc.ErrConflict):
		return fc.Errorf(fc.CodePreconditionFailed, "the resource being modified has been changed")
	}
	return err
}

func (a *API) now() string { return fc.Timestamp(a.opts.Now()) }

// splitQualifier reads the "{service}[.{qualifier}]" of an API path
// (route's one parser; no qualifier is LATEST) and accepts only the
// qualifiers that exist (checkQualifier).
func (a *API) splitQualifier(s string) (service, qualifier string, err error) {
	service, qualifier, ok := route.SplitQualified(s)
	if !ok {
		return "", "", fc.Errorf(fc.CodeInvalidArgument, "'%s' is not a service name with an optional .qualifier", s)
	}
	if err := a.checkQualifier(service, qualifier); err != nil {
		return "", "", err
	}
	return service, qualifier, nil
}

// checkQualifier accepts LATEST and the versions and aliases of service
// the catalog holds; any other is VersionNotFound or AliasNotFound.
func (a *API) checkQualifier(service, qualifier string) error {
	if qualifier == "" || qualifier == fc.LATEST || a.opts.Store.QualifierExists(service, qualifier) {
		return nil
	}
	return fc.QualifierNotFound(service, qualifier)
}
