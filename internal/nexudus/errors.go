package nexudus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/coworkdocs/syncd/internal/httpx"
)

// Sentinels the engine checks with errors.Is. They are the httpx ones, so a
// check works whichever API answered.
var (
	ErrBadRequest   = httpx.ErrBadRequest
	ErrUnauthorized = httpx.ErrUnauthorized
	ErrForbidden    = httpx.ErrForbidden
	ErrNotFound     = httpx.ErrNotFound
	ErrThrottled    = httpx.ErrThrottled
	ErrServer       = httpx.ErrServer
	ErrTooLarge     = httpx.ErrTooLarge
)

// errorBodyLimit caps what is read of an error answer: only an excerpt or a
// validation list is kept.
const errorBodyLimit = 64 << 10

// ValidationError is Nexudus' 400 answer:
// {Message, Errors:[{PropertyName, Message, AttemptedValue}], WasSuccessful:false}.
type ValidationError struct {
	Status  int
	Message string
	Errors  []FieldError
}

// FieldError is one entry of ValidationError.Errors.
type FieldError struct {
	PropertyName   string
	Message        string
	AttemptedValue any
}

// Error lists "PropertyName: Message" pairs. AttemptedValue is left out: it
// echoes what was sent, which is not for logs.
func (e *ValidationError) Error() string {
	var parts []string
	for _, f := range e.Errors {
		msg := httpx.Excerpt([]byte(f.Message), 120)
		if f.PropertyName != "" {
			msg = httpx.Excerpt([]byte(f.PropertyName), 60) + ": " + msg
		}
		parts = append(parts, msg)
	}
	if len(parts) == 0 {
		parts = append(parts, httpx.Excerpt([]byte(e.Message), 200))
	}
	return fmt.Sprintf("nexudus: HTTP %d validation failed: %s", e.Status, strings.Join(parts, "; "))
}

// Unwrap makes errors.Is(err, ErrBadRequest) hold.
func (e *ValidationError) Unwrap() error { return httpx.ErrBadRequest }

// validationBody is the wire shape; Errors may be absent on other 400s.
type validationBody struct {
	Message       *string
	Errors        []FieldError
	WasSuccessful *bool
}

// parseValidation returns a *ValidationError when body has the documented
// 400 shape, else nil.
func parseValidation(status int, body []byte) *ValidationError {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil
	}
	var vb validationBody
	if err := json.Unmarshal(trimmed, &vb); err != nil {
		return nil
	}
	if vb.Message == nil && len(vb.Errors) == 0 {
		return nil
	}
	if vb.WasSuccessful != nil && *vb.WasSuccessful {
		return nil
	}
	ve := &ValidationError{Status: status, Errors: vb.Errors}
	if vb.Message != nil {
		ve.Message = *vb.Message
	}
	return ve
}

// statusError builds the error for a non-success answer whose body (capped)
// has been read. 409 is Nexudus' legacy throttle answer, so it maps to
// ErrThrottled rather than httpx's ErrConflict.
func statusError(api string, status int, body []byte) error {
	if status == http.StatusBadRequest {
		if ve := parseValidation(status, body); ve != nil {
			return ve
		}
	}
	se := httpx.NewStatusError(api, status, nil)
	se.Excerpt = excerpt(body)
	if status == http.StatusConflict {
		se.Kind = httpx.ErrThrottled
	}
	if jsonMsg := jsonMessage(body); jsonMsg != "" {
		se.Excerpt = jsonMsg
	}
	return se
}

// jsonMessage pulls {"Message": "..."} out of a JSON error body, which reads
// better than an excerpt of the raw JSON.
func jsonMessage(body []byte) string {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return ""
	}
	var raw map[string]json.RawMessage
	if json.Unmarshal(trimmed, &raw) != nil {
		return ""
	}
	for _, k := range []string{"Message", "message", "error_description", "error"} {
		var msg string
		if v, ok := raw[k]; ok && json.Unmarshal(v, &msg) == nil && msg != "" {
			return httpx.Excerpt([]byte(msg), 200)
		}
	}
	return ""
}

// styleOrScript matches blocks whose text is no message: an IIS or proxy
// error page would otherwise fill the excerpt with CSS.
var styleOrScript = regexp.MustCompile(`(?is)<(?:style|script)\b[^>]*>.*?</(?:style|script)\s*>`)

// excerpt is httpx.Excerpt of body without style and script blocks.
func excerpt(body []byte) string {
	return httpx.Excerpt(styleOrScript.ReplaceAll(body, []byte(" ")), 200)
}

var s3Code = regexp.MustCompile(`<Code>([A-Za-z0-9]{1,64})</Code>`)

// storageError is the error for a storage host's answer. Only the S3 error
// code is kept: S3 error bodies echo SignatureProvided and StringToSign.
func storageError(status int, body []byte) error {
	se := httpx.NewStatusError("storage", status, nil)
	if m := s3Code.FindSubmatch(body); m != nil {
		se.Excerpt = string(m[1])
	}
	return se
}

// scrub removes secrets from err's message: URL signatures (httpx) and, as a
// last defence, the password and any token this client has held.
func (c *Client) scrub(err error) error {
	return httpx.Scrub(err, c.secrets()...)
}
