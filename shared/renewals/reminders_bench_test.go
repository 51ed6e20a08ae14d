package renewals_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// BenchmarkRemindersRun runs the day's reminders over 200 agencies with 5
// lines each (1,000 lines, 600 of them due) and 60 subscriptions, after a
// first run sent everything: the steady state of a daily timer, where each
// reminder is found already sent.
func BenchmarkRemindersRun(b *testing.B) {
	var agencies []licensing.Agency
	for i := range 200 {
		id := fmt.Sprintf("A%03d", i)
		agencies = append(agencies, licensing.Agency{ID: id, Name: "Agency " + id, Contacts: []string{"x@" + id + ".example.gov"},
			Attribution: licensing.AttributionRule{Attribute: licensing.AttrUPNDomain, Values: []string{id + ".example.gov"}}})
	}
	f := newReminders(b, agencies...)
	on := day("2027-05-01")
	skus := []string{fakes.SkuE3, fakes.SkuVisio, fakes.SkuPowerBIPro}
	var lines []licensing.Purchase
	for i, a := range agencies {
		for j := range 5 {
			end := on.AddDays(10 + 40*j)
			lines = append(lines, line(fmt.Sprintf("%s-%d", a.ID, j), a.ID, skus[j%3], "", fmt.Sprintf("PO-%d-%d", i, j), 10+j, day("2026-07-01"), end, licensing.AgreementALaCarte))
		}
	}
	f.addLines(lines...)
	for i := range 60 {
		f.dir.Subs = append(f.dir.Subs, sub(fmt.Sprintf("s%02d", i), skus[i%3], "", "Enabled", 100, "2026-03-01", on.AddDays(i*3).String()))
	}
	first := f.run(on)
	svc := f.service()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := svc.RemindersRun(context.Background(), "bench", licensing.Date{}, nil)
		if err != nil || len(res.Sent) != 0 {
			b.Fatalf("sent %d, %v", len(res.Sent), err)
		}
	}
	b.ReportMetric(float64(len(first.Sent)), "mails-first-run")
}
