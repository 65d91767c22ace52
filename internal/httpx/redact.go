package httpx

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// sensitiveParams are query parameters whose values are credentials:
// presigned-URL signatures and keys, and tokens some servers accept in URLs.
var sensitiveParams = map[string]bool{
	"signature":            true,
	"awsaccesskeyid":       true,
	"x-amz-signature":      true,
	"x-amz-credential":     true,
	"x-amz-security-token": true,
	"access_token":         true,
	"refresh_token":        true,
	"token":                true,
	"password":             true,
	"apikey":               true,
	"api_key":              true,
	"sig":                  true,
}

// RedactURL returns raw with user info and sensitive query values replaced
// by "REDACTED". Input that does not parse is dropped to scheme://host when
// possible, else to "REDACTED", since it may hold anything.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "REDACTED"
	}
	return redactParsed(u)
}

func redactParsed(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User("REDACTED")
	}
	if c.RawQuery != "" {
		q, err := url.ParseQuery(c.RawQuery)
		if err != nil {
			c.RawQuery = "REDACTED"
		} else {
			for k := range q {
				if sensitiveParams[strings.ToLower(k)] {
					q[k] = []string{"REDACTED"}
				}
			}
			c.RawQuery = q.Encode()
		}
	}
	return c.String()
}

// RedactError rewrites the URL inside a *url.Error (which prints the whole
// URL, signature included) and keeps the rest of the chain intact.
func RedactError(err error) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	red := &url.Error{Op: ue.Op, URL: RedactURL(ue.URL), Err: ue.Err}
	if ue == err {
		return red
	}
	// The *url.Error sits deeper in the chain: rebuild the message only,
	// keeping the original chain for errors.Is/As.
	return &redactedError{msg: strings.ReplaceAll(err.Error(), ue.URL, red.URL), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// sensitiveParamText finds sensitive query parameters inside free text: a
// Location header echoed in a net/http error, a body excerpt that echoes a
// presigned URL.
var sensitiveParamText = regexp.MustCompile(`(?i)\b(signature|sig|awsaccesskeyid|x-amz-signature|x-amz-credential|x-amz-security-token|access_token|refresh_token|token|password|apikey|api_key)=[^&\s"'<>]*`)

// RedactText replaces the values of sensitive query parameters in s.
func RedactText(s string) string {
	return sensitiveParamText.ReplaceAllString(s, "${1}=REDACTED")
}

// Excerpt turns a response body into a short single-line text fit for an
// error message: HTML tags stripped, control and bidi characters dropped,
// white space folded, at most max runes.
func Excerpt(body []byte, max int) string {
	if !utf8.Valid(body) {
		body = []byte(strings.ToValidUTF8(string(body), "?"))
	}
	var b strings.Builder
	inTag, space := false, false
	n := 0
	for _, r := range string(body) {
		switch {
		case r == '<':
			inTag = true
			continue
		case r == '>' && inTag:
			inTag = false
			space = true
			continue
		case inTag:
			continue
		case unicode.IsSpace(r):
			space = true
			continue
		case unicode.IsControl(r) || isBidi(r):
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
			n++
		}
		space = false
		if n >= max {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// isBidi reports Unicode bidirectional formatting characters, which can make
// a log line or file name display differently from what it contains.
func isBidi(r rune) bool {
	switch {
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
		return true
	}
	return false
}

// IsBidi is isBidi for other packages (file-name sanitizing).
func IsBidi(r rune) bool { return isBidi(r) }
