package sync

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/coworkdocs/syncd/internal/state"
)

// auditMetrics are the daemon's audit in Prometheus.
type auditMetrics struct {
	files       *prometheus.GaugeVec
	repairs     *prometheus.CounterVec
	lastSuccess prometheus.Gauge
}

func newAuditMetrics(f promauto.Factory) *auditMetrics {
	a := &auditMetrics{
		files: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "syncd", Name: "audit_files",
			Help: "Mapped files by status in the last audit (ok, missing, moved, untagged, drift, duplicate).",
		}, []string{"status"}),
		repairs: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "syncd", Name: "audit_repairs_total",
			Help: "Repairs made by the audit, by action (recreated, followed, retagged, restored) and result (success, failure).",
		}, []string{"action", "result"}),
		lastSuccess: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "syncd", Name: "audit_last_success_timestamp_seconds",
			Help: "Unix time of the end of the last audit that checked every mapped file.",
		}),
	}
	for _, s := range AuditStatuses {
		a.files.WithLabelValues(string(s))
	}
	for _, act := range RepairActions {
		a.repairs.WithLabelValues(act, repairSuccess)
		a.repairs.WithLabelValues(act, repairFailure)
	}
	return a
}

// auditDone sets the gauges from an audit; an audit that did not check
// every file leaves the last whole audit's figures.
func (m *Metrics) auditDone(rep *AuditReport, complete bool) {
	if m == nil || !complete {
		return
	}
	for _, s := range AuditStatuses {
		m.audit.files.WithLabelValues(string(s)).Set(float64(rep.Counts[s]))
	}
	m.audit.lastSuccess.Set(float64(rep.Finished.UnixNano()) / 1e9)
}

// auditRestored sets the gauges from the last audit the state file
// recorded: a restarted daemon shows the last whole audit's figures and
// time, not zeros, until its own first audit.
func (m *Metrics) auditRestored(sum state.AuditSummary) {
	if m == nil {
		return
	}
	if sum.Complete {
		for _, s := range AuditStatuses {
			m.audit.files.WithLabelValues(string(s)).Set(float64(sum.Counts[string(s)]))
		}
	}
	if !sum.LastComplete.IsZero() {
		m.audit.lastSuccess.Set(float64(sum.LastComplete.UnixNano()) / 1e9)
	}
}

func (m *Metrics) auditRepair(action, result string) {
	if m == nil {
		return
	}
	m.audit.repairs.WithLabelValues(action, result).Inc()
}
