package main

import (
	"context"

	"github.com/coworkdocs/syncd/internal/nexudus"
)

// measurement is one part of the run.
type measurement struct {
	name string
	run  func(ctx context.Context, h *harness) ([]row, error)
}

var measurements = []measurement{
	{"requests", func(ctx context.Context, h *harness) ([]row, error) {
		r, err := measureRequests(ctx, h.subdir("requests"), h.sz.newFiles, h.sz.updatedFiles)
		if err != nil {
			return nil, err
		}
		return r.rows(), nil
	}},
	{"backfill", func(ctx context.Context, h *harness) ([]row, error) {
		sz := h.sz
		r, err := measureBackfill(ctx, h.subdir("backfill"), sz.backfillFiles, sz.backfillSpan, sz.backfillRPM, sz.backfillRPH)
		if err != nil {
			return nil, err
		}
		return r.rows(), nil
	}},
	{"wall", func(ctx context.Context, h *harness) ([]row, error) {
		sz := h.sz
		r, err := measureWall(ctx, h, "wall", sz.wallFiles, 0, sz.latency)
		if err != nil {
			return nil, err
		}
		if r.Bare, r.BareReqs, err = measureBare(ctx, h.subdir("wall-bare"), sz.wallFiles, sz.latency); err != nil {
			return nil, err
		}
		rows := r.rows()
		if sz.wallRatedFiles > 0 {
			r, err := measureWall(ctx, h, "wall-rated", sz.wallRatedFiles, nexudus.DefaultRequestsPerMinute, sz.latency)
			if err != nil {
				return nil, err
			}
			rows = append(rows, r.row())
		}
		return rows, nil
	}},
	{"memory", func(ctx context.Context, h *harness) ([]row, error) {
		r, err := measureMemory(ctx, h, h.sz.bigFiles, h.sz.bigBytes, h.sz.idle)
		if err != nil {
			return nil, err
		}
		return r.rows(), nil
	}},
	{"scale", func(ctx context.Context, h *harness) ([]row, error) {
		r, err := measureScale(ctx, h, h.sz.scale)
		if err != nil {
			return nil, err
		}
		return r.rows(), nil
	}},
	{"audit", func(ctx context.Context, h *harness) ([]row, error) {
		r, err := measureAudit(ctx, h, h.sz.scale)
		if err != nil {
			return nil, err
		}
		return r.rows(), nil
	}},
	{"audit-repair", func(ctx context.Context, h *harness) ([]row, error) {
		r, err := measureAuditRepair(ctx, h.subdir("audit-repair"), h.sz.repairFiles)
		if err != nil {
			return nil, err
		}
		return r.rows(), nil
	}},
	{"polls", func(ctx context.Context, h *harness) ([]row, error) {
		r, err := measurePolls(ctx, h, h.sz.polls, h.sz.pollRecords)
		if err != nil {
			return nil, err
		}
		return r.rows(), nil
	}},
	{"legal", func(ctx context.Context, h *harness) ([]row, error) {
		r, err := measureLegal(ctx, h.subdir("legal"), h.sz.legalPerPoll, h.sz.legalPolls)
		if err != nil {
			return nil, err
		}
		return r.rows(), nil
	}},
	{"hot", func(ctx context.Context, h *harness) ([]row, error) {
		if h.sz.name == smokeSizes.name {
			return nil, nil // benchmarks, not a check: go test -bench runs them
		}
		return measureHot(ctx, h)
	}},
}

func measurementNames() []string {
	var out []string
	for _, m := range measurements {
		out = append(out, m.name)
	}
	return out
}
