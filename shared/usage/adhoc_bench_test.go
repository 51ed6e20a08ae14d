package usage_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// BenchmarkLicenseReportJSON measures an admin's tenant-wide ad-hoc report
// (format=json) over a snapshot of ADHOC_BENCH_USERS users (default 100000)
// in 200 agencies: the report counts licensed and inactive users in one pass
// over the snapshot's user file.
func BenchmarkLicenseReportJSON(b *testing.B) {
	users, agencies := 100000, 200
	if v, err := strconv.Atoi(os.Getenv("ADHOC_BENCH_USERS")); err == nil && v > 0 {
		users = v
	}
	ctx := context.Background()
	store := memstore.New()
	auth := licensing.NewAuthorizer(store, []string{fakes.Admin}, false)
	agencyAdmin := licensing.NewAgencyAdmin(store, auth, nil)
	for i := range agencies {
		id := fmt.Sprintf("A%03d", i)
		rule := licensing.AttributionRule{Attribute: licensing.AttrDepartment, Values: []string{fmt.Sprintf("Agency %03d", i)}}
		if _, _, err := agencyAdmin.PutAgency(ctx, admin, id, licensing.Agency{ID: id, Name: "Agency " + id, Contacts: []string{"x@a.example.gov"}, Attribution: rule}, licensing.Precondition{}); err != nil {
			b.Fatal(err)
		}
	}
	svc := usage.NewService(usage.Config{Auth: auth, Agencies: store, Snapshots: store, Purchases: store, Files: diskFiles{b.TempDir()},
		Directory: synthDirectory{users: users, agencies: agencies}, Catalog: fakes.BuiltinCatalog{}})
	if _, err := svc.TakeSnapshot(ctx, usage.SnapshotOptions{}, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		rep, err := svc.LicenseReport(ctx, admin, "")
		if err != nil {
			b.Fatal(err)
		}
		if len(rep.Agencies) != agencies+2 || rep.Agencies[0].Users == 0 {
			b.Fatalf("report of %d entries, first %+v", len(rep.Agencies), rep.Agencies[0])
		}
	}
	b.ReportMetric(float64(users), "users")
}
