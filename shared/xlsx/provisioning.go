package xlsx

import (
	"fmt"

	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

const sheetProvisioning = "Provisioning"

// Sentences of the Provisioning sheet.
const (
	noteSeatOrder = "Members are licensed in the order they were first seen in the group, up to the seats bought and in force; the others wait in that order."
	noteElsewhere = "Licensed elsewhere: the member holds the product from another source (an administrator, another group, another agency); it does not count against the seats and is left as it is."
	noteErrors    = "Not assigned: the license could not be assigned; Error says why (UsageLocationMissing: the account has no usage location; MutuallyExclusiveViolation: the account holds a product that excludes this one)."
	noteWouldFree = "Would free seats: these members hold a seat and their accounts are disabled; taking them out of the group frees their seats for the members waiting."
)

// Seat column values.
const (
	seatAssigned  = "Assigned"
	seatElsewhere = "Licensed elsewhere"
	seatFailed    = "Not assigned"
	seatDisabled  = "Assigned, account disabled"
)

// seatWaiting is the Seat value of the member at position n (from 1) of
// the waitlist.
func seatWaiting(n int) string { return fmt.Sprintf("Waiting (%d)", n) }

// provisioning writes the Provisioning sheet: a title block, then per
// delegated group its product, group, cap and counts, and its members:
// assigned, the waitlist in order, licensed elsewhere and errors, each list
// in the order p gives it, then those whose seats would be freed.
func (rw *ReportWriter) provisioning(f *excelize.File, st *styles, p *licensing.ProvisioningState) error {
	g := &grid{f: f, name: sheetProvisioning}
	asOf := stamp(p.AsOf, rw.loc, st.cell[plain][kindStamp])
	if p.AsOf.IsZero() {
		asOf = text("not read yet", 0)
	}
	if err := g.head(st, "Group provisioning: "+p.Agency, []headRow{
		{label: "Agency", value: text(p.Agency, 0)},
		{label: "As of (" + rw.loc.String() + ")", value: asOf},
	}); err != nil {
		return err
	}
	if err := f.SetPanes(sheetProvisioning, freezeAbove(g.row+1)); err != nil {
		return err
	}
	if err := g.notes(st, noteSeatOrder); err != nil {
		return err
	}
	if len(p.Products) == 0 {
		if err := g.notes(st, "The agency's delegated groups have not been read yet."); err != nil {
			return err
		}
		return g.finish()
	}
	for i, ps := range p.Products {
		if err := rw.seatSection(g, st, fmt.Sprintf("Seats%d", i+1), ps); err != nil {
			return err
		}
	}
	if err := g.notes(st, noteElsewhere, noteErrors); err != nil {
		return err
	}
	return g.finish()
}

// seatSection writes one delegated group: its heading, counts and members
// (an Excel table called table).
func (rw *ReportWriter) seatSection(g *grid, st *styles, table string, ps licensing.ProductSeats) error {
	name := ps.Name
	if name == "" {
		name = ps.PartNumber
	}
	if ps.PartNumber != "" && ps.PartNumber != name {
		name += " (" + ps.PartNumber + ")"
	}
	count := func(n int, t tone) cell { return number(n, st.cell[t][kindInt]) }
	assignedTone := plain
	if len(ps.Assigned) > ps.Cap {
		assignedTone = over
	}
	g.skip()
	if err := g.head(st, name, []headRow{
		{label: "Group", value: text(ps.GroupID, 0), long: true},
		{label: "Seats bought and in force", value: count(ps.Cap, plain)},
		{label: "Assigned", value: count(len(ps.Assigned), assignedTone)},
		{label: "Waiting", value: count(len(ps.Waitlist), plain)},
		{label: "Licensed elsewhere", value: count(len(ps.LicensedElsewhere), plain)},
		{label: "Not assigned (errors)", value: count(len(ps.Errors), plain)},
		{label: "Would free seats", value: count(len(ps.WouldFree), plain)},
	}); err != nil {
		return err
	}
	g.skip()
	if len(ps.Assigned)+len(ps.Waitlist)+len(ps.LicensedElsewhere)+len(ps.Errors) == 0 {
		return g.add(false, text("The group has no members.", st.note))
	}
	headerRow := g.row + 1
	if err := g.header(st, cols(3), "User principal name", "Seat", "Since ("+rw.loc.String()+")", "Error"); err != nil {
		return err
	}
	lists := []struct {
		entries []licensing.SeatEntry
		t       tone
		seat    func(i int) string
	}{
		{ps.Assigned, plain, func(int) string { return seatAssigned }},
		{ps.Waitlist, flagged, func(i int) string { return seatWaiting(i + 1) }},
		{ps.LicensedElsewhere, unused, func(int) string { return seatElsewhere }},
		{ps.Errors, over, func(int) string { return seatFailed }},
	}
	for _, l := range lists {
		for i, e := range l.entries {
			if err := rw.seatRow(g, st, l.t, e, l.seat(i)); err != nil {
				return err
			}
		}
	}
	if err := g.table(table, headerRow, 4, g.row); err != nil {
		return err
	}
	if len(ps.WouldFree) == 0 {
		return nil
	}
	g.skip()
	if err := g.add(false, text(noteWouldFree, st.label)); err != nil {
		return err
	}
	for _, e := range ps.WouldFree {
		if err := rw.seatRow(g, st, flagged, e, seatDisabled); err != nil {
			return err
		}
	}
	return nil
}

// seatRow writes one member: user principal name, seat, since and error.
func (rw *ReportWriter) seatRow(g *grid, st *styles, t tone, e licensing.SeatEntry, seat string) error {
	s := &st.cell[t]
	return g.add(true, text(e.UserPrincipalName, s[kindText]), text(seat, s[kindText]),
		stamp(e.Since, rw.loc, s[kindStamp]), text(e.Error, s[kindText]))
}
