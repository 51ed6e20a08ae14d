package handlers

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// TestLicenseReportCSVShapes: format=csv answers the assignments shape
// unless shape=users asks for one row per user; a shape that is not one of
// them, or a shape with another format, is refused with 422 naming the
// shapes.
func TestLicenseReportCSVShapes(t *testing.T) {
	srv, store := intakeServer(t, 0)
	const e3, visio = "6fd2c87f-b296-42f0-b197-1e91e994b900", "c5928f49-12ba-48f7-ada3-0d743a3601d5"
	publishUsers(t, store,
		[]licensing.TenantSku{{SkuID: visio, PartNumber: "VISIOCLIENT", Enabled: 10, Consumed: 1}, {SkuID: e3, PartNumber: "ENTERPRISEPACK", Enabled: 10, Consumed: 1}},
		[]licensing.SnapshotUser{{ID: "0c6a1b2e-7a53-4b2d-9a36-1f0e2d3c4b5a", UserPrincipalName: "pat@doa.example.gov", DisplayName: "Pat", Department: "Finance",
			UsageLocation: "US", AccountEnabled: true, Licenses: []licensing.UserLicense{{SkuID: visio, Direct: true}, {SkuID: e3, Direct: true}},
			Attribution: licensing.Attribution{Agency: "DOA"}}},
		[]licensing.Usage{{Agency: "DOA", SkuID: visio, Users: 1, Direct: 1}, {Agency: "DOA", SkuID: e3, Users: 1, Direct: 1}})

	read := func(t *testing.T, r hostReply) [][]string {
		t.Helper()
		if r.hostStatus != 200 || r.status != 200 || r.headers["Content-Type"] != "text/csv; charset=utf-8" {
			t.Fatalf("status %d/%d %v: %s", r.hostStatus, r.status, r.headers, r.body)
		}
		recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(r.body, "\ufeff"))).ReadAll()
		if err != nil {
			t.Fatalf("%v\n%s", err, r.body)
		}
		return recs
	}
	for _, q := range []map[string]string{{"format": "csv"}, {"format": "csv", "shape": "assignments"}} {
		if recs := read(t, getReport(t, srv, q, "pat@doa.example.gov")); len(recs) != 3 || recs[0][0] != "Agency" {
			t.Errorf("%v: want the header and a row per license, got %q", q, recs)
		}
	}
	r := getReport(t, srv, map[string]string{"format": "csv", "shape": " Users ", "agency": "DOA"}, "pat@doa.example.gov")
	recs := read(t, r)
	if len(recs) != 2 {
		t.Fatalf("shape=users: want the header and one row, got %q", recs)
	}
	row := map[string]string{}
	for i, name := range recs[0] {
		row[name] = recs[1][i]
	}
	licenses := strings.Split(row["Licenses"], "+")
	if row["Object Id"] != "0c6a1b2e-7a53-4b2d-9a36-1f0e2d3c4b5a" || row["User principal name"] != "pat@doa.example.gov" || len(licenses) != 2 ||
		row["Block credential"] != "False" || row["Department"] != "Finance" || row["Usage location"] != "US" || row["Agency"] != "DOA" {
		t.Errorf("shape=users row = %v", row)
	}
	if cd := r.headers["Content-Disposition"]; !strings.Contains(cd, `filename="licenses-doa-users-`) {
		t.Errorf("Content-Disposition = %q", cd)
	}
	if r := getReport(t, srv, map[string]string{"format": "csv", "shape": "users", "agency": "DET"}, "pat@doa.example.gov"); r.status != 403 {
		t.Errorf("a DOA delegate asking for DET's users: %d %s", r.status, r.body)
	}

	for _, q := range []map[string]string{{"format": "csv", "shape": "user"}, {"format": "csv", "shape": "=1+1"}, {"shape": "users"}, {"format": "xlsx", "shape": "users"}} {
		r := getReport(t, srv, q, admin)
		var body struct {
			Error struct {
				Fields []struct{ Field, Message string } `json:"fields"`
			} `json:"error"`
		}
		json.Unmarshal([]byte(r.body), &body)
		fields := body.Error.Fields
		if r.hostStatus != 200 || r.status != 422 || len(fields) != 1 || fields[0].Field != "shape" {
			t.Errorf("%v: %d/%d %s, want 422 on field shape", q, r.hostStatus, r.status, r.body)
			continue
		}
		if q["format"] == "csv" && (!strings.Contains(fields[0].Message, "users") || !strings.Contains(fields[0].Message, "assignments")) {
			t.Errorf("%v: the message does not list the shapes: %s", q, r.body)
		}
	}
}
