package instance

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openfc/openfc/internal/fc"
)

// Metrics are the instance manager's Prometheus metrics. A nil *Metrics
// records nothing.
type Metrics struct {
	reg        prometheus.Registerer
	coldStarts *prometheus.CounterVec
	coldStartD prometheus.Histogram
	queueWaitD prometheus.Histogram
	throttles  *prometheus.CounterVec
	exits      *prometheus.CounterVec
}

// NewMetrics registers the manager's counters on reg; the instance gauges
// are registered when the manager starts (they read its state).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reg: reg,
		coldStarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfc_cold_starts_total", Help: "Instances started, by function.",
		}, []string{"function"}),
		coldStartD: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "openfc_cold_start_duration_seconds", Help: "Time from starting an instance to it being ready (initializer included).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}),
		queueWaitD: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "openfc_queue_wait_seconds", Help: "Time requests waited for an instance slot.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		throttles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfc_throttled_requests_total", Help: "Requests refused with 429 ResourceThrottled, by function.",
		}, []string{"function"}),
		exits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfc_instance_stops_total", Help: "Instances stopped, by reason (idle, crashed, unhealthy, retired, shutdown, …).",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.coldStarts, m.coldStartD, m.queueWaitD, m.throttles, m.exits)
	return m
}

// observe registers the instances-by-state gauge for mgr.
func (m *Metrics) observe(mgr *Manager) {
	if m == nil {
		return
	}
	for _, state := range []string{fc.InstanceStarting, fc.InstanceReady} {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "openfc_instances", Help: "Instances on this node by state.", ConstLabels: prometheus.Labels{"state": state},
		}, func() float64 {
			n := 0
			for _, i := range mgr.ListInstances("", "") {
				if i.State == state {
					n++
				}
			}
			return float64(n)
		}))
	}
}

func (m *Metrics) coldStart(function string, d time.Duration) {
	if m != nil {
		m.coldStarts.WithLabelValues(function).Inc()
		m.coldStartD.Observe(d.Seconds())
	}
}

func (m *Metrics) queueWait(d time.Duration) {
	if m != nil {
		m.queueWaitD.Observe(d.Seconds())
	}
}

func (m *Metrics) throttle(function string) {
	if m != nil {
		m.throttles.WithLabelValues(function).Inc()
	}
}

func (m *Metrics) exit(reason string) {
	if m != nil {
		m.exits.WithLabelValues(reason).Inc()
	}
}
