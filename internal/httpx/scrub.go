package httpx

import (
	"strings"
	"unicode/utf8"
)

// minSecretLen is the shortest secret Scrub replaces: very short values
// would blank out unrelated text, and no real key, token or signature is
// that short.
const minSecretLen = 4

// Scrub makes err safe to log: the URL of a *url.Error is redacted, the
// values of sensitive query parameters in its text are replaced, and so is
// every secret given (a password, a token, an api key, a signature). The
// chain is kept, so errors.Is and errors.As still see the typed errors.
func Scrub(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	err = RedactError(err)
	msg := err.Error()
	// net/http puts an unparsable redirect Location, signature and all,
	// in the message text, beyond RedactError's reach.
	out := RedactText(msg)
	for _, s := range secrets {
		if len(s) >= minSecretLen {
			out = strings.ReplaceAll(out, s, "REDACTED")
		}
	}
	if out == msg {
		return err
	}
	return &scrubbedError{msg: out, err: err}
}

// scrubbedError keeps an error's chain but replaces its message.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// Truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func Truncate(s string, n int) string {
	if n < 0 {
		n = 0
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Shorten is Truncate with an ellipsis when something was cut, for a value
// quoted in an error message.
func Shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return Truncate(s, n) + "…"
}
