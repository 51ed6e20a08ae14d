package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/devkit/azuritetest"
	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
)

// TestRunSnapshotCommandSplitsAFullRead runs `handler run snapshot` against
// the fake Graph server and Azurite: the first run reads every user in
// SNAPSHOT_SEGMENTS segments, printing its progress, a later one only the
// changes, and --sign-in a sign-in pass first.
func TestRunSnapshotCommandSplitsAFullRead(t *testing.T) {
	azuritetest.Account(t)
	name := azuritetest.Name(t, "snapcli")
	tenant := graphfake.NewTenant()
	tenant.PutSku(graphfake.Sku{SkuID: fakes.SkuE3, PartNumber: "ENTERPRISEPACK", CapabilityStatus: "Enabled", Enabled: 100})
	for n := range 60 {
		tenant.PutUser(graphfake.User{ID: fmt.Sprintf("0000%04d-bbbb-4ccc-8ddd-%012d", n, n), UserPrincipalName: fmt.Sprintf("%c%d@doa.example.gov", 'a'+n%26, n),
			Department: "Administration", AccountEnabled: true, Created: time.Now().AddDate(-1, 0, 0), Licenses: []graphfake.LicenseState{{SkuID: fakes.SkuE3}}})
	}
	gs := httptest.NewServer(graphfake.NewServer(tenant, slog.New(slog.DiscardHandler)))
	t.Cleanup(gs.Close)
	env := append(os.Environ(), "AzureWebJobsStorage=UseDevelopmentStorage=true", "STORAGE_PREFIX="+name, "WORK_QUEUE="+name+"-work",
		"ACTIVATION_QUEUE="+name+"-steps", "ADMINS="+testAdmin, "MAIL_MODE=outbox", "CENTRAL_IT_EMAIL=licensing@central-it.example.gov",
		"GRAPH_MODE=live", "GRAPH_AUTH=none", "GRAPH_BASE_URL="+gs.URL+"/v1.0", "GRAPH_MAX_RETRY_WAIT=1s", "LOG_LEVEL=error", "SNAPSHOT_SEGMENTS=5")
	snapshot := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := run(append([]string{"run", "snapshot"}, args...), envLookup(env), &out, &errOut); code != 0 {
			t.Fatalf("handler run snapshot %v: exit %d\n%s\n%s", args, code, out.String(), errOut.String())
		}
		return out.String()
	}
	first := snapshot()
	for _, want := range []string{": 5 of 5 segments read, 60 users so far", "(full read)", "users read      60 (60 licensed)"} {
		if !strings.Contains(first, want) {
			t.Errorf("first run's output lacks %q:\n%s", want, first)
		}
	}
	tenant.UpdateUser("00000007-bbbb-4ccc-8ddd-000000000007", func(u *graphfake.User) { u.OfficeLocation = "Moved" })
	second := snapshot()
	if strings.Contains(second, "segments read") || !strings.Contains(second, "(incremental: 1 changes merged into") {
		t.Errorf("second run, without --full, should read the changes in one go:\n%s", second)
	}
	third := snapshot("--sign-in")
	if !strings.Contains(third, "sign-in pass") || strings.Contains(third, "not read") || !strings.Contains(third, "(full read)") {
		t.Errorf("--sign-in should read a sign-in pass, then a full snapshot with it:\n%s", third)
	}
}
