package sync

import (
	"context"
	"errors"
	"io"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/nexudus"
)

// side tags an error with the API it came from (see sideError), and
// counts an answer of that API: a success, or a refusal about the request
// itself (the file's fault). Throttling, 5xx, timeouts and network errors
// are no answer: the API is not shown to work.
func side(a *answers, cause string, err error) error {
	if err == nil {
		a.note(cause)
		return nil
	}
	if classify(err, false) == blameFile {
		a.note(cause)
	}
	return &sideError{cause: cause, err: err}
}

// nexudusSide is the Source with every error tagged "nexudus".
type nexudusSide struct {
	Source
	a *answers
}

func (s nexudusSide) ListPage(ctx context.Context, q nexudus.ListQuery, page int) (*nexudus.Page, error) {
	p, err := s.Source.ListPage(ctx, q, page)
	return p, side(s.a, causeNexudus, err)
}

func (s nexudusSide) Get(ctx context.Context, id int64) (*nexudus.File, error) {
	f, err := s.Source.Get(ctx, id)
	return f, side(s.a, causeNexudus, err)
}

func (s nexudusSide) Download(ctx context.Context, f nexudus.File) (*nexudus.Download, error) {
	d, err := s.Source.Download(ctx, f)
	return d, side(s.a, causeNexudus, err)
}

// coreDataSide is the Sink with every error tagged "coredata".
type coreDataSide struct {
	Sink
	a *answers
}

func (s coreDataSide) RequestBlob(ctx context.Context, contentType string, length int64) (coredata.Blob, error) {
	b, err := s.Sink.RequestBlob(ctx, contentType, length)
	return b, side(s.a, causeCoreData, err)
}

func (s coreDataSide) PutBlob(ctx context.Context, b coredata.Blob, body io.Reader, length int64, contentType, filename string) error {
	return side(s.a, causeCoreData, s.Sink.PutBlob(ctx, b, body, length, contentType, filename))
}

func (s coreDataSide) CreateFile(ctx context.Context, f coredata.NewFile) (string, error) {
	id, err := s.Sink.CreateFile(ctx, f)
	return id, side(s.a, causeCoreData, err)
}

func (s coreDataSide) UpdateContent(ctx context.Context, id, blobName, md5hex, snapshotID, filename string) (coredata.ContentVersion, error) {
	v, err := s.Sink.UpdateContent(ctx, id, blobName, md5hex, snapshotID, filename)
	return v, side(s.a, causeCoreData, err)
}

func (s coreDataSide) GetFile(ctx context.Context, id string) (*coredata.File, error) {
	f, err := s.Sink.GetFile(ctx, id)
	return f, side(s.a, causeCoreData, err)
}

func (s coreDataSide) ListFiles(ctx context.Context, parent, title string) ([]coredata.File, error) {
	fs, err := s.Sink.ListFiles(ctx, parent, title)
	return fs, side(s.a, causeCoreData, err)
}

func (s coreDataSide) EachFile(ctx context.Context, parent, title string, fn func(coredata.File) error) error {
	var fnErr error
	err := s.Sink.EachFile(ctx, parent, title, func(f coredata.File) error {
		fnErr = fn(f)
		return fnErr
	})
	if err != nil && fnErr != nil && errors.Is(err, fnErr) {
		return err // the caller's own error, not CoreData's
	}
	return side(s.a, causeCoreData, err)
}

func (s coreDataSide) UpdateMetadata(ctx context.Context, id string, m coredata.Metadata) error {
	return side(s.a, causeCoreData, s.Sink.UpdateMetadata(ctx, id, m))
}
