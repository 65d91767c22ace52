package main

import (
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/schollz/progressbar/v3"
	"go.uber.org/zap"
	"golang.org/x/term"

	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// backfillMetrics show a backfill's progress to Prometheus; `syncd run
// -backfill-from` serves them on http.listen while it runs.
type backfillMetrics struct {
	ratio     prometheus.Gauge
	windowEnd prometheus.Gauge
}

func newBackfillMetrics(reg prometheus.Registerer) *backfillMetrics {
	f := promauto.With(reg)
	return &backfillMetrics{
		ratio: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "syncd", Name: "backfill_progress_ratio",
			Help: "Share of the windows of the running backfill that are done (0..1); 0 when no backfill runs in this process.",
		}),
		windowEnd: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "syncd", Name: "backfill_window_end_timestamp_seconds",
			Help: "Unix time up to which the running backfill has mirrored (the end of its last completed window); 0 before the first.",
		}),
	}
}

func (b *backfillMetrics) observe(done, total int, windowEnd time.Time) {
	if b == nil || total <= 0 {
		return
	}
	b.ratio.Set(float64(done) / float64(total))
	b.windowEnd.Set(float64(windowEnd.Unix()))
}

// progress reports backfill windows: the metrics after every window; a bar
// when stderr is a terminal, else a log line at most every ten seconds
// (and at the end), so a journal or a pod log is not flooded.
func (m *Main) progress() syncer.ProgressFunc {
	var bm *backfillMetrics
	if m.metrics != nil {
		bm = m.metrics.backfill
	}
	if f, ok := m.Stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		var bar *progressbar.ProgressBar
		return func(done, total int, windowEnd time.Time) {
			bm.observe(done, total, windowEnd)
			if bar == nil {
				bar = progressbar.NewOptions(total,
					progressbar.OptionSetWriter(f),
					progressbar.OptionSetDescription("backfill"),
					progressbar.OptionShowCount(),
					progressbar.OptionSetPredictTime(true),
					progressbar.OptionOnCompletion(func() { _, _ = f.WriteString("\n") }),
				)
			}
			bar.Describe("backfill to " + windowEnd.UTC().Format("2006-01-02"))
			_ = bar.Set(done)
		}
	}
	var last time.Time
	return func(done, total int, windowEnd time.Time) {
		bm.observe(done, total, windowEnd)
		now := time.Now()
		if done < total && now.Sub(last) < 10*time.Second {
			return
		}
		last = now
		m.Logger.Info("backfill progress",
			zap.Int("windows_done", done), zap.Int("windows_total", total),
			zap.Time("through", windowEnd.UTC()))
	}
}
