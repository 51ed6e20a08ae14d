package licensing

import (
	"slices"
	"testing"
)

func TestSortLedger(t *testing.T) {
	jan, feb := NewDate(2026, 1, 1), NewDate(2026, 2, 1)
	lines := []Purchase{
		{ID: "p5", Agency: "DOA", TermStart: feb},
		{ID: "p4", Agency: "DET", TermStart: feb},
		{ID: "p3", Agency: "DOA", TermStart: jan},
		{ID: "p1", Agency: "DOA", TermStart: feb},
		{ID: "p2", Agency: "DET", TermStart: jan},
	}
	SortLedger(lines)
	var got []string
	for _, p := range lines {
		got = append(got, p.ID)
	}
	// DET before DOA; within an agency the earlier term first; then by id.
	if want := []string{"p2", "p4", "p3", "p1", "p5"}; !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
}
