package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Enrollment returns a valid enterprise enrollment with number, version n
// (in its last reported count and its update time), using every field.
func Enrollment(number string, n int) licensing.Enrollment {
	return licensing.Enrollment{
		Number:      number,
		Anniversary: licensing.NewDate(2027, 3, 1),
		Kind:        licensing.EnrollmentEnterprise,
		PlatformProducts: []licensing.PlatformProduct{
			{Name: "Office Professional Plus", CoveredBy: []string{"Office 365 E3", "Microsoft 365 E3"}},
			{Name: "Core CAL", CoveredBy: []string{"Microsoft 365 E3"}, Bridge: "Core CAL Bridge for Office 365"},
			{Name: "Windows OS Upgrade"},
		},
		LastReported: 12000 + n,
		Reservations: []licensing.ServiceChange{{Service: "Office 365 E3", Quantity: 250, Date: licensing.NewDate(2026, 5, 2)}},
		Transitions: []licensing.ServiceChange{
			{Service: "Microsoft 365 E3", Quantity: 40, Date: licensing.NewDate(2026, 3, 1)},
			{Service: "Microsoft 365 E3", Quantity: 15, Date: licensing.NewDate(2027, 2, 28)},
		},
		Reductions: []licensing.Reduction{{Product: "Windows OS Upgrade", Quantity: 30, Date: licensing.NewDate(2027, 3, 1)}},
		Updated:    base.Add(time.Duration(n) * time.Minute),
		UpdatedBy:  "admin@example.gov",
	}
}

// enrollmentOpts compares enrollments without their ETag (checked on its
// own) and without telling nil from empty lists.
var enrollmentOpts = cmp.Options{cmpopts.IgnoreFields(licensing.Enrollment{}, "ETag"), cmpopts.EquateEmpty()}

// TestEnrollmentStore runs the enrollment conformance tests; newStore
// returns an empty store for each.
func TestEnrollmentStore(t *testing.T, newStore func(t *testing.T) licensing.EnrollmentStore) {
	replacement := Enrollment("EA-1", 2)
	replacement.Reservations, replacement.Kind = nil, licensing.EnrollmentSubscription
	v := versioned[licensing.EnrollmentStore, licensing.Enrollment]{
		what:        "enrollment",
		record:      Enrollment,
		main:        "EA-1",
		keys:        []string{"EA-9", "87654321", "EA-10", "A.1_x", "EA-1"},
		replacement: replacement,
		key:         func(e licensing.Enrollment) string { return e.Number },
		etag:        func(e licensing.Enrollment) string { return e.ETag },
		opts:        enrollmentOpts,
		put:         licensing.EnrollmentStore.PutEnrollment,
		get:         licensing.EnrollmentStore.GetEnrollment,
		list:        licensing.EnrollmentStore.ListEnrollments,
	}
	tests := append(preconditionCases(v), []storeCase[licensing.EnrollmentStore]{
		{"every field round trips", func(t *testing.T, ctx context.Context, s licensing.EnrollmentStore) {
			full := Enrollment("EA-ROUND", 1)
			full.Kind = licensing.EnrollmentSubscription
			full.LastReported = licensing.MaxQualifiedCount
			// Times keep 100 ns, as an Edm.DateTime does.
			full.Updated = time.Date(2026, 11, 23, 6, 30, 0, 123_456_789, time.FixedZone("CST", -6*3600))
			full.UpdatedBy = `o'brien "quoted" <b>&amp;</b> 日本語 🚀 @example.gov`
			full.PlatformProducts[0].Name = `Office "Pro" Plus / O'Brien's #1 ü`
			full.Reservations = append(full.Reservations, licensing.ServiceChange{Service: "Power BI Pro", Quantity: 1, Date: licensing.NewDate(2027, 2, 28)})
			want := full
			want.Updated = time.Date(2026, 11, 23, 12, 30, 0, 123_456_700, time.UTC)

			if err := bigEnrollment().Validate(); err != nil {
				t.Fatalf("the enrollment at the limits is not valid: %v", err)
			}
			minimal := licensing.Enrollment{Number: "EA-MIN", Anniversary: licensing.NewDate(2028, 1, 31), Kind: licensing.EnrollmentEnterprise,
				PlatformProducts: []licensing.PlatformProduct{{Name: "Core CAL"}}}
			for _, tt := range []struct{ in, want licensing.Enrollment }{{full, want}, {minimal, minimal}, {bigEnrollment(), bigEnrollment()}} {
				stored, _ := v.mustPut(t, ctx, s, tt.in, licensing.Precondition{})
				got := v.mustGet(t, ctx, s, tt.in.Number)
				for what, e := range map[string]licensing.Enrollment{"PutEnrollment": stored, "GetEnrollment": got} {
					if diff := cmp.Diff(tt.want, e, enrollmentOpts); diff != "" {
						t.Errorf("%s(%s) (-want +got):\n%s", what, tt.in.Number, diff)
					}
					if e.Updated.Location() != time.UTC {
						t.Errorf("%s(%s) Updated is in %v, want UTC", what, tt.in.Number, e.Updated.Location())
					}
				}
			}
		}},
		{"two creates at once: one is created, the other is stale", func(t *testing.T, ctx context.Context, s licensing.EnrollmentStore) {
			_, errs := writeAtOnce(ctx, s, licensing.Precondition{IfNoneMatch: true})
			winner := -1
			for i, err := range errs {
				switch licensing.ErrorCode(err) {
				case "":
					if winner >= 0 {
						t.Errorf("writers %d and %d both created EA-RACE", winner, i)
					}
					winner = i
				case licensing.Stale:
				default:
					t.Errorf("writer %d: %v, want stale", i, err)
				}
			}
			if winner < 0 {
				t.Fatalf("no writer created EA-RACE: %v", errs)
			}
			if got := v.mustGet(t, ctx, s, "EA-RACE"); got.LastReported != Enrollment("EA-RACE", winner).LastReported {
				t.Errorf("stored EA-RACE is version %d, the winner wrote version %d", got.LastReported-12000, winner)
			}
		}},
		{"writes without precondition at once: each succeeds, one says created", func(t *testing.T, ctx context.Context, s licensing.EnrollmentStore) {
			created, errs := writeAtOnce(ctx, s, licensing.Precondition{})
			n := 0
			for i := range errs {
				// A writer that loses twice in a row may answer Stale;
				// it must never overwrite blindly.
				if errs[i] != nil && licensing.ErrorCode(errs[i]) != licensing.Stale {
					t.Errorf("writer %d: %v", i, errs[i])
				}
				if created[i] {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d writers say they created EA-RACE, want 1", n)
			}
		}},
		{"cancelled context is unavailable", func(t *testing.T, ctx context.Context, s licensing.EnrollmentStore) {
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			_, err := s.GetEnrollment(ctx, "EA-1")
			wantCode(t, "GetEnrollment with a cancelled context", err, licensing.Unavailable)
			_, _, err = s.PutEnrollment(ctx, Enrollment("EA-1", 1), licensing.Precondition{})
			wantCode(t, "PutEnrollment with a cancelled context", err, licensing.Unavailable)
			_, err = s.ListEnrollments(ctx)
			wantCode(t, "ListEnrollments with a cancelled context", err, licensing.Unavailable)
		}},
	}...)
	runCases(t, tests, newStore)
}

// LargestEnrollment is an enrollment at the limits Validate allows: the
// most products, covering services and changes, every name 100 characters
// long, padded with fill repeated (quotes, backslashes and angle brackets
// take the most room once escaped in JSON, characters outside the BMP two
// UTF-16 units each).
func LargestEnrollment(fill string) licensing.Enrollment {
	name := func(prefix string, i int) string {
		s := []rune(fmt.Sprintf("%s %03d ", prefix, i) + strings.Repeat(fill, 100))
		return string(s[:100])
	}
	e := licensing.Enrollment{Number: strings.Repeat("9", 40), Anniversary: licensing.NewDate(2027, 7, 1), Kind: licensing.EnrollmentEnterprise,
		LastReported: licensing.MaxQualifiedCount, UpdatedBy: "admin@example.gov"}
	for i := range 50 {
		p := licensing.PlatformProduct{Name: name("Product", i), Bridge: name("Bridge", i)}
		for j := range 20 {
			p.CoveredBy = append(p.CoveredBy, name("Service", i*20+j))
		}
		e.PlatformProducts = append(e.PlatformProducts, p)
	}
	for i := range 200 {
		c := licensing.ServiceChange{Service: name("Service", i), Quantity: licensing.MaxQuantity, Date: licensing.NewDate(2026, 7, 1).AddDays(i)}
		e.Reservations = append(e.Reservations, c)
		e.Transitions = append(e.Transitions, c)
		e.Reductions = append(e.Reductions, licensing.Reduction{Product: name("Product", i%50), Quantity: licensing.MaxQuantity, Date: e.Anniversary})
	}
	return e
}

// bigEnrollment is LargestEnrollment padded with ASCII: Azurite garbles
// characters of several bytes in request bodies this large, which Table
// Storage does not.
func bigEnrollment() licensing.Enrollment { return LargestEnrollment(`"<>&\`) }

// writeAtOnce has four writers put versions 0 to 3 of EA-RACE under pre at
// the same moment, and returns what each was told.
func writeAtOnce(ctx context.Context, s licensing.EnrollmentStore, pre licensing.Precondition) (created []bool, errs []error) {
	const writers = 4
	created, errs = make([]bool, writers), make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() { _, created[i], errs[i] = s.PutEnrollment(ctx, Enrollment("EA-RACE", i), pre) })
	}
	wg.Wait()
	return created, errs
}
