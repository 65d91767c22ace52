// Package coredata is the CoreData API client syncd uploads through: the
// three-step presigned-blob upload (RequestBlob, PutBlob, CreateFile),
// content updates with snapshot ids, file details, listing and metadata
// updates.
//
// Reads and idempotent writes are retried on 429, 5xx and network errors.
// CreateFile and UpdateContent are never resent once they may have reached
// the server: such failures wrap ErrOutcomeUnknown and the caller
// reconciles (lists by parent and title, compares digests) instead of
// creating a second file.
//
// The api key and presigned-URL signatures never appear in errors or logs.
package coredata
