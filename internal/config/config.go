// Package config holds the options of `openfc serve` with their documented
// defaults. Load is a pure function of its arguments and environment, so
// it can be table-tested without touching the process environment.
package config

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/sandbox/network"
)

// Options are the server's startup options.
type Options struct {
	// Listen is the front door and management API address.
	Listen string
	// AdminListen serves /healthz and /metrics. Empty disables it.
	AdminListen string
	// Pprof also serves Go's profiler at /debug/pprof/ on AdminListen.
	Pprof bool
	// DataDir holds the embedded JetStream store, unpacked code, the
	// generated admin credentials. Default: $OPENFC_DATA, else ~/.openfc.
	DataDir string
	// NATSURL, when set, uses an external NATS JetStream instead of the
	// embedded server.
	NATSURL string
	// NATSListen makes the embedded NATS server also listen on TCP (for
	// other nodes or tools); empty keeps it in-process only.
	NATSListen string
	// Isolation is how custom-runtime instances run: IsolationProcess
	// (default: child processes) or IsolationContainer (runc: the host's
	// root read-only, the code at /code). Custom containers run in runc
	// either way.
	Isolation string
	// NetNS selects per-instance network namespaces: auto, on or off.
	NetNS string
	// InstanceCIDR is the IPv4 pool instance links are addressed from,
	// one /30 per instance. Default network.DefaultCIDR (169.254.64.0/18).
	InstanceCIDR netip.Prefix
	// InstanceAllowHostPorts, when not nil, are the only host TCP ports
	// instances may reach (empty: none). Nil is the default policy: every
	// host port but openfc's own listeners.
	InstanceAllowHostPorts []uint16
	// InstanceNetNSPool is how many namespaces are kept ready ahead of cold
	// starts; 0 keeps none. Default network.DefaultPoolSize.
	InstanceNetNSPool int
	// Region and AccountID are the single region and account openfc serves.
	Region    string
	AccountID string
	// AccessKeyID/AccessKeySecret override the admin key (else env, else
	// the data dir's credentials.json).
	AccessKeyID     string
	AccessKeySecret string
	// TriggerDomain is the parent domain of trigger subdomains.
	TriggerDomain string
	// APIHosts are more host names of the server itself (the management
	// API and the proxy form), besides IP literals, one-label names,
	// *.localhost, the trigger domain and FC's *.fc.aliyuncs.com names;
	// any other Host is a custom domain's (or DomainNameNotFound).
	APIHosts []string
	// StartTimeout bounds how long an instance may take to accept
	// connections on its CAPort (FC: 120 s).
	StartTimeout time.Duration
	// MaxInstances caps instances on this node (FC's regional quota).
	MaxInstances int
	// MaxInstancesPerFunction caps instances of one function version that
	// has no on-demand config.
	MaxInstancesPerFunction int
	// QueueDepth and QueueTimeout bound the requests waiting for an
	// instance of one function; beyond them requests get 429.
	QueueDepth   int
	QueueTimeout time.Duration
	// IdleTimeout: instances idle that long are stopped.
	IdleTimeout time.Duration
	// LogBytesPerFunction bounds the instance logs kept per function.
	LogBytesPerFunction int
	// MaxCodeSize caps an uploaded code zip (bytes, compressed).
	MaxCodeSize int64
	// MaxUnpackedCodeSize caps the unpacked code (bytes).
	MaxUnpackedCodeSize int64
	// MaxCodeFiles caps the entries of a code zip.
	MaxCodeFiles int
	// TLSListen, when set, serves HTTPS (HTTP/1.1 and HTTP/2 by ALPN) on
	// that address with the certificate and key in TLSCert and TLSKey
	// (PEM files).
	TLSListen, TLSCert, TLSKey string
	// HTTP1Server serves cleartext HTTP/1.1 on Listen: HTTP1NetHTTP
	// (Go's net/http, the default) or HTTP1Fast (openfc's event-loop-style
	// server over fasthttp's parser). h2c and TLS stay on net/http either way.
	HTTP1Server string
	// HeaderTimeout bounds the reading of a request's head on the front
	// door (a client trickling its headers is cut then).
	HeaderTimeout time.Duration
	// MaxStreamMessageBytes bounds one WebSocket or gRPC message.
	MaxStreamMessageBytes int64
	// ShutdownTimeout bounds draining of in-flight requests on SIGTERM.
	ShutdownTimeout time.Duration
	// LogLevel: debug, info, warn, error.
	LogLevel string
	// HTTP-trigger limits (FC's defaults): request headers, request path
	// and query, sync and async request bodies, response headers.
	MaxRequestHeaderBytes  int
	MaxRequestPathBytes    int
	MaxSyncBodyBytes       int64
	MaxAsyncBodyBytes      int64
	MaxResponseHeaderBytes int
	// SyncAlways makes the embedded JetStream fsync every write before it
	// acknowledges it: an accepted async request (and every other write)
	// survives a power loss, at a throughput cost. Without it a write
	// survives a crash of openfc but not of the machine.
	SyncAlways bool
	// Cluster says how this node joins others (cluster.go).
	Cluster Cluster
	// LogMaxAge is how long instance logs are kept (the log streams'
	// max age); 0 keeps them until the byte limit drops them.
	LogMaxAge time.Duration
	// AsyncWorkers is how many async invocations this node runs at once
	// (default 16).
	AsyncWorkers int
}

// The values of --isolation.
const (
	IsolationProcess   = "process"
	IsolationContainer = "container"
)

// The values of --http1-server.
const (
	HTTP1NetHTTP = "nethttp"
	HTTP1Fast    = "fast"
)

// Defaults returns the options with every default filled in. home is the
// user's home directory (for the default data dir).
func Defaults(home string) Options {
	return Options{
		Listen:                  "127.0.0.1:8080",
		AdminListen:             "127.0.0.1:8081",
		DataDir:                 filepath.Join(home, ".openfc"),
		Isolation:               IsolationProcess,
		HTTP1Server:             HTTP1NetHTTP,
		HeaderTimeout:           30 * time.Second,
		NetNS:                   "auto",
		InstanceCIDR:            network.DefaultCIDR,
		InstanceNetNSPool:       network.DefaultPoolSize,
		Region:                  "cn-hangzhou",
		AccountID:               "1234567890123456",
		TriggerDomain:           "fcapp.localhost",
		StartTimeout:            120 * time.Second,
		MaxInstances:            100,
		MaxInstancesPerFunction: 100,
		QueueDepth:              100,
		QueueTimeout:            30 * time.Second,
		IdleTimeout:             5 * time.Minute,
		LogBytesPerFunction:     4 << 20,
		MaxCodeSize:             100 << 20,
		MaxUnpackedCodeSize:     500 << 20,
		MaxCodeFiles:            100_000,
		ShutdownTimeout:         30 * time.Second,
		MaxStreamMessageBytes:   fc.MaxStreamMessageBytes,
		LogLevel:                "info",
		AsyncWorkers:            16,
		LogMaxAge:               7 * 24 * time.Hour,
		MaxRequestHeaderBytes:   fc.MaxRequestHeaderBytes,
		MaxRequestPathBytes:     fc.MaxRequestPathBytes,
		MaxSyncBodyBytes:        fc.MaxSyncBodyBytes,
		MaxAsyncBodyBytes:       fc.MaxAsyncBodyBytes,
		MaxResponseHeaderBytes:  fc.MaxResponseHeaderBytes,
	}
}

// The flags of the code limits. Their errors name them, so that whoever
// hits a limit learns which flag raises it.
const (
	FlagMaxCodeSize         = "max-code-size"
	FlagMaxUnpackedCodeSize = "max-unpacked-code-size"
	FlagMaxCodeFiles        = "max-code-files"
)

// FlagSet returns the serve flags bound to o (whose values are the
// defaults shown in --help).
func FlagSet(o *Options) *pflag.FlagSet {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.Usage = func() {} // the CLI prints help itself
	fs.StringVar(&o.Listen, "listen", o.Listen, "front door and management API address")
	fs.StringVar(&o.AdminListen, "admin-listen", o.AdminListen, "admin address (/healthz, /metrics); empty disables it")
	fs.BoolVar(&o.Pprof, "pprof", o.Pprof, "serve Go's profiler at /debug/pprof/ on the admin address")
	fs.StringVar(&o.DataDir, "data", o.DataDir, "data directory (env OPENFC_DATA)")
	fs.StringVar(&o.NATSURL, "nats", o.NATSURL, "external NATS JetStream URL (default: embedded server)")
	fs.StringVar(&o.NATSListen, "nats-listen", o.NATSListen, "also expose the embedded NATS server on this address")
	fs.StringVar(&o.Isolation, "isolation", o.Isolation,
		"how custom-runtime instances run: process, or container (runc; falls back to process where runc is missing)")
	fs.StringVar(&o.NetNS, "netns", o.NetNS, "per-instance network namespace: auto, on or off")
	fs.Var(prefixValue{&o.InstanceCIDR}, FlagInstanceCIDR, "IPv4 range instance addresses come from, a /30 per instance")
	fs.Var(portsValue{&o.InstanceAllowHostPorts}, FlagInstanceAllowHostPorts,
		"the only host TCP ports instances may reach, e.g. 5432,8000-8100, or none (default: all but openfc's own)")
	fs.IntVar(&o.InstanceNetNSPool, FlagInstanceNetNSPool, o.InstanceNetNSPool, "network namespaces kept ready for cold starts; 0 keeps none")
	fs.StringVar(&o.Region, "region", o.Region, "region id reported to functions")
	fs.StringVar(&o.AccountID, "account-id", o.AccountID, "account id")
	fs.StringVar(&o.AccessKeyID, "access-key-id", o.AccessKeyID, "admin AccessKey id (env OPENFC_ACCESS_KEY_ID)")
	fs.StringVar(&o.AccessKeySecret, "access-key-secret", o.AccessKeySecret, "admin AccessKey secret (env OPENFC_ACCESS_KEY_SECRET)")
	fs.StringVar(&o.TriggerDomain, "trigger-domain", o.TriggerDomain, "parent domain of trigger subdomains")
	fs.StringSliceVar(&o.APIHosts, "api-host", o.APIHosts,
		"more host names of the management API (repeatable); other hosts than IPs, localhost, the trigger domain and *.fc.aliyuncs.com are custom domains")
	fs.DurationVar(&o.StartTimeout, "start-timeout", o.StartTimeout, "how long an instance may take to listen on its port")
	fs.IntVar(&o.MaxInstances, "max-instances", o.MaxInstances, "instances on this node, all functions together")
	fs.IntVar(&o.MaxInstancesPerFunction, "max-instances-per-function", o.MaxInstancesPerFunction, "instances per function version without an on-demand config")
	fs.IntVar(&o.QueueDepth, "queue-depth", o.QueueDepth, "requests that may wait for an instance of one function (more get 429)")
	fs.DurationVar(&o.QueueTimeout, "queue-timeout", o.QueueTimeout, "how long a request may wait for an instance (then 429)")
	fs.DurationVar(&o.IdleTimeout, "idle-timeout", o.IdleTimeout, "stop instances idle this long")
	fs.IntVar(&o.LogBytesPerFunction, "log-bytes-per-function", o.LogBytesPerFunction, "instance log kept per function, bytes")
	fs.Int64Var(&o.MaxCodeSize, FlagMaxCodeSize, o.MaxCodeSize, "largest accepted code zip, bytes")
	fs.Int64Var(&o.MaxUnpackedCodeSize, FlagMaxUnpackedCodeSize, o.MaxUnpackedCodeSize, "largest unpacked code, bytes")
	fs.IntVar(&o.MaxCodeFiles, FlagMaxCodeFiles, o.MaxCodeFiles, "most entries (files, directories, symlinks) in a code zip")
	fs.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", o.ShutdownTimeout, "how long SIGTERM waits for in-flight requests")
	fs.StringVar(&o.TLSListen, "tls-listen", o.TLSListen, "also serve HTTPS (HTTP/1.1 and HTTP/2) on this address, e.g. 127.0.0.1:8443")
	fs.StringVar(&o.HTTP1Server, "http1-server", o.HTTP1Server, "cleartext HTTP/1.1 server on --listen: nethttp or fast (h2c and TLS stay on net/http)")
	fs.DurationVar(&o.HeaderTimeout, "header-timeout", o.HeaderTimeout, "front door: how long a client may take to send a request's head")
	fs.StringVar(&o.TLSCert, "tls-cert", o.TLSCert, "PEM certificate (chain) for --tls-listen")
	fs.StringVar(&o.TLSKey, "tls-key", o.TLSKey, "PEM private key for --tls-listen")
	fs.Int64Var(&o.MaxStreamMessageBytes, "max-stream-message-bytes", o.MaxStreamMessageBytes, "HTTP trigger: largest WebSocket or gRPC message, either way")
	fs.StringVar(&o.LogLevel, "log-level", o.LogLevel, "debug, info, warn or error")
	fs.IntVar(&o.MaxRequestHeaderBytes, "max-request-header-bytes", o.MaxRequestHeaderBytes, "HTTP trigger: largest request headers (keys + values)")
	fs.IntVar(&o.MaxRequestPathBytes, "max-request-path-bytes", o.MaxRequestPathBytes, "HTTP trigger: longest request path + query")
	fs.Int64Var(&o.MaxSyncBodyBytes, "max-sync-body-bytes", o.MaxSyncBodyBytes, "HTTP trigger: largest synchronous request body")
	fs.Int64Var(&o.MaxAsyncBodyBytes, "max-async-body-bytes", o.MaxAsyncBodyBytes, "HTTP trigger: largest asynchronous request body")
	fs.IntVar(&o.MaxResponseHeaderBytes, "max-response-header-bytes", o.MaxResponseHeaderBytes, "HTTP trigger: largest response headers a function may send")
	fs.BoolVar(&o.SyncAlways, "sync-always", o.SyncAlways, "embedded JetStream: fsync every write before acknowledging it (power-loss durability, slower)")
	fs.IntVar(&o.AsyncWorkers, "async-workers", o.AsyncWorkers, "async invocations this node runs at once")
	fs.DurationVar(&o.LogMaxAge, "log-max-age", o.LogMaxAge, "how long instance logs are kept; 0 keeps them until --log-bytes-per-function drops them")
	registerClusterFlags(fs, o)
	return fs
}

// Load builds the options from defaults, the environment (getenv) and the
// command-line args, in increasing precedence. It returns pflag.ErrHelp
// when args ask for help.
func Load(args []string, getenv func(string) string) (*Options, error) {
	home := getenv("HOME")
	if home == "" {
		home = os.TempDir()
	}
	o := Defaults(home)
	if v := getenv("OPENFC_DATA"); v != "" {
		o.DataDir = v
	}
	if v := getenv("OPENFC_NATS_URL"); v != "" {
		o.NATSURL = v
	}
	o.AccessKeyID = getenv("OPENFC_ACCESS_KEY_ID")
	o.AccessKeySecret = getenv("OPENFC_ACCESS_KEY_SECRET")
	fs := FlagSet(&o)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	return &o, nil
}

func (o *Options) validate() error {
	switch {
	case o.Listen == "":
		return errors.New("--listen is required")
	case o.DataDir == "":
		return errors.New("--data is required")
	case o.Isolation != IsolationProcess && o.Isolation != IsolationContainer:
		return fmt.Errorf("--isolation %q: use %s or %s", o.Isolation, IsolationProcess, IsolationContainer)
	case o.HTTP1Server != HTTP1NetHTTP && o.HTTP1Server != HTTP1Fast:
		return fmt.Errorf("--http1-server %q: use %s or %s", o.HTTP1Server, HTTP1NetHTTP, HTTP1Fast)
	case o.NetNS != "auto" && o.NetNS != "on" && o.NetNS != "off":
		return fmt.Errorf("--netns %q: use auto, on or off", o.NetNS)
	case (o.AccessKeyID == "") != (o.AccessKeySecret == ""):
		return errors.New("set both the access key id and secret, or neither")
	case o.StartTimeout <= 0:
		return errors.New("--start-timeout must be positive")
	case o.MaxInstancesPerFunction < 1, o.MaxInstances < 1:
		return errors.New("--max-instances and --max-instances-per-function must be at least 1")
	case o.HeaderTimeout <= 0:
		return errors.New("--header-timeout must be positive")
	case o.QueueDepth < 1, o.QueueTimeout <= 0, o.IdleTimeout <= 0, o.LogBytesPerFunction < 1:
		return errors.New("--queue-depth, --queue-timeout, --idle-timeout and --log-bytes-per-function must be positive")
	case o.MaxCodeSize < 1, o.MaxUnpackedCodeSize < 1, o.MaxCodeFiles < 1:
		return fmt.Errorf("--%s, --%s and --%s must be positive", FlagMaxCodeSize, FlagMaxUnpackedCodeSize, FlagMaxCodeFiles)
	case o.AsyncWorkers < 1:
		return errors.New("--async-workers must be at least 1")
	case (o.TLSListen == "") != (o.TLSCert == "") || (o.TLSListen == "") != (o.TLSKey == ""):
		return errors.New("--tls-listen needs --tls-cert and --tls-key (and they need it)")
	case o.MaxRequestHeaderBytes < 1, o.MaxRequestPathBytes < 1, o.MaxSyncBodyBytes < 1, o.MaxAsyncBodyBytes < 1, o.MaxResponseHeaderBytes < 1, o.MaxStreamMessageBytes < 1:
		return errors.New("request and response limits must be positive")
	case o.TriggerDomain == "" || strings.HasPrefix(o.TriggerDomain, ".") || strings.Contains(o.TriggerDomain, ":"):
		return fmt.Errorf("--trigger-domain %q: give a domain such as fcapp.localhost", o.TriggerDomain)
	}
	if err := o.validateCluster(); err != nil {
		return err
	}
	return o.validateNetwork()
}
