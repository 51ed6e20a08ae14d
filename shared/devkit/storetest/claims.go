package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// agencyCase is one agency conformance test.
type agencyCase = storeCase[licensing.AgencyStore]

// ruled returns Agency(id, n) attributing by attribute with values.
func ruled(id string, n int, attribute string, values ...string) licensing.Agency {
	a := Agency(id, n)
	a.Attribution = licensing.AttributionRule{Attribute: attribute, Values: values}
	return a
}

// byGroup returns Agency(id, n) attributing by the members of group.
func byGroup(id string, n int, group string) licensing.Agency {
	a := Agency(id, n)
	a.Attribution = licensing.AttributionRule{Attribute: licensing.AttrGroup, GroupID: group}
	return a
}

// wantTaken checks that err is the Conflict refusing field because agency
// holder holds the value, naming holder in its message and field.
func wantTaken(t *testing.T, what string, err error, field, holder string) {
	t.Helper()
	wantCode(t, what, err, licensing.Conflict)
	if msg := licensing.ErrorMessage(err); !strings.Contains(msg, "agency "+holder) {
		t.Errorf("%s: message %q does not name agency %s", what, msg, holder)
	}
	fields := licensing.ErrorFields(err)
	if len(fields) != 1 || fields[0].Field != field || !strings.Contains(fields[0].Message, holder) {
		t.Errorf("%s: fields %+v, want one for %s naming %s", what, fields, field, holder)
	}
}

// claimCases check that each attribution value belongs to one agency at
// most (see licensing.AttributionClaim): whatever the timing of the
// writes, a value another agency holds is refused, naming that agency, and
// the refused write leaves nothing behind.
func claimCases() []agencyCase {
	const group = "6f1d2c3b-4a59-4e7f-8a1b-2c3d4e5f6a7b"
	return []agencyCase{
		{"a value another agency claims is a conflict and writes nothing", func(t *testing.T, ctx context.Context, s licensing.AgencyStore) {
			put(t, ctx, s, ruled("DOA", 1, licensing.AttrDepartment, "Administration", "Dept DOA"), licensing.Precondition{})
			_, _, err := s.PutAgency(ctx, ruled("DET", 1, licensing.AttrDepartment, "Finance", "  ADMINISTRATION "), licensing.Precondition{})
			wantTaken(t, "PutAgency(DET) claiming DOA's value", err, "attribution.values[1]", "DOA")
			_, err = s.GetAgency(ctx, "DET")
			wantCode(t, "GetAgency(DET) after the refused create", err, licensing.NotFound)
			// Finance was not kept by the refused write.
			put(t, ctx, s, ruled("DOB", 1, licensing.AttrDepartment, "Finance"), licensing.Precondition{})
		}},
		{"a group another agency claims is a conflict", func(t *testing.T, ctx context.Context, s licensing.AgencyStore) {
			put(t, ctx, s, byGroup("DOA", 1, group), licensing.Precondition{})
			_, _, err := s.PutAgency(ctx, byGroup("DET", 1, strings.ToUpper(group)), licensing.Precondition{IfNoneMatch: true})
			wantTaken(t, "PutAgency(DET) by DOA's group", err, "attribution.groupId", "DOA")
		}},
		{"the same value under another attribute is no conflict", func(t *testing.T, ctx context.Context, s licensing.AgencyStore) {
			put(t, ctx, s, ruled("DOA", 1, licensing.AttrDepartment, "Administration"), licensing.Precondition{})
			put(t, ctx, s, ruled("DET", 1, licensing.AttrCompanyName, "Administration"), licensing.Precondition{})
		}},
		{"saving an agency again keeps its values", func(t *testing.T, ctx context.Context, s licensing.AgencyStore) {
			first, _ := put(t, ctx, s, ruled("DOA", 1, licensing.AttrDepartment, "Administration"), licensing.Precondition{})
			put(t, ctx, s, ruled("DOA", 2, licensing.AttrDepartment, "Administration"), licensing.Precondition{IfMatch: first.ETag})
			put(t, ctx, s, ruled("DOA", 3, licensing.AttrDepartment, "administration", "Dept DOA"), licensing.Precondition{})
			_, _, err := s.PutAgency(ctx, ruled("DET", 1, licensing.AttrDepartment, "Dept DOA"), licensing.Precondition{})
			wantTaken(t, "PutAgency(DET) after DOA was saved again", err, "attribution.values[0]", "DOA")
		}},
		{"a changed rule releases the values it drops and takes the new ones", func(t *testing.T, ctx context.Context, s licensing.AgencyStore) {
			put(t, ctx, s, ruled("DOA", 1, licensing.AttrDepartment, "A", "B"), licensing.Precondition{})
			put(t, ctx, s, ruled("DOA", 2, licensing.AttrDepartment, "B", "C"), licensing.Precondition{})
			put(t, ctx, s, ruled("DET", 1, licensing.AttrDepartment, "A"), licensing.Precondition{})
			_, _, err := s.PutAgency(ctx, ruled("DOB", 1, licensing.AttrDepartment, "C"), licensing.Precondition{})
			wantTaken(t, "PutAgency(DOB) claiming DOA's new value", err, "attribution.values[0]", "DOA")
			// A change of attribute releases every value of the old one.
			put(t, ctx, s, byGroup("DOA", 3, group), licensing.Precondition{})
			put(t, ctx, s, ruled("DOB", 1, licensing.AttrDepartment, "B", "C"), licensing.Precondition{})
		}},
		{"a refused replace keeps the agency's values and takes no new ones", func(t *testing.T, ctx context.Context, s licensing.AgencyStore) {
			first, _ := put(t, ctx, s, ruled("DOA", 1, licensing.AttrDepartment, "A"), licensing.Precondition{})
			put(t, ctx, s, ruled("DET", 1, licensing.AttrDepartment, "B"), licensing.Precondition{})
			_, _, err := s.PutAgency(ctx, ruled("DOA", 2, licensing.AttrDepartment, "C", "B"), licensing.Precondition{})
			wantTaken(t, "PutAgency(DOA) claiming DET's value", err, "attribution.values[1]", "DET")
			unchanged(t, ctx, s, first)
			second, _ := put(t, ctx, s, ruled("DOA", 3, licensing.AttrDepartment, "A"), licensing.Precondition{})
			_, _, err = s.PutAgency(ctx, ruled("DOA", 4, licensing.AttrDepartment, "D"), licensing.Precondition{IfMatch: first.ETag})
			wantCode(t, "PutAgency(DOA) with an old ETag", err, licensing.Stale)
			unchanged(t, ctx, s, second)
			_, _, err = s.PutAgency(ctx, ruled("DOB", 1, licensing.AttrDepartment, "A"), licensing.Precondition{})
			wantTaken(t, "PutAgency(DOB) claiming DOA's kept value", err, "attribution.values[0]", "DOA")
			// Neither C nor D stayed claimed.
			put(t, ctx, s, ruled("DOB", 1, licensing.AttrDepartment, "C", "D"), licensing.Precondition{})
		}},
		{"a claimed value and an old ETag: the conflict is reported", func(t *testing.T, ctx context.Context, s licensing.AgencyStore) {
			first, _ := put(t, ctx, s, ruled("DOA", 1, licensing.AttrDepartment, "A"), licensing.Precondition{})
			put(t, ctx, s, ruled("DOA", 2, licensing.AttrDepartment, "A"), licensing.Precondition{})
			put(t, ctx, s, ruled("DET", 1, licensing.AttrDepartment, "B"), licensing.Precondition{})
			_, _, err := s.PutAgency(ctx, ruled("DOA", 3, licensing.AttrDepartment, "B"), licensing.Precondition{IfMatch: first.ETag})
			wantTaken(t, "PutAgency(DOA) with an old ETag, claiming DET's value", err, "attribution.values[0]", "DET")
		}},
		{"writes of one agency at once: its stored values stay claimed", func(t *testing.T, ctx context.Context, s licensing.AgencyStore) {
			const writers = 8
			var wg sync.WaitGroup
			for i := range writers {
				a := ruled("RACE", i, licensing.AttrDepartment, fmt.Sprintf("V%d", i), "Shared")
				wg.Go(func() { s.PutAgency(ctx, a, licensing.Precondition{}) })
			}
			wg.Wait()
			stored := get(t, ctx, s, "RACE")
			for i, v := range stored.Attribution.Values {
				_, _, err := s.PutAgency(ctx, ruled("OTHER", 1, licensing.AttrDepartment, v), licensing.Precondition{})
				wantTaken(t, "PutAgency(OTHER) claiming RACE's stored "+v, err, "attribution.values[0]", "RACE")
				if i == 0 && !strings.HasPrefix(v, "V") {
					t.Errorf("stored values %v are not one writer's", stored.Attribution.Values)
				}
			}
			// Saved again when nothing else runs, RACE holds its values only.
			put(t, ctx, s, stored, licensing.Precondition{})
			for i := range writers {
				if v := fmt.Sprintf("V%d", i); v != stored.Attribution.Values[0] {
					put(t, ctx, s, ruled(fmt.Sprintf("X%d", i), 1, licensing.AttrDepartment, v), licensing.Precondition{})
				}
			}
		}},
		{"ten agencies claiming one value at once: one gets it", func(t *testing.T, ctx context.Context, s licensing.AgencyStore) {
			const writers = 10
			errs := make([]error, writers)
			var wg sync.WaitGroup
			for i := range writers {
				a := ruled(fmt.Sprintf("A%02d", i), 1, licensing.AttrDepartment, fmt.Sprintf("Own A%02d", i), "Administration")
				wg.Go(func() { _, _, errs[i] = s.PutAgency(ctx, a, licensing.Precondition{}) })
			}
			wg.Wait()
			list, err := s.ListAgencies(ctx)
			if err != nil {
				t.Fatalf("ListAgencies: %v", err)
			}
			if len(list) != 1 {
				t.Fatalf("%d agencies were created, want 1 (errors %v)", len(list), errs)
			}
			winner := list[0].ID
			for i, err := range errs {
				id := fmt.Sprintf("A%02d", i)
				if id == winner {
					if err != nil {
						t.Errorf("PutAgency(%s) was stored and failed: %v", id, err)
					}
					continue
				}
				wantTaken(t, "PutAgency("+id+")", err, "attribution.values[1]", winner)
				// The loser's own value was not kept.
				put(t, ctx, s, ruled("X"+id, 1, licensing.AttrDepartment, "Own "+id), licensing.Precondition{})
			}
		}},
	}
}
