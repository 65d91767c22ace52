package verify

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/legal"
	"github.com/coworkdocs/syncd/internal/nexudus"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// LegalSource lists terms acceptances and the texts accepted (with
// legal.enabled); verify then checks texts and registers too.
type LegalSource interface {
	ListAcceptancesPage(ctx context.Context, q nexudus.ListQuery, page int) (*nexudus.AcceptancePage, error)
	ListTextsPage(ctx context.Context, q nexudus.ListQuery, page int) (*nexudus.TextPage, error)
}

// verifyLegal checks every text version and every register against what
// Nexudus holds now: each version one file with its Content, each
// location's month one register whose bytes are those Nexudus' data gives
// (legal.Register), nothing tagged twice. It lists every version and every
// acceptance (since From) and reads nothing one by one.
func (v *verifier) verifyLegal(ctx context.Context) error {
	src := v.opt.Legal
	if src == nil {
		return nil
	}
	texts, err := walkAll(ctx, func(ctx context.Context, q nexudus.ListQuery, page int) (syncer.KeyedPage[nexudus.LegalText], error) {
		p, err := src.ListTextsPage(ctx, q, page)
		if err != nil {
			return syncer.KeyedPage[nexudus.LegalText]{}, err
		}
		return syncer.KeyedPage[nexudus.LegalText]{Records: p.Records, TotalItems: p.TotalItems, TotalPages: p.TotalPages, HasNextPage: p.HasNextPage, Skipped: len(p.Bad)}, nil
	}, func(t nexudus.LegalText) (int64, time.Time) { return t.ID, t.UpdatedOn.Time }, time.Time{})
	if err != nil {
		return fmt.Errorf("verify: list texts: %w", err)
	}
	accepts, err := walkAll(ctx, func(ctx context.Context, q nexudus.ListQuery, page int) (syncer.KeyedPage[nexudus.Acceptance], error) {
		p, err := src.ListAcceptancesPage(ctx, q, page)
		if err != nil {
			return syncer.KeyedPage[nexudus.Acceptance]{}, err
		}
		return syncer.KeyedPage[nexudus.Acceptance]{Records: p.Records, TotalItems: p.TotalItems, TotalPages: p.TotalPages, HasNextPage: p.HasNextPage, Skipped: len(p.Bad)}, nil
	}, func(a nexudus.Acceptance) (int64, time.Time) { return a.ID, a.UpdatedOn.Time }, time.Time{})
	if err != nil {
		return fmt.Errorf("verify: list acceptances: %w", err)
	}
	expected := map[string]bool{}
	textFile := map[string]string{} // UniqueId -> its one CoreData file
	textSHA := map[string]string{}
	for _, t := range texts {
		if _, ok := v.opt.ParentFor(t.BusinessID); !ok || t.UniqueID == "" {
			continue
		}
		data, _ := legal.TextBytes(t.Content)
		tag := legal.TextTag(t.UniqueID)
		expected[tag] = true
		textSHA[t.UniqueID] = legal.SHA256Hex(data)
		row := v.legalRow(tag, "text", data, fmt.Sprintf("version %d (%s) of location %d", t.ID, t.Name, t.BusinessID))
		row.NexudusID = t.ID
		if row.Status == StatusOK || row.Status == StatusStale {
			textFile[t.UniqueID] = row.CoreDataID
		}
		v.extra = append(v.extra, row)
	}
	type month struct {
		business int64
		month    string
	}
	rows := map[month][]legal.Row{}
	for _, a := range accepts {
		if _, ok := v.opt.ParentFor(a.BusinessID); !ok {
			continue
		}
		m := month{a.BusinessID, legal.Month(a.CreatedOn.Time)}
		rows[m] = append(rows[m], legal.Row{ID: a.ID, UniqueID: a.UniqueID, CreatedOn: a.CreatedOn.Time, CoworkerID: a.CoworkerID,
			BusinessID: a.BusinessID, LegalContentType: string(a.LegalContentType), Name: a.Name, TariffUniqueID: a.TariffUniqueID,
			TextUniqueID: a.TextUniqueID, TextSHA256: textSHA[a.TextUniqueID], TextCoreDataID: textFile[a.TextUniqueID]})
	}
	for m, rs := range rows {
		tag := legal.RegisterTag(m.business, m.month)
		expected[tag] = true
		if !v.opt.From.IsZero() {
			continue // a month's register needs every acceptance of it
		}
		v.extra = append(v.extra, v.legalRow(tag, "register", legal.Register(rs), fmt.Sprintf("location %d, %s, %d acceptances", m.business, m.month, len(rs))))
	}
	if v.rep.OrphansChecked {
		for tag, files := range v.ix.legal {
			if expected[tag] {
				continue
			}
			for _, f := range files {
				v.extra = append(v.extra, Row{Tag: tag, CoreDataID: f.ID, Status: StatusOrphan, CoreDataIDs: []string{f.ID}, CoreDataMD5: lower(f.Digest), Parent: f.Parent,
					Reason: "tagged " + tag + ", but Nexudus no longer holds that version or month; syncd keeps it (nothing is deleted in CoreData)"})
			}
		}
	}
	return nil
}

// legalRow judges one text or register: its one tagged file must hold
// want.
func (v *verifier) legalRow(tag, kind string, want []byte, what string) Row {
	sum := md5.Sum(want)
	wantMD5 := hex.EncodeToString(sum[:])
	files := v.ix.legal[tag]
	r := Row{Tag: tag, Status: StatusOK, CoreDataIDs: []string{}, NexudusMD5: wantMD5}
	for _, f := range files {
		r.CoreDataIDs = append(r.CoreDataIDs, f.ID)
	}
	switch len(files) {
	case 0:
		r.Status, r.Reason = StatusMissing, fmt.Sprintf("no CoreData file under the configured parents is tagged %s (%s %s)", tag, kind, what)
		return r
	case 1:
	default:
		r.Status, r.Reason = StatusDuplicate, fmt.Sprintf("%d CoreData files are tagged %s: %s", len(files), tag, strings.Join(r.CoreDataIDs, ", "))
		return r
	}
	f := files[0]
	r.CoreDataID, r.CoreDataMD5, r.Parent = f.ID, lower(f.Digest), f.Parent
	if r.CoreDataMD5 != wantMD5 {
		r.Status, r.Reason = StatusStale, fmt.Sprintf("the %s's CoreData digest %s is not the md5 %s of the bytes Nexudus' data gives now: Nexudus changed since the last poll (the next one writes it), or a person uploaded a version", kind, orNone(r.CoreDataMD5), wantMD5)
	}
	return r
}

// walkAll lists every record of a keyed listing from from.
func walkAll[R any](ctx context.Context, list func(context.Context, nexudus.ListQuery, int) (syncer.KeyedPage[R], error), key func(R) (int64, time.Time), from time.Time) ([]R, error) {
	var out []R
	res, err := syncer.KeyedWalk[R]{
		From: from,
		Fetch: func(ctx context.Context, from time.Time, page int) (syncer.KeyedPage[R], error) {
			return list(ctx, nexudus.ListQuery{UpdatedFrom: from}, page)
		},
		Key:   key,
		Visit: func(_ context.Context, fresh []R) error { out = append(out, fresh...); return nil },
	}.Run(ctx)
	if err == nil && res.Stopped {
		err = errNotPaging
	}
	// One record per Id, its latest version.
	latest := map[int64]int{}
	var uniq []R
	for _, r := range out {
		id, _ := key(r)
		if i, ok := latest[id]; ok {
			uniq[i] = r
			continue
		}
		latest[id] = len(uniq)
		uniq = append(uniq, r)
	}
	sort.SliceStable(uniq, func(i, j int) bool { a, _ := key(uniq[i]); b, _ := key(uniq[j]); return a < b })
	return uniq, err
}

// legalFiles keeps the listed files that carry a nexudus-legal-* tag.
func (ix *index) addLegal(f coredata.File) {
	for _, t := range f.Tags {
		_, text := legal.ParseTextTag(t)
		_, _, register := legal.ParseRegisterTag(t)
		if text || register {
			ix.legal[t] = append(ix.legal[t], f)
		}
	}
}
