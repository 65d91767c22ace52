package config

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"text/template"
	"time"

	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// Warning is a value that loads but is almost certainly not what the
// operator meant, such as a placeholder copied from a shipped example.
// check-config prints warnings and `syncd run` logs them; neither refuses
// the file, because the simulators and tests use the same shapes.
type Warning struct {
	File, Key, Msg string
}

func (w Warning) String() string {
	return fmt.Sprintf("config %s: %s: %s", w.File, w.Key, w.Msg)
}

// Nexudus' documented request limits per client (api-docs: rate limits).
const (
	NexudusPerMinuteLimit = 120
	NexudusPerHourLimit   = 5000
)

// LocalTimeZSkew is how far behind UTC a tenant writing local time with a
// literal Z can date a change: the furthest time zone west is UTC-12.
const LocalTimeZSkew = 12 * time.Hour

// usesFullOnlyFields reports whether the title renders differently when
// the fields a listing leaves out are set: a template that names them.
func usesFullOnlyFields(t *template.Template) bool {
	full := SampleRecord()
	full.Description, full.AvailableToUser, full.RequestDigitalSignature = "sample notes", true, true
	var a, b strings.Builder
	if t.Execute(&a, full) != nil || t.Execute(&b, syncer.ListView(full)) != nil {
		return false
	}
	return a.String() != b.String()
}

// PlaceholderHost is the CoreData tenant host of the shipped examples
// (configs/, deploy/): it is nobody's tenant.
const PlaceholderHost = "tenant.coredata.is"

// PlaceholderParents are the CoreData parent uuids of the shipped examples;
// a real tenant's folders have other ids.
var PlaceholderParents = map[string]bool{
	"313ae0be-71cf-11ee-b1e9-ebd554949e29": true,
	"00000000-0000-0000-0000-000000000000": true,
}

// Warnings lists the example placeholders still in the configuration and
// the request budgets above Nexudus' documented limits, each naming its key.
func (c *Config) Warnings() []Warning {
	var ws []Warning
	warn := func(key, format string, args ...any) {
		ws = append(ws, Warning{File: c.Path, Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if n := c.Nexudus.RequestsPerMinute; n > NexudusPerMinuteLimit {
		warn("nexudus.requests_per_minute", "%d is above Nexudus' documented limit of %d/min; Nexudus may answer 429 unless your tenant allows more", n, NexudusPerMinuteLimit)
	}
	if n := c.Nexudus.RequestsPerHour; n > NexudusPerHourLimit {
		warn("nexudus.requests_per_hour", "%d is above Nexudus' documented limit of %d/hour; Nexudus may answer 429 unless your tenant allows more", n, NexudusPerHourLimit)
	}
	if c.CoreData.TitleTemplate != nil && usesFullOnlyFields(c.CoreData.TitleTemplate) {
		warn("coredata.title", "uses a field Nexudus' listing leaves out (Description, AvailableToUser, RequestDigitalSignature); syncd renders it empty, so that a file gets one title whichever way its record was read")
	}
	if c.Sync.Lookback < LocalTimeZSkew {
		warn("sync.lookback", "%s is below %s: a tenant that writes local time with a literal Z, behind UTC, dates its changes up to %s in the past, and a poll reading from its cursor minus this lookback misses them; keep it above the tenant's offset (default 24h)", c.Sync.Lookback, LocalTimeZSkew, LocalTimeZSkew)
	}
	if u, err := url.Parse(c.CoreData.BaseURL); err == nil && strings.EqualFold(u.Hostname(), PlaceholderHost) {
		warn("coredata.base_url", "%s is the example's placeholder tenant; set your CoreData tenant's URL", c.CoreData.BaseURL)
	}
	if PlaceholderParents[strings.ToLower(c.CoreData.DefaultParent)] {
		warn("coredata.default_parent", "%s is the example's placeholder uuid; set the uuid of a folder or project in your tenant", c.CoreData.DefaultParent)
	}
	ids := make([]int64, 0, len(c.CoreData.Parents))
	for id := range c.CoreData.Parents {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		if p := c.CoreData.Parents[id]; PlaceholderParents[strings.ToLower(p)] {
			warn(fmt.Sprintf("coredata.parents.%d", id), "%s is the example's placeholder uuid; set the uuid of a folder or project in your tenant", p)
		}
	}
	return ws
}
