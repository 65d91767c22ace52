// Package verify is `syncd verify`: a read-only audit that compares every
// signed Nexudus file with what CoreData holds and with what syncd
// recorded in its state file, and reports each file as ok, missing, stale,
// drift, duplicate or orphan.
//
// It writes nothing anywhere. It lists both sides by pages (Nexudus by
// UpdatedOn, CoreData by parent) and, with Options.Deep, downloads each
// Nexudus file that has a CoreData file to compare with, hashing it as it
// streams. The decision for one file is Classify, a pure function; for a
// mapped file it builds on the daemon's audit's own judgement
// (syncer.JudgeMapped), so the two never disagree.
//
// The package declares the small interfaces it consumes (Source, Lister,
// MappingReader); cmd/syncd passes the concrete clients and the state file.
package verify
