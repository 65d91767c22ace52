//go:build contract

package nexudus

import (
	"net/http"
	"os"
	"testing"
	"time"
)

// TestContractAgainstRealNexudus runs the read-only contract suite against
// a real tenant:
//
//	NEXUDUS_BASE_URL=https://spaces.nexudus.com NEXUDUS_USERNAME=... \
//	NEXUDUS_PASSWORD=... go test -tags contract -run Contract ./internal/nexudus/
//
// It reads signed files updated in the last 30 days; it writes nothing.
func TestContractAgainstRealNexudus(t *testing.T) {
	base, user, pass := os.Getenv("NEXUDUS_BASE_URL"), os.Getenv("NEXUDUS_USERNAME"), os.Getenv("NEXUDUS_PASSWORD")
	if base == "" || user == "" || pass == "" {
		t.Skip("set NEXUDUS_BASE_URL, NEXUDUS_USERNAME and NEXUDUS_PASSWORD to run against a real tenant")
	}
	c, err := New(Config{BaseURL: base, Username: user, Password: pass}, &http.Client{Timeout: 2 * time.Minute}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	contract(t, c, time.Now().Add(-30*24*time.Hour))
}
