package gateway

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the front door's Prometheus metrics.
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	inFlight prometheus.Gauge

	counters  sync.Map // seriesKey → prometheus.Counter
	latencies sync.Map // function → prometheus.Observer
}

// NewMetrics registers the gateway's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfc_http_requests_total",
			Help: "Invocations by function, status, X-Fc-Error-Type and result (failed: a platform or function error, or a non-2xx x-fc-status; aborted: the answer's body did not arrive whole, the client's connection was cut).",
		}, []string{"function", "status", "error_type", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "openfc_http_request_duration_seconds",
			Help:    "HTTP-trigger request latency, from arrival to the end of the response.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"function"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "openfc_http_requests_in_flight",
			Help: "HTTP-trigger requests being served.",
		}),
	}
	reg.MustRegister(m.requests, m.latency, m.inFlight)
	return m
}

// seriesKey names one openfc_http_requests_total series.
type seriesKey struct {
	function, errType, result string
	status                    int
}

// begin counts a request in flight. A nil *Metrics records nothing.
func (m *Metrics) begin() {
	if m != nil {
		m.inFlight.Inc()
	}
}

// end records a request begun at start. The series are looked up once
// and kept (label hashing and the status's string are then off the
// request path).
func (m *Metrics) end(start time.Time, function string, status int, errType, result string) {
	if m == nil {
		return
	}
	m.inFlight.Dec()
	key := seriesKey{function: function, errType: errType, status: status, result: result}
	c, ok := m.counters.Load(key)
	if !ok {
		c, _ = m.counters.LoadOrStore(key, m.requests.WithLabelValues(function, strconv.Itoa(status), errType, result))
	}
	c.(prometheus.Counter).Inc()
	o, ok := m.latencies.Load(function)
	if !ok {
		o, _ = m.latencies.LoadOrStore(function, m.latency.WithLabelValues(function))
	}
	o.(prometheus.Observer).Observe(time.Since(start).Seconds())
}
