package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/devkit/azuritetest"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/tablestore"
)

// TestChargebackJob runs `handler run chargeback --month 2026-11` on
// Azurite: it prints a row per line with its amount (a line ending
// mid-month by days, a line without a price flagged), the totals per
// agency and currency, and stores the workbook; a month it cannot read is
// a usage error.
func TestChargebackJob(t *testing.T) {
	acct := azuritetest.Account(t)
	name := azuritetest.Name(t, "cb")
	env := envOf(map[string]string{
		"AzureWebJobsStorage": "UseDevelopmentStorage=true", "STORAGE_PREFIX": name, "ACTIVATION_QUEUE": name + "-steps", "WORK_QUEUE": name + "-work",
		"ADMINS": "admin@it.example.gov", "MAIL_MODE": "outbox", "CENTRAL_IT_EMAIL": "licensing@it.example.gov", "LOG_LEVEL": "error",
		"GRAPH_MODE": "live", "GRAPH_AUTH": "none", "GRAPH_BASE_URL": "http://127.0.0.1:9/v1.0",
	})
	tsvc, err := acct.TableService()
	if err != nil {
		t.Fatal(err)
	}
	tables := tablestore.New(tsvc, tablestore.Options{TablePrefix: name})
	if err := tables.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	on := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	price, _ := licensing.ParseAmount("99.99")
	lines := []licensing.Purchase{
		{ID: "a", Agency: "DOA", SkuID: "f30db892-07e9-47e9-837c-80727f46fd3d", PartNumber: "FLOW_FREE", PONumber: "PO-1", Quantity: 7,
			TermStart: licensing.NewDate(2025, 11, 11), TermEnd: licensing.NewDate(2026, 11, 10), UnitPrice: &price, Currency: "USD", ActivatedAt: &on, Source: licensing.SourceImport},
		{ID: "b", Agency: "DOA", SkuID: "6fd2c87f-b296-42f0-b197-1e91e994b900", PartNumber: "ENTERPRISEPACK", PONumber: "PO-2", Quantity: 3,
			TermStart: licensing.NewDate(2026, 1, 1), TermEnd: licensing.NewDate(2026, 12, 31), ActivatedAt: &on, Source: licensing.SourceImport},
	}
	if _, err := tables.AddPurchases(context.Background(), lines, "test", "fixture"); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"run", "chargeback", "--month", "2026-11"}, env, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	// 7 seats at 99.99 for 10 of 30 days: 699.93 / 12 × 10/30 = 19.4425 → 19.44.
	for _, want := range []string{"chargeback 2026-11: 2 lines, 1 without a price; workbook reports/chargeback/2026-11.xlsx", "10 of 30 days", "19.44 USD", "no price",
		"DOA            19.44 USD", "DOA            1 line without a price", "all agencies   19.44 USD"} {
		if !strings.Contains(out, want) {
			t.Errorf("printed:\n%s\nwant %q", out, want)
		}
	}
	stdout.Reset()
	if code := run([]string{"run", "chargeback", "--month", "November"}, env, &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), "not a month like 2026-11") {
		t.Errorf("bad month: exit %d, stderr %s", code, stderr.String())
	}
}
