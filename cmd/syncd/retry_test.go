package main

import (
	"strings"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/state"
)

// state retry takes several Ids, -parked or -all; a bad Id is refused
// before anything is written.
func TestStateRetryForms(t *testing.T) {
	e := newEnv(t, "")
	st, err := state.Open(e.state, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	// 1 and 2 parked, 3 backing off.
	for id, max := range map[int64]int{1: 1, 2: 1, 3: 5} {
		if _, err := st.RecordFailure(id, now, "HTTP 403", now, max, func(int) time.Duration { return time.Hour }); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	status := func(id int64) (state.Entry, bool) {
		t.Helper()
		st, err := state.Open(e.state, state.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		en, err := st.Entry(id)
		return en, err == nil
	}
	tests := []struct {
		args     []string
		wantCode int
		cleared  []int64
	}{
		{[]string{"retry"}, 2, nil},
		{[]string{"retry", "1", "x"}, 2, nil},
		{[]string{"retry", "-parked", "1"}, 2, nil},
		{[]string{"retry", "1", "999"}, 1, []int64{1}},
		{[]string{"retry", "-parked"}, 0, []int64{2}},
		{[]string{"retry", "-all"}, 0, []int64{3}},
	}
	for _, tt := range tests {
		code, out, errOut := run(t, append([]string{"state", "-config", e.config}, tt.args...)...)
		if code != tt.wantCode {
			t.Fatalf("%v: exit %d, want %d: %s %s", tt.args, code, tt.wantCode, out, errOut)
		}
		for _, id := range tt.cleared {
			en, ok := status(id)
			if !ok || en.Status != "failed" || en.Attempts != 0 || en.NextAttempt == nil || en.NextAttempt.After(time.Now()) {
				t.Fatalf("%v: file %d %+v, want due now with no attempts", tt.args, id, en)
			}
		}
	}
	if code, _, errOut := run(t, "state", "-config", e.config, "retry", "1", "999"); code != 1 || !strings.Contains(errOut, "999") {
		t.Fatalf("retry of an unknown Id: exit %d, %q should name 999", code, errOut)
	}
}
