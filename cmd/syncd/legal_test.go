package main

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/legal"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

// `syncd run -once` with legal.enabled mirrors a text and a register
// beside the contracts, its summary says so, and `state ls` lists both
// (with -json, told apart by "kind").
func TestRunOnceMirrorsTermsAcceptances(t *testing.T) {
	e := newEnv(t, "")
	e.withSection("legal:\n  enabled: true\n")
	now := e.nx.Now()
	e.nx.AddText(nexudustest.TextSpec{UniqueID: "terms-v1", BusinessID: 1, Name: "General terms", Content: "# Terms", LegalContentType: 1, UpdatedOn: now.Add(-time.Hour)})
	e.nx.AddAcceptance(nexudustest.AcceptanceSpec{CoworkerID: 5, BusinessID: 1, LegalContentType: 1, Name: "General terms", TextUniqueID: "terms-v1", CreatedOn: now.Add(-time.Hour), UpdatedOn: now.Add(-time.Hour)})
	e.addSigned(1, "agreement")

	code, out, errOut := run(t, "run", "-once", "-config", e.config)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	mustContain(t, "run -once", out, "created=1", "legal_acceptances=1 legal_texts=1 legal_registers=1 legal_without_text=0")
	month := legal.Month(now.Add(-time.Hour))
	code, out, errOut = run(t, "state", "-config", e.config, "ls", "-json")
	if code != 0 {
		t.Fatalf("state ls: %d %s", code, errOut)
	}
	kinds := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not JSON: %q", sc.Text())
		}
		if k, ok := m["kind"].(string); ok {
			kinds[m["tag"].(string)] = k + "/" + m["status"].(string)
		}
	}
	if kinds[legal.TextTag("terms-v1")] != "text/mirrored" || kinds[legal.RegisterTag(1, month)] != "register/mirrored" {
		t.Fatalf("state ls -json legal lines: %v\n%s", kinds, out)
	}
	code, out, _ = run(t, "state", "-config", e.config, "ls")
	if code != 0 {
		t.Fatal(code)
	}
	mustContain(t, "state ls", out, "KIND", "register  "+legal.RegisterTag(1, month)+"  mirrored")
}
