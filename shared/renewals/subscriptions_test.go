package renewals_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/renewals"
)

// TestSubscriptionsSkipped: trials, free products (by name and by
// pattern), subscriptions locked out or deleted, without a lifecycle date
// or with one that passed get no mail, each skipped with its reason.
func TestSubscriptionsSkipped(t *testing.T) {
	f := newReminders(t)
	trial := sub("trial", fakes.SkuE3, "ENTERPRISEPACK", "Enabled", 25, "2027-04-01", "2027-05-01")
	trial.IsTrial = true
	f.dir.Subs = []licensing.TenantSubscription{
		trial,
		sub("flow", "f30db892-07e9-47e9-837c-80727f46fd3d", "FLOW_FREE", "Enabled", 10000, "2026-05-01", "2027-05-01"),
		sub("bots", "11111111-0000-0000-0000-000000000001", "CCIBOTS_PRIVPREV_VIRAL", "Enabled", 10000, "2026-05-01", "2027-05-01"),
		sub("pages", "11111111-0000-0000-0000-000000000002", "Power_Pages_vTrial_for_Makers", "Enabled", 10000, "2026-05-01", "2027-05-01"),
		sub("locked", fakes.SkuVisio, "VISIOCLIENT", "LockedOut", 5, "2025-05-01", "2027-05-01"),
		sub("gone", fakes.SkuVisio, "VISIOCLIENT", "Deleted", 5, "2025-05-01", "2027-05-01"),
		sub("undated", fakes.SkuVisio, "VISIOCLIENT", "Enabled", 5, "2025-05-01", ""),
		sub("past", fakes.SkuVisio, "VISIOCLIENT", "Warning", 5, "2025-05-01", "2027-04-01"),
	}
	res := f.run(day("2027-04-15"))
	if len(res.Sent) != 0 || f.mail.Sends != 0 {
		t.Errorf("sent %v", keys(res.Sent))
	}
	want := []renewals.SkippedReminder{
		{Kind: "subscription", What: "Office 365 E3 (ENTERPRISEPACK), subscription trial", Why: "a trial: there is nothing to renew"},
		{Kind: "subscription", What: "Microsoft Power Automate Free (FLOW_FREE), subscription flow", Why: "a free product: there is nothing to renew"},
		{Kind: "subscription", What: "CCIBOTS_PRIVPREV_VIRAL, subscription bots", Why: "a free product: there is nothing to renew"},
		{Kind: "subscription", What: "Power_Pages_vTrial_for_Makers, subscription pages", Why: "a free product: there is nothing to renew"},
		{Kind: "subscription", What: "Visio Plan 2 (VISIOCLIENT), subscription locked", Why: "locked out: it can no longer be renewed"},
		{Kind: "subscription", What: "Visio Plan 2 (VISIOCLIENT), subscription gone", Why: "deleted: it can no longer be renewed"},
		{Kind: "subscription", What: "Visio Plan 2 (VISIOCLIENT), subscription undated", Why: "the directory gives no next lifecycle date"},
		{Kind: "subscription", What: "Visio Plan 2 (VISIOCLIENT), subscription past", Why: "its lifecycle date 2027-04-01 has passed"},
	}
	if diff := cmp.Diff(want, res.Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
}

func TestFreeSku(t *testing.T) {
	for part, want := range map[string]bool{
		"FLOW_FREE": true, "POWER_BI_STANDARD": true, "WINDOWS_STORE": true, "TEAMS_EXPLORATORY": true, "STREAM": true,
		"POWERAPPS_DEV": true, "CCIBOTS_PRIVPREV_VIRAL": true, "POWERAPPS_VIRAL": true, "power_bi_standard": true,
		"MCOPSTN_FREE": true, "COPILOT_STUDIO_VIRAL": true,
		"ENTERPRISEPACK": false, "SPE_E3": false, "POWER_BI_PRO": false, "Microsoft_Teams_Exploratory_Dept": false, "STREAM_O365_E5": false, "": false,
	} {
		if got := renewals.FreeSku(part); got != want {
			t.Errorf("FreeSku(%q) = %v, want %v", part, got, want)
		}
	}
}

// TestMonthlySubscriptionsInDigest runs every day for two months: the
// monthly auto-renewal (created on the 31st, renewing on the last day of
// shorter months) is never alerted, only listed in one digest a month; the
// annual subscription gets its threshold reminders.
func TestMonthlySubscriptionsInDigest(t *testing.T) {
	f := newReminders(t)
	monthly := sub("monthly", fakes.SkuVisio, "VISIOCLIENT", "Enabled", 10, "2026-01-31", "2027-02-28")
	annual := sub("annual", fakes.SkuE3, "ENTERPRISEPACK", "Enabled", 100, "2026-03-20", "2027-03-20")
	f.dir.Subs = []licensing.TenantSubscription{monthly, annual}
	var sent []string
	for d := day("2027-02-01"); d.Before(day("2027-04-01")); d = d.AddDays(1) {
		if d.Equal(day("2027-03-01")) {
			// Renewed on February 28: the next renewal is March 31.
			next := day("2027-03-31").Time().Add(14 * time.Hour)
			f.dir.Subs[0].NextLifecycle = &next
		}
		for _, r := range f.run(d).Sent {
			sent = append(sent, r.Key[len("mail:"):]+"@"+d.String())
		}
	}
	want := []string{
		"subscriptions-digest.2027-02@2027-02-01",
		"subscription.2027-03-20.60d@2027-02-01", // late: the first run
		"subscription.2027-03-20.30d@2027-02-18",
		"subscriptions-digest.2027-03@2027-03-01",
	}
	if diff := cmp.Diff(want, sent); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	digest := f.sentMail("subscriptions-digest.2027-02")
	for _, s := range []string{"Visio Plan 2 (VISIOCLIENT), subscription monthly, Enabled, 10 licenses", "On 2027-02-28 it renews by itself for another month"} {
		if !strings.Contains(digest.Text, s) {
			t.Errorf("digest lacks %q:\n%s", s, digest.Text)
		}
	}
	if strings.Contains(digest.Text, "subscription annual") {
		t.Errorf("the annual subscription is in the digest:\n%s", digest.Text)
	}
	if alert := f.sentMail("subscription.2027-03-20.30d"); strings.Contains(alert.Text, "monthly") || !strings.Contains(alert.Text, "subscription annual") {
		t.Errorf("alert:\n%s", alert.Text)
	}
}

func TestMonthlyRenewalByDates(t *testing.T) {
	on := day("2027-02-10")
	for _, c := range []struct {
		name          string
		s             licensing.TenantSubscription
		monthly       bool
		alertsOrSkips bool
	}{
		{"same day next month", sub("a", fakes.SkuE3, "SPE_E3", "Enabled", 1, "2026-06-15", "2027-02-15"), true, false},
		{"31st clamped to February 28", sub("a", fakes.SkuE3, "SPE_E3", "Enabled", 1, "2026-01-31", "2027-02-28"), true, false},
		{"yearly anniversary", sub("a", fakes.SkuE3, "SPE_E3", "Enabled", 1, "2026-02-15", "2027-02-15"), false, true},
		{"other day of the month", sub("a", fakes.SkuE3, "SPE_E3", "Enabled", 1, "2026-06-14", "2027-02-15"), false, true},
		{"more than a month ahead", sub("a", fakes.SkuE3, "SPE_E3", "Enabled", 1, "2026-06-15", "2027-04-15"), false, true},
		{"in its grace period", sub("a", fakes.SkuE3, "SPE_E3", "Warning", 1, "2026-06-15", "2027-02-15"), false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newReminders(t)
			f.dir.Subs = []licensing.TenantSubscription{c.s}
			res := f.run(on)
			gotDigest := len(res.Sent) == 1 && res.Sent[0].Kind == renewals.KindDigest
			if gotDigest != c.monthly {
				t.Errorf("monthly = %v, want %v (sent %v)", gotDigest, c.monthly, keys(res.Sent))
			}
			if c.alertsOrSkips && len(res.Sent) > 0 && res.Sent[0].Kind != renewals.KindSubscription {
				t.Errorf("sent %v", keys(res.Sent))
			}
		})
	}
}

// TestSubscriptionFitsOrShort: each subscription in an alert says which
// agencies' purchases use its product on its lifecycle date, and whether
// they fit in the units of the product's other subscriptions that stay
// (enabled or in grace; not trials, not suspended).
func TestSubscriptionFitsOrShort(t *testing.T) {
	f := newReminders(t)
	life := day("2027-03-01")
	f.addLines(
		line("doa-e3", "DOA", fakes.SkuE3, "ENTERPRISEPACK", "PO-1", 60, day("2026-07-01"), day("2027-06-30"), licensing.AgreementALaCarte),
		line("det-e3", "DET", fakes.SkuE3, "ENTERPRISEPACK", "PO-2", 30, day("2026-07-01"), day("2027-06-30"), licensing.AgreementALaCarte),
		// Ended before the lifecycle date, grace included: not counted.
		line("det-old", "DET", fakes.SkuE3, "ENTERPRISEPACK", "PO-3", 500, day("2025-07-01"), day("2026-01-31"), licensing.AgreementALaCarte),
		line("doa-visio", "DOA", fakes.SkuVisio, "VISIOCLIENT", "PO-4", 8, day("2026-07-01"), day("2027-06-30"), licensing.AgreementALaCarte),
	)
	trial := sub("e3-trial", fakes.SkuE3, "ENTERPRISEPACK", "Enabled", 25, "2027-02-01", "2027-03-03")
	trial.IsTrial = true
	f.dir.Subs = []licensing.TenantSubscription{
		sub("e3-big", fakes.SkuE3, "ENTERPRISEPACK", "Enabled", 100, "2026-03-01", "2027-03-01"),
		sub("e3-small", fakes.SkuE3, "ENTERPRISEPACK", "Warning", 50, "2025-11-20", "2027-03-01"),
		sub("e3-suspended", fakes.SkuE3, "ENTERPRISEPACK", "Suspended", 40, "2025-01-01", "2027-06-01"),
		trial,
		sub("visio", fakes.SkuVisio, "VISIOCLIENT", "Suspended", 10, "2025-03-01", "2027-03-01"),
	}
	f.run(life.AddDays(-30))
	m := f.sentMail("subscription.2027-03-01.30d")
	for _, s := range []string{
		"Office 365 E3 (ENTERPRISEPACK), subscription e3-big, Enabled, 100 licenses\n" +
			"  On 2027-03-01 it expires into the grace state (its licenses still work for a while) unless it is renewed.\n" +
			"  Agencies whose purchases of this product are in force on 2027-03-01: DET 30, DOA 60 (90 in all).\n" +
			"  Without it, the tenant's other subscriptions of this product that stay hold 50 units for the 90 seats bought: short by 40.",
		"Office 365 E3 (ENTERPRISEPACK), subscription e3-small, Warning, 50 licenses\n" +
			"  On 2027-03-01 it is suspended: its users lose access to the product unless it is renewed.\n" +
			"  Agencies whose purchases of this product are in force on 2027-03-01: DET 30, DOA 60 (90 in all).\n" +
			"  Without it, the tenant's other subscriptions of this product that stay hold 100 units for the 90 seats bought: fits.",
		"Visio Plan 2 (VISIOCLIENT), subscription visio, Suspended, 10 licenses\n" +
			"  On 2027-03-01 it is deleted, with the data of its services, unless it is reactivated.\n" +
			"  Agencies whose purchases of this product are in force on 2027-03-01: DOA 8 (8 in all).\n" +
			"  Without it, the tenant's other subscriptions of this product that stay hold 0 units for the 8 seats bought: short by 8.",
	} {
		if !strings.Contains(m.Text, s) {
			t.Errorf("alert lacks\n%s\n---- alert:\n%s", s, m.Text)
		}
	}
	if diff := cmp.Diff([]string{fakes.CentralIT}, m.To); diff != "" || len(m.Cc) != 0 {
		t.Errorf("alert to %v cc %v", m.To, m.Cc)
	}
}
