package daemon

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"time"
)

// statusRefreshSeconds is how often the page reloads itself: a meta
// refresh, because the page carries no script.
const statusRefreshSeconds = 30

// statusPage is one self-contained page: inline style, no script, no font
// or image from anywhere. The Content-Security-Policy of ServeHTML holds
// it to that.
var statusPage = template.Must(template.New("status").Funcs(template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"secs": func(f float64) string {
		return (time.Duration(f * float64(time.Second))).Round(100 * time.Millisecond).String()
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{{.Refresh}}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>syncd status</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1b1b1b;background:#fafafa}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.4em 0 .4em}
table{border-collapse:collapse;background:#fff}table+table{margin-top:.8em}th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f0f0f0}.num{text-align:right}.ok{color:#17662b}.bad{color:#a11d1d;font-weight:600}
.muted{color:#666}.warn{background:#fff4d6;border:1px solid #e0c060;padding:.5em .8em;display:inline-block}
</style></head><body>
<h1>syncd</h1>
<div class="muted">version {{.S.Version}} · running since {{when .S.StartedAt}} · page generated {{when .S.GeneratedAt}}, refreshes every {{.Refresh}} s · <a href="status.json">status.json</a></div>
{{with .S.Backfill}}<h2>Backfill</h2>
<p class="warn">A backfill from {{when .From}} did not finish: done up to {{when .Done}} (last progress {{when .UpdatedAt}}). Files updated after that are not all mirrored. Run <code>syncd run -backfill-from {{.From.UTC.Format "2006-01-02T15:04"}}</code> to resume it, or <code>syncd state forget -backfill</code> to abandon it.</p>{{end}}
<h2>Last polls</h2>
{{if .S.Polls}}<table><tr><th>start</th><th>duration</th><th>result</th><th class="num">created</th><th class="num">updated</th><th class="num">unchanged</th><th class="num">skipped</th><th class="num">failed</th><th class="num">parked</th><th>error</th></tr>
{{range .S.Polls}}<tr><td>{{when .Start}}</td><td>{{secs .DurationSeconds}}</td><td class="{{if eq .Result "success"}}ok{{else}}bad{{end}}">{{.Result}}</td><td class="num">{{.Created}}</td><td class="num">{{.Updated}}</td><td class="num">{{.Unchanged}}</td><td class="num">{{.Skipped}}</td><td class="num">{{.Failed}}</td><td class="num">{{.Parked}}</td><td>{{.Error}}</td></tr>
{{end}}</table>{{else}}<p class="muted">No poll has finished since this process started.</p>{{end}}
<h2>Files failing or parked ({{.S.FilesTotal}})</h2>
{{if .S.Files}}<table><tr><th>Nexudus Id</th><th>status</th><th class="num">attempts</th><th>next attempt</th><th>last error</th></tr>
{{range .S.Files}}<tr><td>{{.NexudusID}}</td><td class="{{if eq .Status "parked"}}bad{{end}}">{{.Status}}</td><td class="num">{{.Attempts}}</td><td>{{if eq .Status "parked"}}parked: after a change in Nexudus or <code>syncd state retry {{.NexudusID}}</code>{{else}}{{when .NextAttempt}}{{end}}</td><td>{{.LastError}}</td></tr>
{{end}}</table>{{if gt .S.FilesTotal (len .S.Files)}}<p class="muted">The first {{len .S.Files}} are shown; <code>syncd state ls</code> lists all.</p>{{end}}{{else}}<p class="ok">None.</p>{{end}}
<h2>Last audit of CoreData</h2>
{{with .S.Audit}}<p>{{when .Started}}, took {{secs .DurationSeconds}}: {{if .Complete}}<span class="ok">complete</span>{{else}}<span class="bad">incomplete</span> ({{.Error}}); the next audit checks the rest again{{end}}.
{{if $.S.AuditSchedule}}Schedule: <code>{{$.S.AuditSchedule}}</code>.{{else}}The daemon's audit is off (<code>audit.schedule</code> is empty).{{end}}</p>
<table><tr>{{range .Counts}}<th class="num">{{.Status}}</th>{{end}}</tr>
<tr>{{range .Counts}}<td class="num{{if and (ne .Status "ok") (gt .Files 0)}} bad{{end}}">{{.Files}}</td>{{end}}</tr></table>
{{if .Repairs}}<p>Repairs: {{range $k, $n := .Repairs}}{{$k}} {{$n}} · {{end}}</p>{{end}}
{{if .Problems}}<table><tr><th>Nexudus Id</th><th>CoreData id</th><th>status</th><th>reason</th><th>repair</th></tr>
{{range .Problems}}<tr><td>{{.NexudusID}}</td><td>{{.CoreDataID}}</td><td class="bad">{{.Status}}</td><td>{{.Reason}}</td><td>{{.Repair}}</td></tr>
{{end}}</table>{{if gt .ProblemsTotal (len .Problems)}}<p class="muted">The first {{len .Problems}} of {{.ProblemsTotal}} are shown; <code>syncd state ls -json</code> lists all.</p>{{end}}{{else}}<p class="ok">No problem found.</p>{{end}}
{{else}}<p class="muted">{{if .S.AuditSchedule}}No audit has run yet (schedule <code>{{.S.AuditSchedule}}</code>).{{else}}The daemon's audit is off (<code>audit.schedule</code> is empty); <code>syncd verify</code> audits on request.{{end}}</p>{{end}}
<p class="muted">No titles, names or file names are shown here: this port has no authentication. Quoted values in errors are blanked.</p>
</body></html>
`))

// ServeHTML is GET /: the status page.
func (b *StatusBook) ServeHTML(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	var buf bytes.Buffer
	if err := statusPage.Execute(&buf, struct {
		S       Status
		Refresh int
	}{b.Snapshot(time.Now()), statusRefreshSeconds}); err != nil {
		http.Error(w, "status page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(buf.Bytes())
}

// ServeJSON is GET /status.json: the same data as the page.
func (b *StatusBook) ServeJSON(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(b.Snapshot(time.Now()))
}
