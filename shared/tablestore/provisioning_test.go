package tablestore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/devkit/azuritetest"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// The stored format of capped group provisioning, row by row, read and
// written by the tests of stored_test.go.

const visio = "c5928f49-12ba-48f7-ada3-0d743a3601d5"

var (
	waitingMember = licensing.SeatMember{Agency: "DOA", SkuID: visio, UserID: "u-1", UserPrincipalName: "pat@doa.example.gov",
		FirstSeen: storedAt, State: licensing.SeatFailed, Since: at(time.Hour), Error: licensing.ReasonUsageLocation, Disabled: true}
	plainMember = licensing.SeatMember{Agency: "DOA", SkuID: visio, UserID: "u-2", FirstSeen: at(time.Minute), State: licensing.SeatAssigned}

	seatRows = []storedRow{
		{props: map[string]any{"PartitionKey": "DOA|" + visio, "RowKey": "u-1", "UPN": "pat@doa.example.gov", "State": "failed",
			"Error": "UsageLocationMissing", "Disabled": true, "FirstSeen": "2026-11-23T06:30:00.1234567Z", "FirstSeen@odata.type": "Edm.DateTime",
			"Since": "2026-11-23T07:30:00.1234567Z", "Since@odata.type": "Edm.DateTime"}, payload: true},
		{props: map[string]any{"PartitionKey": "DOA|" + visio, "RowKey": "u-2", "UPN": "", "State": "assigned", "Error": "", "Disabled": false,
			"FirstSeen": "2026-11-23T06:31:00.1234567Z", "FirstSeen@odata.type": "Edm.DateTime"}, payload: true},
	}

	storedGrant = licensing.LicenseGrant{UserID: "u-1", SkuID: visio, UserPrincipalName: "pat@doa.example.gov", Agency: "DOA",
		GroupID: "6f1d2c3b-4a59-4e7f-8a1b-2c3d4e5f6a7b", State: licensing.GrantAssigned, Gen: 2, Since: storedAt, Run: "run-1", Detail: "it's ok"}
	grantRows = []storedRow{
		{props: map[string]any{"PartitionKey": visio, "RowKey": "u-1", "UPN": "pat@doa.example.gov", "Agency": "DOA",
			"GroupID": "6f1d2c3b-4a59-4e7f-8a1b-2c3d4e5f6a7b", "State": "assigned", "Gen": 2, "Run": "run-1", "Detail": "it's ok",
			"Since": "2026-11-23T06:30:00.1234567Z", "Since@odata.type": "Edm.DateTime"}, payload: true},
	}

	storedNotice = licensing.ProvisioningNotice{Agency: "DOA", Kind: "waitlist", Seq: 3, Digest: "sha256:abc", Sent: storedAt}
	noticeRows   = []storedRow{
		{props: map[string]any{"PartitionKey": "DOA", "RowKey": "waitlist", "Seq": 3, "Digest": "sha256:abc",
			"Sent": "2026-11-23T06:30:00.1234567Z", "Sent@odata.type": "Edm.DateTime"}, payload: true},
	}
)

// grantsNoETag clears the ETags the service gave: they are not stored data
// (the conformance suite checks them).
func grantsNoETag(list []licensing.LicenseGrant, err error) (any, error) {
	for i := range list {
		list[i].ETag = ""
	}
	return list, err
}

// noticeNoETag clears the ETag the service gave.
func noticeNoETag(n licensing.ProvisioningNotice, err error) (any, error) {
	n.ETag = ""
	return n, err
}

// BenchmarkSaveSeatMembers saves a group of 10,000 members: the first
// iteration creates the rows, the later ones replace them.
func BenchmarkSaveSeatMembers(b *testing.B) {
	const n = 10_000
	ctx := context.Background()
	s := New(azuritetest.TableService(b), Options{TablePrefix: azuritetest.Name(b, "bench")})
	if err := s.Init(ctx); err != nil {
		b.Fatal(err)
	}
	put := make([]licensing.SeatMember, n)
	for i := range put {
		put[i] = licensing.SeatMember{UserID: fmt.Sprintf("%08x-0000-4000-8000-000000000000", i), UserPrincipalName: fmt.Sprintf("user.%d@doa.example.gov", i),
			FirstSeen: storedAt.Add(time.Duration(i) * time.Second), State: licensing.SeatAssigned}
	}
	for b.Loop() {
		if err := s.SaveSeatMembers(ctx, "DOA", visio, put, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/member")
	got, err := s.SeatMembers(ctx, "DOA", visio)
	if err != nil || len(got) != n {
		b.Fatalf("SeatMembers after the benchmark: %d members, %v; want %d", len(got), err, n)
	}
}
