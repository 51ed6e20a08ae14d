package usage_test

import (
	"context"
	"encoding/csv"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// readCSV parses a CSV the report wrote (BOM first) into its header and
// rows keyed by column name.
func readCSV(t *testing.T, text string) ([]string, []map[string]string) {
	t.Helper()
	if !strings.HasPrefix(text, "\ufeff") {
		t.Fatalf("the CSV does not start with a BOM: %q", text[:min(len(text), 20)])
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(text, "\ufeff"))).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("read CSV: %v\n%s", err, text)
	}
	var rows []map[string]string
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, name := range recs[0] {
			row[name] = rec[i]
		}
		rows = append(rows, row)
	}
	return recs[0], rows
}

// csvOf writes the ad-hoc CSV of shape for caller and agency.
func csvOf(f *fixture, shape string, caller *licensing.Principal, agency string) (string, error) {
	var b strings.Builder
	ctx := context.Background()
	var err error
	if shape == usage.ShapeUsers {
		err = usage.WriteUserCSV(&b, func(fn func(usage.UserRow) error) error { return f.svc.LicenseUsers(ctx, caller, agency, fn) })
	} else {
		err = usage.WriteLicenseCSV(&b, func(fn func(usage.LicenseRow) error) error { return f.svc.LicenseRows(ctx, caller, agency, fn) })
	}
	return b.String(), err
}

// TestUsersCSVHasOneRowPerUser: the users shape lists each licensed user
// once, their licenses joined by "+" as the assignments shape lists them
// one per row, with the admin center's columns (Object Id, When created,
// Block credential, ...), formula-safe; the agency filter and a delegate's
// access are those of the assignments shape.
func TestUsersCSVHasOneRowPerUser(t *testing.T) {
	f, _ := payrollFixture(t)
	created := time.Date(2024, 3, 18, 19, 49, 35, 0, time.UTC)
	a := f.dir.Users["u01"]
	a.DisplayName, a.CreatedDateTime, a.UsageLocation, a.OfficeLocation = "=Ann Lee", created, "US", "18/2111"
	f.dir.Users["u01"] = a
	if _, err := f.svc.PayrollReport(context.Background(), licensing.NewDate(2026, 11, 23), usage.PayrollOptions{}, nil); err != nil {
		t.Fatal(err)
	}

	text, err := csvOf(f, usage.ShapeUsers, admin, "")
	if err != nil {
		t.Fatal(err)
	}
	header, users := readCSV(t, text)
	for _, col := range []string{"Display name", "User principal name", "Licenses", "Object Id", "Department", "Usage location", "Block credential", "When created", "Agency"} {
		if !slices.Contains(header, col) {
			t.Errorf("the users shape has no %q column: %q", col, header)
		}
	}
	byUPN := map[string]map[string]string{}
	for _, u := range users {
		if byUPN[u["User principal name"]] != nil {
			t.Errorf("%s appears twice in the users shape", u["User principal name"])
		}
		byUPN[u["User principal name"]] = u
	}

	// The assignments shape has a row per license: group them per user.
	text, err = csvOf(f, usage.ShapeAssignments, admin, "")
	if err != nil {
		t.Fatal(err)
	}
	_, assignments := readCSV(t, text)
	licenses := map[string][]string{}
	for _, r := range assignments {
		licenses[r["User principal name"]] = append(licenses[r["User principal name"]], r["License"])
	}
	if len(assignments) != 7 || len(users) != 6 || len(byUPN) != len(licenses) {
		t.Errorf("%d assignment rows of %d users, %d user rows; want 7 of 6, and one row per user", len(assignments), len(licenses), len(users))
	}
	for upn, names := range licenses {
		slices.Sort(names)
		if got := byUPN[upn]["Licenses"]; got != strings.Join(names, "+") {
			t.Errorf("%s Licenses = %q, want %q", upn, got, strings.Join(names, "+"))
		}
	}
	if n := len(strings.Split(byUPN["a@doa.example.gov"]["Licenses"], "+")); n != 2 {
		t.Errorf("a@doa holds E3 and Visio, Licenses = %q", byUPN["a@doa.example.gov"]["Licenses"])
	}

	wantA := map[string]string{"Display name": "'=Ann Lee", "User principal name": "a@doa.example.gov", "Object Id": "u01",
		"When created": "2024-03-18 19:49:35Z", "Department": "Administration", "Office": "18/2111", "Usage location": "US",
		"Block credential": "False", "Licenses": byUPN["a@doa.example.gov"]["Licenses"], "Agency": "DOA", "Last sign-in": "2026-11-01",
		"Reclaim candidate": ""}
	if diff := cmp.Diff(wantA, byUPN["a@doa.example.gov"]); diff != "" {
		t.Errorf("a@doa's row (-want +got):\n%s", diff)
	}
	if b := byUPN["b@doa.example.gov"]; b["Block credential"] != "True" || b["Object Id"] != "u02" || b["When created"] != "" {
		t.Errorf("b@doa (disabled, no creation time) = %v", b)
	}
	if byUPN["d@nowhere.example.gov"]["Agency"] != licensing.Unattributed || byUPN["e@det.example.gov"]["Agency"] != licensing.Conflicted {
		t.Errorf("the tenant-wide users shape must keep the buckets: %v", byUPN)
	}

	delegate := &licensing.Principal{Name: fakes.Delegate}
	for _, c := range []struct {
		caller *licensing.Principal
		agency string
	}{{admin, "DOA"}, {delegate, ""}, {delegate, "doa"}} {
		for _, shape := range usage.CSVShapes {
			text, err := csvOf(f, shape, c.caller, c.agency)
			if err != nil {
				t.Fatal(err)
			}
			_, rows := readCSV(t, text)
			var upns []string
			for _, r := range rows {
				if r["Agency"] != "DOA" {
					t.Errorf("%s asking for %q, %s shape: a row of %s", c.caller.Name, c.agency, shape, r["Agency"])
				}
				upns = append(upns, r["User principal name"])
			}
			slices.Sort(upns)
			upns = slices.Compact(upns)
			if !slices.Equal(upns, []string{"a@doa.example.gov", "b@doa.example.gov"}) {
				t.Errorf("%s asking for %q, %s shape: users %v, want DOA's a and b", c.caller.Name, c.agency, shape, upns)
			}
		}
	}
	if _, err := csvOf(f, usage.ShapeUsers, delegate, "DET"); licensing.ErrorCode(err) != licensing.Forbidden {
		t.Errorf("a DOA delegate asking for DET's users: %v, want forbidden", err)
	}
}
