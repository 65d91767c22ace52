package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/nexudus"
)

// memSource is an in-memory Nexudus with the listing semantics of the real
// one (minute-resolution range filters, UpdatedOn order, numbered pages),
// so that the engine's own cost per record can be measured without HTTP
// or JSON.
type memSource struct {
	pageSize int
	files    []nexudus.File // UpdatedOn order
	data     map[int64][]byte
}

func newMemSource(n, pageSize int, from time.Time, step time.Duration) *memSource {
	s := &memSource{pageSize: pageSize, data: make(map[int64][]byte, n)}
	for i := 0; i < n; i++ {
		id := int64(i + 1)
		s.files = append(s.files, nexudus.File{
			ID: id, BusinessID: 1, CoworkerID: int64(1000 + i%997), CoworkerFullName: "Member " + strconv.Itoa(i%997),
			Name: "Contract " + strconv.Itoa(i), FileDataFileName: "contract.pdf", SignedFileDataFileName: "contract-signed.pdf",
			Extension: "pdf", Signed: true, UpdatedOn: nexudus.Time{Time: from.Add(time.Duration(i) * step)},
		})
		s.data[id] = payload(i, 256)
	}
	return s
}

func (s *memSource) ListPage(_ context.Context, q nexudus.ListQuery, page int) (*nexudus.Page, error) {
	from := q.UpdatedFrom.UTC().Truncate(time.Minute)
	lo := sort.Search(len(s.files), func(i int) bool { return !s.files[i].UpdatedOn.Before(from) })
	hi := len(s.files)
	if !q.UpdatedTo.IsZero() {
		end := q.UpdatedTo.UTC().Truncate(time.Minute).Add(time.Minute)
		hi = sort.Search(len(s.files), func(i int) bool { return !s.files[i].UpdatedOn.Before(end) })
	}
	hits := s.files[lo:max(lo, hi)]
	start := min((page-1)*s.pageSize, len(hits))
	end := min(start+s.pageSize, len(hits))
	pages := (len(hits) + s.pageSize - 1) / s.pageSize
	return &nexudus.Page{
		Records: append([]nexudus.File(nil), hits[start:end]...), Page: page, PageSize: s.pageSize,
		TotalItems: len(hits), TotalPages: pages, HasNextPage: page < pages,
	}, nil
}

func (s *memSource) Get(_ context.Context, id int64) (*nexudus.File, error) {
	for i := range s.files {
		if s.files[i].ID == id {
			f := s.files[i]
			return &f, nil
		}
	}
	return nil, nexudus.ErrNotFound
}

func (s *memSource) Download(_ context.Context, f nexudus.File) (*nexudus.Download, error) {
	d, ok := s.data[f.ID]
	if !ok {
		return nil, nexudus.ErrNotFound
	}
	return &nexudus.Download{Body: io.NopCloser(bytes.NewReader(d)), Length: int64(len(d)), ContentType: "application/pdf", FromSignedCopy: true}, nil
}

// memSink is an in-memory CoreData: blobs, files with a digest and a
// snapshot, and the title lookup.
type memSink struct {
	mu    sync.Mutex
	n     int
	blobs map[string]string // blob name -> md5
	files map[string]*coredata.File
	calls int
}

func newMemSink() *memSink {
	return &memSink{blobs: map[string]string{}, files: map[string]*coredata.File{}}
}

func (s *memSink) next() string {
	s.n++
	return fmt.Sprintf("%08d-0000-4000-8000-000000000000", s.n)
}

func (s *memSink) RequestBlob(context.Context, string, int64) (coredata.Blob, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	name := s.next()
	return coredata.Blob{Name: name, URL: "mem://" + name}, nil
}

func (s *memSink) PutBlob(_ context.Context, b coredata.Blob, body io.Reader, _ int64, _, _ string) error {
	h := md5.New()
	if _, err := io.Copy(h, body); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.blobs[b.Name] = hex.EncodeToString(h.Sum(nil))
	return nil
}

func (s *memSink) CreateFile(_ context.Context, f coredata.NewFile) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	id := s.next()
	s.files[id] = &coredata.File{ID: id, Digest: s.blobs[f.BlobName], SnapshotID: s.next(), Title: f.Title,
		Filename: f.Filename, Parent: f.Parent, Tags: append([]string(nil), f.Tags...)}
	return id, nil
}

func (s *memSink) UpdateContent(_ context.Context, id, blobName, md5hex, _, filename string) (coredata.ContentVersion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	f, ok := s.files[id]
	if !ok {
		return coredata.ContentVersion{}, coredata.ErrNotFound
	}
	f.Digest, f.SnapshotID, f.Filename = s.blobs[blobName], s.next(), filename
	return coredata.ContentVersion{Digest: f.Digest, SnapshotID: f.SnapshotID}, nil
}

func (s *memSink) GetFile(_ context.Context, id string) (*coredata.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	f, ok := s.files[id]
	if !ok {
		return nil, coredata.ErrNotFound
	}
	c := *f
	return &c, nil
}

func (s *memSink) ListFiles(_ context.Context, parent, title string) ([]coredata.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	var out []coredata.File
	for _, f := range s.files {
		if f.Parent == parent && (title == "" || f.Title == title) {
			out = append(out, *f)
		}
	}
	return out, nil
}

func (s *memSink) EachFile(ctx context.Context, parent, title string, fn func(coredata.File) error) error {
	files, err := s.ListFiles(ctx, parent, title)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

func (s *memSink) UpdateMetadata(_ context.Context, id string, m coredata.Metadata) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	f, ok := s.files[id]
	if !ok {
		return coredata.ErrNotFound
	}
	f.Title, f.Filename, f.Parent = m.Title, m.Filename, m.Parent
	return nil
}

// Calls counts the calls that reach CoreData.
func (s *memSink) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}
