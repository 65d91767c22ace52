package sync_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/httpx"
	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	"github.com/coworkdocs/syncd/internal/state"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// BenchmarkMirrorNewFiles mirrors 200 new files per iteration and reports
// the request budget of BENCHMARKS.md: Nexudus requests per new file (<= 1.05:
// one download plus a share of a list page) and CoreData requests per new
// file (4: blob URL, PUT, create, verify), then the requests of a poll
// with nothing new (list pages only).
func BenchmarkMirrorNewFiles(b *testing.B) {
	const files = 200
	var nxPerFile, cdPerFile, idleNexudus, idleCoreData float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		nx := nexudustest.New(nexudustest.Options{})
		cd := coredatatest.New(coredatatest.Options{})
		for j := 0; j < files; j++ {
			nx.AddFile(nexudustest.FileSpec{BusinessID: 1, Name: fmt.Sprint("contract ", j), FileName: "c.pdf", Data: []byte{byte(j), byte(j >> 8)}, Signed: true})
		}
		src, _ := nexudus.New(nexudus.Config{BaseURL: nx.URL, Username: nx.Username(), Password: nx.Password(),
			RequestsPerMinute: -1, RequestsPerHour: -1}, nx.Client(), nil, nil)
		sink, _ := coredata.New(coredata.Config{BaseURL: cd.URL(), APIUser: cd.APIUser(), APIKey: cd.APIKey(),
			Backoff: httpx.Backoff{Base: time.Millisecond}}, cd.Client(), cd.Client(), nil, nil)
		st, err := state.Open(filepath.Join(b.TempDir(), "state.db"), state.Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		e, _ := syncer.New(src, sink, st, syncer.Options{
			ParentFor: func(int64) (string, bool) { return "313ae0be-71cf-11ee-b1e9-ebd554949e29", true },
			Lookback:  time.Hour, Logger: zap.NewNop(),
		})
		b.StartTimer()
		rep, err := e.Poll(context.Background())
		b.StopTimer()
		if err != nil || rep.Created != files {
			b.Fatalf("poll: %v %s", err, rep.Summary())
		}
		nxReq := total(nx.Counts()) - nx.Count(nexudustest.RouteToken)
		nxPerFile = float64(nxReq) / files
		cdPerFile = float64(total(cd.Counts())) / files
		nx.ResetCounts()
		cd.ResetCounts()
		if _, err := e.Poll(context.Background()); err != nil {
			b.Fatal(err)
		}
		idleNexudus = float64(total(nx.Counts()) - nx.Count(nexudustest.RouteToken))
		idleCoreData = float64(total(cd.Counts()))
		st.Close()
		nx.Close()
		cd.Close()
	}
	b.ReportMetric(nxPerFile, "nexudus-req/file")
	b.ReportMetric(cdPerFile, "coredata-req/file")
	b.ReportMetric(idleNexudus, "idle-nexudus-req")
	b.ReportMetric(idleCoreData, "idle-coredata-req")
	// CoreData: the lookup before the create (guarantee 1), blob URL, PUT,
	// create, verify.
	if nxPerFile > 1.05 || cdPerFile > 5 {
		b.Errorf("over the request budget: %.3f Nexudus and %.2f CoreData requests per new file", nxPerFile, cdPerFile)
	}
}

func total[K comparable](m map[K]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
