package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// TestEffectStore runs the effect-record conformance tests; newStore returns
// an empty store for each.
func TestEffectStore(t *testing.T, newStore func(t *testing.T) licensing.EffectStore) {
	ctx := context.Background()
	ignoreETag := cmpopts.IgnoreFields(licensing.Effect{}, "ETag")
	claim := func(key string) licensing.Effect {
		return licensing.Effect{Key: key, State: licensing.EffectClaimed, Claimed: base, Until: base.Add(time.Minute), Detail: "first"}
	}
	t.Run("claim once, then the record comes back with Conflict", func(t *testing.T) {
		s := newStore(t)
		key := "mail:DOA-1a/2#3?x.route"
		got, err := s.ClaimEffect(ctx, claim(key))
		if err != nil || got.ETag == "" {
			t.Fatalf("first claim = %+v, %v; want a record with an ETag", got, err)
		}
		second := claim(key)
		second.Detail = "second"
		old, err := s.ClaimEffect(ctx, second)
		wantCode(t, "second claim", err, licensing.Conflict)
		if diff := cmp.Diff(claim(key), old, ignoreETag); diff != "" {
			t.Errorf("record returned with the Conflict (-want +got):\n%s", diff)
		}
		read, err := s.GetEffect(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(claim(key), read, ignoreETag); diff != "" {
			t.Errorf("stored record (-want +got):\n%s", diff)
		}
	})
	t.Run("updates are conditional on the ETag", func(t *testing.T) {
		s := newStore(t)
		rec, err := s.ClaimEffect(ctx, claim("run:PayrollReport:2026-11-23"))
		if err != nil {
			t.Fatal(err)
		}
		done := rec
		done.State, done.Done, done.Detail = licensing.EffectDone, base.Add(time.Second), ""
		updated, err := s.UpdateEffect(ctx, done)
		if err != nil {
			t.Fatal(err)
		}
		if updated.ETag == rec.ETag {
			t.Errorf("ETag unchanged by an update: %s", updated.ETag)
		}
		_, err = s.UpdateEffect(ctx, rec)
		wantCode(t, "update with an old ETag", err, licensing.Stale)
		_, err = s.UpdateEffect(ctx, licensing.Effect{Key: "mail:none", ETag: updated.ETag})
		if c := licensing.ErrorCode(err); c != licensing.NotFound && c != licensing.Stale {
			t.Errorf("update of a missing record: code %q, want not-found or stale", c)
		}
		_, err = s.GetEffect(ctx, "mail:none")
		wantCode(t, "get of a missing record", err, licensing.NotFound)
	})
	t.Run("listing by kind prefix and state", func(t *testing.T) {
		s := newStore(t)
		for i, k := range []string{"mail:a.1", "mail:a.2", "mail:b.1", "step:a:1:route"} {
			rec, err := s.ClaimEffect(ctx, claim(k))
			if err != nil {
				t.Fatal(err)
			}
			if i%2 == 0 {
				rec.State = licensing.EffectUnconfirmed
				if _, err := s.UpdateEffect(ctx, rec); err != nil {
					t.Fatal(err)
				}
			}
		}
		list, err := s.ListEffects(ctx, "mail:", licensing.EffectUnconfirmed)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, e := range list {
			keys = append(keys, e.Key)
		}
		if diff := cmp.Diff([]string{"mail:a.1", "mail:b.1"}, keys, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("unconfirmed mail effects (-want +got):\n%s", diff)
		}
	})
	t.Run("concurrent claims: one wins", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		won, conflicts := 0, 0
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				e := claim("payroll:2026-11-23:DOA")
				e.Detail = fmt.Sprint("claimant ", i)
				_, err := s.ClaimEffect(ctx, e)
				mu.Lock()
				defer mu.Unlock()
				switch licensing.ErrorCode(err) {
				case "":
					won++
				case licensing.Conflict:
					conflicts++
				default:
					t.Errorf("claim %d: %v", i, err)
				}
			}(i)
		}
		wg.Wait()
		if won != 1 || conflicts != 9 {
			t.Errorf("claims: %d won, %d conflicts; want 1 and 9", won, conflicts)
		}
	})
}
