package sync

import "github.com/prometheus/client_golang/prometheus"

// OutageActiveForTest is the syncd_outage_active gauge of one cause.
func (m *Metrics) OutageActiveForTest(cause string) prometheus.Gauge {
	return m.outageActive.WithLabelValues(cause)
}

// ParentsRefusedForTest is the syncd_parents_refused gauge.
func (m *Metrics) ParentsRefusedForTest() prometheus.Gauge { return m.refused }

// BackfillUnfinishedForTest is the syncd_backfill_unfinished gauge.
func (m *Metrics) BackfillUnfinishedForTest() prometheus.Gauge { return m.backfill }
