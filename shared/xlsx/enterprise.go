package xlsx

import (
	"io"

	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// WriteEnterpriseSummary writes s to w as a workbook with the sheets
// Overview (the agencies over what they bought, worst first, with a chart,
// the tenant check's differences and the counts of unattributed and
// conflicting users), Agencies (every agency by product, with the date and
// the data's timestamp, and each product's yearly cost), Costs (the yearly
// costs per agency and currency, and per currency), Tenant check, and Unattributed and Conflicts (streamed from
// unattributed and conflicts, either of which may be nil). An error from a
// source or w is returned as it is; anything else is Internal.
func (rw *ReportWriter) WriteEnterpriseSummary(w io.Writer, s licensing.EnterpriseSummary, unattributed, conflicts licensing.UserSource) error {
	sheets := []string{sheetOverview, sheetAgencies, sheetCosts, sheetTenant, sheetUnattributed, sheetConflicts}
	about := docAbout{
		title:   "Enterprise license summary, " + s.Date.String(),
		subject: "Licenses purchased and in use by every agency on " + s.Date.String() + ", the tenant check, and the users no agency or several agencies match",
	}
	return rw.write(w, about, sheets, func(f *excelize.File, st *styles) error {
		if err := rw.overview(f, st, s); err != nil {
			return err
		}
		if err := rw.agencies(f, st, s); err != nil {
			return err
		}
		if err := costsSheet(f, st, s); err != nil {
			return err
		}
		if err := rw.tenantCheck(f, st, s.Tenant); err != nil {
			return err
		}
		// The summary carries no sign-in availability: the column is
		// empty for every user when sign-ins were not read.
		signIn := signInHeader(rw.loc, true)
		if err := rw.streamUsers(f, st, userSheet{
			name:    sheetUnattributed,
			matched: "Matched attribute",
			signIn:  signIn,
			none:    "Every licensed user is attributed to an agency.",
		}, unattributed); err != nil {
			return err
		}
		return rw.streamUsers(f, st, userSheet{
			name:    sheetConflicts,
			matched: "Matched (candidates)",
			signIn:  signIn,
			none:    "No licensed user matches more than one agency.",
		}, conflicts)
	})
}

// agencies writes the Agencies sheet.
func (rw *ReportWriter) agencies(f *excelize.File, st *styles, s licensing.EnterpriseSummary) error {
	g := &grid{f: f, name: sheetAgencies}
	err := g.head(st, "Enterprise license summary", append(rw.dateRows(st, s.Date, s.DataAsOf),
		headRow{label: "Snapshot", value: text(s.SnapshotID, 0), long: true},
		headRow{label: "Unattributed users", value: number(s.Unattributed, st.cell[plain][kindInt])},
		headRow{label: "Users in conflict", value: number(s.Conflicts, st.cell[plain][kindInt])},
	))
	if err != nil {
		return err
	}
	g.skip()
	headerRow := g.row + 1
	if err := g.header(st, append(cols(5, 6, 7), costCols(9)...), append([]string{"Agency", "Agency name", "Product", "Part number", "Purchased", "In use", "Available/Over", "Status"}, costHeaders...)...); err != nil {
		return err
	}
	if err := f.SetPanes(sheetAgencies, freezeAbove(headerRow+1)); err != nil {
		return err
	}
	if err := printTitles(f, sheetAgencies, headerRow); err != nil {
		return err
	}
	if len(s.Rows) == 0 {
		if err := g.add(false, text("No agency has licenses purchased or in use on the report date.", st.note)); err != nil {
			return err
		}
		return g.finish()
	}
	var sum licensing.ProductLine
	for _, r := range s.Rows {
		c := &st.cell[statusTone(r.Status)]
		name := r.Name
		if name == "" {
			name = r.PartNumber
		}
		costs, err := costCells(st, statusTone(r.Status), r.Cost)
		if err != nil {
			return err
		}
		if err := g.add(true, append([]cell{
			text(r.Agency, c[kindText]), text(r.AgencyName, c[kindText]), text(name, c[kindText]), text(r.PartNumber, c[kindText]),
			number(r.Purchased, c[kindInt]), number(r.InUse, c[kindInt]), number(r.Available, c[kindInt]),
			text(r.Status, c[kindText])}, costs...)...); err != nil {
			return err
		}
		sum.Purchased += r.Purchased
		sum.InUse += r.InUse
		sum.Available += r.Available
	}
	lastRow := g.row
	c := &st.cell[total]
	if err := g.add(true, text("Total", c[kindText]), blank(c[kindText]), blank(c[kindText]), blank(c[kindText]),
		subtotal(5, headerRow+1, lastRow, sum.Purchased, c[kindInt]), subtotal(6, headerRow+1, lastRow, sum.InUse, c[kindInt]),
		subtotal(7, headerRow+1, lastRow, sum.Available, c[kindInt]), blank(c[kindText])); err != nil {
		return err
	}
	if err := g.notes(st, notePurchased,
		"Available/Over = Purchased − In use; negative means over by that many (Status Over, in red). Unused (grey): purchased, and nobody holds it.",
		"The Unattributed and Conflicts sheets list the users no agency's rule matches, and those more than one matches.",
		"The totals follow the table's filter: seats of different products do not add up, so filter Product to total one product across agencies.",
		noteCosts+" The Costs sheet totals them per agency and currency."); err != nil {
		return err
	}
	if err := g.table("AgencyProducts", headerRow, 8+len(costHeaders), lastRow); err != nil {
		return err
	}
	return g.finish()
}

// tenantCheck writes the Tenant check sheet.
func (rw *ReportWriter) tenantCheck(f *excelize.File, st *styles, rows []licensing.TenantCheckRow) error {
	g := &grid{f: f, name: sheetTenant}
	if err := g.header(st, cols(3, 4, 5, 6), "Product", "Part number", "Purchased by agencies", "Tenant prepaid", "Consumed", "Difference", "Note"); err != nil {
		return err
	}
	if err := f.SetPanes(sheetTenant, freezeAbove(2)); err != nil {
		return err
	}
	if err := printTitles(f, sheetTenant, 1); err != nil {
		return err
	}
	if len(rows) == 0 {
		if err := g.add(false, text("The tenant has no subscriptions and the agencies no purchases.", st.note)); err != nil {
			return err
		}
		return g.finish()
	}
	var sum licensing.TenantCheckRow
	for _, r := range rows {
		t := plain
		if r.Difference != 0 {
			t = flagged
		}
		if err := g.tenantRow(&st.cell[t], r); err != nil {
			return err
		}
		sum.Purchased += r.Purchased
		sum.Prepaid += r.Prepaid
		sum.Consumed += r.Consumed
		sum.Difference += r.Difference
	}
	lastRow := g.row
	c := &st.cell[total]
	if err := g.add(true, text("Total", c[kindText]), blank(c[kindText]),
		subtotal(3, 2, lastRow, sum.Purchased, c[kindInt]), subtotal(4, 2, lastRow, sum.Prepaid, c[kindInt]),
		subtotal(5, 2, lastRow, sum.Consumed, c[kindInt]), subtotal(6, 2, lastRow, sum.Difference, c[kindInt]), blank(c[kindText])); err != nil {
		return err
	}
	if err := g.notes(st,
		"Difference = Tenant prepaid − Purchased by agencies (highlighted when not zero).",
		"A difference means purchases not recorded here, or a recording error.",
		"Tenant prepaid counts the tenant's enabled units; Consumed its assigned ones."); err != nil {
		return err
	}
	if err := g.table("TenantCheck", 1, 7, lastRow); err != nil {
		return err
	}
	return g.finish()
}
