package nexudustest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Terms acceptances: CoworkerLegalContentAudits, which the document
// nexudus-coworkerlegalcontentaudits-search.txt describes (the envelope,
// the record of its example, paging and sorting, the six filters and the
// four range filters in YYYY-MM-DDTHH:mm), and LegalContentAudits, the
// versions of the legal texts, which no document describes: SPEC.md only
// names their two endpoints and their fields.
//
// What the simulator does where the documents say nothing is a choice,
// each marked so:
//
//   - Choice: the document describes the acceptances' six filters without
//     printing their names; they are read as CoworkerLegalContentAudit_
//     Coworker, _Business, _Name, _LegalContentType, _TariffUniqueId and
//     _LegalContentAuditUniqueId, after the prefix of its range filters
//     and code examples.
//   - Choice: the texts list (GET /api/sys/legalcontentaudits) behaves as
//     the acceptances list does, with the prefix LegalContentAudit_: the
//     same envelope, paging (page default 1, size default 25), orderBy
//     Id|UpdatedOn|CreatedOn|Name (default Id, ties by Id, an unknown
//     field sorts by Id), dir 1|-1, and the range filters from_/to_
//     LegalContentAudit_CreatedOn and _UpdatedOn.
//   - Choice: the texts' filters are LegalContentAudit_Business (an
//     integer), _Name, _LegalContentType, _TariffUniqueId and _UniqueId
//     (the version's own UniqueId, the join key of acceptances).
//   - Choice, both lists: _Name matches a part of the name, ignoring case
//     (as the files list of this simulator does); the unique-id filters
//     match the whole value, ignoring case (GUIDs); _LegalContentType
//     takes the number (1..6) or the name of the enum, ignoring case; an
//     integer filter that is no integer, a type that is none of the six
//     and a range bound not in YYYY-MM-DDTHH:mm are the documented 400.
//   - Choice: a text record carries, in this order, BusinessId, Name,
//     Content, Author, LegalContentType, TariffUniqueId and the tail every
//     record of the documents carries (Id, UpdatedOn, CreatedOn, UniqueId,
//     UpdatedBy, IsNew, SystemId, ToStringText, LocalizationDetails,
//     CustomFields). Author and TariffUniqueId are null when empty, as the
//     documents write empty optional strings; Name and Content are always
//     strings. The list's records are full records, Content included
//     (unlike the files list, no field is left out).
//   - Choice: GET /api/sys/legalcontentaudits/{id} answers the record
//     alone, and an unknown or malformed id 404 with
//     {"Message":"LegalContentAudit not found"}.
//   - Choice: a role denied with DenyRole answers 403 with
//     {"Message":"...must be a full unrestricted administrator or have the
//     <role> role."}, after authentication (a missing token is still 401)
//     and after throttling and faults, as every answer. Both texts routes
//     need LegalContentAudit-List (no document says so; SPEC.md names the
//     role).
//   - Choice: UpdatedOn of an acceptance or a text moves only when the
//     test says so (Update*), as an administrator's edit; nothing in the
//     simulator changes them on its own. Ids come from the one counter
//     files use too, so no acceptance, text and file share an Id.

// AcceptanceSpec is a CoworkerLegalContentAudit as the simulator stores
// it. Zero fields take defaults in AddAcceptance: ID is assigned, UniqueID
// is a new UUID kept for the record's life (never a new one per answer),
// CreatedOn is UpdatedOn when that is set, else the simulator clock, and
// UpdatedOn is CreatedOn.
type AcceptanceSpec struct {
	ID         int64
	UniqueID   string
	CoworkerID int64
	BusinessID int64
	Name       string
	// LegalContentType is the documented enum number (1 GeneralTerms,
	// 2 VisitorTerms, 3 CheckoutTerms, 4 PrivacyPolicy, 5 CookiesPolicy,
	// 6 TariffTerms); 0 and others are written as they are.
	LegalContentType int
	TariffUniqueID   string
	// TextUniqueID is LegalContentAuditUniqueId: the UniqueId of the
	// TextSpec accepted.
	TextUniqueID string
	CreatedOn    time.Time
	UpdatedOn    time.Time
}

// TextSpec is a LegalContentAudit, one version of a legal text, as the
// simulator stores it; defaults as for AcceptanceSpec.
type TextSpec struct {
	ID               int64
	UniqueID         string
	BusinessID       int64
	Name             string
	Content          string
	Author           string
	LegalContentType int
	TariffUniqueID   string
	CreatedOn        time.Time
	UpdatedOn        time.Time
}

// The roles the legal routes need (see DenyRole).
const (
	roleAcceptances = "CoworkerLegalContentAudit-List"
	roleTexts       = "LegalContentAudit-List"
)

// routeRoles are the roles the documents (and, for the texts, SPEC.md)
// say each route needs, besides being a full administrator.
var routeRoles = map[Route]string{
	RouteList:    "CoworkerDataFile-List",
	RouteCreate:  "CoworkerDataFile-Create",
	RouteAudits:  roleAcceptances,
	RouteTexts:   roleTexts,
	RouteTextGet: roleTexts,
}

// DenyRole makes the API user lack role: the routes that need it answer
// 403 naming it, until AllowRole. The roles are those of the documents:
// CoworkerLegalContentAudit-List (RouteAudits), LegalContentAudit-List
// (RouteTexts, RouteTextGet), CoworkerDataFile-List (RouteList) and
// CoworkerDataFile-Create (RouteCreate).
func (s *Server) DenyRole(role string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[role] = true
}

// AllowRole gives role back.
func (s *Server) AllowRole(role string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.denied, role)
}

// forbidden answers 403 when route needs a role that is denied, and
// reports whether it did.
func (s *Server) forbidden(w http.ResponseWriter, route Route) bool {
	role := routeRoles[route]
	s.mu.Lock()
	denied := role != "" && s.denied[role]
	s.mu.Unlock()
	if !denied {
		return false
	}
	writeJSON(w, http.StatusForbidden, map[string]any{
		"Message": "Access denied: the authenticated user must be a full unrestricted administrator or have the " + role + " role.",
	})
	return true
}

// assign gives a new record its Id and defaults. Callers hold s.mu.
func (s *Server) assign(id *int64, uniqueID *string, created, updated *time.Time) {
	if *id == 0 {
		s.nextID++
		*id = s.nextID
	} else if *id > s.nextID {
		s.nextID = *id
	}
	if *uniqueID == "" {
		*uniqueID = uuid()
	}
	if created.IsZero() {
		*created = *updated
		if created.IsZero() {
			*created = s.clock.now()
		}
	}
	if updated.IsZero() {
		*updated = *created
	}
}

// AddAcceptance stores an acceptance and returns its Id.
func (s *Server) AddAcceptance(a AcceptanceSpec) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.assign(&a.ID, &a.UniqueID, &a.CreatedOn, &a.UpdatedOn)
	s.acceptances[a.ID] = &a
	return a.ID
}

// UpdateAcceptance applies fn to a stored acceptance, as an administrator's
// edit: UpdatedOn moves to the simulator clock unless fn changed it. The
// Id stays, and so does UniqueID if fn clears it. False: no such record.
func (s *Server) UpdateAcceptance(id int64, fn func(*AcceptanceSpec)) bool {
	return editSpec(s, s.acceptances, id, fn, func(a *AcceptanceSpec) (*int64, *string, *time.Time) { return &a.ID, &a.UniqueID, &a.UpdatedOn })
}

// DeleteAcceptance removes an acceptance.
func (s *Server) DeleteAcceptance(id int64) bool { return deleteSpec(s, s.acceptances, id) }

// Acceptances returns copies of the stored acceptances in Id order.
func (s *Server) Acceptances() []AcceptanceSpec {
	return sortedSpecs(s, s.acceptances, func(a AcceptanceSpec) int64 { return a.ID })
}

// AddText stores a legal text version and returns its Id.
func (s *Server) AddText(t TextSpec) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.assign(&t.ID, &t.UniqueID, &t.CreatedOn, &t.UpdatedOn)
	s.texts[t.ID] = &t
	return t.ID
}

// UpdateText applies fn to a stored text (its Content edited, say), as
// UpdateAcceptance does. False: no such text.
func (s *Server) UpdateText(id int64, fn func(*TextSpec)) bool {
	return editSpec(s, s.texts, id, fn, func(t *TextSpec) (*int64, *string, *time.Time) { return &t.ID, &t.UniqueID, &t.UpdatedOn })
}

// DeleteText removes a text.
func (s *Server) DeleteText(id int64) bool { return deleteSpec(s, s.texts, id) }

// Texts returns copies of the stored texts in Id order.
func (s *Server) Texts() []TextSpec {
	return sortedSpecs(s, s.texts, func(t TextSpec) int64 { return t.ID })
}

// editSpec is an administrator's edit of a stored record: fn changes it,
// its Id stays, a cleared UniqueID comes back, and UpdatedOn moves to the
// simulator clock unless fn set it.
func editSpec[T any](s *Server, m map[int64]*T, id int64, fn func(*T), keys func(*T) (*int64, *string, *time.Time)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := m[id]
	if !ok {
		return false
	}
	recID, unique, updated := keys(rec)
	beforeUnique, beforeUpdated := *unique, *updated
	fn(rec)
	*recID = id
	if *unique == "" {
		*unique = beforeUnique
	}
	if updated.Equal(beforeUpdated) {
		*updated = s.clock.now()
	}
	return true
}

func deleteSpec[T any](s *Server, m map[int64]*T, id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := m[id]
	delete(m, id)
	return ok
}

func sortedSpecs[T any](s *Server, m map[int64]*T, id func(T) int64) []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]T, 0, len(m))
	for _, r := range m {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return id(out[i]) < id(out[j]) })
	return out
}

var legalContentNames = []string{"", "GeneralTerms", "VisitorTerms", "CheckoutTerms", "PrivacyPolicy", "CookiesPolicy", "TariffTerms"}

// legalType writes a LegalContentType: its number, or with AuditTypeAsName
// its name (numbers without a name stay numbers). Callers hold s.mu.
func (s *Server) legalType(n int) any {
	if s.opts.AuditTypeAsName && n > 0 && n < len(legalContentNames) {
		return legalContentNames[n]
	}
	return n
}

// wireAcceptance is an acceptance in the order of the document's example.
type wireAcceptance struct {
	CoworkerId                int64
	BusinessId                int64
	Name                      string
	LegalContentType          any
	TariffUniqueId            *string
	LegalContentAuditUniqueId *string
	wireRecord
}

// wireText is a text record (a choice, see the top of this file).
type wireText struct {
	BusinessId       int64
	Name             string
	Content          string
	Author           *string
	LegalContentType any
	TariffUniqueId   *string
	wireRecord
}

// legalRecord is what filtering and sorting see of an acceptance or a
// text (one of acc and txt is set).
type legalRecord struct {
	id               int64
	name             string
	legalType        int
	created, updated time.Time
	ints             [2]int64  // the values of legalList.ints, in its order
	strs             [2]string // the values of legalList.strs, in its order
	acc              *AcceptanceSpec
	txt              *TextSpec
}

// legalList is one of the two list endpoints.
type legalList struct {
	prefix string    // of every filter's name, e.g. "CoworkerLegalContentAudit_"
	ints   [2]string // integer filters, e.g. "Coworker" ("": none)
	strs   [2]string // whole-value filters, e.g. "TariffUniqueId"
}

var (
	acceptanceList = legalList{prefix: "CoworkerLegalContentAudit_", ints: [2]string{"Coworker", "Business"},
		strs: [2]string{"TariffUniqueId", "LegalContentAuditUniqueId"}}
	textList = legalList{prefix: "LegalContentAudit_", ints: [2]string{"Business"},
		strs: [2]string{"TariffUniqueId", "UniqueId"}}
)

func acceptanceRecord(a *AcceptanceSpec) legalRecord {
	return legalRecord{
		id: a.ID, name: a.Name, legalType: a.LegalContentType, created: a.CreatedOn, updated: a.UpdatedOn,
		ints: [2]int64{a.CoworkerID, a.BusinessID}, strs: [2]string{a.TariffUniqueID, a.TextUniqueID}, acc: a,
	}
}

func textRecord(t *TextSpec) legalRecord {
	return legalRecord{
		id: t.ID, name: t.Name, legalType: t.LegalContentType, created: t.CreatedOn, updated: t.UpdatedOn,
		ints: [2]int64{t.BusinessID}, strs: [2]string{t.TariffUniqueID, t.UniqueID}, txt: t,
	}
}

// render writes r as the API does. Callers hold s.mu.
func (s *Server) render(r legalRecord) any {
	if t := r.txt; t != nil {
		return s.wireText(t)
	}
	a := r.acc
	return wireAcceptance{
		CoworkerId: a.CoworkerID, BusinessId: a.BusinessID, Name: a.Name, LegalContentType: s.legalType(a.LegalContentType),
		TariffUniqueId: nullable(a.TariffUniqueID), LegalContentAuditUniqueId: nullable(a.TextUniqueID),
		wireRecord: s.legalTail(a.ID, a.UniqueID, a.Name, a.CreatedOn, a.UpdatedOn),
	}
}

func (s *Server) wireText(t *TextSpec) wireText {
	return wireText{
		BusinessId: t.BusinessID, Name: t.Name, Content: t.Content, Author: nullable(t.Author),
		LegalContentType: s.legalType(t.LegalContentType), TariffUniqueId: nullable(t.TariffUniqueID),
		wireRecord: s.legalTail(t.ID, t.UniqueID, t.Name, t.CreatedOn, t.UpdatedOn),
	}
}

// legalTail is the record tail, times as the tenant writes them. Callers
// hold s.mu.
func (s *Server) legalTail(id int64, uniqueID, name string, created, updated time.Time) wireRecord {
	return wireRecord{
		Id: id, UpdatedOn: s.fmtTime(updated), CreatedOn: s.fmtTime(created),
		UniqueId: uniqueID, UpdatedBy: nullable(s.opts.Username), ToStringText: name,
	}
}

func (s *Server) handleAcceptances(w http.ResponseWriter, r *http.Request) {
	s.listLegal(w, r, acceptanceList, func() []legalRecord {
		out := make([]legalRecord, 0, len(s.acceptances))
		for _, a := range s.acceptances {
			out = append(out, acceptanceRecord(a))
		}
		return out
	})
}

func (s *Server) handleTexts(w http.ResponseWriter, r *http.Request) {
	s.listLegal(w, r, textList, func() []legalRecord {
		out := make([]legalRecord, 0, len(s.texts))
		for _, t := range s.texts {
			out = append(out, textRecord(t))
		}
		return out
	})
}

func (s *Server) handleText(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	rec := httptest.NewRecorder()
	s.mu.Lock()
	defer s.unlockAndSend(w, rec) // no network writes under the lock
	w = rec
	t, ok := s.texts[id]
	if err != nil || !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"Message": "LegalContentAudit not found"})
		return
	}
	writeJSON(w, http.StatusOK, s.wireText(t))
}

// listLegal serves one of the legal lists over the records all returns
// (called under s.mu).
func (s *Server) listLegal(w http.ResponseWriter, r *http.Request, l legalList, all func() []legalRecord) {
	q := r.URL.Query()
	rec := httptest.NewRecorder()
	s.mu.Lock()
	defer s.unlockAndSend(w, rec) // no network writes under the lock
	w = rec
	p, errs := parsePaging(q, []string{"Id", "UpdatedOn", "CreatedOn", "Name"}, "Id")
	ranges, rangeErrs := parseRanges(q, l.prefix, s.zone())
	errs = append(errs, rangeErrs...)
	var ints [2]*int64
	for i, k := range l.ints {
		if k == "" {
			continue
		}
		ids, idErrs := parseIDFilters(q, l.prefix, k)
		errs = append(errs, idErrs...)
		if n, ok := ids[k]; ok {
			ints[i] = &n
		}
	}
	typ, hasType, typeErr := parseLegalType(q, l.prefix+"LegalContentType")
	if typeErr != nil {
		errs = append(errs, *typeErr)
	}
	if len(errs) > 0 {
		writeValidation(w, errs)
		return
	}
	name := strings.ToLower(q.Get(l.prefix + "Name"))
	var strs [2]string
	for i, k := range l.strs {
		strs[i] = q.Get(l.prefix + k)
	}

	var hits []legalRecord
	for _, rec := range all() {
		keep := (name == "" || strings.Contains(strings.ToLower(rec.name), name)) &&
			(!hasType || rec.legalType == typ)
		for i, v := range ints {
			keep = keep && (v == nil || rec.ints[i] == *v)
		}
		for i, v := range strs {
			keep = keep && (v == "" || strings.EqualFold(rec.strs[i], v))
		}
		for _, rf := range ranges {
			keep = keep && rf.keepTimes(rec.created, rec.updated)
		}
		if keep {
			hits = append(hits, rec)
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		a, b := hits[i], hits[j]
		c := 0
		switch p.order {
		case "UpdatedOn":
			c = a.updated.Compare(b.updated)
		case "CreatedOn":
			c = a.created.Compare(b.created)
		case "Name":
			c = strings.Compare(a.name, b.name)
		}
		if c == 0 {
			c = cmpInt(a.id, b.id)
		}
		return c*p.dir < 0
	})
	start := min((p.page-1)*p.size, len(hits))
	end := min(start+p.size, len(hits))
	records := make([]any, 0, end-start)
	for _, h := range hits[start:end] {
		records = append(records, s.render(h))
	}
	writeJSON(w, http.StatusOK, newEnvelope(records, len(records), p.page, p.size, len(hits), p.order, p.dir))
}

// parseLegalType reads a LegalContentType filter: the enum's number or its
// name, ignoring case. has is false when the filter is absent.
func parseLegalType(q url.Values, key string) (n int, has bool, bad *fieldError) {
	v := q.Get(key)
	if v == "" {
		return 0, false, nil
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 && n < len(legalContentNames) {
		return n, true, nil
	}
	for i, name := range legalContentNames[1:] {
		if strings.EqualFold(v, name) {
			return i + 1, true, nil
		}
	}
	return 0, true, &fieldError{AttemptedValue: v, Message: "is not a valid LegalContentType", PropertyName: key}
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
