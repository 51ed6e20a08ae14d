package licensing

import "context"

// Lookup returns the record of key and whether there is one, for a caller
// that reports on effects without performing them (a reminder that was
// passed over because a later one became due first).
func (e *Effects) Lookup(ctx context.Context, key string) (Effect, bool, error) {
	rec, err := e.store.GetEffect(ctx, key)
	if ErrorCode(err) == NotFound {
		return Effect{}, false, nil
	}
	if err != nil {
		return Effect{}, false, err
	}
	return rec, true, nil
}
