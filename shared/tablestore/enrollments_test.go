package tablestore

import (
	"context"
	"strings"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/devkit/storetest"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

func TestEnrollmentStoreConformance(t *testing.T) {
	storetest.TestEnrollmentStore(t, func(t *testing.T) licensing.EnrollmentStore { return newStore(t) })
}

// The stored format of enrollments, property by property, which
// stored_test.go reads and writes.
const (
	enrollmentProductsJSON    = `[{"name":"Office Professional Plus","coveredBy":["Office 365 E3","Microsoft 365 E3"]},{"name":"Core CAL","coveredBy":["Microsoft 365 E3"],"bridge":"Core CAL Bridge for Office 365"},{"name":"Windows OS Upgrade"}]`
	enrollmentReservationJSON = `[{"service":"Office 365 E3","quantity":250,"date":"2026-05-02"}]`
	enrollmentTransitionJSON  = `[{"service":"Microsoft 365 E3","quantity":40,"date":"2026-03-01"},{"service":"Microsoft 365 E3","quantity":15,"date":"2027-02-28"}]`
	enrollmentReductionJSON   = `[{"product":"Windows OS Upgrade","quantity":30,"date":"2027-03-01"}]`
)

var (
	fullEnrollment = func() licensing.Enrollment {
		e := storetest.Enrollment("EA-1234567", 0)
		e.Updated = storedAt
		return e
	}()
	minimalEnrollment = licensing.Enrollment{Number: "EA-7", Anniversary: licensing.NewDate(2028, 1, 31), Kind: licensing.EnrollmentSubscription,
		PlatformProducts: []licensing.PlatformProduct{{Name: "Core CAL"}}}

	enrollmentRows = []storedRow{
		{props: map[string]any{"PartitionKey": "enrollments", "RowKey": "EA-1234567", "Anniversary": "2027-03-01", "Kind": "enterprise",
			"LastReported": 12000, "UpdatedBy": "admin@example.gov", "Updated": "2026-11-23T06:30:00.1234567Z", "Updated@odata.type": "Edm.DateTime",
			"PlatformProducts": enrollmentProductsJSON, "Reservations": enrollmentReservationJSON, "Transitions": enrollmentTransitionJSON,
			"Reductions": enrollmentReductionJSON}, payload: true},
		{props: map[string]any{"PartitionKey": "enrollments", "RowKey": "EA-7", "Anniversary": "2028-01-31", "Kind": "subscription",
			"LastReported": 0, "UpdatedBy": "", "PlatformProducts": `[{"name":"Core CAL"}]`, "Reservations": "null", "Transitions": "null",
			"Reductions": "null"}, payload: true},
	}
)

// TestEnrollmentNumbersThatCannotBeKeys refuses, as invalid and before any
// request, numbers Table Storage cannot key.
func TestEnrollmentNumbersThatCannotBeKeys(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for _, n := range []string{"", "EA/1", `EA\1`, "EA#1", "EA?1", "EA\x01"} {
		e := storetest.Enrollment(n, 1)
		if _, _, err := s.PutEnrollment(ctx, e, licensing.Precondition{}); licensing.ErrorCode(err) != licensing.Invalid {
			t.Errorf("PutEnrollment(%q): %v; want invalid", n, err)
		}
		if _, err := s.GetEnrollment(ctx, n); licensing.ErrorCode(err) != licensing.Invalid {
			t.Errorf("GetEnrollment(%q): %v; want invalid", n, err)
		}
	}
}

// TestLargestEnrollmentFitsOneEntity computes, as Table Storage counts it,
// the size of the row of the largest enrollment Validate accepts: it must
// fit the service's 1 MiB per entity, whatever its names hold. Azurite does
// not enforce the limit, so the size is checked here.
func TestLargestEnrollmentFitsOneEntity(t *testing.T) {
	for _, fill := range []string{`<`, `"`, `"<>&\`, "🚀", `<"🚀\`} {
		e := storetest.LargestEnrollment(fill)
		if err := e.Validate(); err != nil {
			t.Fatalf("fill %q: the largest enrollment is not valid: %v", fill, err)
		}
		props := enrollmentEntity(e)
		n := entityBytes(props)
		t.Logf("fill %q: %d KiB in %d properties", fill, n>>10, len(props))
		if n > maxEntityBytes || len(props) > 252 {
			t.Errorf("fill %q: the row takes %d bytes in %d properties; Table Storage holds %d bytes in 252", fill, n, len(props), maxEntityBytes)
		}
	}
}

// TestEnrollmentTooLargeIsRefused writes an enrollment larger than one
// entity holds (the store does not validate): it is refused as invalid,
// saying so, and nothing is written.
func TestEnrollmentTooLargeIsRefused(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	e := storetest.LargestEnrollment("<")
	e.Number = "EA-HUGE"
	for range 3 {
		e.PlatformProducts = append(e.PlatformProducts, e.PlatformProducts...)
	}
	_, _, err := s.PutEnrollment(ctx, e, licensing.Precondition{})
	if licensing.ErrorCode(err) != licensing.Invalid || !strings.Contains(err.Error(), "KiB") {
		t.Errorf("PutEnrollment of %d products: %v; want invalid, saying how large", len(e.PlatformProducts), err)
	}
	if _, err := s.GetEnrollment(ctx, e.Number); licensing.ErrorCode(err) != licensing.NotFound {
		t.Errorf("GetEnrollment after the refusal: %v; want not-found", err)
	}
}
