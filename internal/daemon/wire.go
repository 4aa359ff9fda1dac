package daemon

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/openfc/openfc/internal/api"
	"github.com/openfc/openfc/internal/auth"
	"github.com/openfc/openfc/internal/config"
	"github.com/openfc/openfc/internal/console"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/gateway"
	"github.com/openfc/openfc/internal/instance"
	"github.com/openfc/openfc/internal/sandbox"
)

// This file builds the parts Start wires together.

// newInstances builds the instance manager (and the logs it writes).
func (d *Daemon) newInstances(sb sandbox.Sandbox, reg prometheus.Registerer) *instance.Manager {
	o := d.opts
	d.newLogs(reg)
	return instance.New(instance.Options{
		Sandbox:              sb,
		Code:                 d.code.cache,
		Images:               d.imageSource(),
		RuntimesInContainers: d.isolation() == config.IsolationContainer,
		Runtimes:             d.runtimes,
		Region:               o.Region,
		AccountID:            o.AccountID,
		StartTimeout:         o.StartTimeout,
		MaxInstances:         o.MaxInstances,
		MaxPerFunction:       o.MaxInstancesPerFunction,
		QueueDepth:           o.QueueDepth,
		QueueTimeout:         o.QueueTimeout,
		IdleTimeout:          o.IdleTimeout,
		Slots:                d.instanceSlots(),
		Scaling:              d.store,
		ProvisionTargets:     d.provisionTargets,
		LookupFunction: func(service, function string) (*fc.Function, bool) {
			fn, _, _, ok := d.store.LookupFunction(service, function)
			return fn, ok
		},
		LookupService: d.store.LookupService,
		Logs:          d.logs,
		Output:        d.instanceOutput(),
		Metrics:       instance.NewMetrics(reg),
		Logger:        d.log.With("component", "instance"),
	})
}

// newGateway builds the management API and the gateway, whose front door
// serves both, and starts the gateway's goroutines (the idle-connection
// sweeper, the access log's batches) until Shutdown stops them.
func (d *Daemon) newGateway(ctx context.Context, verifier *auth.Verifier, reg prometheus.Registerer) *gateway.Gateway {
	// The API invokes through the gateway, and the gateway's front door
	// hands it what is not a trigger request: gw is set right below.
	o := d.opts
	var gw *gateway.Gateway
	mgmt := api.New(api.Options{
		Store:    d.store,
		Verifier: verifier,
		Invoker: invokerFunc(func(w http.ResponseWriter, r *http.Request, id string, fn *fc.Function, q string) {
			gw.Invoke(w, r, id, fn, q)
		}),
		AccountID:       o.AccountID,
		PublicURL:       "http://" + d.ln.Addr().String(),
		TriggerDomain:   o.TriggerDomain,
		CodeLimits:      codeLimits(o),
		Code:            d.code.collector,
		FunctionChanged: d.functionChanged,
		ServiceChanged:  d.instances.ForgetService,
		CodeReceived:    d.trim.poke,
		Instances:       d.instances,
		Logs:            d.logs,
		Images:          d.images,
		ImageUsers:      d.imageUsers,
		CheckRuntime:    d.checkRuntime,
		Keys:            d.keys,
		Tasks:           d.async,
		Domains:         d.store,
		Cluster:         d,
		Logger:          d.log.With("component", "api"),
	})
	gw = gateway.New(gateway.Options{
		Catalog:       d.store,
		Instances:     instancesAdapter{d.instances},
		Queue:         d.async,
		Peers:         d.gatewayPeers(),
		Verifier:      verifier,
		JWT:           &auth.JWT{},
		Management:    mgmt,
		Console:       console.New(console.Options{Logger: d.log.With("component", "console")}),
		Region:        o.Region,
		AccountID:     o.AccountID,
		TriggerDomain: o.TriggerDomain,
		Domains:       d.store,
		APIHosts:      o.APIHosts,
		Limits: gateway.Limits{
			MaxHeaderBytes:         o.MaxRequestHeaderBytes,
			MaxPathBytes:           o.MaxRequestPathBytes,
			MaxSyncBody:            o.MaxSyncBodyBytes,
			MaxAsyncBody:           o.MaxAsyncBodyBytes,
			MaxResponseHeaderBytes: o.MaxResponseHeaderBytes,
			MaxStreamMessage:       o.MaxStreamMessageBytes,
		},
		Metrics:   gateway.NewMetrics(reg),
		Logger:    d.log.With("component", "gateway"),
		AccessLog: d.accessLog(ctx),
	})
	gctx, stopGateway := context.WithCancel(context.WithoutCancel(ctx))
	d.stopGateway = stopGateway
	d.wg.Add(2)
	go func() {
		defer d.wg.Done()
		gw.Run(gctx, 10*time.Second)
	}()
	go func() {
		defer d.wg.Done()
		d.accessOut.Run(gctx) // flushes when the gateway stops
	}()
	return gw
}

// listenAdmin opens the admin listener, when one is configured.
func (d *Daemon) listenAdmin() error {
	o := d.opts
	if o.AdminListen == "" {
		return nil
	}
	var err error
	if d.adminLn, err = net.Listen("tcp", o.AdminListen); err != nil {
		return fmt.Errorf("listen %s: %w", o.AdminListen, err)
	}
	return nil
}

// startAdmin serves /healthz, /metrics, /cluster (clusterstatus.go) and (with --pprof) the profiler on
// the admin listener, when there is one.
func (d *Daemon) startAdmin(reg *prometheus.Registry) {
	o := d.opts
	if d.adminLn == nil {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /cluster", d.serveClusterStatus)
	if o.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	d.admin = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	d.serveWith(d.admin.Serve, d.adminLn)
}

// checkRuntime is the API's deploy-time check of a built-in runtime: its
// launcher finds the interpreter. An older one than asked only warns (in
// the function's log, when an instance starts).
func (d *Daemon) checkRuntime(rt string) error {
	r, _, ok := d.runtimes.For(rt)
	if !ok {
		return fmt.Errorf("runtime %s is not available on this openfc", rt)
	}
	_, err := r.Check(rt)
	return err
}
