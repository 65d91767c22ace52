package main

import (
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

// Guarantee 6: no secret, token or presigned signature in any log line,
// error or state output, on the happy path and on every fault path below.
func TestNoSecretInLogsErrorsOrStateOutput(t *testing.T) {
	e := newEnv(t, "")
	raw, _ := os.ReadFile(e.config)
	os.WriteFile(e.config, []byte(strings.Replace(string(raw), "level: info", "level: debug", 1)), 0o600)

	for i := 0; i < 4; i++ {
		e.addSigned(1+int64(i%2), "contract-"+itoa(int64(i)))
	}
	bad := e.addSigned(1, "broken")
	e.nx.FailWhen(func(r nexudustest.Route, req nexudustest.Request) bool {
		return r == nexudustest.RouteSignedDownload && strings.HasSuffix(req.Path, "/"+itoa(bad))
	}, 100, nexudustest.Fault{Status: 500, Body: `{"Message":"token ` + e.nx.Password() + `"}`})
	e.nx.FailNext(nexudustest.RouteList, 1, nexudustest.Fault{Status: 500, HTML: true})
	e.cd.ExpireNextURLs(2)
	e.cd.DropNext(coredatatest.RouteCreate, true, 1)
	e.cd.FailNext(coredatatest.RouteUpdateContent, 500, 1)

	var all strings.Builder
	collect := func(args ...string) {
		_, out, errOut := run(t, args...)
		all.WriteString(out)
		all.WriteString(errOut)
	}
	collect("run", "-once", "-config", e.config)
	e.nx.RevokeTokens() // the next run logs in again
	collect("run", "-once", "-config", e.config)
	collect("state", "-config", e.config, "ls")
	collect("state", "-config", e.config, "ls", "-json")
	collect("state", "-config", e.config, "show", itoa(bad))
	collect("run", "-once", "-dry-run", "-config", e.config)
	collect("check-config", "-config", e.config)

	text := all.String()
	// The fault paths must really have run and logged, or the search
	// below proves nothing.
	mustContain(t, "output", text, "presigned URL expired", "outcome unknown", "HTTP 500", "request retried")
	if !strings.Contains(text, "nexudus_id") || !strings.Contains(text, itoa(bad)) {
		t.Fatalf("the runs produced no output to search:\n%s", text)
	}
	secrets := append(e.nx.Secrets(), e.cd.Secrets()...)
	if len(secrets) < 4 {
		t.Fatalf("only %d secrets to look for", len(secrets))
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s)} {
			if strings.Contains(text, form) {
				t.Errorf("secret %.4s… appears in the output", s)
			}
		}
	}
}
