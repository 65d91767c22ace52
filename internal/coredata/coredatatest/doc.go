// Package coredatatest is an in-process CoreData simulator for tests, the
// demo command and the benchmarks.
//
// It follows the Files [v2] document (shared/api-docs/coredata-files-v2.txt):
// api-key authentication, trailing-slash redirects, presigned blob uploads to
// a storage route on the same server, multipart create, content versions with
// snapshot ids, metadata updates, deletes and the meta/objects list envelope.
// On top of that it injects the faults a real deployment shows (5xx, 429 with
// Retry-After, HTML error pages, expired URLs, slow storage, connections that
// break before or after the server applied the request) and lets tests look
// at every file, version and request.
//
// The document's examples are recorded in the module's testdata/api/coredata
// (package syncd embeds them). The simulator's tests compare the shape of its
// answers with those recordings, which the client's contract tests decode
// too, and its HTML error page is the recorded one.
//
// Blobs are kept as md5 and size only, so that a benchmark can push gigabytes
// through it; Options.KeepContent keeps the bytes too.
//
// The package does not import testing: cmd/syncd's demo uses it.
package coredatatest
