package nexudustest

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
)

// FileSpec is a CoworkerDataFile as the simulator stores it. Zero fields
// take defaults in AddFile: ID is assigned, UpdatedOn is the simulator
// clock, CreatedOn is UpdatedOn, Extension comes from FileName.
type FileSpec struct {
	ID                      int64
	BusinessID              int64
	BusinessName            string
	CoworkerID              int64
	CoworkerFullName        string
	CoworkerCompanyName     string
	CoworkerBillingName     string
	CoworkerType            string
	Name                    string
	Description             string
	FileName                string
	Data                    []byte
	SignedFileName          string
	SignedData              []byte
	Extension               string
	Signed                  bool
	Billed                  bool
	AvailableToUser         bool
	RequestDigitalSignature bool
	EsignIdentifier         string
	DocumentTemplateGuid    string
	ProposalGuid            string
	CoworkerContractGuid    string
	UniqueID                string
	UpdatedBy               string
	UpdatedOn               time.Time
	CreatedOn               time.Time
}

// AddFile stores a file and returns its Id.
func (s *Server) AddFile(spec FileSpec) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addFileLocked(spec)
}

func (s *Server) addFileLocked(spec FileSpec) int64 {
	f := spec
	if f.ID == 0 {
		s.nextID++
		f.ID = s.nextID
	} else if f.ID > s.nextID {
		s.nextID = f.ID
	}
	if f.UpdatedOn.IsZero() {
		f.UpdatedOn = s.clock.now()
	}
	if f.CreatedOn.IsZero() {
		f.CreatedOn = f.UpdatedOn
	}
	if f.Extension == "" {
		f.Extension = strings.TrimPrefix(path.Ext(f.FileName), ".")
	}
	if f.UniqueID == "" {
		f.UniqueID = uuid()
	}
	if f.UpdatedBy == "" {
		f.UpdatedBy = s.opts.Username
	}
	f.Data = append([]byte(nil), f.Data...)
	f.SignedData = append([]byte(nil), f.SignedData...)
	s.files[f.ID] = &f
	s.byUpdated = nil
	return f.ID
}

// File returns a copy of the stored file.
func (s *Server) File(id int64) (FileSpec, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[id]
	if !ok {
		return FileSpec{}, false
	}
	return *f, true
}

// Files returns copies of all stored files in Id order.
func (s *Server) Files() []FileSpec {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]FileSpec, 0, len(s.files))
	for _, f := range s.files {
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// UpdateFile applies fn to a stored file and bumps its UpdatedOn to the
// simulator clock (unless fn set UpdatedOn itself). False: no such file.
func (s *Server) UpdateFile(id int64, fn func(*FileSpec)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[id]
	if !ok {
		return false
	}
	before := f.UpdatedOn
	fn(f)
	f.ID = id
	if f.UpdatedOn.Equal(before) {
		f.UpdatedOn = s.clock.now()
	}
	s.byUpdated = nil
	return true
}

// SetFileData replaces the original file.
func (s *Server) SetFileData(id int64, name string, data []byte) bool {
	return s.UpdateFile(id, func(f *FileSpec) {
		f.FileName, f.Data = name, append([]byte(nil), data...)
		f.Extension = strings.TrimPrefix(path.Ext(name), ".")
	})
}

// SetSignedData stores a signed copy, as Nexudus does when the customer
// signs: the file becomes Signed and its UpdatedOn moves.
func (s *Server) SetSignedData(id int64, name string, data []byte) bool {
	return s.UpdateFile(id, func(f *FileSpec) {
		f.SignedFileName, f.SignedData, f.Signed = name, append([]byte(nil), data...), true
	})
}

// SetSigned changes the Signed flag (and UpdatedOn).
func (s *Server) SetSigned(id int64, signed bool) bool {
	return s.UpdateFile(id, func(f *FileSpec) { f.Signed = signed })
}

// Delete removes a file.
func (s *Server) Delete(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.files[id]
	delete(s.files, id)
	s.byUpdated = nil
	return ok
}

func uuid() string {
	h := randomHex(16)
	return fmt.Sprintf("%s-%s-4%s-a%s-%s", h[:8], h[8:12], h[13:16], h[17:20], h[20:32])
}
