package renewals

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// purchaseText is the body of a purchase reminder: the lines that end, and
// what to do for each kind of agreement among them.
func (r *reminderRun) purchaseText(g *purchaseGroup, a licensing.Agency, late bool, dueOn licensing.Date) string {
	var b strings.Builder
	name := g.agency
	if a.Name != "" {
		name = a.Name + " (" + g.agency + ")"
	}
	fmt.Fprintf(&b, "Licenses of %s end on %s, %s.\n", name, g.termEnd, inDays(r.on.DaysUntil(g.termEnd)))
	if late {
		fmt.Fprintf(&b, "This is the %d-day reminder, due on %s; it is sent late because no run sent it on that day.\n", g.due, dueOn)
	}
	switch {
	case a.ID == "":
		fmt.Fprintf(&b, "\n%s has no contacts (it is not configured), so this reminder goes to central IT only: pass it on to the agency, and configure it with its contacts (PUT /api/agencies/%s).\n", g.agency, g.agency)
	case len(a.Contacts) == 0:
		fmt.Fprintf(&b, "\n%s has no contacts, so this reminder goes to central IT only: pass it on to the agency, and add its contacts to its configuration (PUT /api/agencies/%s).\n", g.agency, g.agency)
	}
	// The PO number column is as wide as the longest one: it is what the
	// agency looks its order up by.
	poWidth := len("PO number")
	for _, p := range g.lines {
		poWidth = max(poWidth, len(p.PONumber))
	}
	fmt.Fprintf(&b, "\n  %-36s %8s  %-*s %-24s %s\n", "Product", "Quantity", poWidth, "PO number", "Term", "Agreement")
	kinds := map[string]bool{}
	var resellers []string
	for _, p := range g.lines {
		product := r.catalog.Product(p.SkuID, p.PartNumber).Name
		fmt.Fprintf(&b, "  %-36s %8d  %-*s %-24s %s\n", licensing.TruncateTo(product, 36), p.Quantity, poWidth, p.PONumber,
			p.TermStart.String()+" to "+p.TermEnd.String(), agreementName(p.Agreement))
		kinds[agreementKind(p.Agreement)] = true
		if p.Agreement == licensing.AgreementCSP && p.Reseller != "" && !slices.Contains(resellers, p.Reseller) {
			resellers = append(resellers, p.Reseller)
		}
	}
	b.WriteString("\nWhat to do:\n")
	if kinds[licensing.AgreementALaCarte] {
		b.WriteString("- " + fiscalYearAdvice(g.termEnd, r.s.cfg.Terms) + "\n")
	}
	if kinds[licensing.AgreementEnterprise] {
		fmt.Fprintf(&b, "- Enterprise Agreement lines: renew through your reseller or the Microsoft account team before %s. Microsoft sends its own reminder about 90 days before the end; the renewal still needs its purchase order here.\n", g.termEnd)
	}
	if kinds[licensing.AgreementCSP] {
		with := "the reseller"
		if len(resellers) > 0 {
			with = "the reseller (" + strings.Join(resellers, ", ") + ")"
		}
		fmt.Fprintf(&b, "- CSP lines: renew with %s before %s.\n", with, g.termEnd)
	}
	if kinds[""] {
		fmt.Fprintf(&b, "- Lines without a recorded agreement: send a new purchase order before %s.\n", g.termEnd)
	}
	b.WriteString("\nSend the renewal's purchase order to central IT as for any purchase. Once it is recorded as the renewal of these lines, their reminders stop.\n")
	return b.String()
}

// fiscalYearAdvice says, for a-la-carte licenses ending on end, when they
// must be bought again and how long the grace period keeps the seats, from
// the configured terms.
func fiscalYearAdvice(end licensing.Date, t licensing.Terms) string {
	grace := max(t.GraceDays, 0)
	next := end.AddDays(grace + 1)
	what := fmt.Sprintf("the term that starts on %s", next)
	year := end.Time().Year() + 1
	if start, fyEnd := licensing.FiscalYear(year, t); start.Equal(next) && fyEnd.AddYears(-1).Equal(end) {
		what = fmt.Sprintf("fiscal year %d, which starts on %s (%s to %s)", year, start, start, fyEnd)
	}
	keep := fmt.Sprintf("The grace period keeps the seats through %s, so a purchase recorded by then leaves no gap.", end.AddDays(grace))
	if grace == 0 {
		keep = fmt.Sprintf("There is no grace period: the seats stop counting after %s.", end)
	}
	return fmt.Sprintf("A-la-carte lines: the licenses end on %s and must be bought again, with a new purchase order, for %s. %s", end, what, keep)
}

// agreementKind is the agreement a line's advice follows: a-la-carte,
// enterprise, CSP, or "" when the line names none (or another one).
func agreementKind(a string) string {
	switch a {
	case licensing.AgreementALaCarte, licensing.AgreementEnterprise, licensing.AgreementCSP:
		return a
	}
	return ""
}

func agreementName(a string) string {
	switch a {
	case licensing.AgreementALaCarte:
		return "a la carte"
	case licensing.AgreementEnterprise:
		return "Enterprise Agreement"
	case licensing.AgreementCSP:
		return "CSP"
	case "":
		return "not recorded"
	}
	return a
}

// inDays says how far a day is: today, tomorrow, in n days.
func inDays(n int) string {
	switch n {
	case 0:
		return "today"
	case 1:
		return "tomorrow"
	}
	return fmt.Sprintf("in %d days", n)
}

// agencyUse lists the agencies' seats: "DOA 60, DET 30 (90 in all)".
func agencyUse(ents []licensing.Entitlement) string {
	if len(ents) == 0 {
		return "none"
	}
	sorted := append([]licensing.Entitlement(nil), ents...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Agency < sorted[j].Agency })
	parts := make([]string, 0, len(sorted))
	total := 0
	for _, e := range sorted {
		parts = append(parts, fmt.Sprintf("%s %d", e.Agency, e.Quantity))
		total += e.Quantity
	}
	return fmt.Sprintf("%s (%d in all)", strings.Join(parts, ", "), total)
}
