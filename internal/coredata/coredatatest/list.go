package coredatatest

import (
	"net/http"
	"net/url"
	"strconv"
)

// maxPageLimit is the largest page a list answers, as Tastypie's max_limit.
const maxPageLimit = 1000

// handleList is GET /api/v2/files/?parent=&title=&limit=&offset= with the
// document's {"meta": {...}, "objects": [...]} envelope. parent and title
// filter by exact match; next and previous are URL paths, as Tastypie sends.
func (s *Server) handleList(w http.ResponseWriter, r *http.Request, _ *Request) {
	q := r.URL.Query()
	limit, offset := s.opts.PageLimit, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeJSONError(w, http.StatusBadRequest, "invalid limit")
			return
		}
		if n > 0 {
			limit = n
		}
	}
	if limit > maxPageLimit {
		limit = maxPageLimit
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeJSONError(w, http.StatusBadRequest, "invalid offset")
			return
		}
		offset = n
	}
	parent, hasParent := q.Get("parent"), q.Has("parent")
	title, hasTitle := q.Get("title"), q.Has("title") && q.Get("title") != ""

	s.mu.Lock()
	if rf, ok := s.refused[parent]; ok && hasParent {
		s.mu.Unlock()
		writeJSONError(w, rf.Status, rf.Message)
		return
	}
	var match []*file
	for _, id := range s.order {
		f := s.files[id]
		if (hasParent && f.parent != parent) || (hasTitle && f.title != title) {
			continue
		}
		match = append(match, f)
	}
	objects := []map[string]any{}
	for i := offset; i < len(match) && i < offset+limit; i++ {
		objects = append(objects, s.renderLocked(match[i]))
	}
	s.mu.Unlock()

	page := func(off int) any {
		pq := url.Values{}
		for k, v := range q {
			pq[k] = v
		}
		pq.Set("limit", strconv.Itoa(limit))
		pq.Set("offset", strconv.Itoa(off))
		return r.URL.Path + "?" + pq.Encode()
	}
	var next, prev any
	if offset+limit < len(match) {
		next = page(offset + limit)
	}
	if offset > 0 {
		prev = page(max(offset-limit, 0))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"meta": map[string]any{
			"limit": limit, "next": next, "offset": offset, "previous": prev, "total_count": len(match),
		},
		"objects": objects,
	})
}
