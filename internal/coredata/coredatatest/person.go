package coredatatest

import (
	"crypto/md5"
	"encoding/hex"
)

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

// UploadVersion puts a person's bytes on top of a file as a new version,
// as uploading through CoreData's interface does: the file's digest is
// then theirs, and the signed version stays in the history.
func (s *Server) UploadVersion(id string, content []byte, mimeType string) bool {
	sum := md5.Sum(content)
	v := Version{
		BlobName: randomHex(16), Digest: hex.EncodeToString(sum[:]), SnapshotID: newUUID(),
		Size: int64(len(content)), MimeType: mimeType, Content: append([]byte(nil), content...),
	}
	return s.edit(id, func(f *file) {
		v.Created = s.nowLocked()
		f.versions = append(f.versions, v)
	})
}
