package gateway

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the front door's Prometheus metrics.
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// NewMetrics registers the gateway's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfc_http_requests_total",
			Help: "HTTP-trigger requests by function, status, X-Fc-Error-Type and result (failed: a platform or function error, or a non-2xx x-fc-status).",
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

// begin counts a request in flight; the returned func records its end.
// A nil *Metrics records nothing.
func (m *Metrics) begin() func(function string, status int, errType string, failed bool) {
	if m == nil {
		return func(string, int, string, bool) {}
	}
	start := time.Now()
	m.inFlight.Inc()
	return func(function string, status int, errType string, failed bool) {
		m.inFlight.Dec()
		result := "success"
		if failed {
			result = "failed"
		}
		m.requests.WithLabelValues(function, strconv.Itoa(status), errType, result).Inc()
		m.latency.WithLabelValues(function).Observe(time.Since(start).Seconds())
	}
}
