package memstore

import (
	"context"
	"sort"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

var _ licensing.Deliveries = (*Store)(nil)

// PutDelivery records d.
func (s *Store) PutDelivery(ctx context.Context, d licensing.Delivery) error {
	if err := ctx.Err(); err != nil {
		return unavailable("memstore.putDelivery", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deliveries == nil {
		s.deliveries = map[[2]string]licensing.Delivery{}
	}
	d.To = append([]string(nil), d.To...)
	s.deliveries[[2]string{d.Run, d.Key}] = d
	return nil
}

// GetDelivery returns a delivery, or NotFound.
func (s *Store) GetDelivery(ctx context.Context, run, key string) (licensing.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.deliveries[[2]string{run, key}]
	if !ok {
		return licensing.Delivery{}, licensing.Errorf("memstore.getDelivery", licensing.NotFound, "No delivery of %s in %s.", key, run)
	}
	return d, nil
}

// ListDeliveries returns a run's deliveries by key.
func (s *Store) ListDeliveries(ctx context.Context, run string) ([]licensing.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []licensing.Delivery
	for k, d := range s.deliveries {
		if k[0] == run {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}
