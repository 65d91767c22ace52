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

// AuditLastSuccessForTest is the syncd_audit_last_success_timestamp_seconds gauge.
func (m *Metrics) AuditLastSuccessForTest() prometheus.Gauge { return m.audit.lastSuccess }

// AuditFilesForTest is the syncd_audit_files gauge of one status.
func (m *Metrics) AuditFilesForTest(status string) prometheus.Gauge {
	return m.audit.files.WithLabelValues(status)
}
