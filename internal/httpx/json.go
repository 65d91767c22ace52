package httpx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// MaxJSONBytes caps every JSON body the clients read: no API answer syncd
// uses is anywhere near it, and a runaway body must not exhaust memory.
const MaxJSONBytes = 8 << 20

// ReadBody reads at most limit bytes of r; more is ErrTooLarge.
func ReadBody(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return b, err
	}
	if int64(len(b)) > limit {
		return b[:limit], fmt.Errorf("body over %d bytes: %w", limit, ErrTooLarge)
	}
	return b, nil
}

// DecodeJSON decodes a successful response body into v. A body that is not
// JSON (an HTML error page from a proxy, say) becomes an error that gives the
// status and a sanitized excerpt instead of a bare decoder message.
func DecodeJSON(api string, resp *http.Response, v any) error {
	body, err := ReadBody(resp.Body, MaxJSONBytes)
	if err != nil {
		return fmt.Errorf("%s: read response (HTTP %d): %w", api, resp.StatusCode, err)
	}
	return DecodeJSONBytes(api, resp.StatusCode, resp.Header.Get("Content-Type"), body, v)
}

// DecodeJSONBytes is DecodeJSON over a body already read.
func DecodeJSONBytes(api string, status int, contentType string, body []byte, v any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return fmt.Errorf("%s: HTTP %d: empty body where JSON was expected", api, status)
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "text/html" || (trimmed[0] != '{' && trimmed[0] != '[') {
		return fmt.Errorf("%s: HTTP %d: response is not JSON (content type %q): %s", api, status, mt, Excerpt(body, 200))
	}
	if err := json.Unmarshal(trimmed, v); err != nil {
		return fmt.Errorf("%s: HTTP %d: malformed JSON: %v: %s", api, status, err, Excerpt(body, 120))
	}
	return nil
}
