package config

import "sort"

// AllParents lists every CoreData parent the configuration names (the
// default one included), each once and in a stable order: what `state
// rebuild` and the adoption on a new state file list.
func (c *CoreData) AllParents() []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range append([]string{c.DefaultParent}, mapValues(c.Parents)...) {
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

func mapValues(m map[int64]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}
