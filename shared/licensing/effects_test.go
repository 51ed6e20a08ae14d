package licensing_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// effectsAt returns Effects on a fresh store with a clock the test moves.
func effectsAt(start time.Time) (*licensing.Effects, *memstore.Store, *time.Time) {
	now := start
	store := memstore.New()
	return licensing.NewEffects(store, func() time.Time { return now }, time.Minute), store, &now
}

func TestEffectOnce(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	notDone := licensing.Errorf("test", licensing.Unavailable, "throttled before acting")
	ambiguous := licensing.Errorf("test", licensing.Ambiguous, "the answer was lost")
	tests := []struct {
		name string
		// first is what the first performance returns; then is what the
		// second call returns and how often do ran in all.
		first       error
		wantFirst   licensing.EffectOutcome
		wantSecond  licensing.EffectOutcome
		wantPerform int32
	}{
		{"done once, not again", nil, licensing.Performed, licensing.AlreadyDone, 1},
		{"failed before acting: released, performed on retry", notDone, "", licensing.Performed, 2},
		{"ambiguous: unconfirmed, never again", ambiguous, licensing.Unconfirmed, licensing.Unconfirmed, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx, _, _ := effectsAt(start)
			var runs atomic.Int32
			do := func(fail error) func(context.Context) error {
				return func(context.Context) error { runs.Add(1); return fail }
			}
			got, err := fx.Once(ctx, "mail:x", nil, do(tt.first))
			if got != tt.wantFirst || !errors.Is(err, tt.first) && !(tt.first == ambiguous && err == nil) {
				t.Fatalf("first Once = %q, %v; want %q", got, err, tt.wantFirst)
			}
			got, err = fx.Once(ctx, "mail:x", nil, do(nil))
			if got != tt.wantSecond || err != nil {
				t.Errorf("second Once = %q, %v; want %q", got, err, tt.wantSecond)
			}
			if runs.Load() != tt.wantPerform {
				t.Errorf("performed %d times, want %d", runs.Load(), tt.wantPerform)
			}
		})
	}
}

func TestEffectOnceConcurrent(t *testing.T) {
	fx, _, _ := effectsAt(time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC))
	var runs atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := fx.Once(context.Background(), "mail:route", nil, func(context.Context) error {
				runs.Add(1)
				time.Sleep(5 * time.Millisecond)
				return nil
			})
			if err != nil && licensing.ErrorCode(err) != licensing.Unavailable {
				t.Errorf("Once: %v", err)
			}
		}()
	}
	wg.Wait()
	if runs.Load() != 1 {
		t.Errorf("performed %d times by 20 concurrent callers, want 1", runs.Load())
	}
}

func TestEffectClaimLeftByACrash(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name        string
		check       licensing.Check
		want        licensing.EffectOutcome
		wantPerform int32
	}{
		{"no way to check: unconfirmed, not repeated", nil, licensing.Unconfirmed, 0},
		{"safe to repeat: taken over", licensing.Safe, licensing.Performed, 1},
		{"checked and found done", func(context.Context) (bool, error) { return true, nil }, licensing.AlreadyDone, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fx, store, now := effectsAt(start)
			// A performer claims the effect and dies before confirming it.
			if _, err := store.ClaimEffect(ctx, licensing.Effect{Key: "mail:x", State: licensing.EffectClaimed, Claimed: start, Until: start.Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
			var runs atomic.Int32
			do := func(context.Context) error { runs.Add(1); return nil }
			_, err := fx.Once(ctx, "mail:x", tt.check, do)
			if licensing.ErrorCode(err) != licensing.Unavailable || licensing.RetryAfterOf(err) != time.Minute {
				t.Fatalf("Once within the claim = %v (retry after %s); want unavailable, retry after 1m", err, licensing.RetryAfterOf(err))
			}
			*now = start.Add(2 * time.Minute)
			got, err := fx.Once(ctx, "mail:x", tt.check, do)
			if got != tt.want || err != nil {
				t.Errorf("Once after the claim lapsed = %q, %v; want %q", got, err, tt.want)
			}
			if runs.Load() != tt.wantPerform {
				t.Errorf("performed %d times, want %d", runs.Load(), tt.wantPerform)
			}
		})
	}
}

func TestEffectLease(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	fx, _, now := effectsAt(start)
	held, release, err := fx.Lease(ctx, "run:PayrollReport:2026-11-23", time.Hour)
	if !held || err != nil {
		t.Fatalf("first lease = %v, %v", held, err)
	}
	if again, _, err := fx.Lease(ctx, "run:PayrollReport:2026-11-23", time.Hour); again || err != nil {
		t.Fatalf("second lease while held = %v, %v; want not held", again, err)
	}
	if err := release(ctx); err != nil {
		t.Fatal(err)
	}
	held, _, err = fx.Lease(ctx, "run:PayrollReport:2026-11-23", time.Hour)
	if !held || err != nil {
		t.Fatalf("lease after release = %v, %v; want held", held, err)
	}
	// The holder dies; the lease lapses and the next run takes it.
	*now = start.Add(2 * time.Hour)
	if held, _, err := fx.Lease(ctx, "run:PayrollReport:2026-11-23", time.Hour); !held || err != nil {
		t.Fatalf("lease after the holder died = %v, %v; want held", held, err)
	}
}
