package nexudustest

import (
	"crypto/subtle"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"
)

// handleToken serves the OAuth2 password and refresh_token grants,
// form-encoded, as Nexudus' /api/token does.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": "form-encoded body expected"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request"})
		return
	}
	grant := r.PostForm.Get("grant_type")
	rec := httptest.NewRecorder()
	s.mu.Lock()
	defer s.unlockAndSend(w, rec) // no network writes under the lock
	w = rec
	switch grant {
	case "password":
		if !equal(r.PostForm.Get("username"), s.opts.Username) || !equal(r.PostForm.Get("password"), s.opts.Password) {
			writeRecorded(w, http.StatusBadRequest, invalidGrantBody)
			return
		}
	case "refresh_token":
		rt := r.PostForm.Get("refresh_token")
		if !s.renew[rt] {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_grant"})
			return
		}
		delete(s.renew, rt) // refresh tokens rotate
	default:
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "unsupported_grant_type"})
		return
	}
	s.grants[grant]++
	now := s.clock.now()
	access, refresh := randomHex(24), randomHex(24)
	s.tokens[access] = now.Add(s.opts.TokenTTL)
	s.renew[refresh] = true
	s.issued = append(s.issued, access, refresh)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":  access,
		"token_type":    "bearer",
		"expires_in":    int(s.opts.TokenTTL.Seconds()),
		"refresh_token": refresh,
		"userName":      s.opts.Username,
		".issued":       now.UTC().Format(http.TimeFormat),
		".expires":      now.Add(s.opts.TokenTTL).UTC().Format(http.TimeFormat),
	})
}

// authorized checks a bearer token (live on the simulator clock) or, when
// allowed, Basic credentials.
func (s *Server) authorized(r *http.Request) bool {
	a := r.Header.Get("Authorization")
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok, ok := strings.CutPrefix(a, "Bearer "); ok {
		exp, live := s.tokens[tok]
		return live && s.clock.now().Before(exp)
	}
	if u, p, ok := r.BasicAuth(); ok && s.opts.AllowBasic {
		return equal(u, s.opts.Username) && equal(p, s.opts.Password)
	}
	return false
}

// RevokeTokens invalidates every access and refresh token, so the next
// request draws a 401 and only a new password grant helps.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]time.Time{}
	s.renew = map[string]bool{}
}

// Secrets returns what must never appear in a client's logs or errors:
// the password and every access and refresh token issued so far.
func (s *Server) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string{s.opts.Password}, s.issued...)
}

// Grants returns how many tokens were issued by grant type ("password",
// "refresh_token").
func (s *Server) Grants(grantType string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grants[grantType]
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
