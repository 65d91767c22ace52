package syncd

import (
	"bytes"
	"io/fs"
	"regexp"
	"slices"
	"testing"
)

// Every recorded payload is described in testdata/api/README.md (which
// document and section it comes from), and the README names no file that
// is not there.
func TestRecordedPayloadsAreDescribed(t *testing.T) {
	readme, err := APIPayload("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, api := range []string{"nexudus", "coredata"} {
		entries, err := fs.ReadDir(APIPayloads, api)
		if err != nil {
			t.Fatal(err)
		}
		var files []string
		for _, e := range entries {
			files = append(files, api+"/"+e.Name())
			if !bytes.Contains(readme, []byte("`"+api+"/"+e.Name()+"`")) {
				t.Errorf("README.md does not describe %s/%s", api, e.Name())
			}
		}
		for _, m := range regexp.MustCompile("`("+api+"/[^`]+)`").FindAllStringSubmatch(string(readme), -1) {
			if !slices.Contains(files, m[1]) {
				t.Errorf("README.md names %s, which is not in testdata/api", m[1])
			}
		}
	}
}
