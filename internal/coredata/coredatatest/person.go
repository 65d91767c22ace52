package coredatatest

// What a person does to a file in CoreData's own interface: no request,
// no counter, the modified time moves. Tests use these to break the
// mirror as people do (rename, re-file, retag) and check what syncd makes
// of it.

// Rename sets a file's title.
func (s *Server) Rename(id, title string) bool {
	return s.edit(id, func(f *file) { f.title = title })
}

// Move re-files a file under another parent (folder or project).
func (s *Server) Move(id, parent string) bool {
	return s.edit(id, func(f *file) { f.parent = parent })
}

// SetTags replaces a file's tags.
func (s *Server) SetTags(id string, tags []string) bool {
	return s.edit(id, func(f *file) { f.tags = append([]string{}, tags...) })
}

// Refusal is how CoreData answers a create under, or a listing of, a
// parent an admin took away: 403 for a lost write permission, 404 for a
// deleted folder, 400 naming the parent.
type Refusal struct {
	Status  int
	Message string
}

// RefuseParent makes CoreData refuse creates under parent, and listings of
// it, until AllowParent.
func (s *Server) RefuseParent(parent string, rf Refusal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refused == nil {
		s.refused = map[string]Refusal{}
	}
	s.refused[parent] = rf
}

// AllowParent undoes RefuseParent, as the admin fixing the permission does.
func (s *Server) AllowParent(parent string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.refused, parent)
}

func (s *Server) edit(id string, fn func(*file)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[id]
	if !ok {
		return false
	}
	fn(f)
	f.modified = s.nowLocked()
	return true
}
