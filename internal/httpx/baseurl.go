package httpx

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// BaseURLError is a base_url that ParseBaseURL refused. Reason says why,
// without the API name or the URL, for messages that name the key
// themselves (configuration errors).
type BaseURLError struct {
	API    string
	URL    string // redacted
	Reason string
	Err    error // ErrPlainHTTP, or nil
}

func (e *BaseURLError) Error() string {
	if e.URL == "" {
		return fmt.Sprintf("%s: base_url %s", e.API, e.Reason)
	}
	return fmt.Sprintf("%s: base_url %q: %s", e.API, e.URL, e.Reason)
}

func (e *BaseURLError) Unwrap() error { return e.Err }

// ParseBaseURL checks an API base URL: absolute, no credentials, query or
// fragment, and https, or plain http for loopback hosts only (anything else
// would send passwords, keys and contracts in clear text). api prefixes the
// error ("nexudus: base_url ..."). The returned URL has no trailing slash.
func ParseBaseURL(api, raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	fail := func(reason string, err error) (*url.URL, error) {
		return nil, &BaseURLError{API: api, URL: RedactURL(raw), Reason: reason, Err: err}
	}
	if raw == "" {
		return nil, &BaseURLError{API: api, Reason: "is required"}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return fail("must be an absolute URL such as https://host", nil)
	}
	if u.User != nil {
		return fail("must not hold credentials, a query or a fragment", nil)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fail("must not hold credentials, a query or a fragment", nil)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !IsLoopback(u.Hostname()) {
			return fail(ErrPlainHTTP.Error(), ErrPlainHTTP)
		}
	default:
		return fail(fmt.Sprintf("scheme must be https, not %q", u.Scheme), nil)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// ErrPlainHTTP is a plain-http base URL for a host that is not loopback.
var ErrPlainHTTP = errors.New("plain http is allowed only for loopback hosts; use https")

// IsLoopback reports localhost, 127.0.0.0/8 and ::1.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
