package main

import (
	"fmt"
	"io"
	"strings"
)

// Verdicts of a row.
const (
	pass = "pass"
	miss = "MISS"
	info = "info"
)

// row is one line of the table: a figure, its value, the floor or bound
// it is measured against, their ratio, the goal and whether it is met.
type row struct {
	Figure, Value, Bound, Ratio, Goal, Verdict string
}

// verdict is pass when ok, else miss.
func verdict(ok bool) string {
	if ok {
		return pass
	}
	return miss
}

func ratio(v, bound float64) string {
	if bound == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", v/bound)
}

// thousands writes n with thousands separators.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", mibf(b)) }

func mibf(b int64) float64 { return float64(b) / (1 << 20) }

// writeTable writes rows as a Markdown table.
func writeTable(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| figure | value | floor / bound | ratio | goal | result |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- |")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", cell(r.Figure), cell(r.Value), cell(r.Bound), cell(r.Ratio), cell(r.Goal), cell(r.Verdict))
	}
}

func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.ReplaceAll(s, "|", "\\|")
}
