package main

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/config"
	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/httpx"
	"github.com/coworkdocs/syncd/internal/nexudus"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// clients are the two API clients built from one configuration.
type clients struct {
	nexudus  *nexudus.Client
	coredata *coredata.Client
}

// newTransport is one transport per API, with timeouts on every phase, so
// a stuck peer costs a bounded wait and never the whole poll.
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   16,
		ForceAttemptHTTP2:     true,
		// No ResponseHeaderTimeout: the wait for the headers is bounded
		// by the stall bound of newHTTPClient, the configured timeout.
	}
}

// newHTTPClient is the client of one API (or of the storage behind
// CoreData's presigned URLs): its timeout is a stall bound, not a
// whole-request budget. A request fails once stall passes with no
// progress (no answer to it, no request bytes taken, no response bytes
// received) and never because it is slow: a 10 MB contract over a link at
// a few KB/s takes long but is a working API, and timing it out as a
// whole counted it as an outage.
//
// There is deliberately no overall cap (http.Client.Timeout): any cap
// brings back a speed below which a working API counts as down. What
// bounds a request instead: the stall bound on every phase, the size caps
// on what is read (nexudus.max_file_bytes, the JSON cap), the shutdown
// (sync.shutdown_timeout cancels what is in flight), and sync.stuck_after,
// which reports a poll that never ends.
func newHTTPClient(stall time.Duration) *http.Client {
	return &http.Client{Transport: httpx.NewStallTransport(newTransport(), stall)}
}

func newClients(cfg *config.Config, m *httpx.Metrics, log *zap.Logger) (*clients, error) {
	if cfg.SecretsSkipped {
		return nil, fmt.Errorf("config %s: loaded without its secrets; this command cannot talk to the APIs", cfg.Path)
	}
	n := cfg.Nexudus
	nx, err := nexudus.New(nexudus.Config{
		BaseURL: n.BaseURL, Auth: n.Auth, Username: n.Username, Password: n.Password,
		PageSize: n.PageSize, RequestsPerMinute: noLimitIfZero(n.RequestsPerMinute), RequestsPerHour: noLimitIfZero(n.RequestsPerHour),
		FilePath: n.FilePath, SignedFilePath: n.SignedFilePath, MaxFileBytes: n.MaxFileBytes,
		MaxRetries: n.MaxRetries,
	}, newHTTPClient(n.Timeout), m, log.With(zap.String("api", "nexudus")))
	if err != nil {
		return nil, fmt.Errorf("nexudus: %w", err)
	}
	d := cfg.CoreData
	cd, err := coredata.New(coredata.Config{
		BaseURL: d.BaseURL, APIUser: d.APIUser, APIKey: d.APIKey, MaxRetries: d.MaxRetries,
	},
		newHTTPClient(d.Timeout),
		// The uploads to storage: their own client and connections, since
		// storage is another host. coredata.timeout is their stall bound
		// too; a whole-request budget (the coredata package's 15 minutes
		// when given none) would only matter for a big file on a slow
		// link, which is exactly what must not time out.
		newHTTPClient(d.Timeout),
		m, log.With(zap.String("api", "coredata")))
	if err != nil {
		return nil, fmt.Errorf("coredata: %w", err)
	}
	return &clients{nexudus: nx, coredata: cd}, nil
}

// noLimitIfZero maps the config's 0 (no client-side budget, loopback only)
// onto the client's negative value for the same.
func noLimitIfZero(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// engineOptions maps configuration onto the engine's options; the store,
// the contexts and the run mode are added per run. src is the Nexudus
// client, which also lists terms acceptances (legal.enabled).
func engineOptions(cfg *config.Config, src syncer.LegalSource, m *syncer.Metrics, log *zap.Logger) (syncer.Options, error) {
	tmpl := cfg.CoreData.TitleTemplate
	if tmpl == nil {
		return syncer.Options{}, fmt.Errorf("coredata.title: the configuration was not validated")
	}
	var lg syncer.LegalOptions
	if cfg.Legal.Enabled {
		if cfg.Legal.Titles == nil {
			return syncer.Options{}, fmt.Errorf("legal.text_title: the configuration was not validated")
		}
		lg = syncer.LegalOptions{Source: src, Titles: cfg.Legal.Titles}
	}
	return syncer.Options{
		Legal:        lg,
		ParentFor:    cfg.CoreData.ParentFor,
		Parents:      cfg.CoreData.AllParents(),
		Businesses:   cfg.Nexudus.Businesses,
		Title:        tmpl,
		Tags:         cfg.CoreData.Tags,
		Dynatype:     cfg.CoreData.Dynatype,
		Lookback:     cfg.Sync.Lookback,
		Concurrency:  cfg.Sync.Concurrency,
		MaxAttempts:  cfg.Sync.MaxAttempts,
		MaxFileBytes: cfg.Nexudus.MaxFileBytes,
		TempDir:      cfg.Sync.TempDir,
		Logger:       log,
		Metrics:      m,
	}, nil
}

// metrics is every collector of one process, on its own registry.
type metrics struct {
	registry *prometheus.Registry
	api      *httpx.Metrics
	engine   *syncer.Metrics
	backfill *backfillMetrics
}

func newMetrics() *metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	b := readBuildInfo()
	promauto.With(reg).NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "syncd", Name: "build_info",
		Help: "Build information; the value is always 1.",
	}, []string{"version", "revision", "goversion"}).WithLabelValues(b.Version, b.Revision, b.GoVersion).Set(1)
	return &metrics{registry: reg, api: httpx.NewMetrics(reg), engine: syncer.NewMetrics(reg), backfill: newBackfillMetrics(reg)}
}
