package state

import (
	"slices"
	"sort"
	"strings"
	"time"
)

// LegalEntry is one text or register in `syncd state ls`.
type LegalEntry struct {
	Kind string `json:"kind"` // text, register
	Tag  string `json:"tag"`
	// NexudusID is the Id of a text's version record; 0 for a register.
	NexudusID  int64      `json:"nexudus_id"`
	CoreDataID string     `json:"coredata_id"`
	MD5        string     `json:"md5"`
	SHA256     string     `json:"sha256,omitempty"`
	Status     Status     `json:"status"` // mirrored, intent, failed, parked
	Attempts   int        `json:"attempts"`
	LastError  string     `json:"last_error"`
	Title      string     `json:"title"`
	Parent     string     `json:"parent"`
	Filename   string     `json:"filename"`
	UpdatedOn  *time.Time `json:"updated_on"`
	SyncedAt   *time.Time `json:"synced_at"`
}

// Tags of the two kinds (internal/legal writes them; the state file only
// tells them apart).
const (
	textTagPrefix     = "nexudus-legal-text-"
	registerTagPrefix = "nexudus-legal-register-"
)

func legalKind(tag string) string {
	if strings.HasPrefix(tag, registerTagPrefix) {
		return "register"
	}
	return "text"
}

// LegalEntries lists every mirrored text and register, and every create
// in flight of one, by tag.
func (s *Store) LegalEntries() ([]LegalEntry, error) {
	files, err := s.LegalFiles()
	if err != nil {
		return nil, err
	}
	intents, err := s.LegalIntents()
	if err != nil {
		return nil, err
	}
	failures, err := s.LegalFailures()
	if err != nil {
		return nil, err
	}
	var out []LegalEntry
	seen := map[string]bool{}
	for _, f := range files {
		seen[f.Tag] = true
		out = append(out, LegalEntry{
			Kind: legalKind(f.Tag), Tag: f.Tag, NexudusID: f.SourceID, CoreDataID: f.CoreDataID, MD5: f.MD5, SHA256: f.SHA256,
			Status: StatusMirrored, Title: f.Title, Parent: f.Parent, Filename: f.Filename,
			UpdatedOn: timeOrNil(f.UpdatedOn), SyncedAt: timeOrNil(f.SyncedAt),
		})
	}
	for _, in := range intents {
		if seen[in.Tag] {
			continue
		}
		out = append(out, LegalEntry{Kind: legalKind(in.Tag), Tag: in.Tag, CoreDataID: in.CoreDataID, Status: StatusIntent, Parent: in.Parent})
	}
	for _, f := range failures {
		i := slices.IndexFunc(out, func(e LegalEntry) bool { return e.Tag == f.Tag })
		if i < 0 {
			out = append(out, LegalEntry{Kind: legalKind(f.Tag), Tag: f.Tag})
			i = len(out) - 1
		}
		out[i].Status, out[i].Attempts, out[i].LastError = StatusFailed, f.Attempts, f.LastError
		if f.Parked {
			out[i].Status = StatusParked
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tag < out[j].Tag })
	return out, nil
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
