package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	"github.com/coworkdocs/syncd/internal/state"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// auditChildResult is what the audit's child process reports.
type auditChildResult struct {
	Report *syncer.AuditReport `json:",omitempty"`
	// RSSBefore is VmRSS once the clients are made, the state file open
	// and the engine built, just before the audit; PeakRSS is VmHWM after
	// it: the highest RSS of the process' whole life.
	RSSBefore, PeakRSS int64
	// RSSAnon and RSSFile split VmRSS at the end of the audit: the Go
	// heap and runtime, and the pages of files mapped (the state file).
	RSSAnon, RSSFile int64
	GoSys            uint64 // runtime.MemStats.Sys: what the Go runtime got from the OS
	Err              string `json:",omitempty"`
}

// childAudit runs the daemon's audit once, with the daemon's wiring: the
// clients made as for polls, the state file opened, an engine built with
// the configured parent, one Engine.Audit with repair on (audit.repair's
// default), the state file closed. Nothing else runs in the process, so
// its peak RSS is the audit's (and the process' own start).
func childAudit(ctx context.Context, cfg childConfig) auditChildResult {
	var res auditChildResult
	wr, err := newChildWiring(cfg)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	st, err := state.Open(cfg.StatePath, state.Options{Timeout: 30 * time.Second})
	if err != nil {
		res.Err = err.Error()
		return res
	}
	defer st.Close()
	e, err := syncer.New(wr.src, wr.sink, st, syncer.Options{
		ParentFor: func(int64) (string, bool) { return parentID, true }, Parents: []string{parentID},
		Tags: []string{"nexudus"}, Lookback: 24 * time.Hour, TempDir: cfg.TempDir, Logger: wr.log, Metrics: wr.em,
	})
	if err != nil {
		res.Err = err.Error()
		return res
	}
	res.RSSBefore, _ = procStatus("/proc/self/status", "VmRSS")
	rep, err := e.Audit(ctx, syncer.AuditOptions{Repair: true})
	res.Report = rep
	res.PeakRSS, _ = procStatus("/proc/self/status", "VmHWM")
	res.RSSAnon, _ = procStatus("/proc/self/status", "RssAnon")
	res.RSSFile, _ = procStatus("/proc/self/status", "RssFile")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.GoSys = ms.Sys
	if err != nil {
		res.Err = err.Error()
	}
	return res
}

// auditResult is the daemon's audit of n mapped files, all ok.
type auditResult struct {
	Files      int
	Reqs       reqs
	Child      auditChildResult
	Wall, CPU  time.Duration // of the child process
	StateBytes int64
}

// measureAudit puts n contracts, spread over the last 360 days, in both
// simulators as a previous syncd would have left them (tagged
// nexudus-file-<Id>, same bytes, same titles), lets one poll over a
// fresh state file adopt them and record every record's UpdatedOn (the
// state a daemon holds after it; no upload), then runs the daemon's audit
// once in a child process (this program again, so that only the
// auditing process' memory counts) and counts its requests.
func measureAudit(ctx context.Context, h *harness, n int) (*auditResult, error) {
	dir := h.subdir("audit")
	w, err := newWorld(dir, nexudustest.Options{}, coredatatest.Options{}, nexudus.Config{RequestsPerMinute: -1, RequestsPerHour: -1})
	if err != nil {
		return nil, err
	}
	defer w.close()
	now := time.Now()
	for _, f := range w.addHistory(n, now.Add(-360*24*time.Hour), now.Add(-time.Hour), 256) {
		w.cd.AddFile(coredatatest.NewFile{
			Parent: parentID, Title: titleOf(f), Filename: f.SignedFileName, Content: f.SignedData,
			Tags: append(tagsOf(f), versionTagOf(f)),
		})
	}
	h.logf("state of %d mapped files (a poll that adopts them)", n)
	st, err := w.openState("state.db")
	if err != nil {
		return nil, err
	}
	e, err := w.engine(st, syncer.Options{Parents: []string{parentID}, Lookback: 361 * 24 * time.Hour})
	if err != nil {
		st.Close()
		return nil, err
	}
	rep, err := poll(ctx, e)
	if err == nil && (rep.Created != 0 || w.reqs().uploads() != 0) {
		err = fmt.Errorf("the poll over adopted files: %s, %d upload requests; want none", rep.Summary(), w.reqs().uploads())
	}
	if err == nil {
		var mapped int
		if mapped, _, _, _, err = st.Counts(); err == nil && mapped != n {
			err = fmt.Errorf("the poll over adopted files left %d mappings, want %d", mapped, n)
		}
	}
	st.Close()
	if err != nil {
		return nil, err
	}
	res := &auditResult{Files: n, StateBytes: fileSize(filepath.Join(dir, "state.db"))}

	h.logf("audit of %d mapped files in a child process", n)
	cfg, err := json.Marshal(childConfig{
		NexudusURL: w.nx.URL, NexudusUser: w.nx.Username(), NexudusPassword: w.nx.Password(),
		CoreDataURL: w.cd.URL(), CoreDataUser: w.cd.APIUser(), CoreDataKey: w.cd.APIKey(),
		StatePath: filepath.Join(dir, "state.db"), TempDir: dir, Audit: true,
	})
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	w.resetCounts()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), childEnv+"="+string(cfg))
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	runErr := cmd.Run()
	res.Wall, res.Reqs = time.Since(start), w.reqs()
	if ps := cmd.ProcessState; ps != nil {
		res.CPU = ps.UserTime() + ps.SystemTime()
	}
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &res.Child); err != nil {
		return nil, fmt.Errorf("audit child: %q: %w\n%s", tail(out.String(), 500), err, tail(errOut.String(), 2000))
	}
	if res.Child.Err != "" {
		return nil, fmt.Errorf("audit child: %s", res.Child.Err)
	}
	if runErr != nil {
		return nil, fmt.Errorf("audit child: %w\n%s", runErr, tail(errOut.String(), 2000))
	}
	if ar := res.Child.Report; ar == nil || !ar.Complete || ar.Counts[syncer.AuditOK] != n || len(ar.Problems) != 0 {
		return nil, fmt.Errorf("audit of %d mapped files: %s, want every file ok", n, auditSummary(ar))
	}
	if err := checkMirrored(w.nx, w.cd); err != nil {
		return nil, err
	}
	return res, nil
}

// auditSummary is one line of an audit's report.
func auditSummary(r *syncer.AuditReport) string {
	if r == nil {
		return "no report"
	}
	var counts []string
	for _, s := range syncer.AuditStatuses {
		if c := r.Counts[s]; c > 0 {
			counts = append(counts, fmt.Sprintf("%s=%d", s, c))
		}
	}
	var repairs []string
	for k, c := range r.Repairs {
		repairs = append(repairs, fmt.Sprintf("%s %d", k, c))
	}
	sort.Strings(repairs)
	if len(repairs) == 0 {
		repairs = []string{"none"}
	}
	return fmt.Sprintf("complete=%t %s; problems: %d; parents listed: %d, files: %s; read by id: %d; repairs: %s",
		r.Complete, strings.Join(counts, " "), len(r.Problems), r.Parents, thousands(int64(r.Listed)), r.ReadByID, strings.Join(repairs, ", "))
}

// auditListBound is what SPEC.md allows an audit with nothing to repair:
// a list page per 1,000 files (Tastypie's page cap) plus one per parent.
func auditListBound(files, parents int) float64 {
	return math.Ceil(float64(files)/1000) + float64(parents)
}

// writes counts the CoreData requests that change something.
func (r reqs) writes() int {
	return r.uploads() + r.cd[coredatatest.RouteUpdateMetadata] + r.cd[coredatatest.RouteDelete]
}

// all counts every request of both simulators, the storage hosts
// included.
func (r reqs) all() (nx, cd int) {
	for _, c := range r.nx {
		nx += c
	}
	return nx, r.coredata()
}

func (r *auditResult) rows() []row {
	ar := r.Child.Report
	lists := r.Reqs.cd[coredatatest.RouteList]
	gets := r.Reqs.cd[coredatatest.RouteGet]
	other := r.Reqs.coredata() - lists - gets - r.Reqs.writes()
	bound := auditListBound(r.Files, ar.Parents)
	nx, _ := r.Reqs.all()
	peakGoal := int64(128 << 20)
	return []row{
		{
			Figure: fmt.Sprintf("The daemon's audit of %s mapped files with nothing to repair (`Engine.Audit`, repair on, in a child process; %s ok, %d problems, %d parent, %s files listed, %d read by id, complete): CoreData requests",
				thousands(int64(r.Files)), thousands(int64(ar.Counts[syncer.AuditOK])), len(ar.Problems), ar.Parents, thousands(int64(ar.Listed)), ar.ReadByID),
			Value: fmt.Sprintf("%d lists; %d reads by id, %d writes, %d other", lists, gets, r.Reqs.writes(), other),
			Bound: fmt.Sprintf("%.0f (files / 1,000 + 1 per parent)", bound), Ratio: ratio(float64(lists), bound),
			Goal:    fmt.Sprintf("≤ %.0f, list pages only", bound),
			Verdict: verdict(float64(lists) <= bound && gets == 0 && r.Reqs.writes() == 0 && other == 0 && ar.ReadByID == 0),
		},
		{
			Figure: "The same audit: Nexudus requests (every route, token and storage host included)",
			Value:  fmt.Sprintf("%d", nx), Bound: "0", Goal: "0", Verdict: verdict(nx == 0),
		},
		{
			Figure: fmt.Sprintf("The same audit: peak RSS of the process doing it (VmHWM of the child: clients, engine and state file (%s) as the daemon wires them; %s before the audit, +%s during it; at its end %s anonymous, %s file-backed, Go runtime %s from the OS; wall %s, CPU %s)",
				mib(r.StateBytes), mib(r.Child.RSSBefore), mib(r.Child.PeakRSS-r.Child.RSSBefore), mib(r.Child.RSSAnon), mib(r.Child.RSSFile), mib(int64(r.Child.GoSys)),
				r.Wall.Round(time.Millisecond), r.CPU.Round(time.Millisecond)),
			Value: mib(r.Child.PeakRSS), Bound: "128 MiB", Ratio: ratio(float64(r.Child.PeakRSS), float64(peakGoal)),
			Goal: "≤ 128 MiB", Verdict: verdict(r.Child.PeakRSS <= peakGoal),
		},
	}
}
