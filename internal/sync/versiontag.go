package sync

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/state"
)

// The version tag carries, in CoreData, what a mapping knows and CoreData
// does not: which version of the Nexudus record a file's current version
// mirrors. Without it, a mapping adopted from CoreData (a lost state
// file, `state rebuild`, `state forget`, a followed file looked up again)
// has no UpdatedOn, and every record a poll lists is downloaded once to
// learn whether it changed: 100,000 downloads, 22 hours of the Nexudus
// budget, after a rebuild and a backfill (docs/design.md#version-tags).
//
//	nexudus-version-<UpdatedOn, Unix nanoseconds>-<md5 of the bytes>
//
// Digits, lower-case hex and hyphens only: CoreData may slug or lower-case
// tags. The md5 is what makes the tag safe to trust: a person's version
// on top, or a crash between a content update and the metadata write
// that moves the tag, leaves a tag whose md5 is not the file's digest, and
// such a tag proves nothing (the record is downloaded once, as before).
const versionTagPrefix = "nexudus-version-"

// VersionTag is the tag of a file whose current version holds bytes of
// digest md5 from the Nexudus record last updated at updatedOn. It is ""
// when there is nothing to say (no UpdatedOn, no digest, a time before
// 1970 or after 2262, which Unix nanoseconds cannot hold).
func VersionTag(updatedOn time.Time, md5 string) string {
	if updatedOn.IsZero() || !isMD5Hex(md5) || updatedOn.Year() < 1970 || updatedOn.Year() > 2261 {
		return ""
	}
	return versionTagPrefix + strconv.FormatInt(updatedOn.UnixNano(), 10) + "-" + strings.ToLower(md5)
}

// ParseVersionTag reads a VersionTag back.
func ParseVersionTag(tag string) (updatedOn time.Time, md5 string, ok bool) {
	rest, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(tag)), versionTagPrefix)
	if !ok {
		return time.Time{}, "", false
	}
	nanos, sum, ok := strings.Cut(rest, "-")
	if !ok || !isMD5Hex(sum) || nanos == "" || nanos[0] == '+' {
		return time.Time{}, "", false
	}
	n, err := strconv.ParseInt(nanos, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, "", false
	}
	at := time.Unix(0, n).UTC()
	if VersionTag(at, sum) == "" {
		return time.Time{}, "", false // a time VersionTag never writes
	}
	return at, sum, true
}

// provenUpdatedOn is the Nexudus UpdatedOn a CoreData file's tags prove
// its current version mirrors: a version tag whose md5 is the file's
// digest. Two such tags that disagree prove nothing.
func provenUpdatedOn(cf *coredata.File) (time.Time, bool) {
	var found time.Time
	for _, t := range cf.Tags {
		at, sum, ok := ParseVersionTag(t)
		if !ok || !strings.EqualFold(sum, cf.Digest) {
			continue
		}
		if !found.IsZero() && !found.Equal(at) {
			return time.Time{}, false
		}
		found = at
	}
	return found, !found.IsZero()
}

// withVersionTag is tags without any version tag but vtag, plus vtag (at
// the end, when it was not there). An empty vtag leaves tags as they are.
func withVersionTag(tags []string, vtag string) []string {
	if vtag == "" {
		return tags
	}
	out := make([]string, 0, len(tags)+1)
	for _, t := range tags {
		if _, _, ok := ParseVersionTag(t); ok && t != vtag {
			continue
		}
		out = append(out, t)
	}
	for _, t := range out {
		if t == vtag {
			return out
		}
	}
	return append(out, vtag)
}

func isMD5Hex(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}

// stamp brings the metadata of m's CoreData file in line with the version
// m records, in one metadata PUT: the version tag of m's UpdatedOn and
// md5, the record's own tags, and a title change in Nexudus (or in the
// template). The PUT sets every field, so it sends back what CoreData
// holds for the rest: the parent a person may have re-filed the file
// under, the tags people added beside syncd's own, their title on a file
// the audit followed (docs/design.md#followed-files). cur is the file as
// just read, or nil to read it; filename, when not "", is the one a
// content update just set.
//
// Only the title counts as a failure of the file: without the tag, a lost
// state file costs one download of this record, which is logged.
func (e *Engine) stamp(ctx context.Context, m *state.Mapping, cur *coredata.File, title string, f nexudus.File, filename string) error {
	followed, err := e.audits.IsFollowed(m.NexudusID)
	if err != nil {
		return err
	}
	retitle := m.Title != title && !followed
	vtag := VersionTag(m.UpdatedOn, m.MD5)
	if !retitle && vtag == "" {
		return nil
	}
	failed := func(err error) error {
		if retitle {
			return fmt.Errorf("update title of %s: %w", m.CoreDataID, err)
		}
		e.log.Warn("could not write the version tag; after a lost state file this record costs one download",
			zap.Int64("nexudus_id", m.NexudusID), zap.String("coredata_id", m.CoreDataID), zap.Error(err))
		return nil
	}
	if cur == nil {
		if cur, err = e.sink.GetFile(ctx, m.CoreDataID); err != nil {
			return failed(fmt.Errorf("read its metadata: %w", err))
		}
	}
	tags := withVersionTag(unionTags(cur.Tags, e.tags(f)), vtag)
	if !retitle && slices.Equal(tags, cur.Tags) {
		return nil
	}
	md := coredata.Metadata{
		Title: cmp.Or(cur.Title, m.Title), Filename: cmp.Or(filename, cur.Filename, m.Filename),
		Parent: cmp.Or(cur.Parent, m.Parent), Tags: tags,
	}
	if retitle {
		md.Title, md.Dynatype = title, e.opt.Dynatype
	}
	if err := e.sink.UpdateMetadata(ctx, m.CoreDataID, md); err != nil {
		return failed(err)
	}
	if !retitle {
		return nil
	}
	m.Title = title
	return e.mappings.PutMapping(*m)
}
