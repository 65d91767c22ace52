package config

import (
	"errors"
	"fmt"
	syncer "github.com/coworkdocs/syncd/internal/sync"
	"net"
	"net/url"
	"regexp"
	"strings"
	"text/template"

	"github.com/robfig/cron/v3"

	"github.com/coworkdocs/syncd/internal/httpx"
	"github.com/coworkdocs/syncd/internal/legal"
)

// uuidPattern accepts CoreData ids: canonical lowercase or uppercase UUIDs.
var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// CronParser is the schedule syntax syncd accepts: five fields or a
// descriptor such as "@every 5m" or "@hourly".
var CronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Validate checks every key and returns all problems at once.
func (c *Config) Validate() error {
	v := &validator{file: c.Path}

	n := &c.Nexudus
	v.baseURL("nexudus.base_url", n.BaseURL)
	v.check(n.Auth == "oauth2" || n.Auth == "basic", "nexudus.auth", "must be oauth2 or basic, not %q", n.Auth)
	if !c.SecretsSkipped {
		v.required("nexudus.username", n.Username)
		v.required("nexudus.password", n.Password)
	}
	for i, b := range n.Businesses {
		v.check(b > 0, fmt.Sprintf("nexudus.businesses[%d]", i), "must be a positive location id, not %d", b)
	}
	v.check(n.PageSize >= 1 && n.PageSize <= 1000, "nexudus.page_size", "must be between 1 and 1000, not %d", n.PageSize)
	v.requestBudget("nexudus.requests_per_minute", n.RequestsPerMinute, n.BaseURL)
	v.requestBudget("nexudus.requests_per_hour", n.RequestsPerHour, n.BaseURL)
	v.pathTemplate("nexudus.file_path", n.FilePath)
	v.pathTemplate("nexudus.signed_file_path", n.SignedFilePath)
	v.check(n.MaxFileBytes > 0, "nexudus.max_file_bytes", "must be positive, not %d", n.MaxFileBytes)
	v.check(n.Timeout > 0, "nexudus.timeout", "must be positive, not %s", n.Timeout)
	v.check(n.MaxRetries >= 0, "nexudus.max_retries", "must not be negative, not %d", n.MaxRetries)

	d := &c.CoreData
	v.baseURL("coredata.base_url", d.BaseURL)
	if !c.SecretsSkipped {
		v.required("coredata.api_user", d.APIUser)
		v.required("coredata.api_key", d.APIKey)
	}
	if d.DefaultParent != "" {
		v.check(uuidPattern.MatchString(d.DefaultParent), "coredata.default_parent", "must be a CoreData uuid, not %q", d.DefaultParent)
	}
	for b, p := range d.Parents {
		key := fmt.Sprintf("coredata.parents.%d", b)
		v.check(b > 0, key, "location id must be positive")
		v.check(uuidPattern.MatchString(p), key, "must be a CoreData uuid, not %q", p)
	}
	if d.DefaultParent == "" && len(d.Parents) == 0 {
		v.fail("coredata.parents", "no parent is configured, so nothing would be mirrored: set coredata.default_parent or map locations in coredata.parents")
	}
	if d.DefaultParent == "" {
		for _, b := range n.Businesses {
			if _, ok := d.Parents[b]; !ok {
				v.fail("coredata.parents", fmt.Sprintf("location %d is listed in nexudus.businesses but has no parent, and coredata.default_parent is empty", b))
			}
		}
	}
	d.TitleTemplate = v.titleTemplate("coredata.title", d.Title)
	for i, t := range d.Tags {
		key := fmt.Sprintf("coredata.tags[%d]", i)
		v.check(strings.TrimSpace(t) != "", key, "must not be empty")
		v.check(!strings.Contains(t, ","), key, "must not contain a comma (CoreData separates tags with commas): %q", t)
		v.check(!strings.HasPrefix(t, "nexudus-file-") && !strings.HasPrefix(t, "nexudus-coworker-"), key, "%q is reserved: syncd sets nexudus-file-<Id> and nexudus-coworker-<Id> itself", t)
	}
	v.check(d.Timeout > 0, "coredata.timeout", "must be positive, not %s", d.Timeout)
	v.check(d.MaxRetries >= 0, "coredata.max_retries", "must not be negative, not %d", d.MaxRetries)

	v.required("state.path", c.State.Path)

	s := &c.Sync
	if _, err := CronParser.Parse(s.Schedule); err != nil {
		v.fail("sync.schedule", fmt.Sprintf("%q is not a cron spec: %v", s.Schedule, err))
	}
	v.check(s.Lookback >= 0, "sync.lookback", "must not be negative, not %s", s.Lookback)
	v.check(s.Concurrency >= 1 && s.Concurrency <= 64, "sync.concurrency", "must be between 1 and 64, not %d", s.Concurrency)
	v.check(s.MaxAttempts >= 1, "sync.max_attempts", "must be at least 1, not %d", s.MaxAttempts)
	v.check(s.ShutdownTimeout > 0, "sync.shutdown_timeout", "must be positive, not %s", s.ShutdownTimeout)
	v.check(s.StuckAfter == 0 || s.StuckAfter >= 10*60_000_000_000, "sync.stuck_after", "must be 0 (automatic) or at least 10m, not %s", s.StuckAfter)
	v.check(s.BackfillWindow >= 60_000_000_000, "sync.backfill_window", "must be at least 1m (the range filter has minute resolution), not %s", s.BackfillWindow)

	if a := c.Audit.Schedule; a != "" {
		if _, err := CronParser.Parse(a); err != nil {
			v.fail("audit.schedule", fmt.Sprintf("%q is not a cron spec (\"\" turns the audit off): %v", a, err))
		}
	}

	// The titles are checked even while legal.enabled is false, so that
	// turning it on cannot fail later.
	titles, err := legal.ParseTitles(c.Legal.TextTitle, c.Legal.RegisterTitle)
	if err != nil {
		key, msg, _ := strings.Cut(err.Error(), ": ")
		v.fail(key, msg)
	}
	c.Legal.Titles = titles

	if c.HTTP.Listen != "" {
		if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
			v.fail("http.listen", fmt.Sprintf("must be host:port (or empty to disable), not %q", c.HTTP.Listen))
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		v.fail("log.level", fmt.Sprintf("must be debug, info, warn or error, not %q", c.Log.Level))
	}
	v.check(c.Log.Format == "json" || c.Log.Format == "console", "log.format", "must be json or console, not %q", c.Log.Format)

	if len(v.errs) > 0 {
		return v.errs
	}
	return nil
}

type validator struct {
	file string
	errs Errors
}

func (v *validator) fail(key, msg string) {
	v.errs = append(v.errs, &Error{File: v.file, Key: key, Msg: msg})
}

func (v *validator) check(ok bool, key, format string, args ...any) {
	if !ok {
		v.fail(key, fmt.Sprintf(format, args...))
	}
}

func (v *validator) required(key, value string) {
	v.check(strings.TrimSpace(value) != "", key, "is required (or %s_file)", key)
}

// baseURL allows plain http only for loopback hosts: credentials and
// contracts must not cross a network in clear text.
func (v *validator) baseURL(key, raw string) {
	if _, err := httpx.ParseBaseURL("", raw); err != nil {
		var be *httpx.BaseURLError
		if errors.As(err, &be) {
			v.fail(key, be.Reason)
			return
		}
		v.fail(key, err.Error())
	}
}

// IsLoopback reports whether host is localhost or a loopback address.
func IsLoopback(host string) bool { return httpx.IsLoopback(host) }

// requestBudget allows any positive budget, and 0 (no client-side limit)
// only for a loopback base_url: simulators and load tests, never a real
// tenant. Values above Nexudus' documented limits load with a warning
// (see Warnings): a tenant may have other limits, a test server has none.
func (v *validator) requestBudget(key string, value int, baseURL string) {
	if value == 0 {
		if u, err := url.Parse(baseURL); err == nil && IsLoopback(u.Hostname()) {
			return
		}
		v.fail(key, "0 (no limit) is allowed only for a loopback base_url")
		return
	}
	v.check(value >= 1, key, "must be a positive number of requests (0 means no limit, loopback only), not %d", value)
}

func (v *validator) pathTemplate(key, p string) {
	v.check(strings.HasPrefix(p, "/") && strings.Contains(p, "{id}"), key, "must be a path starting with / and holding {id}, not %q", p)
}

// titleTemplate parses the template and runs it on a sample record, so a
// misspelt field fails at check-config instead of on the first file.
func (v *validator) titleTemplate(key, text string) *template.Template {
	if strings.TrimSpace(text) == "" {
		v.fail(key, "must not be empty")
		return nil
	}
	tmpl, err := syncer.ParseTitle(text)
	if err != nil {
		v.fail(key, fmt.Sprintf("is not a valid template: %v", err))
		return nil
	}
	if err := tmpl.Execute(&strings.Builder{}, SampleRecord()); err != nil {
		v.fail(key, fmt.Sprintf("does not fit a Nexudus record: %v", err))
		return nil
	}
	return tmpl
}
