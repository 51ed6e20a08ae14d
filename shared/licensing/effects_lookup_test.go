package licensing_test

import (
	"context"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// TestEffectLookup reads an effect's record without performing it: none
// before, done after.
func TestEffectLookup(t *testing.T) {
	ctx := context.Background()
	fx, _, _ := effectsAt(time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC))
	if _, found, err := fx.Lookup(ctx, "mail:x"); err != nil || found {
		t.Fatalf("before: found %v, %v", found, err)
	}
	if _, err := fx.Once(ctx, "mail:x", nil, func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	rec, found, err := fx.Lookup(ctx, "mail:x")
	if err != nil || !found || rec.State != licensing.EffectDone {
		t.Errorf("after: %+v found %v, %v", rec, found, err)
	}
}
