package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"
	"golang.org/x/term"

	"github.com/coworkdocs/syncd/internal/config"
	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/legal"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	syncer "github.com/coworkdocs/syncd/internal/sync"
	"github.com/coworkdocs/syncd/internal/verify"
)

// Demo locations and the CoreData folders they map to.
const (
	demoDowntown   = 1001
	demoHarbour    = 1002
	demoDowntownID = "313ae0be-71cf-11ee-b1e9-ebd554949e29"
	demoHarbourID  = "07dcc00c-897e-11e6-b174-db079186c95c"
)

type demoContract struct {
	business int64
	member   string
	name     string
	signed   bool
	resign   bool // signed again after the first run: a new version
}

var demoContracts = []demoContract{
	{demoDowntown, "Ada Lovelace", "Membership agreement", true, false},
	{demoDowntown, "Grace Hopper", "Membership agreement", true, true},
	{demoDowntown, "Alan Turing", "Private office licence", true, false},
	{demoDowntown, "Katherine Johnson", "Membership agreement", false, false},
	{demoDowntown, "Edsger Dijkstra", "Locker rental", true, false},
	{demoDowntown, "Barbara Liskov", "Meeting room terms", false, false},
	{demoHarbour, "Donald Knuth", "Membership agreement", true, false},
	{demoHarbour, "Margaret Hamilton", "Private office licence", true, false},
	{demoHarbour, "Ken Thompson", "Membership agreement", false, false},
	{demoHarbour, "Frances Allen", "Parking permit", true, false},
	{demoHarbour, "John Backus", "Virtual office agreement", true, false},
	{demoHarbour, "Radia Perlman", "Membership agreement", true, false},
}

// demoCommand is `syncd demo`: it runs the real `syncd run -once` wiring against the built-in
// simulators: no account, no network beyond loopback.
type demoCommand struct{ stdout, stderr io.Writer }

func (c *demoCommand) Run(ctx context.Context, args []string) error {
	stdout, stderr := c.stdout, c.stderr
	if len(args) > 0 {
		return usageError("demo takes no arguments")
	}
	nx := nexudustest.New(nexudustest.Options{})
	defer nx.Close()
	cd := coredatatest.New(coredatatest.Options{KeepContent: true})
	defer cd.Close()

	ids := make([]int64, len(demoContracts))
	for i, c := range demoContracts {
		file := strings.ToLower(strings.ReplaceAll(c.member+" "+c.name, " ", "-"))
		ids[i] = nx.AddFile(nexudustest.FileSpec{
			BusinessID: c.business, BusinessName: demoLocationName(c.business),
			CoworkerID: 7000 + int64(i), CoworkerFullName: c.member,
			Name: c.name, FileName: file + ".pdf", Data: demoPDF(c.member, c.name, "unsigned"),
			SignedFileName: signedName(c, file), SignedData: signedData(c, "signed"), Signed: c.signed,
		})
	}

	demoTerms := demoLegal(nx)

	dir, err := os.MkdirTemp("", "syncd-demo-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := demoConfig(nx, cd, filepath.Join(dir, "state.db"))
	// The demo's configuration goes through the same validation as a file.
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("demo: %w", err)
	}

	fmt.Fprintf(stdout, "syncd demo: Nexudus simulator at %s, CoreData simulator at %s\n", nx.URL, cd.URL())
	fmt.Fprintf(stdout, "%d contracts in 2 locations, %d of them signed; state file %s\n\n", len(demoContracts), countSigned(), cfg.State.Path)

	runs := []struct {
		title  string
		before func()
	}{
		{"run 1: first sync", nil},
		{"run 2: nothing changed", nil},
		{"run 3: Grace Hopper signed a new copy; Downtown's terms were edited", func() {
			nx.Advance(time.Minute)
			for i, c := range demoContracts {
				if c.resign {
					nx.SetSignedData(ids[i], "grace-hopper-membership-agreement-signed-v2.pdf", demoPDF(c.member, c.name, "signed again"))
				}
			}
			nx.UpdateText(demoTerms, func(t *nexudustest.TextSpec) { t.Content += "\n6. Quiet hours start at 20:00.\n" })
		}},
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tCREATED\tUPDATED\tUNCHANGED\tFAILED\tDOWNLOADS\tUPLOADS\tCOREDATA FILES")
	for _, r := range runs {
		if r.before != nil {
			r.before()
		}
		downloads := nx.Count(nexudustest.RouteDownload) + nx.Count(nexudustest.RouteSignedDownload)
		uploads := cd.Count(coredatatest.RouteStorage)
		rep, err := demoRun(ctx, cfg, stderr)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", r.title, rep.Created, rep.Updated, rep.Unchanged, len(rep.Failed),
			nx.Count(nexudustest.RouteDownload)+nx.Count(nexudustest.RouteSignedDownload)-downloads,
			cd.Count(coredatatest.RouteStorage)-uploads, len(cd.Files()))
	}
	tw.Flush()

	fmt.Fprintln(stdout, "\nCoreData now holds:")
	files := cd.Files()
	sort.Slice(files, func(i, j int) bool { return files[i].Title < files[j].Title })
	tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TITLE\tFOLDER\tFILENAME\tVERSIONS\tMD5")
	for _, f := range files {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", f.Title, demoFolder(f.Parent), f.Filename, len(f.Versions), f.Digest)
	}
	tw.Flush()
	fmt.Fprintln(stdout, "\nRun 2 uploaded nothing: every mapping and digest was already in the state file.")
	fmt.Fprintln(stdout, "Unsigned contracts were never listed; the re-signed one became a second version of the same CoreData file.")
	for _, f := range files {
		if containsString(f.Tags, legal.TextTag("downtown-terms-2026")) && len(f.Versions) != 2 {
			return fmt.Errorf("demo: the edited terms have %d version(s) in CoreData, want 2", len(f.Versions))
		}
	}
	fmt.Fprintln(stdout, "Terms acceptances (legal.enabled): each version of a text is one file; its edit in run 3 became its second version.")
	if err := demoRegister(stdout, cd); err != nil {
		return err
	}
	return demoVerify(ctx, cfg, cd, stdout, interactive(stdout))
}

// interactive reports whether a person watches the demo: stdin and stdout
// are terminals. Then the demo's daemon keeps its status page up until
// they press Enter.
func interactive(stdout io.Writer) bool {
	f, ok := stdout.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && term.IsTerminal(int(os.Stdin.Fd()))
}

// demoVerify has a person delete one mirrored file in CoreData: `syncd
// verify` reports it missing, the daemon's audit mirrors it again, and
// verify finds everything ok.
func demoVerify(ctx context.Context, cfg *config.Config, cd *coredatatest.Server, stdout io.Writer, keepUp bool) error {
	var victim coredatatest.FileInfo
	for _, f := range cd.Files() {
		if strings.HasPrefix(f.Title, "Alan Turing") {
			victim = f
		}
	}
	if victim.ID == "" || !cd.DeleteFile(victim.ID) {
		return fmt.Errorf("demo: no CoreData file of Alan Turing to delete")
	}
	fmt.Fprintf(stdout, "\nA person deletes %q in CoreData. syncd verify (read-only) finds it:\n\n", victim.Title)
	rep, err := runVerify(ctx, cfg, verifyFlags{}, zap.NewNop(), nil)
	if err != nil {
		return fmt.Errorf("demo verify: %w", err)
	}
	if err := verify.WriteTable(stdout, rep); err != nil {
		return err
	}
	if rep.Problems() != 1 || rep.Counts[verify.StatusMissing] != 1 {
		return fmt.Errorf("demo: verify found %d problem(s), want the one missing file", rep.Problems())
	}
	audit, err := demoAudit(ctx, cfg, stdout, keepUp)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\nIts audit found:")
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NEXUDUS_ID\tSTATUS\tCOREDATA_ID\tREPAIR")
	for _, p := range audit.Problems {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", p.NexudusID, p.Status, p.CoreDataID, p.Repair)
	}
	tw.Flush()
	if rep, err = runVerify(ctx, cfg, verifyFlags{}, zap.NewNop(), nil); err != nil {
		return fmt.Errorf("demo verify: %w", err)
	}
	if !rep.OK() {
		return fmt.Errorf("demo: after the audit verify still finds %d problem(s)", rep.Problems())
	}
	fmt.Fprintf(stdout, "\nsyncd verify now finds all %d ok: one new CoreData file with the signed bytes, nothing asked of a person.\n", rep.Counts[verify.StatusOK])
	return nil
}

// demoAudit runs the daemon (`syncd run`) with an audit every second and
// its status page on a loopback port, until an audit has repaired what it
// found (and, with keepUp, until Enter is pressed, so that a person can
// look at the page).
func demoAudit(ctx context.Context, cfg *config.Config, stdout io.Writer, keepUp bool) (*syncer.AuditReport, error) {
	daemonCfg := *cfg
	daemonCfg.Sync.Schedule = "@every 1h"
	daemonCfg.Audit.Schedule = "@every 1s"
	daemonCfg.HTTP.Listen = "127.0.0.1:0"
	var out bytes.Buffer
	m := NewMain(&out, &out)
	m.Config = &daemonCfg
	m.Logger = zap.NewNop()
	repaired := make(chan *syncer.AuditReport, 1)
	m.onAudit = func(r *syncer.AuditReport) {
		if r.Complete && len(r.Problems) > 0 && r.Repairs[syncer.RepairRecreated+"/success"] > 0 {
			select {
			case repaired <- r:
			default:
			}
		}
	}
	m.OnListen = func(addr string) {
		fmt.Fprintf(stdout, "\nThe daemon (syncd run) starts with audit.schedule \"@every 1s\". Its status page, while the demo runs:\n"+
			"  http://%s/   (and /status.json, /metrics)\n", addr)
	}
	dctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- m.Run(dctx) }()
	var rep *syncer.AuditReport
	select {
	case rep = <-repaired:
	case err := <-done:
		m.Close()
		return nil, fmt.Errorf("demo daemon: %w\n%s", err, out.String())
	case <-time.After(30 * time.Second):
	case <-ctx.Done():
	}
	if rep != nil && keepUp {
		fmt.Fprintln(stdout, "The audit repaired it. Press Enter to stop the daemon and end the demo.")
		pressed := make(chan struct{})
		go func() { _, _ = bufio.NewReader(os.Stdin).ReadString('\n'); close(pressed) }()
		select {
		case <-pressed:
		case <-ctx.Done():
		}
	}
	stop()
	err := <-done
	m.Close()
	switch {
	case err != nil:
		return nil, fmt.Errorf("demo daemon: %w\n%s", err, out.String())
	case rep == nil && ctx.Err() != nil:
		return nil, ctx.Err()
	case rep == nil:
		return nil, fmt.Errorf("demo: no audit repaired the deleted file within 30 s\n%s", out.String())
	}
	return rep, nil
}

// demoRun is one `syncd run -once` through the real Main.
func demoRun(ctx context.Context, cfg *config.Config, stderr io.Writer) (*syncer.Report, error) {
	var out bytes.Buffer
	m := NewMain(&out, stderr)
	m.Config = cfg
	m.Once = true
	m.Logger = zap.NewNop()
	defer m.Close()
	var rep *syncer.Report
	m.onReport = func(r *syncer.Report) { rep = r }
	if err := m.Run(ctx); err != nil {
		return nil, fmt.Errorf("demo run: %w\n%s", err, out.String())
	}
	return rep, nil
}

// demoLegal seeds the texts of the terms and a few acceptances of them at
// both locations; it returns Downtown's terms, which run 3 edits.
func demoLegal(nx *nexudustest.Server) int64 {
	now := nx.Now()
	month := time.Date(now.Year(), now.Month(), 1, 9, 0, 0, 0, time.UTC)
	if month.After(now.Add(-time.Hour)) {
		month = now.Add(-2 * time.Hour)
	}
	terms := nx.AddText(nexudustest.TextSpec{UniqueID: "downtown-terms-2026", BusinessID: demoDowntown, Name: "House rules", LegalContentType: 1,
		Content: "# House rules\n\n1. Be kind.\n2. Clean up after yourself.\n", UpdatedOn: now.Add(-3 * time.Hour)})
	nx.AddText(nexudustest.TextSpec{UniqueID: "harbour-privacy-2026", BusinessID: demoHarbour, Name: "Privacy policy", LegalContentType: 4,
		Content: "# Privacy policy\n\nWe keep your data in the EU.\n", UpdatedOn: now.Add(-3 * time.Hour)})
	for i, a := range []struct {
		business int64
		text     string
		typ      int
	}{{demoDowntown, "downtown-terms-2026", 1}, {demoDowntown, "downtown-terms-2026", 1}, {demoDowntown, "downtown-terms-2026", 1},
		{demoHarbour, "harbour-privacy-2026", 4}, {demoHarbour, "harbour-privacy-2026", 4}} {
		nx.AddAcceptance(nexudustest.AcceptanceSpec{CoworkerID: 7000 + int64(i), BusinessID: a.business, LegalContentType: a.typ,
			Name: map[int]string{1: "House rules", 4: "Privacy policy"}[a.typ], TextUniqueID: a.text,
			CreatedOn: month.Add(time.Duration(i) * time.Minute), UpdatedOn: now.Add(-2 * time.Hour)})
	}
	return terms
}

// demoRegister prints Downtown's register as CoreData holds it.
func demoRegister(stdout io.Writer, cd *coredatatest.Server) error {
	for _, f := range cd.Files() {
		for _, t := range f.Tags {
			if b, month, ok := legal.ParseRegisterTag(t); ok && b == demoDowntown {
				fmt.Fprintf(stdout, "\nThe register %q (%s, %d version(s)) in CoreData:\n\n", f.Title, month, len(f.Versions))
				_, err := stdout.Write(bytes.ReplaceAll(f.Versions[len(f.Versions)-1].Content, []byte("\r\n"), []byte("\n")))
				return err
			}
		}
	}
	return fmt.Errorf("demo: no register of Downtown in CoreData")
}

func demoConfig(nx *nexudustest.Server, cd *coredatatest.Server, statePath string) *config.Config {
	cfg := config.Defaults()
	cfg.Path = "(demo)"
	cfg.Nexudus.BaseURL = nx.URL
	cfg.Nexudus.Username = nx.Username()
	cfg.Nexudus.Password = nx.Password()
	cfg.Nexudus.RequestsPerMinute = 120
	cfg.CoreData.BaseURL = cd.URL()
	cfg.CoreData.APIUser = cd.APIUser()
	cfg.CoreData.APIKey = cd.APIKey()
	cfg.CoreData.Parents = map[int64]string{demoDowntown: demoDowntownID, demoHarbour: demoHarbourID}
	cfg.CoreData.Dynatype = "Contract"
	cfg.State.Path = statePath
	cfg.Legal.Enabled = true
	cfg.HTTP.Listen = ""
	return &cfg
}

func demoLocationName(b int64) string {
	if b == demoDowntown {
		return "Downtown"
	}
	return "Harbour"
}

func demoFolder(parent string) string {
	switch parent {
	case demoDowntownID:
		return "Downtown contracts"
	case demoHarbourID:
		return "Harbour contracts"
	}
	return parent
}

func signedName(c demoContract, file string) string {
	if !c.signed {
		return ""
	}
	return file + "-signed.pdf"
}

func signedData(c demoContract, state string) []byte {
	if !c.signed {
		return nil
	}
	return demoPDF(c.member, c.name, state)
}

func countSigned() int {
	n := 0
	for _, c := range demoContracts {
		if c.signed {
			n++
		}
	}
	return n
}

// demoPDF is a minimal PDF-looking body: enough for distinct digests.
func demoPDF(member, name, state string) []byte {
	return []byte(fmt.Sprintf("%%PDF-1.4\n%% %s for %s (%s)\n%%%%EOF\n", name, member, state))
}

func containsString(ss []string, s string) bool {
	for _, o := range ss {
		if o == s {
			return true
		}
	}
	return false
}
