package nexudustest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/coworkdocs/syncd"
)

// Answers the simulator sends as they were recorded in testdata/api/nexudus
// (see its README.md): they carry nothing that varies.
var (
	unauthorizedBody = syncd.MustAPIPayload("nexudus/unauthorized.json")
	throttledBody    = syncd.MustAPIPayload("nexudus/throttled.json")
	invalidGrantBody = syncd.MustAPIPayload("nexudus/token_invalid_grant.json")
	errorPage        = string(syncd.MustAPIPayload("nexudus/error_page.html"))
)

// errorPageStatus is how the recorded error page names its status; the
// page for another status says that one instead.
const errorPageStatus = "500 - Internal Server Error"

// htmlErrorPage is the recorded HTML error page for status.
func htmlErrorPage(status int) string {
	return strings.ReplaceAll(errorPage, errorPageStatus, fmt.Sprintf("%d - %s", status, http.StatusText(status)))
}

// writeRecorded sends a recorded JSON answer.
func writeRecorded(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// fieldError is one entry of the documented 400 answer.
type fieldError struct {
	AttemptedValue any
	Message        string
	PropertyName   string
}

// writeValidation answers the documented 400 shape.
func writeValidation(w http.ResponseWriter, errs []fieldError) {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.PropertyName + ": " + e.Message
	}
	writeJSON(w, http.StatusBadRequest, map[string]any{
		"Message":       strings.Join(msgs, "\n"),
		"Value":         nil,
		"Errors":        errs,
		"WasSuccessful": false,
	})
}

// fmtTime writes t as the tenant does. Callers hold s.mu.
func (s *Server) fmtTime(t time.Time) string {
	if s.opts.FormatTime != nil {
		return s.opts.FormatTime(t)
	}
	wall := t.UTC()
	if s.opts.LocalTimeWithZ {
		wall = t.In(s.opts.TenantZone)
	}
	out := wall.Format("2006-01-02T15:04:05")
	if s.opts.FractionalSeconds {
		out += fmt.Sprintf(".%07d", wall.Nanosecond()/100)
	}
	return out + "Z"
}

// zone is where range-filter bounds are read: the tenant's wall clock when
// it writes local times, else UTC.
func (s *Server) zone() *time.Location {
	if s.opts.LocalTimeWithZ {
		return s.opts.TenantZone
	}
	return time.UTC
}

func nullable(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}

// wireFile is a record in the documented field order. The three
// RawMessage fields are left out of list records (partial records).
type wireFile struct {
	BusinessId              int64
	BusinessName            *string
	CoworkerId              int64
	CoworkerFullName        *string
	CoworkerCoworkerType    *string
	CoworkerCompanyName     *string
	CoworkerBillingName     *string
	Name                    string
	Description             json.RawMessage `json:",omitempty"`
	AvailableToUser         json.RawMessage `json:",omitempty"`
	RequestDigitalSignature json.RawMessage `json:",omitempty"`
	FileDataFileName        *string
	NewFileDataUrl          *string
	ClearFileDataFile       *bool
	SignedFileDataFileName  *string
	NewSignedFileDataUrl    *string
	ClearSignedFileDataFile *bool
	Extension               *string
	Billed                  bool
	Signed                  bool
	EsignIdentifier         *string
	DocumentTemplateGuid    *string
	NotifyWhenSignedEmail   *string
	ProposalGuid            *string
	CoworkerContractGuid    *string
	wireRecord
}

// wireRecord is the tail every Nexudus record carries, in the documented
// order (embedded last, so its fields stay last in the JSON).
type wireRecord struct {
	Id                  int64
	UpdatedOn           string
	CreatedOn           string
	UniqueId            string
	UpdatedBy           *string
	IsNew               bool
	SystemId            *string
	ToStringText        string
	LocalizationDetails *string
	CustomFields        *string
}

func mustRaw(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// wire renders f; full adds the fields list records leave out. Callers
// hold s.mu.
func (s *Server) wire(f *FileSpec, full bool) wireFile {
	w := wireFile{
		BusinessId:             f.BusinessID,
		BusinessName:           nullable(f.BusinessName),
		CoworkerId:             f.CoworkerID,
		CoworkerFullName:       nullable(f.CoworkerFullName),
		CoworkerCoworkerType:   nullable(f.CoworkerType),
		CoworkerCompanyName:    nullable(f.CoworkerCompanyName),
		CoworkerBillingName:    nullable(f.CoworkerBillingName),
		Name:                   f.Name,
		FileDataFileName:       nullable(f.FileName),
		SignedFileDataFileName: nullable(f.SignedFileName),
		Extension:              nullable(f.Extension),
		Billed:                 f.Billed,
		Signed:                 f.Signed,
		EsignIdentifier:        nullable(f.EsignIdentifier),
		DocumentTemplateGuid:   nullable(f.DocumentTemplateGuid),
		ProposalGuid:           nullable(f.ProposalGuid),
		CoworkerContractGuid:   nullable(f.CoworkerContractGuid),
		wireRecord: wireRecord{
			Id: f.ID, UpdatedOn: s.fmtTime(f.UpdatedOn), CreatedOn: s.fmtTime(f.CreatedOn),
			UniqueId: f.UniqueID, UpdatedBy: nullable(f.UpdatedBy), ToStringText: f.Name,
		},
	}
	if full {
		w.Description = mustRaw(nullable(f.Description))
		w.AvailableToUser = mustRaw(f.AvailableToUser)
		w.RequestDigitalSignature = mustRaw(f.RequestDigitalSignature)
	}
	return w
}

// envelope is the documented paging wrapper.
type envelope struct {
	Records              any
	CurrentPageSize      int
	CurrentPage          int
	CurrentOrderField    string
	CurrentSortDirection int
	FirstItem            int
	HasNextPage          bool
	HasPreviousPage      bool
	LastItem             int
	PageNumber           int
	PageSize             int
	TotalItems           int
	TotalPages           int
}

func newEnvelope(records any, n, page, size, total int, order string, dir int) envelope {
	pages := (total + size - 1) / size
	e := envelope{
		Records: records, CurrentPageSize: size, CurrentPage: page,
		CurrentOrderField: order, CurrentSortDirection: dir,
		HasNextPage: page < pages, HasPreviousPage: page > 1,
		PageNumber: page, PageSize: size, TotalItems: total, TotalPages: pages,
	}
	if n > 0 {
		e.FirstItem = (page-1)*size + 1
		e.LastItem = e.FirstItem + n - 1
	}
	return e
}

// unlockAndSend releases s.mu, then copies a recorded answer to w.
func (s *Server) unlockAndSend(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	s.mu.Unlock()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}
