package daemon

import (
	"context"
	"fmt"
	"time"

	sdaemon "github.com/coreos/go-systemd/v22/daemon"
	"go.uber.org/zap"
)

// NotifyFunc sends one sd_notify state line ("WATCHDOG=1", "STATUS=...").
type NotifyFunc func(state string) error

// SdNotify sends state to systemd through $NOTIFY_SOCKET; without it (not
// under systemd) it does nothing.
func SdNotify(state string) error {
	if _, err := sdaemon.SdNotify(false, state); err != nil {
		return fmt.Errorf("daemon: sd_notify: %w", err)
	}
	return nil
}

// Watchdog pings systemd's watchdog only while Health says the scheduler
// makes progress: a stuck poll stops the pings, and systemd restarts the
// unit after WatchdogSec.
type Watchdog struct {
	Health *Health
	Notify NotifyFunc
	Logger *zap.Logger

	withheld bool // the last tick withheld its ping (logged once)
}

// Run pings (or withholds the ping) on every tick until ctx is done.
func (w *Watchdog) Run(ctx context.Context, ticks <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			w.Tick()
		}
	}
}

// Tick pings the watchdog if the scheduler makes progress, and reports
// whether it did.
func (w *Watchdog) Tick() bool {
	log := w.Logger
	if log == nil {
		log = zap.NewNop()
	}
	if err := w.Health.Check(); err != nil {
		if !w.withheld {
			log.Error("the scheduler makes no progress: withholding watchdog pings so that systemd restarts syncd", zap.Error(err))
			w.withheld = true
		}
		return false
	}
	if w.withheld {
		log.Info("the scheduler makes progress again: watchdog pings resume")
		w.withheld = false
	}
	if err := w.Notify("WATCHDOG=1"); err != nil {
		log.Warn("watchdog ping", zap.Error(err))
	}
	return true
}

// StartWatchdog runs a Watchdog at half of systemd's WatchdogSec when the
// unit sets it ($WATCHDOG_USEC), and returns the function that stops it.
func StartWatchdog(ctx context.Context, h *Health, log *zap.Logger) (stop func()) {
	interval, err := sdaemon.SdWatchdogEnabled(false)
	if err != nil || interval <= 0 {
		return func() {}
	}
	t := time.NewTicker(interval / 2)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&Watchdog{Health: h, Notify: SdNotify, Logger: log}).Run(ctx, t.C)
	}()
	return func() { t.Stop(); cancel(); <-done }
}
