package handlers

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// snapshotFiles stores snapshots and their user files.
type snapshotFiles interface {
	licensing.SnapshotStore
	licensing.FileStore
}

// publishSnapshot stores a snapshot with one DOA user holding Visio.
func publishSnapshot(t *testing.T, srv *Server, store snapshotFiles) {
	t.Helper()
	publishUsers(t, store, []licensing.TenantSku{{SkuID: "c5928f49-12ba-48f7-ada3-0d743a3601d5", PartNumber: "VISIOCLIENT", Enabled: 10, Consumed: 1}},
		[]licensing.SnapshotUser{{ID: "u1", UserPrincipalName: "=evil@doa.example.gov", DisplayName: "Pat", AccountEnabled: true,
			Licenses: []licensing.UserLicense{{SkuID: "c5928f49-12ba-48f7-ada3-0d743a3601d5", Direct: true}}, Attribution: licensing.Attribution{Agency: "DOA"}}},
		[]licensing.Usage{{Agency: "DOA", SkuID: "c5928f49-12ba-48f7-ada3-0d743a3601d5", Users: 1, Direct: 1}})
}

// publishUsers stores snapshot s1 of the tenant's SKUs, users and usage.
func publishUsers(t *testing.T, store snapshotFiles, tenant []licensing.TenantSku, users []licensing.SnapshotUser, usage []licensing.Usage) {
	t.Helper()
	ctx := context.Background()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	enc := json.NewEncoder(zw)
	for _, u := range users {
		enc.Encode(u)
	}
	zw.Close()
	w, _ := store.Create(ctx, "snapshots/s1/users.jsonl.gz", "")
	w.Write(buf.Bytes())
	w.Close()
	snap := licensing.Snapshot{ID: "s1", Taken: time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC), UsersFile: "snapshots/s1/users.jsonl.gz", Tenant: tenant}
	if err := store.PublishSnapshot(ctx, snap, usage); err != nil {
		t.Fatal(err)
	}
}

func getReport(t *testing.T, srv *Server, query map[string]string, caller string) hostReply {
	t.Helper()
	return getFrom(t, srv, "LicenseReports", "reports/licenses", nil, query, caller)
}

func TestLicenseReports(t *testing.T) {
	srv, store := intakeServer(t, 0)
	if r := getReport(t, srv, map[string]string{}, admin); r.status != 404 || !strings.Contains(r.body, "snapshot") {
		t.Errorf("no snapshot yet: %d %s", r.status, r.body)
	}
	publishSnapshot(t, srv, store)
	tests := []struct {
		name   string
		query  map[string]string
		caller string
		status int
		check  func(t *testing.T, r hostReply)
	}{
		{"json for all", map[string]string{}, admin, 200, func(t *testing.T, r hostReply) {
			var rep licenseReportResponse
			json.Unmarshal([]byte(r.body), &rep)
			// DOA, then the unattributed and conflicting users (none).
			if len(rep.Agencies) != 3 || rep.Agencies[0].Products[0].InUse != 1 || len(rep.Tenant) != 1 {
				t.Errorf("report = %s", r.body)
			}
		}},
		{"delegate, own agency", map[string]string{"agency": "doa", "format": "json"}, "pat@doa.example.gov", 200, nil},
		{"delegate, all means own", map[string]string{}, "pat@doa.example.gov", 200, nil},
		{"delegate, other agency", map[string]string{"agency": "DET"}, "pat@doa.example.gov", 403, nil},
		{"stranger", map[string]string{}, "x@y.example.gov", 403, nil},
		{"unknown format", map[string]string{"format": "pdf"}, admin, 422, nil},
		{"csv is safe", map[string]string{"format": "csv", "agency": "DOA"}, admin, 200, func(t *testing.T, r hostReply) {
			if !strings.Contains(r.body, "'=evil@doa.example.gov") || r.headers["Content-Type"] != "text/csv; charset=utf-8" ||
				!strings.HasPrefix(r.headers["Content-Disposition"], "attachment;") {
				t.Errorf("csv: %v\n%s", r.headers, r.body)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := getReport(t, srv, tt.query, tt.caller)
			if r.hostStatus != 200 || r.status != tt.status {
				t.Fatalf("status %d/%d, want %d: %s", r.hostStatus, r.status, tt.status, r.body)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}
