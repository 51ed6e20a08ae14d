package tablestore

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/devkit/storetest"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// TestRunPaging lists more runs than Azurite returns in one page (1000).
func TestRunPaging(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	const n = 1234
	var batch []aztables.TransactionAction
	flush := func() {
		if err := Transact(ctx, s.runs, "test.load", "runs", batch); err != nil {
			t.Fatalf("Transact: %v", err)
		}
		batch = batch[:0]
	}
	for i := 0; i < n; i++ {
		fn := "Frequent"
		if i%100 == 0 {
			fn = "Rare's"
		}
		r := storetest.Run(fmt.Sprintf("run%04d", i), fn, i)
		b, err := json.Marshal(map[string]any{
			"PartitionKey": runsPartition, "RowKey": runRowKey(r), "RunID": r.ID,
			"Function": r.Function, "Outcome": r.Outcome, "Counts": "{}",
		})
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: b})
		if len(batch) == MaxBatch {
			flush()
		}
	}
	flush()

	newest := storetest.Run("x", "x", n-1).Started
	tests := []struct {
		name      string
		filter    licensing.RunFilter
		wantCount int
		wantFirst string
		wantLast  string
	}{
		{"all", licensing.RunFilter{}, n, "run1233", "run0000"},
		{"limit over a page", licensing.RunFilter{Limit: 1100}, 1100, "run1233", "run0134"},
		{"limit under a page", licensing.RunFilter{Limit: 7}, 7, "run1233", "run1227"},
		{"rare function across pages", licensing.RunFilter{Function: "Rare's"}, 13, "run1200", "run0000"},
		{"rare function limited", licensing.RunFilter{Function: "Rare's", Limit: 2}, 2, "run1200", "run1100"},
		{"since", licensing.RunFilter{Since: newest.Add(-1099 * time.Minute)}, 1100, "run1233", "run0134"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListRuns(ctx, tt.filter)
			if err != nil {
				t.Fatalf("ListRuns: %v", err)
			}
			if diff := cmp.Diff(tt.wantCount, len(got)); diff != "" {
				t.Fatalf("count (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{tt.wantFirst, tt.wantLast}, []string{got[0].ID, got[len(got)-1].ID}); diff != "" {
				t.Errorf("first and last (-want +got):\n%s", diff)
			}
			for i := 1; i < len(got); i++ {
				if got[i].Started.After(got[i-1].Started) {
					t.Fatalf("run %d (%s) is newer than run %d (%s)", i, got[i].ID, i-1, got[i-1].ID)
				}
			}
		})
	}
}

// TestRunKeepsItsRow writes one run three times and finds one row.
func TestRunKeepsItsRow(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	r := storetest.Run("same", "PayrollReport", 0)
	r.Started = r.Started.Add(123456789 * time.Nanosecond) // sub-tick precision survives
	for i := 0; i < 3; i++ {
		r.Counts = map[string]int{"step": i}
		if err := s.PutRun(ctx, r); err != nil {
			t.Fatalf("PutRun %d: %v", i, err)
		}
	}
	if n := countRows(t, s.runs, runsPartition); n != 1 {
		t.Errorf("rows = %d, want 1", n)
	}
	got, err := s.ListRuns(ctx, licensing.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]licensing.Run{r}, got); diff != "" {
		t.Errorf("ListRuns (-want +got):\n%s", diff)
	}
}
