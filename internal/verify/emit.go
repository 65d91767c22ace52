package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/state"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// emitBatch is how many Nexudus Ids are judged together, with one read of
// the state file.
const emitBatch = 1000

// emit judges every record the walk kept and hands out the rows in the
// order of the output, by Nexudus Id (then CoreData id), counting them:
// listed files, unverifiable ones, unreadable records and orphans, merged
// with the rows of texts, registers and records without an Id.
func (v *verifier) emit(ctx context.Context, seen *syncer.WalkSeen) error {
	ids := make([]int64, 0, len(v.checked)+len(v.bad))
	for id := range v.checked {
		ids = append(ids, id)
	}
	for id := range v.bad {
		ids = append(ids, id)
	}
	if v.rep.OrphansChecked {
		for id := range v.ix.tagged {
			if _, bad := v.bad[id]; !bad && !seen.Has(id) {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)

	extra := append(v.extra, v.badNoID...)
	sort.SliceStable(extra, func(i, j int) bool { return rowBefore(extra[i], extra[j]) })
	out := &rowOut{v: v, extra: extra}
	for start := 0; start < len(ids); start += emitBatch {
		rows, err := v.judge(ctx, ids[start:min(start+emitBatch, len(ids))])
		if err != nil {
			return err
		}
		for _, r := range rows {
			if err := out.put(r); err != nil {
				return err
			}
		}
	}
	if v.opt.Deep {
		v.progressEnd()
	}
	return out.flush()
}

func rowBefore(a, b Row) bool {
	if a.NexudusID != b.NexudusID {
		return a.NexudusID < b.NexudusID
	}
	return a.CoreDataID < b.CoreDataID
}

// rowOut counts and hands out rows, slipping in the extra rows (sorted)
// where they belong. On a tie an extra row goes first: texts and
// registers were listed before the files' rows were made.
type rowOut struct {
	v     *verifier
	extra []Row
}

func (o *rowOut) put(r Row) error {
	for len(o.extra) > 0 && !rowBefore(r, o.extra[0]) {
		if err := o.v.hand(o.extra[0]); err != nil {
			return err
		}
		o.extra = o.extra[1:]
	}
	return o.v.hand(r)
}

func (o *rowOut) flush() error {
	for _, r := range o.extra {
		if err := o.v.hand(r); err != nil {
			return err
		}
	}
	o.extra = nil
	return nil
}

func (v *verifier) hand(r Row) error {
	v.rep.Counts[r.Status]++
	if r.Status != StatusOK {
		v.rep.NotOK = append(v.rep.NotOK, r)
	}
	if v.opt.Row == nil {
		return nil
	}
	if err := v.opt.Row(r); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	return nil
}

// judge makes the rows of a batch of Ids, in order, with the mappings
// as the state file holds them now (one read for the batch).
func (v *verifier) judge(ctx context.Context, ids []int64) ([]Row, error) {
	now, err := v.st.MappingsFor(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("verify: read state: %w", err)
	}
	rows := make([]Row, 0, len(ids))
	for _, id := range ids {
		var m *state.Mapping
		if mm, ok := now[id]; ok {
			m = &mm
		}
		var own []Row
		if c, ok := v.checked[id]; ok {
			r, err := v.judgeFile(ctx, id, c, m)
			if err != nil {
				return nil, err
			}
			own = append(own, r)
			if v.opt.Deep {
				v.progress(len(v.checked))
			}
		}
		if r, ok := v.bad[id]; ok {
			own = append(own, r)
		}
		if len(own) == 0 {
			own = v.orphanRows(id, m)
		}
		sort.SliceStable(own, func(i, j int) bool { return own[i].CoreDataID < own[j].CoreDataID })
		rows = append(rows, own...)
	}
	return rows, nil
}

// judgeFile makes the row of a listed record: the mapped file found where
// the listing did not show it (a read by id), the bytes downloaded with
// -deep, then Classify. A problem whose mapping a daemon wrote after the
// listing is judged again with its CoreData file read now: the listing
// may predate what the daemon did.
func (v *verifier) judgeFile(ctx context.Context, id int64, c checked, m *state.Mapping) (Row, error) {
	in := Input{Record: c.record(id), Tagged: v.ix.files(id), Mapping: m}
	read := false
	if m != nil {
		var err error
		if read, err = v.findMapped(ctx, &in); err != nil {
			return v.unverifiable(ctx, in, "read CoreData file "+m.CoreDataID, m.CoreDataID, err)
		}
	}
	if target := compared(in); v.opt.Deep && target != nil {
		sum, err := deepMD5(ctx, v.src, in.Record, v.opt.MaxFileBytes, target.Digest)
		if err != nil {
			return v.unverifiable(ctx, in, "download", target.ID, err)
		}
		v.failed = 0
		in.DeepMD5 = sum
	}
	verdict := Classify(in)
	if !verdict.Status.Problem() || read || m == nil || !v.before.changed(id, m) {
		return row(in, verdict), nil
	}
	fresh, err := v.cd.GetFile(ctx, m.CoreDataID)
	switch {
	case errors.Is(err, coredata.ErrNotFound):
		fresh = nil
	case err != nil:
		return row(in, verdict), nil // the listing's verdict stands
	}
	again := withFresh(in, fresh)
	if v2 := Classify(again); !v2.Status.Problem() {
		v2.Reason = joinReason("syncd mirrored it while verify ran", v2.Reason)
		return row(again, v2), nil
	}
	return row(in, verdict), nil
}

// withFresh is in with the mapped file as read now (nil: gone) in place
// of what the listing showed of it.
func withFresh(in Input, fresh *coredata.File) Input {
	out := in
	out.Tagged, out.Mapped = nil, nil
	id := in.Mapping.CoreDataID
	tagged := fresh != nil && hasFileTag(*fresh, in.Record.ID)
	placed := false
	for _, f := range in.Tagged {
		if f.ID != id {
			out.Tagged = append(out.Tagged, f)
			continue
		}
		if tagged {
			out.Tagged, placed = append(out.Tagged, *fresh), true
		}
	}
	switch {
	case tagged && !placed:
		out.Tagged = append(out.Tagged, *fresh) // made after the listing: the newest
	case fresh != nil && !tagged:
		out.Mapped = fresh
	}
	return out
}

// orphanRows are the rows of the tagged CoreData files of a Nexudus Id
// the listing did not hold, by CoreData id.
func (v *verifier) orphanRows(id int64, m *state.Mapping) []Row {
	var rows []Row
	for _, f := range v.ix.files(id) {
		rows = append(rows, orphanRow(id, f, m))
	}
	return rows
}
