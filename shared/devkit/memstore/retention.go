package memstore

import (
	"context"
	"sort"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

var (
	_ licensing.SnapshotPruner = (*Store)(nil)
	_ licensing.DeliveryPruner = (*Store)(nil)
)

// MarkSnapshotPruned sets Pruned on snapshot id unless it is set already.
func (s *Store) MarkSnapshotPruned(ctx context.Context, id string, at time.Time) error {
	const op = "memstore.markSnapshotPruned"
	if err := ctx.Err(); err != nil {
		return unavailable(op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.snapshots[id]
	if !ok {
		return licensing.Errorf(op, licensing.NotFound, "There is no snapshot %q.", id)
	}
	if st.snap.Pruned.IsZero() {
		st.snap.Pruned = at.UTC()
		s.snapshots[id] = st
	}
	return nil
}

// DeleteSnapshot forgets snapshot id and its usage.
func (s *Store) DeleteSnapshot(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return unavailable("memstore.deleteSnapshot", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.snapshots, id)
	return nil
}

// ListDeliveryRuns returns the runs with a delivery, in name order.
func (s *Store) ListDeliveryRuns(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, unavailable("memstore.listDeliveryRuns", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	runs := []string{}
	for k := range s.deliveries {
		if !seen[k[0]] {
			seen[k[0]] = true
			runs = append(runs, k[0])
		}
	}
	sort.Strings(runs)
	return runs, nil
}

// DeleteDelivery forgets the delivery of key in run.
func (s *Store) DeleteDelivery(ctx context.Context, run, key string) error {
	if err := ctx.Err(); err != nil {
		return unavailable("memstore.deleteDelivery", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.deliveries, [2]string{run, key})
	return nil
}
