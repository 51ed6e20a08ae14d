package renewals

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Subscription statuses (companySubscription.status), compared without case.
const (
	statusEnabled   = "enabled"
	statusWarning   = "warning"
	statusExpired   = "expired"
	statusSuspended = "suspended"
	statusLockedOut = "lockedout"
	statusDeleted   = "deleted"
)

// freeSkus are the part numbers of products Microsoft gives away (free
// offers, self-service sign-ups, developer plans), with their names in
// Microsoft's "Product names and service plan identifiers for licensing"
// list: their subscriptions have nothing to renew and are never reminded
// of. freeSkuPatterns catch the families named by suffix or infix.
var freeSkus = map[string]string{
	"FLOW_FREE":                 "Microsoft Power Automate Free",
	"POWER_BI_STANDARD":         "Microsoft Fabric (Free)",
	"WINDOWS_STORE":             "Windows Store for Business",
	"TEAMS_EXPLORATORY":         "Microsoft Teams Exploratory",
	"STREAM":                    "Microsoft Stream",
	"POWERAPPS_DEV":             "Microsoft Power Apps for Developer",
	"CCIBOTS_PRIVPREV_VIRAL":    "Power Virtual Agents Viral Trial",
	"POWERAPPS_VIRAL":           "Microsoft Power Apps Plan 2 Trial",
	"SMB_APPS":                  "Business Apps (free)",
	"RMSBASIC":                  "Rights Management Service Basic Content Protection",
	"MICROSOFT_BUSINESS_CENTER": "Microsoft Business Center",
}

// freeSkuPatterns: a part number ending in _FREE or _EXPLORATORY, or
// holding _VIRAL (viral sign-ups and trials) or _VTRIAL, is free.
var freeSkuPatterns = []func(string) bool{
	func(p string) bool { return strings.HasSuffix(p, "_FREE") },
	func(p string) bool { return strings.HasSuffix(p, "_EXPLORATORY") },
	func(p string) bool { return strings.Contains(p, "_VIRAL") },
	func(p string) bool { return strings.Contains(p, "_VTRIAL") },
}

// FreeSku reports whether part number part names a free product.
func FreeSku(part string) bool {
	p := strings.ToUpper(strings.TrimSpace(part))
	if _, ok := freeSkus[p]; ok {
		return true
	}
	for _, match := range freeSkuPatterns {
		if match(p) {
			return true
		}
	}
	return false
}

// subInfo is one subscription as a reminder shows it.
type subInfo struct {
	sub   licensing.TenantSubscription
	title string
	date  licensing.Date
	// users are the agencies' entitlements of the SKU in force on date;
	// need is their sum, stays the units of the SKU's other subscriptions
	// that stay.
	users []licensing.Entitlement
	need  int
	stays int
}

// subscriptionReminders tells central IT about tenant subscriptions whose
// next lifecycle date approaches, where action is still possible: trials,
// free products, subscriptions locked out or deleted, and those without a
// lifecycle date ahead are skipped. Monthly auto-renewals go in one digest
// a month; the others are reminded of at the purchase thresholds, one mail
// per threshold and lifecycle date.
func (r *reminderRun) subscriptionReminders(ctx context.Context) {
	subs, err := r.s.cfg.Directory.Subscriptions(ctx)
	if err != nil {
		r.fail("no subscription reminders: the tenant's subscriptions could not be read", err)
		return
	}
	type key struct {
		date licensing.Date
		due  int
	}
	groups := map[key][]subInfo{}
	var monthly []subInfo
	ents := map[licensing.Date][]licensing.Entitlement{}
	for _, sub := range subs {
		title := r.subTitle(sub)
		if why := r.skipSubscription(sub); why != "" {
			r.skip(KindSubscription, title, why)
			continue
		}
		date := r.dateOf(*sub.NextLifecycle)
		isMonthly := monthlyRenewal(sub, r.on)
		due, isDue := dueThreshold(r.s.cfg.Thresholds, r.on.DaysUntil(date))
		if !isMonthly && !isDue {
			continue
		}
		if _, ok := ents[date]; !ok {
			ents[date] = licensing.EntitlementsOn(r.purchases, date, r.s.cfg.Terms)
		}
		info := subInfo{sub: sub, title: title, date: date, stays: staying(subs, sub)}
		for _, e := range ents[date] {
			if strings.EqualFold(e.SkuID, sub.SkuID) && e.Quantity > 0 {
				info.users = append(info.users, e)
				info.need += e.Quantity
			}
		}
		if isMonthly {
			monthly = append(monthly, info)
		} else {
			groups[key{date, due}] = append(groups[key{date, due}], info)
		}
	}
	if len(monthly) > 0 {
		r.digest(ctx, monthly)
	}
	keys := make([]key, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].date.Before(keys[j].date) })
	for _, k := range keys {
		r.subscriptionAlert(ctx, k.date, k.due, groups[k])
	}
}

// skipSubscription says why sub is not reminded of, or "".
func (r *reminderRun) skipSubscription(sub licensing.TenantSubscription) string {
	status := strings.ToLower(sub.Status)
	switch {
	case sub.IsTrial:
		return "a trial: there is nothing to renew"
	case FreeSku(sub.PartNumber):
		return "a free product: there is nothing to renew"
	case status == statusLockedOut:
		return "locked out: it can no longer be renewed"
	case status == statusDeleted:
		return "deleted: it can no longer be renewed"
	case sub.NextLifecycle == nil:
		return "the directory gives no next lifecycle date"
	case r.dateOf(*sub.NextLifecycle).Before(r.on):
		return fmt.Sprintf("its lifecycle date %s has passed", r.dateOf(*sub.NextLifecycle))
	}
	return ""
}

// monthlyRenewal reports whether sub renews every month by itself.
// Microsoft Graph v1.0's companySubscription has no billing-cycle field, so
// the cycle is read from the dates: an enabled subscription whose next
// lifecycle date falls on the day of the month it was created (the last day
// of a shorter month when that day does not exist), no more than a month
// ahead, and not on a yearly anniversary of its creation (the mark of an
// annual or longer term). Dates are compared in UTC, as the directory gives
// them. A monthly subscription created in the month of its lifecycle date
// a year earlier cannot be told from an annual one and is taken as annual,
// which reminds rather than stays silent.
func monthlyRenewal(sub licensing.TenantSubscription, on licensing.Date) bool {
	if !strings.EqualFold(sub.Status, statusEnabled) || sub.Created.IsZero() || sub.NextLifecycle == nil {
		return false
	}
	c, n := sub.Created.UTC(), sub.NextLifecycle.UTC()
	if n.Day() != min(c.Day(), daysIn(n.Year(), n.Month())) || n.Month() == c.Month() {
		return false
	}
	return !licensing.DateOf(n, time.UTC).Time().After(on.Time().AddDate(0, 1, 0))
}

// daysIn is the number of days of month m of year y.
func daysIn(y int, m time.Month) int { return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day() }

// staying counts the units of sub's SKU that stay after sub changes: those
// of the tenant's other paid subscriptions of that SKU that are enabled or
// in their grace period (Warning). Trials end by themselves and are not
// counted.
func staying(subs []licensing.TenantSubscription, sub licensing.TenantSubscription) int {
	n := 0
	for _, o := range subs {
		status := strings.ToLower(o.Status)
		if o.ID != sub.ID && strings.EqualFold(o.SkuID, sub.SkuID) && !o.IsTrial && (status == statusEnabled || status == statusWarning) {
			n += o.TotalLicenses
		}
	}
	return n
}

// subTitle names a subscription: "Microsoft 365 E3 (SPE_E3), subscription 1f2e".
func (r *reminderRun) subTitle(sub licensing.TenantSubscription) string {
	name := r.catalog.Product(sub.SkuID, sub.PartNumber).Name
	if sub.PartNumber != "" && name != sub.PartNumber {
		name += " (" + sub.PartNumber + ")"
	}
	return name + ", subscription " + sub.ID
}

// subscriptionAlert mails central IT the subscriptions that change on date
// and are due for the reminder of threshold due, and records the earlier
// thresholds it passed over.
func (r *reminderRun) subscriptionAlert(ctx context.Context, date licensing.Date, due int, subs []subInfo) {
	key := func(t int) string { return fmt.Sprintf("mail:subscription.%s.%dd", date, t) }
	dueOn := date.AddDays(-due)
	rem := Reminder{Key: key(due), Kind: KindSubscription, To: r.s.cfg.CentralIT,
		Subject: fmt.Sprintf("Tenant subscriptions change on %s (%d-day reminder)", date, due),
		Late:    r.on.After(dueOn) && r.subsExistedOn(subs, dueOn)}
	sent := r.send(ctx, rem, func(context.Context) (licensing.MailMessage, error) {
		var b strings.Builder
		fmt.Fprintf(&b, "%d subscription(s) of the tenant change on %s, %s, unless central IT acts before then.\n", len(subs), date, inDays(r.on.DaysUntil(date)))
		if rem.Late {
			fmt.Fprintf(&b, "This is the %d-day reminder, due on %s; it is sent late because no run sent it on that day.\n", due, dueOn)
		}
		b.WriteString("Renew or reactivate them in the Microsoft 365 admin center (Billing > Your products) or with the reseller.\n")
		for _, s := range subs {
			r.subText(&b, s)
		}
		return licensing.MailMessage{Text: b.String()}, nil
	})
	if !sent {
		return
	}
	var earlier []earlierReminder
	for _, t := range earlierThresholds(r.s.cfg.Thresholds, due) {
		if d := date.AddDays(-t); r.subsExistedOn(subs, d) {
			earlier = append(earlier, earlierReminder{key: key(t), due: d})
		}
	}
	r.passedOver(ctx, KindSubscription, rem, earlier)
}

// digest mails central IT, once a month, the subscriptions that renew every
// month by themselves: nothing is due, but they cost every month.
func (r *reminderRun) digest(ctx context.Context, subs []subInfo) {
	sort.Slice(subs, func(i, j int) bool { return subs[i].date.Before(subs[j].date) })
	month := r.on.Time().Format("2006-01")
	rem := Reminder{Key: "mail:subscriptions-digest." + month, Kind: KindDigest, To: r.s.cfg.CentralIT,
		Subject: "Monthly auto-renewing subscriptions, " + month}
	r.send(ctx, rem, func(context.Context) (licensing.MailMessage, error) {
		var b strings.Builder
		fmt.Fprintf(&b, "%d subscription(s) of the tenant renew every month by themselves. Nothing needs doing unless one should end: cancel it, or lower its licenses, before its renewal date in the Microsoft 365 admin center (Billing > Your products).\n", len(subs))
		for _, s := range subs {
			r.subText(&b, s)
		}
		b.WriteString("\nThis digest is sent once a month; the subscriptions in it get no other reminder.\n")
		return licensing.MailMessage{Text: b.String()}, nil
	})
}

// subText describes one subscription: what happens on its date, its
// licenses, the agencies whose purchases use its product, and whether those
// still fit in the tenant without it.
func (r *reminderRun) subText(b *strings.Builder, s subInfo) {
	fmt.Fprintf(b, "\n%s, %s, %d licenses\n", s.title, s.sub.Status, s.sub.TotalLicenses)
	fmt.Fprintf(b, "  %s\n", happens(s.sub, s.date, r.on))
	fmt.Fprintf(b, "  Agencies whose purchases of this product are in force on %s: %s.\n", s.date, agencyUse(s.users))
	fit := "fits"
	if s.need > s.stays {
		fit = fmt.Sprintf("short by %d", s.need-s.stays)
	}
	fmt.Fprintf(b, "  Without it, the tenant's other subscriptions of this product that stay hold %d units for the %d seats bought: %s.\n", s.stays, s.need, fit)
}

// happens says what happens to sub on date if nobody acts, by its status.
func happens(sub licensing.TenantSubscription, date, on licensing.Date) string {
	switch strings.ToLower(sub.Status) {
	case statusEnabled:
		if monthlyRenewal(sub, on) {
			return fmt.Sprintf("On %s it renews by itself for another month; if its automatic renewal was turned off, it expires into the grace state instead.", date)
		}
		return fmt.Sprintf("On %s it expires into the grace state (its licenses still work for a while) unless it is renewed.", date)
	case statusWarning, statusExpired:
		return fmt.Sprintf("On %s it is suspended: its users lose access to the product unless it is renewed.", date)
	case statusSuspended:
		return fmt.Sprintf("On %s it is deleted, with the data of its services, unless it is reactivated.", date)
	}
	return fmt.Sprintf("On %s it moves from %s to its next state.", date, sub.Status)
}

// subsExistedOn reports whether any of subs was created by day d. Creation
// is the only date the directory gives: a lifecycle date set later (when a
// subscription entered its grace period) is taken as known since then.
func (r *reminderRun) subsExistedOn(subs []subInfo, d licensing.Date) bool {
	for _, s := range subs {
		if s.sub.Created.IsZero() || !r.dateOf(s.sub.Created).After(d) {
			return true
		}
	}
	return false
}
