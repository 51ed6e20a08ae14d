package memstore

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

var _ licensing.EffectStore = (*Store)(nil)

// ClaimEffect inserts e, or returns the existing record with Conflict.
func (s *Store) ClaimEffect(ctx context.Context, e licensing.Effect) (licensing.Effect, error) {
	const op = "memstore.claimEffect"
	if err := ctx.Err(); err != nil {
		return licensing.Effect{}, unavailable(op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.effects == nil {
		s.effects = map[string]licensing.Effect{}
	}
	if old, ok := s.effects[e.Key]; ok {
		return old, licensing.Errorf(op, licensing.Conflict, "Effect %s is recorded already.", e.Key)
	}
	return s.storeEffect(e), nil
}

// UpdateEffect replaces the record of e.Key when its ETag matches.
func (s *Store) UpdateEffect(ctx context.Context, e licensing.Effect) (licensing.Effect, error) {
	const op = "memstore.updateEffect"
	if err := ctx.Err(); err != nil {
		return licensing.Effect{}, unavailable(op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.effects[e.Key]
	if !ok {
		return licensing.Effect{}, licensing.Errorf(op, licensing.NotFound, "No effect %s.", e.Key)
	}
	if old.ETag != e.ETag {
		return licensing.Effect{}, licensing.Errorf(op, licensing.Stale, "Effect %s changed since it was read.", e.Key)
	}
	return s.storeEffect(e), nil
}

// storeEffect keeps e under a new version; s.mu is held.
func (s *Store) storeEffect(e licensing.Effect) licensing.Effect {
	s.version++
	e.ETag = "W/\"" + strconv.FormatUint(s.version, 10) + "\""
	e.Claimed, e.Until, e.Done = e.Claimed.UTC(), e.Until.UTC(), e.Done.UTC()
	s.effects[e.Key] = e
	return e
}

// GetEffect returns the record of key, or NotFound.
func (s *Store) GetEffect(ctx context.Context, key string) (licensing.Effect, error) {
	const op = "memstore.getEffect"
	if err := ctx.Err(); err != nil {
		return licensing.Effect{}, unavailable(op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.effects[key]
	if !ok {
		return licensing.Effect{}, licensing.Errorf(op, licensing.NotFound, "No effect %s.", key)
	}
	return e, nil
}

// ListEffects returns the records in state whose key starts with prefix,
// ordered by key.
func (s *Store) ListEffects(ctx context.Context, prefix, state string) ([]licensing.Effect, error) {
	const op = "memstore.listEffects"
	if err := ctx.Err(); err != nil {
		return nil, unavailable(op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []licensing.Effect
	for k, e := range s.effects {
		if strings.HasPrefix(k, prefix) && e.State == state {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}
