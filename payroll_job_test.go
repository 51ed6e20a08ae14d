package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/devkit/azuritetest"
	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/tablestore"
)

// TestPayrollJobRefusesOffCalendarDate runs `handler run payroll-report
// --date` on Azurite and a fake Graph tenant: a date that is not a payroll
// Monday is refused (exit 2, naming the payroll Mondays around it and
// --force) before Graph is read or a run recorded; with --force it is
// reported, its pieces run in the process, and the output ends with the
// run's progress.
func TestPayrollJobRefusesOffCalendarDate(t *testing.T) {
	acct := azuritetest.Account(t)
	name := azuritetest.Name(t, "pj")
	server := graphfake.NewServer(graphfake.NewTenant(), slog.New(slog.DiscardHandler))
	gs := httptest.NewServer(server)
	defer gs.Close()
	env := envOf(map[string]string{
		"AzureWebJobsStorage": "UseDevelopmentStorage=true", "STORAGE_PREFIX": name, "ACTIVATION_QUEUE": name + "-steps", "WORK_QUEUE": name + "-work",
		"ADMINS": "admin@it.example.gov", "MAIL_MODE": "outbox", "CENTRAL_IT_EMAIL": "licensing@it.example.gov", "LOG_LEVEL": "error",
		"GRAPH_MODE": "live", "GRAPH_AUTH": "none", "GRAPH_BASE_URL": gs.URL + "/v1.0",
		"PAYROLL_ANCHOR_DATE": "2026-01-05", "PAYROLL_INTERVAL_DAYS": "14",
	})
	tsvc, err := acct.TableService()
	if err != nil {
		t.Fatal(err)
	}
	runs := func() []licensing.Run {
		list, err := tablestore.New(tsvc, tablestore.Options{TablePrefix: name}).ListRuns(context.Background(), licensing.RunFilter{Function: "PayrollReport"})
		if err != nil {
			t.Fatal(err)
		}
		return list
	}

	var stdout, stderr bytes.Buffer
	code := run([]string{"run", "payroll-report", "--date", "2026-11-24"}, env, &stdout, &stderr)
	for _, want := range []string{"2026-11-24 is not a payroll Monday", "2026-11-23 and 2026-12-07", "--force"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if code != 2 || server.Total() != 0 || len(runs()) != 0 {
		t.Fatalf("refused: exit %d, %d Graph requests, runs %+v; want 2, none, none\n%s", code, server.Total(), runs(), stdout.String())
	}

	// Two agencies: the run's pieces (the plan, one per agency, the
	// summary) run in this process, and the output ends with the progress.
	store := tablestore.New(tsvc, tablestore.Options{TablePrefix: name})
	admin := licensing.NewAgencyAdmin(store, licensing.NewAuthorizer(store, []string{"admin@it.example.gov"}, false), nil)
	for _, id := range []string{"DOA", "DET"} {
		a := licensing.Agency{ID: id, Name: "Agency " + id, Contacts: []string{"licensing@" + strings.ToLower(id) + ".example.gov"},
			Attribution: licensing.AttributionRule{Attribute: licensing.AttrDepartment, Values: []string{id}}}
		if _, _, err := admin.PutAgency(context.Background(), &licensing.Principal{Name: "admin@it.example.gov"}, id, a, licensing.Precondition{}); err != nil {
			t.Fatal(err)
		}
	}
	stdout.Reset()
	stderr.Reset()
	code = run([]string{"run", "payroll-report", "--date", "2026-11-24", "--force"}, env, &stdout, &stderr)
	if code != 0 || !strings.Contains(stdout.String(), "payroll reports 2026-11-24") || !strings.Contains(stdout.String(), "payroll 2026-11-24: 2 of 2 agencies delivered, summary mailed") {
		t.Fatalf("forced: exit %d\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
	}
	if list := runs(); len(list) != 1 || list[0].Outcome != licensing.RunSucceeded || !strings.Contains(list[0].Message, "2026-11-24") {
		t.Errorf("runs after the forced run = %+v", list)
	}
}
