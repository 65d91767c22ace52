//go:build contract

package coredata

import (
	"net/http"
	"os"
	"testing"
	"time"
)

// TestContractAgainstRealCoreData runs the contract suite against a real
// tenant:
//
//	COREDATA_BASE_URL=https://tenant.coredata.is COREDATA_API_USER=... \
//	COREDATA_API_KEY=... COREDATA_CONTRACT_PARENT=<folder uuid> \
//	go test -tags contract -run Contract ./internal/coredata/
//
// It creates one file (two versions) under the given folder and deletes
// nothing.
func TestContractAgainstRealCoreData(t *testing.T) {
	base, user, key, parent := os.Getenv("COREDATA_BASE_URL"), os.Getenv("COREDATA_API_USER"), os.Getenv("COREDATA_API_KEY"), os.Getenv("COREDATA_CONTRACT_PARENT")
	if base == "" || user == "" || key == "" || parent == "" {
		t.Skip("set COREDATA_BASE_URL, COREDATA_API_USER, COREDATA_API_KEY and COREDATA_CONTRACT_PARENT to run against a real tenant")
	}
	c, err := New(Config{BaseURL: base, APIUser: user, APIKey: key},
		&http.Client{Timeout: time.Minute}, &http.Client{Timeout: 5 * time.Minute}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	contract(t, c, parent)
}
