package sync

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// legalMetrics are terms acceptances in Prometheus.
type legalMetrics struct {
	acceptances *prometheus.CounterVec
	files       *prometheus.CounterVec
	unknown     prometheus.Gauge
	denied      *prometheus.GaugeVec
}

var legalKinds = []string{"text", "register"}

var legalOutcomes = []string{legalCreated, legalUpdated, legalUnchanged, legalAdopted, legalFailed, legalWaiting}

func newLegalMetrics(f promauto.Factory) *legalMetrics {
	l := &legalMetrics{
		acceptances: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "syncd", Name: "legal_acceptances_total",
			Help: "Terms acceptances that were new or changed, recorded as register rows, by outcome (recorded).",
		}, []string{"outcome"}),
		files: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "syncd", Name: "legal_files_total",
			Help: "Texts and registers mirrored, by kind (text, register) and outcome (created, updated, unchanged, adopted, failed, waiting).",
		}, []string{"kind", "outcome"}),
		unknown: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "syncd", Name: "legal_acceptances_without_text",
			Help: "Register rows written in the last poll whose accepted version is not known yet (empty text columns).",
		}),
		denied: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "syncd", Name: "legal_role_missing",
			Help: "1 while the Nexudus API user lacks the role (CoworkerLegalContentAudit-List, LegalContentAudit-List).",
		}, []string{"role"}),
	}
	l.acceptances.WithLabelValues("recorded")
	for _, k := range legalKinds {
		for _, o := range legalOutcomes {
			l.files.WithLabelValues(k, o)
		}
	}
	for _, role := range []string{roleAcceptances, roleTexts} {
		l.denied.WithLabelValues(role)
	}
	return l
}

// enableLegal registers the legal metrics, once.
func (m *Metrics) enableLegal() {
	if m == nil {
		return
	}
	m.legalOnce.Do(func() { m.legal = newLegalMetrics(m.factory) })
}

func (m *Metrics) legalAcceptances(n int) {
	if m == nil || m.legal == nil || n == 0 {
		return
	}
	m.legal.acceptances.WithLabelValues("recorded").Add(float64(n))
}

func (m *Metrics) legalFile(kind, outcome string) {
	if m == nil || m.legal == nil {
		return
	}
	m.legal.files.WithLabelValues(kind, outcome).Inc()
}

func (m *Metrics) legalDenied(denied map[string]bool) {
	if m == nil || m.legal == nil {
		return
	}
	for _, role := range []string{roleAcceptances, roleTexts} {
		v := 0.0
		if denied[role] {
			v = 1
		}
		m.legal.denied.WithLabelValues(role).Set(v)
	}
}

func (m *Metrics) legalUnknown(n int) {
	if m == nil || m.legal == nil {
		return
	}
	m.legal.unknown.Set(float64(n))
}
