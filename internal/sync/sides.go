package sync

import (
	"context"
	"io"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/nexudus"
)

// side tags an error with the API it came from (see sideError).
func side(cause string, err error) error {
	if err == nil {
		return nil
	}
	return &sideError{cause: cause, err: err}
}

// nexudusSide is the Source with every error tagged "nexudus".
type nexudusSide struct{ Source }

func (s nexudusSide) ListPage(ctx context.Context, q nexudus.ListQuery, page int) (*nexudus.Page, error) {
	p, err := s.Source.ListPage(ctx, q, page)
	return p, side(causeNexudus, err)
}

func (s nexudusSide) Get(ctx context.Context, id int64) (*nexudus.File, error) {
	f, err := s.Source.Get(ctx, id)
	return f, side(causeNexudus, err)
}

func (s nexudusSide) Download(ctx context.Context, f nexudus.File) (*nexudus.Download, error) {
	d, err := s.Source.Download(ctx, f)
	return d, side(causeNexudus, err)
}

// coreDataSide is the Sink with every error tagged "coredata".
type coreDataSide struct{ Sink }

func (s coreDataSide) RequestBlob(ctx context.Context, contentType string, length int64) (coredata.Blob, error) {
	b, err := s.Sink.RequestBlob(ctx, contentType, length)
	return b, side(causeCoreData, err)
}

func (s coreDataSide) PutBlob(ctx context.Context, b coredata.Blob, body io.Reader, length int64, contentType, filename string) error {
	return side(causeCoreData, s.Sink.PutBlob(ctx, b, body, length, contentType, filename))
}

func (s coreDataSide) CreateFile(ctx context.Context, f coredata.NewFile) (string, error) {
	id, err := s.Sink.CreateFile(ctx, f)
	return id, side(causeCoreData, err)
}

func (s coreDataSide) UpdateContent(ctx context.Context, id, blobName, md5hex, snapshotID, filename string) (coredata.ContentVersion, error) {
	v, err := s.Sink.UpdateContent(ctx, id, blobName, md5hex, snapshotID, filename)
	return v, side(causeCoreData, err)
}

func (s coreDataSide) GetFile(ctx context.Context, id string) (*coredata.File, error) {
	f, err := s.Sink.GetFile(ctx, id)
	return f, side(causeCoreData, err)
}

func (s coreDataSide) ListFiles(ctx context.Context, parent, title string) ([]coredata.File, error) {
	fs, err := s.Sink.ListFiles(ctx, parent, title)
	return fs, side(causeCoreData, err)
}

func (s coreDataSide) UpdateMetadata(ctx context.Context, id string, m coredata.Metadata) error {
	return side(causeCoreData, s.Sink.UpdateMetadata(ctx, id, m))
}
