package verify

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// JSONRows returns an Options.Row that writes one JSON object per line:
// every verified Nexudus file, then every orphan, by Nexudus Id.
func JSONRows(w io.Writer) func(Row) error {
	enc := json.NewEncoder(w)
	return func(row Row) error {
		if err := enc.Encode(row); err != nil {
			return fmt.Errorf("write json: %w", err)
		}
		return nil
	}
}

// WriteTable writes the summary (a count per status) and one line per
// row that is not ok, orphans included.
func WriteTable(w io.Writer, r *Report) error {
	scope := "every signed Nexudus file"
	if !r.From.IsZero() {
		scope = "signed Nexudus files updated since " + fmtTime(r.From)
	}
	how := "recorded digests (no download)"
	if r.Deep {
		how = "downloaded Nexudus bytes (-deep)"
	}
	fmt.Fprintf(w, "verify: %s (%d listed) against %d CoreData file(s) under %d parent(s), by %s\n\n",
		scope, r.Listed, r.CoreDataFiles, r.Parents, how)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tFILES")
	for _, s := range Statuses {
		n := fmt.Sprint(r.Counts[s])
		if s == StatusOrphan && !r.OrphansChecked {
			n = "not checked (-from lists only part of Nexudus)"
		}
		fmt.Fprintf(tw, "%s\t%s\n", s, n)
	}
	fmt.Fprintf(tw, "skipped\t%d (location without a CoreData parent)\n", r.Skipped)
	if r.OtherLocations > 0 {
		fmt.Fprintf(tw, "other locations\t%d (not in nexudus.businesses)\n", r.OtherLocations)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("verify: write table: %w", err)
	}
	if len(r.NotOK) == 0 {
		_, err := fmt.Fprintln(w, "\nall ok")
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NEXUDUS_ID\tSTATUS\tCOREDATA_ID\tREASON")
	for _, row := range r.NotOK {
		id := fmt.Sprint(row.NexudusID)
		if row.Tag != "" {
			id = row.Tag // a text or a register
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", id, row.Status, dash(row.CoreDataID), row.Reason)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("verify: write table: %w", err)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
