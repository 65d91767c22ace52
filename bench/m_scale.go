package main

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// scaleResult is a tenant of n contracts already in CoreData: the state
// rebuilt from CoreData, the first poll after it, and a poll over n
// mapped records that skips them all.
type scaleResult struct {
	Files        int
	Rebuild      *procResult
	RebuildReqs  reqs
	First        *procResult
	FirstReqs    reqs
	Skip         *procResult
	SkipReqs     reqs
	Base         *procResult // a poll over (almost) no record: the cost of a run itself
	Verify       *procResult
	VerifyReqs   reqs
	Ls, LsJSON   *procResult // `state ls` and `state ls -json` over the mapped files
	StateBytes   int64
	ListPageSize int
}

// measureScale puts n contracts, spread over the last 360 days, in both
// simulators as this syncd leaves them (tagged nexudus-file-<Id> and
// with the version tag of the record's UpdatedOn and md5, same bytes,
// same titles), then runs the syncd binary: `state rebuild` into a new
// state file, a backfill over the 360 days that finds every record
// unchanged by its version tag (no download, no upload), and one
// `run -once` that looks back over the whole 360 days and finds every
// record mapped and unchanged.
func measureScale(ctx context.Context, h *harness, n int) (*scaleResult, error) {
	bin, err := h.binary(ctx)
	if err != nil {
		return nil, err
	}
	dir := h.subdir("scale")
	w, err := newWorld(dir, nexudustest.Options{}, coredatatest.Options{}, nexudus.Config{})
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
	config, err := writeConfig(dir, w.nx, w.cd, daemonConfig{rpm: -1, rph: -1, lookback: "8760h"})
	if err != nil {
		return nil, err
	}
	res := &scaleResult{Files: n}

	h.logf("state rebuild of %d files", n)
	if res.Rebuild, err = runProcess(ctx, bin, "state", "-config", config, "rebuild"); err != nil {
		return nil, err
	}
	if want := fmt.Sprintf("%d mapping(s) restored", n); !strings.Contains(res.Rebuild.Output, want) {
		return nil, fmt.Errorf("state rebuild: %q does not say %q", strings.TrimSpace(res.Rebuild.Output), want)
	}
	res.RebuildReqs = w.reqs()
	if lists := res.RebuildReqs.cd[coredatatest.RouteList]; lists > 0 {
		res.ListPageSize = int(math.Ceil(float64(n) / float64(lists)))
	}

	h.logf("backfill after the rebuild")
	w.resetCounts()
	from := now.Add(-361 * 24 * time.Hour).UTC().Format("2006-01-02T15:04")
	if res.First, err = runProcess(ctx, bin, "run", "-backfill-from", from, "-config", config); err != nil {
		return nil, err
	}
	res.FirstReqs = w.reqs()
	if got := res.FirstReqs.downloads(); got != 0 || res.FirstReqs.uploads() != 0 || res.FirstReqs.coredata() != 0 {
		return nil, fmt.Errorf("backfill after the rebuild: %d downloads, %d CoreData requests; want none", got, res.FirstReqs.coredata())
	}
	res.StateBytes = fileSize(filepath.Join(dir, "state.db"))

	h.logf("poll over %d mapped records", n)
	w.resetCounts()
	if res.Skip, err = runProcess(ctx, bin, "run", "-once", "-config", config); err != nil {
		return nil, err
	}
	res.SkipReqs = w.reqs()
	if res.SkipReqs.downloads() != 0 || res.SkipReqs.coredata() != 0 {
		return nil, fmt.Errorf("poll over mapped records: %d downloads, %d CoreData requests; want none", res.SkipReqs.downloads(), res.SkipReqs.coredata())
	}
	if !strings.Contains(res.Skip.Output, fmt.Sprintf("unchanged=%d", n)) {
		return nil, fmt.Errorf("poll over mapped records: %s", strings.TrimSpace(res.Skip.Output))
	}
	h.logf("verify over %d mapped records", n)
	w.resetCounts()
	if res.Verify, err = runProcess(ctx, bin, "verify", "-json", "-config", config); err != nil {
		return nil, err
	}
	res.VerifyReqs = w.reqs()
	if ok := strings.Count(res.Verify.Output, `"status":"ok"`); ok != n {
		return nil, fmt.Errorf("verify: %d files ok, want %d", ok, n)
	}
	h.logf("state ls over %d mapped records", n)
	if res.Ls, err = runProcess(ctx, bin, "state", "-config", config, "ls"); err != nil {
		return nil, err
	}
	if got := strings.Count(res.Ls.Output, " mirrored "); got != n {
		return nil, fmt.Errorf("state ls: %d mirrored lines, want %d", got, n)
	}
	if res.LsJSON, err = runProcess(ctx, bin, "state", "-config", config, "ls", "-json"); err != nil {
		return nil, err
	}
	if got := strings.Count(res.LsJSON.Output, `"nexudus_id":`); got != n {
		return nil, fmt.Errorf("state ls -json: %d objects, want %d", got, n)
	}
	// The same run over (almost) nothing: a lookback of one minute behind
	// the cursor, the minute of the newest record.
	base, err := writeConfig(h.subdir("scale/base"), w.nx, w.cd, daemonConfig{rpm: -1, rph: -1, lookback: "1m"})
	if err != nil {
		return nil, err
	}
	if err := copyFile(filepath.Join(dir, "state.db"), filepath.Join(dir, "base", "state.db")); err != nil {
		return nil, err
	}
	if res.Base, err = runProcess(ctx, bin, "run", "-once", "-config", base); err != nil {
		return nil, err
	}
	if err := checkMirrored(w.nx, w.cd); err != nil {
		return nil, err
	}
	return res, nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o600)
}

func (r *scaleResult) rows() []row {
	n := float64(r.Files)
	cpuPer := float64((r.Skip.CPU - r.Base.CPU).Microseconds()) / n
	wallPer := float64(r.Skip.Wall.Microseconds()) / n
	lists := r.SkipReqs.nx[nexudustest.RouteList]
	login := r.SkipReqs.nx[nexudustest.RouteToken]
	listFloor := math.Ceil(n / pageSize)
	rebuildLists := r.RebuildReqs.cd[coredatatest.RouteList]
	rebuildFloor := math.Ceil(n / 1000)
	verifyFloor := math.Ceil(n/pageSize) + rebuildFloor
	return []row{
		{
			Figure: fmt.Sprintf("Poll over %s mapped records, all unchanged: syncd's CPU per record (user + system of `syncd run -once`: %s, less %s for a run over none)",
				thousands(int64(r.Files)), r.Skip.CPU.Round(time.Millisecond), r.Base.CPU.Round(time.Millisecond)),
			Value: fmt.Sprintf("%.1f µs", cpuPer), Bound: "10 µs", Ratio: ratio(cpuPer, 10), Goal: "≤ 10 µs", Verdict: verdict(cpuPer <= 10),
		},
		{
			Figure: fmt.Sprintf("The same poll, wall time per record (%s in all; the simulator serves the pages on the same 2 cores)", r.Skip.Wall.Round(time.Millisecond)),
			Value:  fmt.Sprintf("%.1f µs", wallPer), Bound: "-", Goal: "-", Verdict: info,
		},
		{
			Figure: fmt.Sprintf("The same poll, requests (peak RSS %s)", mib(r.Skip.PeakRSS)),
			Value:  fmt.Sprintf("%d Nexudus lists, %d login, %d other; %d CoreData", lists, login, r.SkipReqs.nexudus()-lists-login, r.SkipReqs.coredata()),
			Bound:  fmt.Sprintf("%.0f lists (records / page_size)", listFloor), Ratio: ratio(float64(lists), listFloor),
			Goal: "list pages only", Verdict: verdict(r.SkipReqs.nexudus() == lists+login && r.SkipReqs.coredata() == 0),
		},
		rssRow(fmt.Sprintf("Peak RSS of that poll over %s mapped records (VmHWM of `syncd run -once`)", thousands(int64(r.Files))), r.Skip.PeakRSS),
		{
			Figure: fmt.Sprintf("State file bytes per mapping (%s mappings, %s)", thousands(int64(r.Files)), mib(r.StateBytes)),
			Value:  thousands(r.StateBytes/int64(r.Files)) + " B", Bound: "-", Goal: "-", Verdict: info,
		},
		{
			Figure: fmt.Sprintf("`syncd state rebuild` of %s CoreData files: requests (%d files a page)", thousands(int64(r.Files)), r.ListPageSize),
			Value:  fmt.Sprintf("%d CoreData requests, %d Nexudus", r.RebuildReqs.coredata(), r.RebuildReqs.nexudus()),
			Bound:  fmt.Sprintf("%.0f (files / 1,000, Tastypie's page cap)", rebuildFloor), Ratio: ratio(float64(rebuildLists), rebuildFloor),
			Goal: "-", Verdict: info,
		},
		{
			Figure: fmt.Sprintf("`syncd state rebuild` of %s CoreData files: peak RSS (VmHWM; wall %s, CPU %s)", thousands(int64(r.Files)),
				r.Rebuild.Wall.Round(10*time.Millisecond), r.Rebuild.CPU.Round(time.Millisecond)),
			Value: mib(r.Rebuild.PeakRSS), Bound: "128 MiB", Ratio: ratio(mibf(r.Rebuild.PeakRSS), 128),
			Goal: "≤ 128 MiB", Verdict: verdict(mibf(r.Rebuild.PeakRSS) <= 128),
		},
		{
			Figure: fmt.Sprintf("Backfill over the 360 days after the rebuild: every record found unchanged by its file's version tag (%d Nexudus lists; wall %s, peak RSS %s)",
				r.FirstReqs.nx[nexudustest.RouteList], r.First.Wall.Round(100*time.Millisecond), mib(r.First.PeakRSS)),
			Value: fmt.Sprintf("%d downloads, %d CoreData requests", r.FirstReqs.downloads(), r.FirstReqs.coredata()),
			Bound: "0 (SPEC: a lost state file costs no download of an unchanged record)",
			Goal:  "0 downloads", Verdict: verdict(r.FirstReqs.downloads() == 0 && r.FirstReqs.coredata() == 0),
		},
		{
			Figure: fmt.Sprintf("`syncd verify` over %s mapped files, all ok (wall %s, CPU %s, peak RSS %s)", thousands(int64(r.Files)),
				r.Verify.Wall.Round(time.Millisecond), r.Verify.CPU.Round(time.Millisecond), mib(r.Verify.PeakRSS)),
			Value: fmt.Sprintf("%d Nexudus lists + 1 login, %d CoreData lists; %d downloads, %d other CoreData requests",
				r.VerifyReqs.nx[nexudustest.RouteList], r.VerifyReqs.cd[coredatatest.RouteList], r.VerifyReqs.downloads(),
				r.VerifyReqs.coredata()-r.VerifyReqs.cd[coredatatest.RouteList]),
			Bound: fmt.Sprintf("%.0f (records / page_size + files / 1,000)", verifyFloor),
			Ratio: ratio(float64(r.VerifyReqs.nx[nexudustest.RouteList]+r.VerifyReqs.cd[coredatatest.RouteList]), verifyFloor),
			Goal:  "list pages only",
			Verdict: verdict(r.VerifyReqs.downloads() == 0 &&
				r.VerifyReqs.coredata() == r.VerifyReqs.cd[coredatatest.RouteList]),
		},
		rssRow(fmt.Sprintf("Peak RSS of that `syncd verify` over %s mapped files (VmHWM)", thousands(int64(r.Files))), r.Verify.PeakRSS),
		rssRow(fmt.Sprintf("Peak RSS of `syncd state ls` over %s mapped files, the higher of the table (%s) and `-json` (%s)",
			thousands(int64(r.Files)), mib(r.Ls.PeakRSS), mib(r.LsJSON.PeakRSS)), max(r.Ls.PeakRSS, r.LsJSON.PeakRSS)),
	}
}

// rssRow is a peak RSS against SPEC's 128 MiB for every command at
// 100,000 mapped files (inside the shipped unit's and pod's 256 MiB).
func rssRow(figure string, peak int64) row {
	return row{Figure: figure, Value: mib(peak), Bound: "128 MiB", Ratio: ratio(mibf(peak), 128), Goal: "≤ 128 MiB", Verdict: verdict(mibf(peak) <= 128)}
}

// tagsOf are the tags syncd gives the file of record f (default
// coredata.tags: none).
func tagsOf(f nexudustest.FileSpec) []string {
	return []string{"nexudus", syncer.FileTag(f.ID), "nexudus-coworker-" + strconv.FormatInt(f.CoworkerID, 10)}
}

// versionTagOf is the version tag syncd writes for f's signed bytes: of
// its UpdatedOn as the simulator serves it (whole seconds by default).
func versionTagOf(f nexudustest.FileSpec) string {
	sum := md5.Sum(f.SignedData)
	return syncer.VersionTag(f.UpdatedOn.Truncate(time.Second), hex.EncodeToString(sum[:]))
}
