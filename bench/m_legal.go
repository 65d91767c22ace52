package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/legal"
	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// legalInterval is the daemon's poll interval in these polls (the
// default schedule: every 5 minutes).
const legalInterval = 5 * time.Minute

// legalWidePageSize is the largest page Nexudus serves: the steady state
// is measured again at it, to show what page_size alone changes.
const legalWidePageSize = nexudustest.MaxPageSize

// legalStart is when the steady state begins on the simulators' clock:
// the second day of a month, so that the lookback window lies in one
// month and the registers hold that window's acceptances.
var legalStart = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// legalText is one version of a legal text of the simulated tenant.
type legalText struct {
	uniqueID string
	business int64
	name     string
	typ      int // LegalContentType's number
}

// legalTexts are the tenant's versions: two locations, an older version
// of the general terms at the first that no new acceptance names.
var legalTexts = []legalText{
	{"6f1c0d2e-4b7a-4e8e-9a51-0a1b2c3d4e01", 1, "General terms", 1},
	{"6f1c0d2e-4b7a-4e8e-9a51-0a1b2c3d4e02", 1, "General terms", 1},
	{"6f1c0d2e-4b7a-4e8e-9a51-0a1b2c3d4e03", 1, "Privacy policy", 4},
	{"6f1c0d2e-4b7a-4e8e-9a51-0a1b2c3d4e04", 2, "General terms", 1},
	{"6f1c0d2e-4b7a-4e8e-9a51-0a1b2c3d4e05", 2, "Checkout terms", 3},
}

// legalCited are the versions new acceptances name, by location.
var legalCited = map[int64][]legalText{1: {legalTexts[1], legalTexts[2]}, 2: {legalTexts[3], legalTexts[4]}}

var legalLocations = []int64{1, 2}

// acceptanceSpec is the i-th acceptance of the tenant, at at: the
// locations in turn, each of its cited versions in turn.
func acceptanceSpec(i int, at time.Time) nexudustest.AcceptanceSpec {
	b := legalLocations[i%len(legalLocations)]
	t := legalCited[b][(i/len(legalLocations))%len(legalCited[b])]
	return nexudustest.AcceptanceSpec{
		CoworkerID: int64(5000 + i%4999), BusinessID: b, Name: t.name, LegalContentType: t.typ,
		TextUniqueID: t.uniqueID, CreatedOn: at, UpdatedOn: at,
	}
}

// legalResult is terms acceptances in steady state, then after a lost
// state file.
type legalResult struct {
	PerPoll, Polls int
	Lookback       time.Duration
	Window         int // acceptances in the lookback window before each steady poll
	Acceptances    int // in Nexudus at the end of the steady polls
	First          reqs
	// Steady is summed over the Polls polls at the default page size,
	// Wide over as many more at legalWidePageSize.
	Steady, Wide                   reqs
	Relists, WideRelists           int // acceptance list requests with a CreatedOn filter
	TextListsMin, TextListsMax     int // texts list requests per poll, both series
	Registers                      int // register versions written in the Steady polls
	RegisterBytes                  int64
	RegisterRows                   int // rows of every register at the end of the Wide polls
	RegisterSize                   int64
	Lost                           reqs
	LostRelists                    int
	LostRep                        *syncer.Report
	LostSame, LostFiles, LostAdded int // legal files byte-identical, in all, versions added
	LostRegisters                  int
}

// measureLegal mirrors a tenant's terms acceptances (two locations, five
// versions of texts) as the daemon does, polling every 5 minutes on the
// simulators' clock with the default lookback. The lookback window is
// full from the start: the first poll mirrors the last 24 hours of
// acceptances, perPoll every 5 minutes, as a daemon that has run for a day
// has them. Then polls polls, each after perPoll new acceptances arrived
// over its 5 minutes, at the default page size, and as many at page size
// 1,000; then the state file is lost and one more poll runs. Requests are
// counted by the simulators; CoreData keeps every version's bytes.
func measureLegal(ctx context.Context, dir string, perPoll, polls int) (*legalResult, error) {
	nxc := nexudus.Config{RequestsPerMinute: -1, RequestsPerHour: -1}
	// The token lives the whole run on the simulated clock: a refresh is
	// a token request, which no figure counts, but its 401 would count.
	w, err := newWorld(dir, nexudustest.Options{TokenTTL: 48 * time.Hour, RequestLogLimit: 1 << 20},
		coredatatest.Options{KeepContent: true}, nxc)
	if err != nil {
		return nil, err
	}
	defer w.close()
	lookback := syncer.DefaultLookback
	res := &legalResult{PerPoll: perPoll, Polls: polls, Lookback: lookback, Window: int(lookback/legalInterval) * perPoll,
		TextListsMin: math.MaxInt}
	for _, t := range legalTexts {
		w.nx.AddText(nexudustest.TextSpec{UniqueID: t.uniqueID, BusinessID: t.business, Name: t.name, LegalContentType: t.typ,
			Author: "Legal team", Content: legalContent(t), UpdatedOn: legalStart.Add(-30 * 24 * time.Hour)})
	}
	n := 0
	for _, at := range spread(res.Window, legalStart.Add(-lookback), legalStart) {
		w.nx.AddAcceptance(acceptanceSpec(n, at))
		n++
	}
	w.nx.SetNow(legalStart)

	statePath := filepath.Join(dir, "legal.db")
	st, err := w.openState(filepath.Base(statePath))
	if err != nil {
		return nil, err
	}
	defer func() { st.Close() }()
	opt := syncer.Options{Parents: []string{parentID}, Businesses: legalLocations, Lookback: lookback, Now: w.nx.Now}
	engine := func(src *nexudus.Client) (*syncer.Engine, error) {
		o := opt
		o.Legal = syncer.LegalOptions{Source: src}
		def := w.src
		w.src = src // the contracts' source too, as the daemon has one client
		defer func() { w.src = def }()
		return w.engine(st, o)
	}
	e, err := engine(w.src)
	if err != nil {
		return nil, err
	}
	rep, err := poll(ctx, e)
	if err != nil {
		return nil, err
	}
	if rep.Legal.Acceptances != res.Window || rep.Legal.UnknownTexts != 0 || rep.Legal.Files["text/created"] != len(legalTexts) ||
		rep.Legal.Files["register/created"] != len(legalLocations) {
		return nil, fmt.Errorf("first poll: %s, want %d acceptances, %d texts and %d registers created", rep.Summary(), res.Window, len(legalTexts), len(legalLocations))
	}
	res.First = w.reqs()

	// steady runs k polls, each after perPoll acceptances arrived over its
	// 5 minutes (UpdatedOn and CreatedOn the simulator's clock as each
	// arrives), and sums their requests.
	steady := func(e *syncer.Engine, k int, sum *reqs, relists *int, registers *int, regBytes *int64) error {
		for p := 0; p < k; p++ {
			now := w.nx.Now()
			for j := 1; j <= perPoll; j++ {
				at := now.Add(time.Duration(j) * legalInterval / time.Duration(perPoll)).Truncate(time.Second)
				w.nx.SetNow(at)
				w.nx.AddAcceptance(acceptanceSpec(n, at))
				n++
			}
			w.nx.SetNow(now.Add(legalInterval))
			before, err := legalFiles(w.cd)
			if err != nil {
				return err
			}
			w.resetCounts()
			rep, err := poll(ctx, e)
			if err != nil {
				return err
			}
			if rep.Legal.Acceptances != perPoll || rep.Legal.UnknownTexts != 0 || len(rep.Legal.Denied) != 0 ||
				rep.Legal.Files["register/updated"] != len(legalLocations) || len(rep.Legal.Files) != 1 {
				return fmt.Errorf("steady poll %d: %s, want %d acceptances and one register updated per location, nothing else", p+1, rep.Summary(), perPoll)
			}
			rq := w.reqs()
			*relists += createdOnLists(w.nx.Requests())
			texts := rq.nx[nexudustest.RouteTexts]
			res.TextListsMin, res.TextListsMax = min(res.TextListsMin, texts), max(res.TextListsMax, texts)
			after, err := legalFiles(w.cd)
			if err != nil {
				return err
			}
			if registers != nil {
				for tag, f := range after {
					for _, v := range f.Versions[len(before[tag].Versions):] {
						*registers++
						*regBytes += v.Size
					}
				}
			}
			sum.add(rq)
		}
		return nil
	}
	res.Steady = reqs{nx: map[nexudustest.Route]int{}, cd: map[coredatatest.Route]int{}}
	if err := steady(e, polls, &res.Steady, &res.Relists, &res.Registers, &res.RegisterBytes); err != nil {
		return nil, err
	}
	wcfg := nxc
	wcfg.BaseURL, wcfg.Username, wcfg.Password, wcfg.PageSize = w.nx.URL, w.nx.Username(), w.nx.Password(), legalWidePageSize
	wide, err := nexudus.New(wcfg, w.nx.Client(), nil, nil)
	if err != nil {
		return nil, err
	}
	we, err := engine(wide)
	if err != nil {
		return nil, err
	}
	res.Wide = reqs{nx: map[nexudustest.Route]int{}, cd: map[coredatatest.Route]int{}}
	if err := steady(we, polls, &res.Wide, &res.WideRelists, nil, nil); err != nil {
		return nil, fmt.Errorf("at page_size %d: %w", legalWidePageSize, err)
	}
	res.Acceptances = n

	// The registers hold every acceptance of their location and month,
	// each citing its text's digest and CoreData file.
	before, err := legalFiles(w.cd)
	if err != nil {
		return nil, err
	}
	for _, b := range legalLocations {
		f, ok := before[legal.RegisterTag(b, legal.Month(legalStart))]
		if !ok {
			return nil, fmt.Errorf("no register of location %d", b)
		}
		rows, err := legal.ParseRegister(f.Content)
		if err != nil {
			return nil, fmt.Errorf("register of location %d: %w", b, err)
		}
		for _, r := range rows {
			if r.BusinessID != b || r.TextSHA256 == "" || r.TextCoreDataID == "" {
				return nil, fmt.Errorf("register of location %d: row %+v", b, r)
			}
		}
		res.RegisterRows += len(rows)
		res.RegisterSize += f.Size
	}
	if res.RegisterRows != n {
		return nil, fmt.Errorf("the registers hold %d rows, Nexudus %d acceptances", res.RegisterRows, n)
	}

	// A lost state file: the next poll starts from nothing.
	if err := st.Close(); err != nil {
		return nil, err
	}
	if err := os.Remove(statePath); err != nil {
		return nil, err
	}
	if st, err = w.openState(filepath.Base(statePath)); err != nil {
		return nil, err
	}
	if e, err = engine(w.src); err != nil {
		return nil, err
	}
	w.nx.SetNow(w.nx.Now().Add(legalInterval))
	w.resetCounts()
	if res.LostRep, err = poll(ctx, e); err != nil {
		return nil, fmt.Errorf("after the state file was lost: %w", err)
	}
	res.Lost = w.reqs()
	res.LostRelists = createdOnLists(w.nx.Requests())
	after, err := legalFiles(w.cd)
	if err != nil {
		return nil, err
	}
	res.LostFiles = len(before)
	for tag, f := range before {
		a, ok := after[tag]
		if !ok {
			return nil, fmt.Errorf("after the state file was lost: the file tagged %s is gone", tag)
		}
		if bytes.Equal(a.Content, f.Content) {
			res.LostSame++
		}
		res.LostAdded += len(a.Versions) - len(f.Versions)
		if _, _, ok := legal.ParseRegisterTag(tag); ok {
			res.LostRegisters++
		}
	}
	if len(after) != len(before) {
		return nil, fmt.Errorf("after the state file was lost: %d legal files, %d before", len(after), len(before))
	}
	return res, nil
}

// legalContent is a version's text, a few KB of Markdown.
func legalContent(t legalText) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n\nVersion %s of location %d.\n\n", t.name, t.uniqueID, t.business)
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "%d. The member agrees to clause %d of these terms, as published by the operator.\n", i, i)
	}
	return b.String()
}

// legalFiles are the CoreData files carrying a text or register tag, by
// tag; a tag on two files is an error (guarantee 1).
func legalFiles(cd *coredatatest.Server) (map[string]coredatatest.FileInfo, error) {
	out := map[string]coredatatest.FileInfo{}
	for _, f := range cd.Files() {
		for _, t := range f.Tags {
			_, text := legal.ParseTextTag(t)
			_, _, reg := legal.ParseRegisterTag(t)
			if !text && !reg {
				continue
			}
			if prev, ok := out[t]; ok {
				return nil, fmt.Errorf("CoreData files %s and %s both carry %s", prev.ID, f.ID, t)
			}
			out[t] = f
		}
	}
	return out, nil
}

// createdOnLists counts the acceptance list requests that carry a
// CreatedOn bound: re-listings of a register's month.
func createdOnLists(log []nexudustest.Request) int {
	n := 0
	for _, r := range log {
		if r.Route != nexudustest.RouteAudits {
			continue
		}
		if r.Query.Has("from_CoworkerLegalContentAudit_CreatedOn") || r.Query.Has("to_CoworkerLegalContentAudit_CreatedOn") {
			n++
		}
	}
	return n
}

// legalOutcomes names the texts' and registers' outcomes of a poll.
func legalOutcomes(files map[string]int) string {
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := ""
	for _, k := range keys {
		if out != "" {
			out += ", "
		}
		out += fmt.Sprintf("%s %d", k, files[k])
	}
	if out == "" {
		return "no text or register written"
	}
	return out
}

// add sums o's counters into r.
func (r *reqs) add(o reqs) {
	for k, v := range o.nx {
		r.nx[k] += v
	}
	for k, v := range o.cd {
		r.cd[k] += v
	}
}

// legalNX is the Nexudus requests of r but the token's.
func (r reqs) legalNX() int { return r.nexudus() - r.nx[nexudustest.RouteToken] }

// legalFloor is what listing only the new acceptances would cost per new
// acceptance: each location's share of pages, one texts page and each
// location's one contracts page per poll.
func (r *legalResult) legalFloor(pageSize int) float64 {
	locs := float64(len(legalLocations))
	pages := locs*math.Ceil(float64(r.PerPoll)/locs/float64(pageSize)) + 1 + locs
	return pages / float64(r.PerPoll)
}

func (r *legalResult) rows() []row {
	newAcc := r.PerPoll * r.Polls
	nx := float64(r.Steady.legalNX()) / float64(newAcc)
	floor := r.legalFloor(pageSize)
	wide := float64(r.Wide.legalNX()) / float64(newAcc)
	wideFloor := r.legalFloor(legalWidePageSize)
	listed := r.Window + r.PerPoll // acceptances the lookback holds at each poll (derived)
	perPollNX := r.Steady.legalNX() / r.Polls
	breakdown := func(q reqs, k int) string {
		return fmt.Sprintf("%.1f acceptance lists, %.1f texts lists, %.1f contracts lists, %d text reads a poll; token excluded: %d",
			float64(q.nx[nexudustest.RouteAudits])/float64(k), float64(q.nx[nexudustest.RouteTexts])/float64(k),
			float64(q.nx[nexudustest.RouteList])/float64(k), q.nx[nexudustest.RouteTextGet], q.nx[nexudustest.RouteToken])
	}
	cd := float64(r.Steady.coredata()) / float64(max(r.Registers, 1))
	perAcc := float64(r.RegisterBytes) / float64(newAcc)
	rowBytes := float64(r.RegisterSize) / float64(max(r.RegisterRows, 1))
	lr := r.LostRep
	lost := r.Lost
	lostNX := lost.legalNX()
	return []row{
		{
			Figure: fmt.Sprintf("Terms acceptances, steady state: Nexudus requests per new acceptance over %d polls 5 min apart, %s new acceptances each, 2 locations, page_size %d, lookback %.0f h read whole once a day, ~%s acceptances in it (each poll reads from the cursor with a 5-minute overlap: %s requests a poll, %.1f min of the default %d/min; %s; the daily read of the lookback adds about one list page per page_size acceptances a day, not in these polls)",
				r.Polls, thousands(int64(r.PerPoll)), pageSize, r.Lookback.Hours(), thousands(int64(listed)), thousands(int64(perPollNX)),
				float64(perPollNX)/nexudus.DefaultRequestsPerMinute, nexudus.DefaultRequestsPerMinute, breakdown(r.Steady, r.Polls)),
			Value: fmt.Sprintf("%.4f", nx), Bound: fmt.Sprintf("%.4f (the new acceptances' own pages, per location, + 1 texts page + 1 contracts page per location, / %d)", floor, r.PerPoll),
			Ratio: ratio(nx, floor), Goal: "≤ 0.05", Verdict: verdict(nx <= 0.05),
		},
		{
			Figure: fmt.Sprintf("The same, %d polls more at page_size %s (%s)", r.Polls, thousands(legalWidePageSize), breakdown(r.Wide, r.Polls)),
			Value:  fmt.Sprintf("%.4f", wide), Bound: fmt.Sprintf("%.4f", wideFloor), Ratio: ratio(wide, wideFloor), Goal: "-", Verdict: info,
		},
		{
			Figure: fmt.Sprintf("Texts list requests per poll in those %d polls (%d versions, none changed; %d reads of a text by id)", 2*r.Polls, len(legalTexts),
				r.Steady.nx[nexudustest.RouteTextGet]+r.Wide.nx[nexudustest.RouteTextGet]),
			Value: fmt.Sprintf("%d to %d", r.TextListsMin, r.TextListsMax), Bound: "1", Ratio: ratio(float64(r.TextListsMax), 1),
			Goal: "1 (each version listed at most once per poll)", Verdict: verdict(r.TextListsMax == 1 && r.TextListsMin == 1 && r.Steady.nx[nexudustest.RouteTextGet]+r.Wide.nx[nexudustest.RouteTextGet] == 0),
		},
		{
			Figure: fmt.Sprintf("Register months listed again in those %d polls (acceptance list requests with a CreatedOn bound, in the simulator's request log)", 2*r.Polls),
			Value:  fmt.Sprintf("%d", r.Relists+r.WideRelists), Bound: "0", Goal: "0", Verdict: verdict(r.Relists+r.WideRelists == 0),
		},
		{
			Figure: fmt.Sprintf("CoreData requests per register version written in the %d polls at page_size %d (%d versions, one per location and poll; %s)",
				r.Polls, pageSize, r.Registers, r.Steady.cdCounts("")),
			Value: fmt.Sprintf("%.2f", cd), Bound: "4 (a read before the update, blob URL, PUT, content update, whose answer carries the md5)",
			Ratio: ratio(cd, 4), Goal: "- (SPEC.md sets none)", Verdict: info,
		},
		{
			Figure: fmt.Sprintf("Bytes uploaded per new acceptance in those polls (each poll uploads its month's whole register again: %d versions, %s on average; at the end %s rows, %.0f B a row)",
				r.Registers, mib(r.RegisterBytes/int64(max(r.Registers, 1))), thousands(int64(r.RegisterRows)), rowBytes),
			Value: fmt.Sprintf("%s B", thousands(int64(perAcc))), Bound: fmt.Sprintf("%.0f B (its own row)", rowBytes),
			Ratio: ratio(perAcc, rowBytes), Goal: "-", Verdict: info,
		},
		{
			Figure: fmt.Sprintf("The state file lost after those polls, one poll (%s; %s; Nexudus %d requests: %d acceptance lists, %d of them a month by CreatedOn, %d texts lists; CoreData: %s)",
				lr.Summary(), legalOutcomes(lr.Legal.Files), lostNX, lost.nx[nexudustest.RouteAudits], r.LostRelists, lost.nx[nexudustest.RouteTexts], lost.cdCounts("")),
			Value: fmt.Sprintf("%d uploads (%d storage PUTs)", lost.uploads(), lost.cd[coredatatest.RouteStorage]), Bound: "0",
			Goal: "0", Verdict: verdict(lost.uploads() == 0 && lr.BytesUploaded == 0),
		},
		{
			Figure: fmt.Sprintf("The same poll: CoreData files of registers (%d) and texts (%d) whose current bytes are those before it (the simulator keeps every version's bytes), versions added",
				r.LostRegisters, r.LostFiles-r.LostRegisters),
			Value: fmt.Sprintf("%d of %d identical, %d versions added", r.LostSame, r.LostFiles, r.LostAdded), Bound: fmt.Sprintf("%d of %d, 0", r.LostFiles, r.LostFiles),
			Goal: "byte-identical", Verdict: verdict(r.LostSame == r.LostFiles && r.LostAdded == 0),
		},
	}
}
