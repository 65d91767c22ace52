package verify

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/state"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// emitBatch is how many Nexudus Ids are judged together: the problem rows
// among them share one read of the state file for their second look.
const emitBatch = 1000

// emit judges every record the walk kept and hands out the rows in the
// order of the output, by Nexudus Id (then CoreData id), counting them:
// listed files, unverifiable ones, unreadable records and orphans, merged
// with the rows of texts, registers and records without an Id.
func (v *verifier) emit(ctx context.Context, seen *syncer.WalkSeen) error {
	ids := make([]int64, 0, len(v.checked)+len(v.unverified)+len(v.bad))
	for id := range v.checked {
		ids = append(ids, id)
	}
	for id := range v.unverified {
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

// judge makes the rows of a batch of Ids, in order, giving each problem
// row a second look with the state file as it is now.
func (v *verifier) judge(ctx context.Context, ids []int64) ([]Row, error) {
	rows := make([]Row, 0, len(ids))
	second := map[int64]int{} // Id -> index in rows of a problem to look at again
	inputs := map[int64]Input{}
	for _, id := range ids {
		if c, ok := v.checked[id]; ok {
			in := v.input(id, c)
			verdict := Classify(in)
			if verdict.Status.Problem() {
				second[id], inputs[id] = len(rows), in
			}
			rows = append(rows, row(in, verdict))
			continue
		}
		if r, ok := v.unverified[id]; ok {
			rows = append(rows, r)
			continue
		}
		if r, ok := v.bad[id]; ok {
			rows = append(rows, r)
			continue
		}
		rows = append(rows, v.orphanRows(id)...)
	}
	if err := v.secondLook(ctx, inputs, func(id int64, r Row) { rows[second[id]] = r }); err != nil {
		return nil, err
	}
	return rows, nil
}

// input rebuilds a record's Input from what the walk and the listing kept.
func (v *verifier) input(id int64, c checked) Input {
	in := Input{Record: c.record(id), Tagged: v.ix.files(id), DeepMD5: c.deepMD5}
	if m, ok := v.before.get(id); ok {
		in.Mapping = &m
		in.Mapped = v.keptMapped(in)
	}
	return in
}

// keptMapped is findMapped without a request: the file the walk listed
// untagged or read by id.
func (v *verifier) keptMapped(in Input) *coredata.File {
	id := in.Mapping.CoreDataID
	for _, f := range in.Tagged {
		if f.ID == id {
			return nil
		}
	}
	if f, ok := v.ix.untagged[id]; ok {
		file := f.file()
		return &file
	}
	if f := v.readByID[in.Record.ID]; f != nil && f.id == id {
		file := f.file()
		return &file
	}
	return nil
}

// orphanRows are the rows of the tagged CoreData files of a Nexudus Id
// the listing did not hold, by CoreData id.
func (v *verifier) orphanRows(id int64) []Row {
	var m *state.Mapping
	if mm, ok := v.before.get(id); ok {
		m = &mm
	}
	var rows []Row
	for _, f := range v.ix.files(id) {
		rows = append(rows, orphanRow(id, f, m))
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].CoreDataID < rows[j].CoreDataID })
	return rows
}

// secondLook reads the state file again and checks each problem row with
// its new mapping, if it changed: a daemon that mirrored the file while
// verify ran is not a problem. A row stays a problem only when it is one
// with both mappings.
func (v *verifier) secondLook(ctx context.Context, inputs map[int64]Input, replace func(int64, Row)) error {
	if len(inputs) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(inputs))
	for id := range inputs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	after, err := v.st.MappingsFor(ctx, ids)
	if err != nil {
		return fmt.Errorf("verify: read state: %w", err)
	}
	for _, id := range ids {
		in := inputs[id]
		m, ok := after[id]
		if (in.Mapping == nil && !ok) || (in.Mapping != nil && ok && sameRecording(*in.Mapping, m)) {
			continue
		}
		in.Mapping = nil
		if ok {
			in.Mapping = &m
			if err := v.findMapped(ctx, &in); err != nil {
				continue // the first look's row stands
			}
		}
		if verdict := Classify(in); !verdict.Status.Problem() {
			verdict.Reason = joinReason("syncd mirrored it while verify ran", verdict.Reason)
			replace(id, row(in, verdict))
		}
	}
	return nil
}

// sameRecording compares what verify keeps of two mappings: the first
// look had only those fields.
func sameRecording(kept, now state.Mapping) bool {
	return kept.CoreDataID == now.CoreDataID && kept.MD5 == now.MD5 && kept.Title == now.Title &&
		kept.Parent == now.Parent && kept.UpdatedOn.Equal(now.UpdatedOn)
}
