package httpx

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics counts the requests both clients send. A nil *Metrics is valid
// and counts nothing, so tests and tools can leave it out.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	retries  *prometheus.CounterVec
}

// NewMetrics registers the API metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "syncd", Name: "api_requests_total",
			Help: "HTTP requests sent, by API and status code (\"error\" when no response came).",
		}, []string{"api", "code"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "syncd", Name: "api_request_duration_seconds",
			Help:    "Time to response headers, by API.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"api"}),
		retries: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "syncd", Name: "api_retries_total",
			Help: "Requests retried, by API and reason (throttled, server, network, auth, expired).",
		}, []string{"api", "reason"}),
	}
}

// ObserveRequest records one request; code 0 means no response arrived.
func (m *Metrics) ObserveRequest(api string, code int, d time.Duration) {
	if m == nil {
		return
	}
	label := "error"
	if code > 0 {
		label = strconv.Itoa(code)
	}
	m.requests.WithLabelValues(api, label).Inc()
	m.duration.WithLabelValues(api).Observe(d.Seconds())
}

// ObserveRetry records one retry and why.
func (m *Metrics) ObserveRetry(api, reason string) {
	if m == nil {
		return
	}
	m.retries.WithLabelValues(api, reason).Inc()
}
