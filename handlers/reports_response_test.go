package handlers

import (
	"encoding/json"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// TestLicenseReportJSON sends GET /api/reports/licenses as the host does
// and decodes the answer: every key is camelCase (skuId, inUse, ...),
// licensedUsers counts users rather than assignments, and an admin's
// tenant-wide report shows the unattributed and conflicting users, marked,
// which a delegate's does not.
func TestLicenseReportJSON(t *testing.T) {
	const visio, e3 = "c5928f49-12ba-48f7-ada3-0d743a3601d5", "6fd2c87f-b296-42f0-b197-1e91e994b900"
	srv, store := intakeServer(t, 0)
	user := func(id, agency string, skus ...string) licensing.SnapshotUser {
		u := licensing.SnapshotUser{ID: id, UserPrincipalName: id + "@example.gov", AccountEnabled: true, Attribution: licensing.Attribution{Agency: agency}}
		for _, s := range skus {
			u.Licenses = append(u.Licenses, licensing.UserLicense{SkuID: s, Direct: true})
		}
		return u
	}
	publishUsers(t, store,
		[]licensing.TenantSku{{SkuID: visio, PartNumber: "VISIOCLIENT", Enabled: 10, Consumed: 3}, {SkuID: e3, PartNumber: "ENTERPRISEPACK", Enabled: 5, Consumed: 2}},
		[]licensing.SnapshotUser{user("u1", "DOA", visio, e3), user("u2", "DOA", visio), user("u3", licensing.Unattributed, e3), user("u4", licensing.Conflicted, visio)},
		[]licensing.Usage{{Agency: "DOA", SkuID: visio, Users: 2, Direct: 2}, {Agency: "DOA", SkuID: e3, Users: 1, Direct: 1},
			{Agency: licensing.Unattributed, SkuID: e3, Users: 1, Direct: 1}, {Agency: licensing.Conflicted, SkuID: visio, Users: 1, Direct: 1}})

	type product struct {
		SkuID         string `json:"skuId"`
		SkuPartNumber string `json:"skuPartNumber"`
		Product       string `json:"product"`
		InUse         int    `json:"inUse"`
		Status        string `json:"status"`
	}
	type entry struct {
		Agency        string    `json:"agency"`
		LicensedUsers int       `json:"licensedUsers"`
		Bucket        string    `json:"bucket"`
		Products      []product `json:"products"`
	}
	decode := func(caller string) ([]entry, map[string]bool) {
		t.Helper()
		r := getReport(t, srv, map[string]string{"format": "json"}, caller)
		if r.hostStatus != 200 || r.status != 200 {
			t.Fatalf("status %d/%d: %s", r.hostStatus, r.status, r.body)
		}
		var rep struct {
			Agencies []entry `json:"agencies"`
		}
		if err := json.Unmarshal([]byte(r.body), &rep); err != nil {
			t.Fatal(err)
		}
		for _, a := range rep.Agencies {
			sort.Slice(a.Products, func(i, j int) bool { return a.Products[i].SkuPartNumber < a.Products[j].SkuPartNumber })
		}
		return rep.Agencies, jsonKeys(t, r.body)
	}

	got, keys := decode(admin)
	want := []entry{
		{Agency: "DOA", LicensedUsers: 2, Products: []product{
			{SkuID: e3, SkuPartNumber: "ENTERPRISEPACK", Product: "Office 365 E3", InUse: 1, Status: "Over"},
			{SkuID: visio, SkuPartNumber: "VISIOCLIENT", Product: "Visio Plan 2", InUse: 2, Status: "Over"}}},
		{Agency: licensing.Unattributed, LicensedUsers: 1, Bucket: "unattributed", Products: []product{
			{SkuID: e3, SkuPartNumber: "ENTERPRISEPACK", Product: "Office 365 E3", InUse: 1, Status: "Over"}}},
		{Agency: licensing.Conflicted, LicensedUsers: 1, Bucket: "conflict", Products: []product{
			{SkuID: visio, SkuPartNumber: "VISIOCLIENT", Product: "Visio Plan 2", InUse: 1, Status: "Over"}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("admin's report (-want +got):\n%s", diff)
	}
	for k := range keys {
		if k == "" || k[0] < 'a' || k[0] > 'z' {
			t.Errorf("key %q is not camelCase", k)
		}
	}
	for _, k := range []string{"skuId", "skuPartNumber", "product", "inUse", "available", "prepaid", "difference", "bucket", "note"} {
		if !keys[k] {
			t.Errorf("the admin's report has no key %q", k)
		}
	}

	got, _ = decode("pat@doa.example.gov")
	if len(got) != 1 || got[0].Agency != "DOA" || got[0].LicensedUsers != 2 || got[0].Bucket != "" {
		t.Errorf("delegate's report = %+v, want DOA alone with 2 users", got)
	}
}
