package sync

import (
	gosync "sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Outcome is what happened to one file in one poll: the values of
// syncd_files_total's outcome label.
type Outcome string

// The outcomes. OutcomeNone is counted nowhere (a parked file left alone,
// a dry run's plan, a file backing off).
const (
	OutcomeNone      Outcome = ""
	OutcomeCreated   Outcome = "created"
	OutcomeUpdated   Outcome = "updated"
	OutcomeUnchanged Outcome = "unchanged"
	OutcomeSkipped   Outcome = "skipped"
	OutcomeFailed    Outcome = "failed"
	OutcomeParked    Outcome = "parked"
)

// Metrics are the engine's Prometheus metrics. A nil *Metrics counts
// nothing.
type Metrics struct {
	files         *prometheus.CounterVec
	bytesUploaded prometheus.Counter
	polls         *prometheus.CounterVec
	pollDuration  prometheus.Histogram
	lastSuccess   prometheus.Gauge
	cursor        prometheus.Gauge
	mapped        prometheus.Gauge
	parked        prometheus.Gauge
	outages       *prometheus.CounterVec
	outageActive  *prometheus.GaugeVec
	refusals      *prometheus.CounterVec
	refused       prometheus.Gauge
	backfill      prometheus.Gauge
	audit         *auditMetrics
	// legal exists only once an engine with terms acceptances is built:
	// the legal metrics are exported with legal.enabled only.
	factory   promauto.Factory
	legalOnce gosync.Once
	legal     *legalMetrics
}

// refusalReasons are the values of syncd_parent_refusals_total's reason.
var refusalReasons = []string{reasonForbidden, reasonNotFound, reasonInvalid}

// outageCauses are the values of the cause label of the outage metrics.
var outageCauses = []string{causeNexudus, causeCoreData, causeLocal}

// NewMetrics registers the engine metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	m := &Metrics{
		files: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "syncd", Name: "files_total",
			Help: "Files handled, by outcome (created, updated, unchanged, skipped, failed, parked).",
		}, []string{"outcome"}),
		bytesUploaded: f.NewCounter(prometheus.CounterOpts{
			Namespace: "syncd", Name: "bytes_uploaded_total",
			Help: "Bytes uploaded to CoreData storage.",
		}),
		polls: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "syncd", Name: "polls_total",
			Help: "Polls of Nexudus, by result (success, failure).",
		}, []string{"result"}),
		pollDuration: f.NewHistogram(prometheus.HistogramOpts{
			Namespace: "syncd", Name: "poll_duration_seconds",
			Help:    "Duration of a whole poll.",
			Buckets: prometheus.ExponentialBuckets(0.1, 3, 10),
		}),
		lastSuccess: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "syncd", Name: "last_success_timestamp_seconds",
			Help: "Unix time of the end of the last successful poll.",
		}),
		cursor: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "syncd", Name: "cursor_timestamp_seconds",
			Help: "Unix time of the UpdatedOn cursor (the oldest one when several locations are polled).",
		}),
		mapped: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "syncd", Name: "mapped_files",
			Help: "Nexudus files mapped to a CoreData file in the state file.",
		}),
		parked: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "syncd", Name: "parked_files",
			Help: "Files parked after max_attempts, waiting for a change in Nexudus or syncd state retry.",
		}),
		outages: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "syncd", Name: "outages_total",
			Help: "Polls stopped early because an API (nexudus, coredata) or the local disk (local) kept failing.",
		}, []string{"cause"}),
		outageActive: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "syncd", Name: "outage_active",
			Help: "1 while the last poll stopped early because this cause kept failing, else 0.",
		}, []string{"cause"}),
	}
	m.refusals = f.NewCounterVec(prometheus.CounterOpts{
		Namespace: "syncd", Name: "parent_refusals_total",
		Help: "Polls in which CoreData refused a whole parent (forbidden, not_found, invalid): its creates stopped for the poll, no file counted.",
	}, []string{"reason"})
	m.refused = f.NewGauge(prometheus.GaugeOpts{
		Namespace: "syncd", Name: "parents_refused",
		Help: "CoreData parents that refused syncd's creates or listings in the last poll.",
	})
	m.backfill = f.NewGauge(prometheus.GaugeOpts{
		Namespace: "syncd", Name: "backfill_unfinished",
		Help: "1 while the state file holds the mark of a backfill that did not finish (resume it with the same -backfill-from, or syncd state forget -backfill).",
	})
	for _, r := range refusalReasons {
		m.refusals.WithLabelValues(r)
	}
	for _, c := range outageCauses {
		m.outages.WithLabelValues(c)
		m.outageActive.WithLabelValues(c)
	}
	// Every outcome is exported from the start so rate() and alerts see 0
	// rather than an absent series.
	for _, o := range []Outcome{OutcomeCreated, OutcomeUpdated, OutcomeUnchanged, OutcomeSkipped, OutcomeFailed, OutcomeParked} {
		m.files.WithLabelValues(string(o))
	}
	m.polls.WithLabelValues("success")
	m.polls.WithLabelValues("failure")
	m.audit = newAuditMetrics(f)
	m.factory = f
	return m
}

func (m *Metrics) file(outcome Outcome) {
	if m != nil && outcome != OutcomeNone {
		m.files.WithLabelValues(string(outcome)).Inc()
	}
}

func (m *Metrics) uploaded(n int64) {
	if m != nil {
		m.bytesUploaded.Add(float64(n))
	}
}

func (m *Metrics) poll(ok bool, d time.Duration, now time.Time) {
	if m == nil {
		return
	}
	m.pollDuration.Observe(d.Seconds())
	if ok {
		m.polls.WithLabelValues("success").Inc()
		m.lastSuccess.Set(float64(now.UnixNano()) / 1e9)
	} else {
		m.polls.WithLabelValues("failure").Inc()
	}
}

func (m *Metrics) setCursor(t time.Time) {
	if m != nil && !t.IsZero() {
		m.cursor.Set(float64(t.Unix()))
	}
}

func (m *Metrics) setCounts(mapped, parked int) {
	if m != nil {
		m.mapped.Set(float64(mapped))
		m.parked.Set(float64(parked))
	}
}

func (m *Metrics) outage(cause string) {
	if m != nil {
		m.outages.WithLabelValues(cause).Inc()
	}
}

// setOutage sets the outage gauge of cause to 1 and the others to 0; an
// empty cause clears them all.
func (m *Metrics) setOutage(cause string) {
	if m == nil {
		return
	}
	for _, c := range outageCauses {
		v := 0.0
		if c == cause {
			v = 1
		}
		m.outageActive.WithLabelValues(c).Set(v)
	}
}

func (m *Metrics) parentRefused(reason string) {
	if m != nil {
		m.refusals.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) setParentsRefused(n int) {
	if m != nil {
		m.refused.Set(float64(n))
	}
}

func (m *Metrics) setBackfillUnfinished(on bool) {
	if m == nil {
		return
	}
	v := 0.0
	if on {
		v = 1
	}
	m.backfill.Set(v)
}
