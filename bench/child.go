package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/httpx"
	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/state"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// childEnv, when set, makes this program a child process of the harness
// (the leak check, the audit) instead of the harness; its value is a
// childConfig.
const childEnv = "SYNCD_BENCH_CHILD"

// childConfig tells the child where the simulators are and what to do.
type childConfig struct {
	NexudusURL, NexudusUser, NexudusPassword string
	CoreDataURL, CoreDataUser, CoreDataKey   string
	StatePath, TempDir                       string
	Polls                                    int
	Checkpoints                              []int
	// Audit makes the child run one audit (childAudit) instead of polls.
	Audit bool
}

// checkpoint is what the child reports after some polls.
type checkpoint struct {
	Polls      int
	Created    int // files created in all polls so far
	Unchanged  int // in the last poll
	VmRSS      int64
	HeapLive   uint64 // HeapAlloc after a GC: live heap
	Goroutines int
	OpenFiles  int
	Err        string `json:",omitempty"`
}

// runChild is this program as a child process of the harness: one audit
// (childAudit) when the config says so, else the polls of childPolls. It
// writes its results as JSON lines to stdout.
func runChild() int {
	var cfg childConfig
	if err := json.Unmarshal([]byte(os.Getenv(childEnv)), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench child:", err)
		return 2
	}
	enc := json.NewEncoder(os.Stdout)
	if cfg.Audit {
		res := childAudit(context.Background(), cfg)
		_ = enc.Encode(res)
		if res.Err != "" {
			return 1
		}
		return 0
	}
	if err := childPolls(context.Background(), cfg, func(c checkpoint) { _ = enc.Encode(c) }); err != nil {
		_ = enc.Encode(checkpoint{Err: err.Error()})
		return 1
	}
	return 0
}

// childWiring is what the daemon makes once per process: both clients,
// the engine's metrics and a logger.
type childWiring struct {
	src  *nexudus.Client
	sink *coredata.Client
	em   *syncer.Metrics
	log  *zap.Logger
}

func newChildWiring(cfg childConfig) (*childWiring, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	api := httpx.NewMetrics(reg)
	em := syncer.NewMetrics(reg)
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(io.Discard), zap.InfoLevel))
	transport := func() *http.Transport {
		return &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 90 * time.Second, ResponseHeaderTimeout: time.Minute}
	}
	src, err := nexudus.New(nexudus.Config{BaseURL: cfg.NexudusURL, Username: cfg.NexudusUser, Password: cfg.NexudusPassword,
		RequestsPerMinute: -1, RequestsPerHour: -1}, &http.Client{Transport: transport(), Timeout: 2 * time.Minute}, api, log)
	if err != nil {
		return nil, err
	}
	sink, err := coredata.New(coredata.Config{BaseURL: cfg.CoreDataURL, APIUser: cfg.CoreDataUser, APIKey: cfg.CoreDataKey},
		&http.Client{Transport: transport(), Timeout: 5 * time.Minute}, &http.Client{Transport: transport(), Timeout: 5 * time.Minute}, api, log)
	if err != nil {
		return nil, err
	}
	return &childWiring{src: src, sink: sink, em: em, log: log}, nil
}

// childPolls polls as the daemon does, with the daemon's wiring from the
// engine's public API: clients and metrics made once, then for every poll
// the state file opened, an engine built, one Poll, the state file
// closed. It reports a checkpoint after the polls listed.
func childPolls(ctx context.Context, cfg childConfig, report func(checkpoint)) error {
	wr, err := newChildWiring(cfg)
	if err != nil {
		return err
	}
	src, sink, em, log := wr.src, wr.sink, wr.em, wr.log
	next, created := 0, 0
	for i := 1; i <= cfg.Polls; i++ {
		st, err := state.Open(cfg.StatePath, state.Options{Timeout: 30 * time.Second})
		if err != nil {
			return err
		}
		e, err := syncer.New(src, sink, st, syncer.Options{
			ParentFor: func(int64) (string, bool) { return parentID, true },
			Tags:      []string{"nexudus"}, Lookback: 24 * time.Hour, TempDir: cfg.TempDir, Logger: log, Metrics: em,
		})
		if err != nil {
			st.Close()
			return err
		}
		rep, err := e.Poll(ctx)
		st.Close()
		if err != nil {
			return fmt.Errorf("poll %d: %w", i, err)
		}
		if len(rep.Failed) > 0 {
			return fmt.Errorf("poll %d: %s", i, rep.Summary())
		}
		created += rep.Created
		if next < len(cfg.Checkpoints) && cfg.Checkpoints[next] == i {
			next++
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			rss, _ := procStatus("/proc/self/status", "VmRSS")
			fds, _ := os.ReadDir("/proc/self/fd")
			report(checkpoint{Polls: i, Created: created, Unchanged: rep.Unchanged, VmRSS: rss, HeapLive: ms.HeapAlloc,
				Goroutines: runtime.NumGoroutine(), OpenFiles: len(fds)})
		}
	}
	return nil
}
