package nexudustest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
)

var legalContentNames = []string{"", "GeneralTerms", "VisitorTerms", "CheckoutTerms", "PrivacyPolicy", "CookiesPolicy", "TariffTerms"}

type wireAudit struct {
	CoworkerId                int64
	BusinessId                int64
	Name                      string
	LegalContentType          any
	TariffUniqueId            *string
	LegalContentAuditUniqueId *string
	wireRecord
}

const auditPrefix = "CoworkerLegalContentAudit_"

func (s *Server) handleAudits(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, errs := parsePaging(q, []string{"Id", "CreatedOn", "Name"}, "Id")
	filters, idErrs := parseIDFilters(q, auditPrefix, "Coworker", "Business")
	errs = append(errs, idErrs...)
	if len(errs) > 0 {
		writeValidation(w, errs)
		return
	}
	rec := httptest.NewRecorder()
	s.mu.Lock()
	defer s.unlockAndSend(w, rec) // no network writes under the lock
	w = rec
	var hits []*AuditSpec
	for _, a := range s.audits {
		if (!hasKey(filters, "Coworker") || a.CoworkerID == filters["Coworker"]) &&
			(!hasKey(filters, "Business") || a.BusinessID == filters["Business"]) {
			hits = append(hits, a)
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		a, b := hits[i], hits[j]
		c := 0
		switch p.order {
		case "CreatedOn":
			c = a.CreatedOn.Compare(b.CreatedOn)
		case "Name":
			c = cmpString(a.Name, b.Name)
		}
		if c == 0 {
			c = cmpInt(a.ID, b.ID)
		}
		return c*p.dir < 0
	})
	start := min((p.page-1)*p.size, len(hits))
	end := min(start+p.size, len(hits))
	records := make([]wireAudit, 0, end-start)
	for _, a := range hits[start:end] {
		var typ any = a.LegalContentType
		if s.opts.AuditTypeAsName && a.LegalContentType > 0 && a.LegalContentType < len(legalContentNames) {
			typ = legalContentNames[a.LegalContentType]
		}
		records = append(records, wireAudit{
			CoworkerId: a.CoworkerID, BusinessId: a.BusinessID, Name: a.Name, LegalContentType: typ,
			TariffUniqueId: nullable(a.TariffUniqueID), LegalContentAuditUniqueId: nullable(a.LegalContentAuditUniqueID),
			wireRecord: wireRecord{
				Id: a.ID, UpdatedOn: s.fmtTime(a.CreatedOn), CreatedOn: s.fmtTime(a.CreatedOn),
				UniqueId: uuid(), UpdatedBy: nullable(s.opts.Username), ToStringText: a.Name,
			},
		})
	}
	writeJSON(w, http.StatusOK, newEnvelope(records, len(records), p.page, p.size, len(hits), p.order, p.dir))
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// parseIDFilters reads the integer filters prefix+key present in q, with
// the documented 400 entry for each that is not an integer.
func parseIDFilters(q url.Values, prefix string, keys ...string) (map[string]int64, []fieldError) {
	ids := map[string]int64{}
	var errs []fieldError
	for _, k := range keys {
		if v := q.Get(prefix + k); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				errs = append(errs, fieldError{AttemptedValue: v, Message: "is not a valid integer", PropertyName: prefix + k})
			}
			ids[k] = n
		}
	}
	return ids, errs
}
