package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	"github.com/coworkdocs/syncd/internal/testbin"
)

// The status page of a running daemon, as a person's browser shows it:
// headless Chromium loads GET / while the daemon polls and audits. It
// shows the parked file's Id and the audit's counts, and none of the
// personal data the records carry (names, titles, file names).
func TestRunningDaemonsStatusPageInChromium(t *testing.T) {
	bin := testbin.Chromium(t)
	e := newEnv(t, "")
	e.withAudit("  schedule: \"@every 1s\"\n")
	e.withNexudusKey("  max_file_bytes: 1000\n")
	person := func(i int, name string, data []byte) int64 {
		return e.nx.AddFile(nexudustest.FileSpec{
			BusinessID: 1, CoworkerID: 40 + int64(i), CoworkerFullName: "Grace Hopper",
			Name: name, FileName: "grace-hopper-" + strings.ToLower(strings.ReplaceAll(name, " ", "-")) + ".pdf",
			Data: []byte("draft"), SignedFileName: "grace-hopper-signed-" + string(rune('a'+i)) + ".pdf", SignedData: data, Signed: true,
		})
	}
	fine := person(0, "Private office licence", []byte("signed licence"))
	edited := person(1, "Locker rental", []byte("signed locker"))
	person(2, "Parking permit", []byte("signed parking"))
	parked := person(3, "Virtual office agreement", []byte(strings.Repeat("x", 2000)))

	base := e.startDaemon()
	waitFor(t, "the first poll mirrors three files and parks the fourth", 10*time.Second, func() bool {
		st, ok := statusOf(base)
		return ok && len(st.Files) == 1 && st.Files[0].NexudusID == parked && st.Files[0].Status == "parked" && len(e.cd.Files()) == 3
	})
	f, _ := e.mirrorOf(edited)
	e.cd.UploadVersion(f.ID, []byte("a person's edit"), "application/pdf")
	waitFor(t, "an audit reports the person's version as drift", 10*time.Second, func() bool {
		st, ok := statusOf(base)
		return ok && st.Audit != nil && st.Audit.Complete && st.Audit.ProblemsTotal == 1 && st.Audit.Problems[0].NexudusID == edited
	})

	dom, shot := testbin.Render(t, bin, base+"/", "status-daemon.png")
	t.Logf("screenshot: %s", shot)
	files := section(t, dom, "Files failing or parked", "Last audit of CoreData")
	if !strings.Contains(files, ">"+itoa(parked)+"<") || !strings.Contains(files, "parked") {
		t.Errorf("the failing-and-parked section does not show file %d parked:\n%s", parked, files)
	}
	audit := section(t, dom, "Last audit of CoreData", "</body>")
	counts := renderedCounts(audit)
	for status, want := range map[string]string{"ok": "2", "missing": "0", "moved": "0", "untagged": "0", "drift": "1", "duplicate": "0"} {
		if counts[status] != want {
			t.Errorf("audit count %s = %q, want %s (counts %v)", status, counts[status], want, counts)
		}
	}
	if !strings.Contains(audit, ">"+itoa(edited)+"<") || !strings.Contains(audit, f.ID) {
		t.Errorf("the audit's problem row lacks Nexudus Id %d or CoreData id %s", edited, f.ID)
	}
	if strings.Contains(audit, ">"+itoa(fine)+"<") {
		t.Errorf("file %d, which is ok, is listed as a problem", fine)
	}
	for _, personal := range []string{"Grace", "Hopper", "Private office licence", "Locker rental", "Virtual office agreement", "grace-hopper", ".pdf"} {
		if strings.Contains(dom, personal) {
			t.Errorf("the rendered page shows personal data %q", personal)
		}
	}
}

// withNexudusKey adds keys to the env's nexudus section.
func (e *env) withNexudusKey(lines string) {
	e.t.Helper()
	raw, err := os.ReadFile(e.config)
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := strings.Replace(string(raw), "coredata:\n", lines+"coredata:\n", 1)
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// section is the rendered DOM from the heading from up to until.
func section(t *testing.T, dom, from, until string) string {
	t.Helper()
	i := strings.Index(dom, from)
	if i < 0 {
		t.Fatalf("the rendered page has no %q", from)
	}
	s := dom[i:]
	if j := strings.Index(s, until); j >= 0 {
		s = s[:j]
	}
	return s
}

var (
	countHead = regexp.MustCompile(`<th class="num">([a-z]+)</th>`)
	countCell = regexp.MustCompile(`<td class="num[^"]*">([0-9]+)</td>`)
)

// renderedCounts reads the audit's counts table: a row of statuses over a
// row of numbers.
func renderedCounts(audit string) map[string]string {
	end := strings.Index(audit, "</table>")
	if end < 0 {
		return nil
	}
	table := audit[:end]
	heads, cells := countHead.FindAllStringSubmatch(table, -1), countCell.FindAllStringSubmatch(table, -1)
	out := map[string]string{}
	for i := range heads {
		if i < len(cells) {
			out[heads[i][1]] = cells[i][1]
		}
	}
	return out
}
