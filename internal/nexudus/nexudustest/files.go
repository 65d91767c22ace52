package nexudustest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

const filterPrefix = "CoworkerDataFile_"

// paging reads page, size, orderBy and dir. Bad numbers are validation
// errors naming the parameter.
type paging struct {
	page, size int
	order      string
	dir        int
}

func parsePaging(q url.Values, orders []string, defaultOrder string) (paging, []fieldError) {
	p := paging{page: 1, size: DefaultPageSize, order: defaultOrder, dir: 1}
	var errs []fieldError
	for _, k := range []string{"page", "size"} {
		v := q.Get(k)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fieldError{AttemptedValue: v, Message: "must be a positive integer", PropertyName: k})
			continue
		}
		if k == "page" {
			p.page = n
		} else {
			p.size = min(n, MaxPageSize)
		}
	}
	if v := q.Get("orderBy"); v != "" {
		for _, o := range orders {
			if strings.EqualFold(v, o) {
				p.order = o
			}
		}
	}
	if q.Get("dir") == "-1" {
		p.dir = -1
	}
	return p, errs
}

// parseMinute reads a range bound in the documented YYYY-MM-DDTHH:mm form.
func parseMinute(v string, zone *time.Location) (time.Time, bool) {
	t, err := time.ParseInLocation("2006-01-02T15:04", v, zone)
	return t, err == nil
}

// rangeFilter is one from_/to_ bound with minute resolution: "from" keeps
// times at or after the minute, "to" times up to that minute's end.
type rangeFilter struct {
	field string // UpdatedOn or CreatedOn
	from  bool
	at    time.Time
}

func (f rangeFilter) keep(rec *FileSpec) bool { return f.keepTimes(rec.CreatedOn, rec.UpdatedOn) }

// keepTimes applies the bound to a record created and updated then.
func (f rangeFilter) keepTimes(created, updated time.Time) bool {
	t := updated
	if f.field == "CreatedOn" {
		t = created
	}
	if f.from {
		return !t.Before(f.at)
	}
	return t.Before(f.at.Add(time.Minute))
}

// parseRanges reads the range filters from_/to_ prefix+UpdatedOn and
// prefix+CreatedOn present in q, in zone, with the documented 400 entry
// for each bound not in YYYY-MM-DDTHH:mm.
func parseRanges(q url.Values, prefix string, zone *time.Location) ([]rangeFilter, []fieldError) {
	var (
		ranges []rangeFilter
		errs   []fieldError
	)
	for _, field := range []string{"UpdatedOn", "CreatedOn"} {
		for _, from := range []bool{true, false} {
			key := "to_" + prefix + field
			if from {
				key = "from_" + prefix + field
			}
			v := q.Get(key)
			if v == "" {
				continue
			}
			at, ok := parseMinute(v, zone)
			if !ok {
				errs = append(errs, fieldError{AttemptedValue: v, Message: "is not a valid date in the format YYYY-MM-DDTHH:mm", PropertyName: key})
				continue
			}
			ranges = append(ranges, rangeFilter{field: field, from: from, at: at})
		}
	}
	return ranges, errs
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rec := httptest.NewRecorder()
	s.mu.Lock()
	defer s.unlockAndSend(w, rec) // no network writes under the lock
	w = rec
	p, errs := parsePaging(q, []string{"Id", "UpdatedOn", "CreatedOn", "Name"}, "Id")
	ranges, rangeErrs := parseRanges(q, filterPrefix, s.zone())
	errs = append(errs, rangeErrs...)
	var signed *bool
	if v := q.Get(filterPrefix + "Signed"); v != "" && !s.opts.IgnoreSignedFilter {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fieldError{AttemptedValue: v, Message: "is not a valid boolean", PropertyName: filterPrefix + "Signed"})
		}
		signed = &b
	}
	ids, idErrs := parseIDFilters(q, filterPrefix, "Business", "Coworker")
	errs = append(errs, idErrs...)
	if len(errs) > 0 {
		writeValidation(w, errs)
		return
	}
	name := strings.ToLower(q.Get(filterPrefix + "Name"))

	keep := func(f *FileSpec) bool {
		keep := (signed == nil || f.Signed == *signed) &&
			(!hasKey(ids, "Business") || f.BusinessID == ids["Business"]) &&
			(!hasKey(ids, "Coworker") || f.CoworkerID == ids["Coworker"]) &&
			(name == "" || strings.Contains(strings.ToLower(f.Name), name))
		for _, rf := range ranges {
			keep = keep && rf.keep(f)
		}
		return keep
	}
	var (
		page  []*FileSpec
		total int
	)
	if p.order == "UpdatedOn" && p.dir == 1 {
		// syncd's own query: signed files from a minute on, nothing else.
		signedFrom := signed != nil && *signed && len(ids) == 0 && name == "" &&
			len(ranges) == 1 && ranges[0].field == "UpdatedOn" && ranges[0].from
		page, total = s.listByUpdated(ranges, keep, signedFrom, p)
	} else {
		var hits []*FileSpec
		for _, f := range s.files {
			if keep(f) {
				hits = append(hits, f)
			}
		}
		sortFiles(hits, p.order, p.dir)
		start := min((p.page-1)*p.size, len(hits))
		page, total = hits[start:min(start+p.size, len(hits))], len(hits)
	}
	records := make([]wireFile, 0, len(page))
	for _, f := range page {
		records = append(records, s.wire(f, false))
	}
	writeJSON(w, http.StatusOK, newEnvelope(records, len(records), p.page, p.size, total, p.order, p.dir))
}

// listByUpdated is the list in UpdatedOn order, the one syncd asks for:
// it starts at the from_ bound of UpdatedOn in the kept index instead of
// sorting every file on every page. Same answers as sorting. Callers hold
// s.mu.
//
// With signedFrom (the filters are Signed=true and an UpdatedOn from-bound,
// nothing else), the total comes from a count kept with the index, so that
// a page costs its own records rather than every record after it.
func (s *Server) listByUpdated(ranges []rangeFilter, keep func(*FileSpec) bool, signedFrom bool, p paging) ([]*FileSpec, int) {
	if s.byUpdated == nil {
		s.byUpdated = make([]*FileSpec, 0, len(s.files))
		for _, f := range s.files {
			s.byUpdated = append(s.byUpdated, f)
		}
		sortFiles(s.byUpdated, "UpdatedOn", 1)
		s.signedAfter = make([]int, len(s.byUpdated)+1)
		for i := len(s.byUpdated) - 1; i >= 0; i-- {
			s.signedAfter[i] = s.signedAfter[i+1]
			if s.byUpdated[i].Signed {
				s.signedAfter[i]++
			}
		}
	}
	lo := 0
	for _, rf := range ranges {
		if rf.field == "UpdatedOn" && rf.from {
			at, all := rf.at, s.byUpdated
			lo = sort.Search(len(all), func(i int) bool { return !all[i].UpdatedOn.Before(at) })
			break
		}
	}
	all := s.byUpdated[lo:]
	start := (p.page - 1) * p.size
	var page []*FileSpec
	if signedFrom {
		skipped := 0
		for _, f := range all {
			if len(page) == p.size {
				break
			}
			if !f.Signed {
				continue
			}
			if skipped < start {
				skipped++
				continue
			}
			page = append(page, f)
		}
		return page, s.signedAfter[lo]
	}
	total := 0
	for _, f := range all {
		if !keep(f) {
			continue
		}
		if total >= start && len(page) < p.size {
			page = append(page, f)
		}
		total++
	}
	return page, total
}

func hasKey(m map[string]int64, k string) bool { _, ok := m[k]; return ok }

// sortFiles orders by field and direction, ties by Id, so paging is stable.
func sortFiles(fs []*FileSpec, order string, dir int) {
	sort.Slice(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		c := 0
		switch order {
		case "UpdatedOn":
			c = a.UpdatedOn.Compare(b.UpdatedOn)
		case "CreatedOn":
			c = a.CreatedOn.Compare(b.CreatedOn)
		case "Name":
			c = strings.Compare(a.Name, b.Name)
		}
		if c == 0 {
			c = cmpInt(a.ID, b.ID)
		}
		return c*dir < 0
	})
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	rec := httptest.NewRecorder()
	s.mu.Lock()
	defer s.unlockAndSend(w, rec) // no network writes under the lock
	w = rec
	f, ok := s.files[id]
	if err != nil || !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"Message": "CoworkerDataFile not found"})
		return
	}
	writeJSON(w, http.StatusOK, s.wire(f, true))
}

// createBody is the documented create request (the fields the simulator
// stores). NewFileDataUrl and NewSignedFileDataUrl are read only as
// base64 data: URLs, since the simulator fetches nothing.
type createBody struct {
	BusinessId              *int64
	CoworkerId              *int64
	Name                    *string
	Description             string
	AvailableToUser         bool
	RequestDigitalSignature bool
	NewFileDataUrl          string
	NewSignedFileDataUrl    string
	Extension               string
	Billed                  bool
	Signed                  bool
	EsignIdentifier         string
	DocumentTemplateGuid    string
	ProposalGuid            string
	CoworkerContractGuid    string
}

func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) {
	var b createBody
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<20)).Decode(&b); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{
			"Message": "The request is invalid.", "Value": nil, "Errors": []fieldError{}, "WasSuccessful": false,
		})
		return
	}
	var errs []fieldError
	if b.BusinessId == nil || *b.BusinessId == 0 {
		errs = append(errs, fieldError{AttemptedValue: ptrValue(b.BusinessId), Message: "is a required field", PropertyName: "BusinessId"})
	}
	if b.CoworkerId == nil || *b.CoworkerId == 0 {
		errs = append(errs, fieldError{AttemptedValue: ptrValue(b.CoworkerId), Message: "is a required field", PropertyName: "CoworkerId"})
	}
	if b.Name == nil || *b.Name == "" {
		errs = append(errs, fieldError{AttemptedValue: ptrValue(b.Name), Message: "is a required field", PropertyName: "Name"})
	}
	if len(errs) > 0 {
		writeValidation(w, errs)
		return
	}
	spec := FileSpec{
		BusinessID: *b.BusinessId, CoworkerID: *b.CoworkerId, Name: *b.Name,
		Description: b.Description, AvailableToUser: b.AvailableToUser,
		RequestDigitalSignature: b.RequestDigitalSignature, Extension: b.Extension,
		Billed: b.Billed, Signed: b.Signed, EsignIdentifier: b.EsignIdentifier,
		DocumentTemplateGuid: b.DocumentTemplateGuid, ProposalGuid: b.ProposalGuid,
		CoworkerContractGuid: b.CoworkerContractGuid,
	}
	if data, ok := dataURL(b.NewFileDataUrl); ok {
		spec.Data, spec.FileName = data, fileName(*b.Name, b.Extension)
	}
	if data, ok := dataURL(b.NewSignedFileDataUrl); ok {
		spec.SignedData, spec.SignedFileName = data, "signed-"+fileName(*b.Name, b.Extension)
	}
	s.mu.Lock()
	id := s.addFileLocked(spec)
	f := s.files[id]
	updated, by := s.fmtTime(f.UpdatedOn), f.UpdatedBy
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"Status":        200,
		"Message":       "CoworkerDataFile was successfully created.",
		"Value":         map[string]any{"Id": id},
		"OpenInDialog":  false,
		"OpenInWindow":  false,
		"RedirectURL":   nil,
		"JavaScript":    nil,
		"UpdatedOn":     updated,
		"UpdatedBy":     by,
		"Errors":        nil,
		"WasSuccessful": true,
	})
}

func ptrValue[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// dataURL decodes "data:[type];base64,<data>".
func dataURL(u string) ([]byte, bool) {
	rest, ok := strings.CutPrefix(u, "data:")
	if !ok {
		return nil, false
	}
	meta, payload, ok := strings.Cut(rest, ",")
	if !ok || !strings.HasSuffix(meta, ";base64") {
		return nil, false
	}
	b, err := base64.StdEncoding.DecodeString(payload)
	return b, err == nil
}

func fileName(name, ext string) string {
	if ext == "" {
		return name
	}
	return name + "." + strings.TrimPrefix(ext, ".")
}
