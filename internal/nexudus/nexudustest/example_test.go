package nexudustest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

// A simulator seeded with one signed contract, read with a password grant
// and one list request; the counters show what the client sent.
func Example() {
	sim := nexudustest.New(nexudustest.Options{RedirectDownloads: true})
	defer sim.Close()
	sim.SetNow(time.Date(2025, 1, 15, 10, 30, 45, 0, time.UTC))
	sim.AddFile(nexudustest.FileSpec{
		BusinessID: 1, CoworkerID: 2, CoworkerFullName: "Ada Lovelace", Name: "Lease",
		FileName: "lease.docx", Data: []byte("draft"),
		SignedFileName: "lease-signed.pdf", SignedData: []byte("%PDF-1.7 signed"), Signed: true,
	})

	hc := sim.Client()
	resp, _ := hc.PostForm(sim.URL+"/api/token", url.Values{
		"grant_type": {"password"}, "username": {sim.Username()}, "password": {sim.Password()},
	})
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	req, _ := http.NewRequest(http.MethodGet, sim.URL+"/api/spaces/coworkerdatafiles?CoworkerDataFile_Signed=true&from_CoworkerDataFile_UpdatedOn=2025-01-15T10:30", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, _ = hc.Do(req)
	var page struct {
		Records []struct {
			Id        int64
			UpdatedOn string
		}
		TotalItems int
	}
	json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()

	fmt.Println(page.TotalItems, page.Records[0].UpdatedOn)
	fmt.Println(sim.Grants("password"), sim.Count(nexudustest.RouteList), sim.ListQueries()[0].Get("from_CoworkerDataFile_UpdatedOn"))
	// Output:
	// 1 2025-01-15T10:30:45Z
	// 1 1 2025-01-15T10:30
}
