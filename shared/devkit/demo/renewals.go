package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/config"
	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/renewals"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// demoEnrollment is the Enterprise Agreement enrollment of the tour.
const demoEnrollment = "EA-DEMO-0001"

// ledgerTermEnd is the term end of the demo ledger's a-la-carte lines (see
// demoLedger).
var ledgerTermEnd = licensing.NewDate(2027, time.June, 30)

// demoRenewals shows the reminders and the true-up: a second snapshot (the
// peak is drawn from every snapshot since the last anniversary), an
// enrollment recorded through the API with its anniversary 75 days away,
// its worksheet as JSON and as a workbook, then the reminder runs: today,
// the day the true-up window opens (with the worksheet attached), 90 days
// before the a-la-carte lines end, and a run after missed days that catches
// up once.
func demoRenewals(ctx context.Context, cfg config.Config, a Env, api *demoClient, out io.Writer, step func(string, ...any)) error {
	step("a second usage snapshot, after provisioning changed licenses, so that the true-up's peak is drawn from two")
	sum, err := a.Usage.SnapshotRun(ctx, "demo", usage.SnapshotOptions{}, a.Log)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "    snapshot %s: %d licensed users\n", sum.Snapshot.ID, sum.Snapshot.LicensedUsers)

	today := licensing.DateOf(time.Now(), cfg.Reporting.Location)
	anniversary := today.AddDays(75)
	e := licensing.Enrollment{
		Anniversary: anniversary,
		Kind:        licensing.EnrollmentEnterprise,
		PlatformProducts: []licensing.PlatformProduct{
			{Name: "Office Professional Plus", CoveredBy: []string{"Office 365 E3"}},
			{Name: "Core CAL", CoveredBy: []string{"Office 365 E3"}, Bridge: "Core CAL Bridge"},
			{Name: "Windows OS Upgrade"},
		},
		LastReported: sum.Snapshot.LicensedUsers - 57,
		Reservations: []licensing.ServiceChange{{Service: "Office 365 E3", Quantity: 25, Date: today.AddDays(-40)}},
		Transitions:  []licensing.ServiceChange{{Service: "Office 365 E3", Quantity: 10, Date: today.AddDays(-70)}},
	}
	body, _ := json.Marshal(e)
	status, resp, err := api.do(ctx, http.MethodPut, "/enrollments/"+demoEnrollment, body)
	if err != nil {
		return err
	}
	if status != http.StatusCreated && status != http.StatusOK {
		return fmt.Errorf("PUT /api/enrollments/%s answered %d: %s", demoEnrollment, status, resp)
	}
	step("PUT /api/enrollments/%s -> %d: anniversary %s, last reported %d, 25 Office 365 E3 reserved, 10 users moved to it",
		demoEnrollment, status, anniversary, e.LastReported)
	status, resp, err = api.do(ctx, http.MethodPut, "/enrollments/EA-BAD", []byte(`{"anniversary": "2027-02-30", "kind": "yearly", "platformProducts": [], "lastReported": -1}`))
	if err != nil {
		return err
	}
	step("PUT /api/enrollments/EA-BAD with mistakes -> %d %s", status, licensing.TruncateTo(string(resp), 400))

	var ws licensing.TrueUpWorksheet
	if err := api.decode(ctx, http.MethodGet, "/true-up/"+demoEnrollment, &ws); err != nil {
		return err
	}
	step("GET /api/true-up/%s -> the worksheet (handler run true-up --enrollment %s prints the same):", demoEnrollment, demoEnrollment)
	var text bytes.Buffer
	if err := renewals.WriteWorksheetText(&text, ws); err != nil {
		return err
	}
	for _, line := range strings.Split(strings.TrimRight(text.String(), "\n"), "\n") {
		fmt.Fprintf(out, "    %s\n", line)
	}
	file, err := downloadWorkbook(ctx, api, "/true-up/"+demoEnrollment+"?format=xlsx", "out")
	if err != nil {
		return err
	}
	step("GET /api/true-up/%s?format=xlsx -> a download link; the workbook is in %s", demoEnrollment, file)

	monthly := monthlySubscription(time.Now())
	a.Tenant.Tenant().PutSubscription(monthly)
	step("the tenant also has a monthly subscription (%d %s, renewing on the 15th, next on %s): it goes into the monthly digest, not into alerts",
		monthly.TotalLicenses, monthly.PartNumber, monthly.NextLifecycle.Format(time.DateOnly))

	opens := ws.Window.Opens
	for _, run := range []struct {
		on  licensing.Date
		why string
	}{
		{today, "today, as the daily RenewalReminders timer runs"},
		{opens, "the day the true-up window opens (central IT gets the worksheet attached)"},
		{ledgerTermEnd.AddDays(-90), "90 days before the a-la-carte lines end"},
		{ledgerTermEnd.AddDays(-41), "after missed days: the 60-day reminders go once, marked late"},
	} {
		res, err := a.Renewals.RemindersRun(ctx, "demo", run.on, a.Log)
		if err != nil {
			return err
		}
		step("renewal reminders on %s, %s (handler run renewal-reminders --on %s):", run.on, run.why, run.on)
		var b bytes.Buffer
		if err := res.WriteText(&b); err != nil {
			return err
		}
		for _, line := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
			fmt.Fprintf(out, "    %s\n", line)
		}
	}
	return printReminderMail(ctx, a, "renewal.DOA."+ledgerTermEnd.String()+".90d", out, step)
}

// monthlySubscription is a subscription billed monthly, created on the 15th
// fourteen months before now and renewing on the next 15th, as the directory
// shows one.
func monthlySubscription(now time.Time) graphfake.Subscription {
	now = now.UTC()
	created := time.Date(now.Year()-1, now.Month()-2, 15, 0, 0, 0, 0, time.UTC)
	next := time.Date(now.Year(), now.Month(), 15, 0, 0, 0, 0, time.UTC)
	if !next.After(now) {
		next = next.AddDate(0, 1, 0)
	}
	return graphfake.Subscription{ID: "5d3e1c7a-0b4f-4c6e-9a21-00000000c1a5", CommerceSubscriptionID: "5d3e1c7a-0b4f-4c6e-9a21-00000000e1a5",
		SkuID: "36a0f3b3-adb5-49ea-bf66-762134cf063a", PartNumber: "Microsoft_Teams_Premium", Status: "Enabled", TotalLicenses: 12,
		Created: created, NextLifecycle: &next}
}

// downloadWorkbook asks path for a workbook link, follows it and saves the
// workbook under dir with the name the API gives.
func downloadWorkbook(ctx context.Context, api *demoClient, path, dir string) (string, error) {
	var link struct {
		URL      string `json:"url"`
		FileName string `json:"fileName"`
	}
	if err := api.decode(ctx, http.MethodGet, path, &link); err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link.URL, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("the workbook link answered %s", resp.Status)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	name := filepath.Join(dir, filepath.Base(link.FileName))
	f, err := os.Create(name)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return "", err
	}
	return name, f.Close()
}

// printReminderMail prints the reminder mail id sent today from the outbox.
func printReminderMail(ctx context.Context, a Env, id string, out io.Writer, step func(string, ...any)) error {
	name := "outbox/" + time.Now().UTC().Format(time.DateOnly) + "/" + id + ".eml"
	msg, text, err := readMail(ctx, a.Blobs, name)
	if err != nil {
		return err
	}
	step("the 90-day reminder to DOA (blob %s):", name)
	fmt.Fprintf(out, "    To: %s\n    Cc: %s\n    Subject: %s\n\n", msg.Header.Get("To"), msg.Header.Get("Cc"), msg.Header.Get("Subject"))
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintf(out, "    %s\n", line)
	}
	return nil
}
