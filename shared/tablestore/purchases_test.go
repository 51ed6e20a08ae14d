package tablestore

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/devkit/storetest"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// TestConcurrentPurchaseWrites races writers of the same lines and
// activators of the same lines: every line and every activation is recorded
// exactly once, with exactly one audit row each.
func TestConcurrentPurchaseWrites(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	var lines []licensing.Purchase
	var ids []string
	for i := 0; i < 60; i++ {
		p := storetest.Purchase(fmt.Sprintf("p%02d", i), "DOA", 1+i%5)
		lines = append(lines, p)
		ids = append(ids, p.ID)
	}
	const writers = 4
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			added, err := s.AddPurchases(ctx, lines, "writer", "race")
			if err != nil {
				t.Errorf("AddPurchases: %v", err)
				return
			}
			mu.Lock()
			total += len(added)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total != len(lines) {
		t.Errorf("writers added %d lines in all, want %d", total, len(lines))
	}
	at := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.ActivatePurchases(ctx, "DOA", ids, at, "verify", "race"); err != nil {
				t.Errorf("ActivatePurchases: %v", err)
			}
		}()
	}
	wg.Wait()
	got, err := s.ListPurchases(ctx, licensing.PurchaseFilter{Agency: "DOA"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(lines) {
		t.Fatalf("%d lines stored, want %d", len(got), len(lines))
	}
	for _, p := range got {
		if p.ActivatedAt == nil || !p.ActivatedAt.Equal(at) {
			t.Errorf("line %s ActivatedAt = %v, want %v", p.ID, p.ActivatedAt, at)
		}
	}
	entries, err := s.PurchaseAudit(ctx, "DOA", 0)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, e := range entries {
		counts[e.Action]++
	}
	if counts[licensing.AuditAdded] != len(lines) || counts[licensing.AuditActivated] != len(lines) {
		t.Errorf("audit rows by action = %v, want %d of each", counts, len(lines))
	}
}
