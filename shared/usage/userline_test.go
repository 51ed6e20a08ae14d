package usage

import (
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

func TestUserLineSignInUnknownIsNotNeverSignedIn(t *testing.T) {
	s := &Service{cfg: Config{Reporting: Reporting{InactiveDays: 90}}}
	cutoff := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	// Created after the sign-in pass the snapshot took its sign-ins from:
	// the pass could not have seen a sign-in.
	late := licensing.SnapshotUser{ID: "late", UserPrincipalName: "late@example.gov", AccountEnabled: true, SignInUnknown: true}
	if got := s.userLine(late, &reportData{}, true, cutoff).Reclaim; got != "" {
		t.Errorf("user created after the sign-in pass flagged %q, want no flag", got)
	}
	never := licensing.SnapshotUser{ID: "never", UserPrincipalName: "never@example.gov", AccountEnabled: true}
	if got := s.userLine(never, &reportData{}, true, cutoff).Reclaim; got != "never signed in" {
		t.Errorf("user the pass saw without a sign-in flagged %q, want never signed in", got)
	}
}
