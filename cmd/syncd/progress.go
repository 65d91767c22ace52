package main

import (
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"go.uber.org/zap"
	"golang.org/x/term"

	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// progress reports backfill windows: a bar when stderr is a terminal, a
// log line at most every ten seconds (and at the end) otherwise, so a
// journal or a pod log is not flooded.
func (m *Main) progress() syncer.ProgressFunc {
	if f, ok := m.Stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		var bar *progressbar.ProgressBar
		return func(done, total int, windowEnd time.Time) {
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
