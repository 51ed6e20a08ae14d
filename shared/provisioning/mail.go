package provisioning

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// names returns the catalog for product names, or one that names SKUs by
// part number when there is none.
func (s *Service) names(ctx context.Context) licensing.Catalog {
	c, _ := licensing.ProductNames(ctx, s.cfg.Catalog)
	return c
}

// productTitle names a group's product: "Visio Plan 2 (VISIOCLIENT)".
func productTitle(w *work, names licensing.Catalog) string {
	p := names.Product(w.in.sku.SkuID, w.in.sku.PartNumber)
	if p.Name == "" || p.Name == w.in.sku.PartNumber {
		return w.in.sku.PartNumber
	}
	return p.Name + " (" + w.in.sku.PartNumber + ")"
}

// waitlistMail tells an agency's delegates where their delegated groups
// stand after a run that changed a waitlist: who got a license, who lost
// one, who waits and since when, and whose seats could be freed.
func waitlistMail(a licensing.Agency, ws []*work, names licensing.Catalog, to []string, at time.Time) licensing.MailMessage {
	var b strings.Builder
	fmt.Fprintf(&b, "The licenses of %s's delegated groups changed in the run of %s.\n", a.ID, since(at))
	for _, w := range ws {
		var assigned, waiting, elsewhere int
		var wait, free []string
		for _, m := range w.plan.seats {
			switch m.State {
			case licensing.SeatAssigned:
				assigned++
				if m.Disabled {
					free = append(free, m.UserPrincipalName)
				}
			case licensing.SeatWaiting:
				waiting++
				wait = append(wait, fmt.Sprintf("  %d. %s, waiting since %s", waiting, m.UserPrincipalName, since(m.Since)))
			case licensing.SeatElsewhere:
				elsewhere++
			}
		}
		fmt.Fprintf(&b, "\n%s, group %s\n", productTitle(w, names), w.in.groupID)
		fmt.Fprintf(&b, "Seats bought and in force: %d. Licensed by this group: %d. Licensed elsewhere (not counted): %d. Waiting: %d.\n",
			w.in.cap, assigned, elsewhere, waiting)
		var got, lost []string
		for _, x := range w.plan.actions {
			switch {
			case x.Kind == Assign && x.Outcome == outcomeDone:
				got = append(got, x.UserPrincipalName)
			case x.Kind == Remove && x.Outcome == outcomeDone:
				lost = append(lost, x.UserPrincipalName+" ("+x.Reason+")")
			}
		}
		if len(got) > 0 {
			fmt.Fprintf(&b, "Got a license: %s\n", strings.Join(got, ", "))
		}
		if len(lost) > 0 {
			fmt.Fprintf(&b, "License taken back: %s\n", strings.Join(lost, "; "))
		}
		if len(wait) > 0 {
			fmt.Fprintf(&b, "Waiting, in the order they get the next seats:\n%s\n", strings.Join(wait, "\n"))
		}
		if len(free) > 0 {
			fmt.Fprintf(&b, "Would free seats: these disabled accounts hold one; take them out of the group: %s\n", strings.Join(free, ", "))
		}
	}
	b.WriteString("\nMembers get seats in the order they were added to the group. To license everyone waiting, buy more seats with a purchase order, or take members who no longer need the product out of the group.\n")
	return licensing.MailMessage{To: to, Subject: a.ID + ": delegated group licenses and waitlist", Text: b.String()}
}

// reasonAdvice says what a licensing failure means and what to do.
var reasonAdvice = map[string]string{
	licensing.ReasonCountViolation:     "the tenant has no free units of the product; central IT must add licenses to the tenant",
	licensing.ReasonMutuallyExclusive:  "the member holds another license whose service plans cannot be combined with this one; one of the two must go",
	licensing.ReasonDependency:         "a service plan of this license needs another plan the member does not hold",
	licensing.ReasonProhibitedLocation: "the product may not be used in the member's usage location",
	licensing.ReasonUsageLocation:      "the member has no usage location; set one on the account in Entra ID (or central IT sets DEFAULT_USAGE_LOCATION)",
	licensing.ReasonUserNotFound:       "the member's account no longer exists",
}

// errorsMail tells an agency's delegates and central IT which members could
// not be licensed, and why.
func errorsMail(a licensing.Agency, ws []*work, names licensing.Catalog, to, centralIT []string, at time.Time) licensing.MailMessage {
	var b strings.Builder
	fmt.Fprintf(&b, "Members of %s's delegated groups whose licenses are in error after the run of %s:\n", a.ID, since(at))
	for _, w := range ws {
		first := true
		for _, m := range w.plan.seats {
			if m.Error == "" {
				continue
			}
			if first {
				fmt.Fprintf(&b, "\n%s, group %s\n", productTitle(w, names), w.in.groupID)
				first = false
			}
			advice := reasonAdvice[m.Error]
			if advice == "" {
				advice = "the directory reports this error on the member's license"
			}
			fmt.Fprintf(&b, "  %s: %s: %s.\n", m.UserPrincipalName, m.Error, advice)
		}
	}
	b.WriteString("\nThis message is sent once for each change in this list.\n")
	return licensing.MailMessage{To: to, Cc: centralIT, Subject: a.ID + ": delegated group licenses in error", Text: b.String()}
}
