package coredatatest

import (
	"crypto/md5"
	"encoding/hex"
	"time"
)

// Version is one content version of a file.
type Version struct {
	BlobName   string
	Digest     string // md5, lower-case hex
	SnapshotID string
	Size       int64
	MimeType   string
	Created    time.Time
	Content    []byte // only with Options.KeepContent (or AddFile)
}

// FileInfo is a file as the simulator holds it; the Digest, Size,
// SnapshotID, BlobName and Content fields are those of the latest version.
type FileInfo struct {
	ID, Parent, Title, Filename, Dynatype string
	Tags                                  []string
	Digest, SnapshotID, BlobName          string
	MimeType                              string
	Size                                  int64
	Content                               []byte
	Created, Modified                     time.Time
	Versions                              []Version // oldest first
}

// Files returns every file in creation order.
func (s *Server) Files() []FileInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]FileInfo, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.files[id].info())
	}
	return out
}

// File returns one file by id.
func (s *Server) File(id string) (FileInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[id]
	if !ok {
		return FileInfo{}, false
	}
	return f.info(), true
}

func (f *file) info() FileInfo {
	v := f.current()
	return FileInfo{
		ID: f.id, Parent: f.parent, Title: f.title, Filename: f.filename, Dynatype: f.dynatype,
		Tags:   append([]string(nil), f.tags...),
		Digest: v.Digest, SnapshotID: v.SnapshotID, BlobName: v.BlobName, MimeType: v.MimeType,
		Size: v.Size, Content: v.Content, Created: f.created, Modified: f.modified,
		Versions: append([]Version(nil), f.versions...),
	}
}

// NewFile describes a file put in place with AddFile, as if someone had
// uploaded it by hand.
type NewFile struct {
	Parent, Title, Filename string
	Dynatype                string // default "File"
	Tags                    []string
	MimeType                string // default application/pdf
	Content                 []byte
}

// AddFile creates a file directly (no request, no counter) and returns
// its id.
func (s *Server) AddFile(nf NewFile) string {
	if nf.Dynatype == "" {
		nf.Dynatype = "File"
	}
	if nf.MimeType == "" {
		nf.MimeType = "application/pdf"
	}
	sum := md5.Sum(nf.Content)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	v := Version{
		BlobName: randomHex(16), Digest: hex.EncodeToString(sum[:]), SnapshotID: newUUID(),
		Size: int64(len(nf.Content)), MimeType: nf.MimeType, Created: now,
		Content: append([]byte(nil), nf.Content...),
	}
	f := &file{
		id: newUUID(), parent: nf.Parent, title: nf.Title, filename: nf.Filename, dynatype: nf.Dynatype,
		tags: append([]string{}, nf.Tags...), created: now, modified: now, versions: []Version{v},
	}
	s.files[f.id] = f
	s.order = append(s.order, f.id)
	return f.id
}

// DeleteFile removes a file, as a person deleting it in CoreData would.
func (s *Server) DeleteFile(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.files[id]; !ok {
		return false
	}
	delete(s.files, id)
	for i, o := range s.order {
		if o == id {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
	return true
}
