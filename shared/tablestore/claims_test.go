package tablestore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/shared-tenant/licensetrack/shared/devkit/azuritetest"
	"github.com/shared-tenant/licensetrack/shared/devkit/storetest"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// later returns a store on s's tables whose clock runs ahead by d.
func later(s *Store, d time.Duration) *Store {
	prefix := strings.TrimSuffix(s.names[0], agenciesTable)
	return New(s.svc, Options{TablePrefix: prefix, Now: func() time.Time { return time.Now().Add(d) }})
}

func departmentAgency(id string, n int, values ...string) licensing.Agency {
	a := storetest.Agency(id, n)
	a.Attribution = licensing.AttributionRule{Attribute: licensing.AttrDepartment, Values: values}
	return a
}

// cutShort runs the steps of a write of a up to its claims and stops, as a
// write whose process died (or stalled) before its commit; it returns the
// write's hold on the writer row.
func cutShort(t *testing.T, s *Store, a licensing.Agency) writer {
	t.Helper()
	ctx := context.Background()
	w, err := s.takeWriter(ctx, "test", a.ID)
	if err != nil {
		t.Fatalf("takeWriter(%s): %v", a.ID, err)
	}
	if err := s.claim(ctx, "test", a); err != nil {
		t.Fatalf("claim(%s): %v", a.ID, err)
	}
	return w
}

func putErr(s *Store, a licensing.Agency) error {
	_, _, err := s.PutAgency(context.Background(), a, licensing.Precondition{})
	return err
}

func wantConflict(t *testing.T, what string, err error, holder string, pending bool) {
	t.Helper()
	if licensing.ErrorCode(err) != licensing.Conflict || !strings.Contains(licensing.ErrorMessage(err), "agency "+holder) {
		t.Fatalf("%s: %v, want a conflict naming agency %s", what, err, holder)
	}
	if got := strings.Contains(licensing.ErrorMessage(err), "has not finished"); got != pending {
		t.Errorf("%s: message %q, want it to say the holder's change is unfinished: %v", what, licensing.ErrorMessage(err), pending)
	}
}

// TestClaimOfACutShortCreate: a create that died after claiming holds its
// values for claimGrace, then another agency takes them over, and the dead
// write can no longer commit.
func TestClaimOfACutShortCreate(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	ghost := departmentAgency("GHOST", 1, "Administration")
	w := cutShort(t, s, ghost)

	wantConflict(t, "DOA claiming GHOST's fresh claim", putErr(s, departmentAgency("DOA", 1, "Administration")), "GHOST", true)

	if err := putErr(later(s, claimGrace+time.Minute), departmentAgency("DOA", 1, "Administration")); err != nil {
		t.Fatalf("DOA claiming GHOST's abandoned claim: %v", err)
	}
	// The stalled write of GHOST wakes up: its commit changes nothing.
	err := s.writeAgency(ctx, "test", ghost, nil, w)
	if licensing.ErrorCode(err) != licensing.Stale {
		t.Errorf("GHOST's commit after the takeover: %v, want stale", err)
	}
	if _, err := s.GetAgency(ctx, "GHOST"); licensing.ErrorCode(err) != licensing.NotFound {
		t.Errorf("GetAgency(GHOST) = %v, want not found", err)
	}
	wantConflict(t, "GHOST saved again", putErr(s, ghost), "DOA", false)
}

// TestStoredClaimIsNeverTakenOver: however old, a claim its holder's stored
// rule names stays the holder's.
func TestStoredClaimIsNeverTakenOver(t *testing.T) {
	s := newStore(t)
	if err := putErr(s, departmentAgency("DOA", 1, "Administration")); err != nil {
		t.Fatal(err)
	}
	wantConflict(t, "DET a day later", putErr(later(s, 24*time.Hour), departmentAgency("DET", 1, "administration")), "DOA", false)
}

// TestCutShortChangeIsReleased: a change of DOA's rule that died after
// claiming its new values, or after its commit, leaves claims DOA's stored
// rule does not name; DOA's next write releases them.
func TestCutShortChangeIsReleased(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if err := putErr(s, departmentAgency("DOA", 1, "A")); err != nil {
		t.Fatal(err)
	}
	cutShort(t, s, departmentAgency("DOA", 2, "X", "Y"))
	wantConflict(t, "DET claiming X of DOA's unfinished change", putErr(s, departmentAgency("DET", 1, "X")), "DOA", true)

	// Died after its commit, before releasing A.
	stored, err := s.GetAgency(ctx, "DOA")
	if err != nil {
		t.Fatal(err)
	}
	next := departmentAgency("DOA", 3, "X")
	w := cutShort(t, s, next)
	etag := azcore.ETag(stored.ETag)
	if err := s.writeAgency(ctx, "test", next, &etag, w); err != nil {
		t.Fatalf("commit: %v", err)
	}
	wantConflict(t, "DET claiming A, released by nobody yet", putErr(s, departmentAgency("DET", 1, "A")), "DOA", true)

	// DOA's next write releases A and Y.
	if err := putErr(s, departmentAgency("DOA", 4, "X")); err != nil {
		t.Fatal(err)
	}
	if err := putErr(s, departmentAgency("DET", 1, "A", "Y")); err != nil {
		t.Errorf("DET claiming the values DOA's write released: %v", err)
	}
	wantConflict(t, "DOB claiming X", putErr(s, departmentAgency("DOB", 1, "X")), "DOA", false)
}

// BenchmarkPutAgency saves one agency again and again, alternating between
// two rules of five values that share two: each save claims three values
// and releases three.
func BenchmarkPutAgency(b *testing.B) {
	svc := azuritetest.TableService(b)
	s := New(svc, Options{TablePrefix: azuritetest.Name(b, "bench")})
	if err := s.Init(context.Background()); err != nil {
		b.Fatal(err)
	}
	rules := [][]string{{"A", "B", "C", "D", "E"}, {"A", "B", "F", "G", "H"}}
	for i := 0; b.Loop(); i++ {
		if err := putErr(s, departmentAgency("DOA", i, rules[i%2]...)); err != nil {
			b.Fatal(err)
		}
	}
}
