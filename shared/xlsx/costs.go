package xlsx

import (
	"fmt"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// costHeaders head the cost columns of a product table; costNumeric are
// their positions holding numbers, counted from the first cost column.
var costHeaders = []string{"Currency", "Unit price (seat, year)", "Cost purchased (year)", "Cost in use (year)", "Cost over (year)"}

// Sentences about costs.
const (
	noteCosts = "Unit price is the price of one seat for one year as the purchase order quotes it (that of the latest purchase in force); " +
		"Cost purchased = the seats in force × their prices; Cost in use and Cost over = the seats in use and over × the unit price."
	noteMixed   = "A product bought in several currencies shows each currency's cost purchased and \"mixed\" for the rest: amounts in different currencies are never added."
	noteUnknown = "Prices are unknown for the products whose cost cells are blank: a purchase in force has no unit price."
)

// costCols returns the 1-based numeric columns of the cost columns when
// the first of them is column first.
func costCols(first int) []int { return []int{first + 1, first + 2, first + 3, first + 4} }

// costCells returns the cost cells of a product in a row of tone t: blank
// when its prices are unknown, "mixed" where currencies cannot be added.
func costCells(st *styles, t tone, c *licensing.ProductCost) ([]cell, error) {
	txt := st.cell[t][kindText]
	num := st.cell[t][kindInt]
	switch {
	case c == nil:
		return []cell{blank(txt), blank(num), blank(num), blank(num), blank(num)}, nil
	case c.Mixed():
		var parts []string
		for _, m := range c.Bought {
			parts = append(parts, m.String())
		}
		mixed := func() cell { return text("mixed", num) }
		return []cell{text("mixed", txt), mixed(), text(strings.Join(parts, "; "), num), mixed(), mixed()}, nil
	}
	money, err := st.moneyStyle(t, c.Currency)
	if err != nil {
		return nil, err
	}
	return []cell{text(c.Currency, txt), amount(*c.UnitPrice, money), amount(c.Bought[0].Amount, money),
		amount(*c.InUse, money), amount(*c.Over, money)}, nil
}

// costTotals writes, below a product table, the yearly costs per currency
// of products (labelled who), and the sentences saying what is mixed or
// unknown; nothing when no product has a price and none is bought.
func costTotals(g *grid, st *styles, who string, products []licensing.ProductLine) ([]string, error) {
	totals, mixed, unknown := licensing.TotalCosts(products)
	var notes []string
	if mixed > 0 {
		notes = append(notes, noteMixed)
	}
	if unknown > 0 {
		notes = append(notes, fmt.Sprintf("%s Not counted in the costs per year: %s.", noteUnknown, licensing.Plural(unknown, "product")))
	}
	g.skip()
	if err := g.add(false, text("Costs per year, "+who, st.label)); err != nil {
		return nil, err
	}
	if len(totals) == 0 {
		return notes, g.add(false, text("No purchase in force has a price: the costs are unknown.", st.note))
	}
	if err := g.header(st, cols(2, 3, 4), "Currency", "Purchased", "In use", "Over"); err != nil {
		return nil, err
	}
	for _, t := range totals {
		money, err := st.moneyStyle(total, t.Currency)
		if err != nil {
			return nil, err
		}
		if err := g.add(true, text(t.Currency, st.cell[total][kindText]), amount(t.Bought, money), amount(t.InUse, money), amount(t.Over, money)); err != nil {
			return nil, err
		}
	}
	return notes, nil
}

// sheetCosts is the enterprise summary's sheet of yearly costs.
const sheetCosts = "Costs"

// costsSheet writes the enterprise summary's Costs sheet: per agency and
// currency what its products in force cost per year (purchased, in use,
// over), then the same per currency over every agency, and the agencies
// with products whose prices are unknown or in several currencies.
func costsSheet(f *excelize.File, st *styles, s licensing.EnterpriseSummary) error {
	g := &grid{f: f, name: sheetCosts}
	if err := g.header(st, cols(4, 5, 6, 7, 8), "Agency", "Agency name", "Currency", "Purchased (year)", "In use (year)", "Over (year)",
		"Products without a price", "Products in several currencies"); err != nil {
		return err
	}
	if err := f.SetPanes(sheetCosts, freezeAbove(2)); err != nil {
		return err
	}
	if err := printTitles(f, sheetCosts, 1); err != nil {
		return err
	}
	var order []string
	byAgency := map[string][]licensing.ProductLine{}
	names := map[string]string{}
	var all []licensing.ProductLine
	for _, r := range s.Rows {
		if r.Agency == licensing.Unattributed || r.Agency == licensing.Conflicted {
			continue
		}
		if _, ok := byAgency[r.Agency]; !ok {
			order = append(order, r.Agency)
		}
		byAgency[r.Agency] = append(byAgency[r.Agency], r.ProductLine)
		names[r.Agency] = r.AgencyName
		all = append(all, r.ProductLine)
	}
	row := func(agency, name string, products []licensing.ProductLine, t tone) error {
		totals, mixed, unknown := licensing.TotalCosts(products)
		c := &st.cell[t]
		if len(totals) == 0 {
			return g.add(true, text(agency, c[kindText]), text(name, c[kindText]), text("unknown", c[kindText]),
				blank(c[kindInt]), blank(c[kindInt]), blank(c[kindInt]), number(unknown, c[kindInt]), number(mixed, c[kindInt]))
		}
		for i, tot := range totals {
			money, err := st.moneyStyle(t, tot.Currency)
			if err != nil {
				return err
			}
			counts := []cell{number(unknown, c[kindInt]), number(mixed, c[kindInt])}
			if i > 0 {
				counts = []cell{blank(c[kindInt]), blank(c[kindInt])}
			}
			if err := g.add(true, append([]cell{text(agency, c[kindText]), text(name, c[kindText]), text(tot.Currency, c[kindText]),
				amount(tot.Bought, money), amount(tot.InUse, money), amount(tot.Over, money)}, counts...)...); err != nil {
				return err
			}
		}
		return nil
	}
	if len(order) == 0 {
		if err := g.add(false, text("No agency has licenses purchased or in use on the report date.", st.note)); err != nil {
			return err
		}
		return g.finish()
	}
	for _, a := range order {
		if err := row(a, names[a], byAgency[a], plain); err != nil {
			return err
		}
	}
	lastRow := g.row
	if err := row("Total", "every agency", all, total); err != nil {
		return err
	}
	if err := g.notes(st, noteCosts,
		"Amounts in different currencies are never added: an agency or the total with prices in several currencies has a row per currency.",
		"A product bought in several currencies adds its cost purchased to each currency, and nothing to In use and Over.",
		noteUnknown+" Such products are counted under Products without a price and left out of the amounts."); err != nil {
		return err
	}
	if err := g.table("AgencyCosts", 1, 8, lastRow); err != nil {
		return err
	}
	return g.finish()
}
