package xlsx

import (
	"io"

	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Sheet names of the chargeback workbook.
const (
	sheetChargeback = "Chargeback"
	sheetTotals     = "Totals"
)

var _ licensing.ChargebackWriter = (*ReportWriter)(nil)

// WriteChargeback writes c to out as a workbook with the sheets Chargeback
// (a row per agency, product and purchase line in force during the month,
// the lines without a price flagged with a blank amount) and Totals (per
// agency and currency, then per currency). Amounts are exact number cells
// in their currency's format. An error from out is returned as it is;
// anything else is Internal.
func (rw *ReportWriter) WriteChargeback(out io.Writer, c licensing.Chargeback) error {
	about := docAbout{
		title:   "Chargeback " + c.Month.String(),
		subject: "What each agency's purchase lines in force cost in " + c.Month.String(),
	}
	return rw.write(out, about, []string{sheetChargeback, sheetTotals}, func(f *excelize.File, st *styles) error {
		if err := chargebackSheet(f, st, c); err != nil {
			return err
		}
		return chargebackTotals(f, st, c)
	})
}

func chargebackSheet(f *excelize.File, st *styles, c licensing.Chargeback) error {
	g := &grid{f: f, name: sheetChargeback}
	if err := g.head(st, "Chargeback "+c.Month.String(), []headRow{
		{label: "From", value: day(c.From, st.cell[plain][kindDate])},
		{label: "To", value: day(c.To, st.cell[plain][kindDate])},
	}); err != nil {
		return err
	}
	g.skip()
	headerRow := g.row + 1
	if err := g.header(st, cols(5, 6, 8, 9), "Agency", "Product", "PO", "Line", "Seats", "Unit price (seat, year)", "Currency", "Days charged", "Amount", "Charged", "Note"); err != nil {
		return err
	}
	if err := f.SetPanes(sheetChargeback, freezeAbove(headerRow+1)); err != nil {
		return err
	}
	if err := printTitles(f, sheetChargeback, headerRow); err != nil {
		return err
	}
	if len(c.Rows) == 0 {
		if err := g.add(false, text("No purchase line was in force during the month.", st.note)); err != nil {
			return err
		}
		return g.finish()
	}
	for _, r := range c.Rows {
		t := plain
		if r.Amount == nil {
			t = flagged
		}
		s := &st.cell[t]
		price, amt := blank(s[kindInt]), blank(s[kindInt])
		if r.UnitPrice != nil {
			money, err := st.moneyStyle(t, r.Currency)
			if err != nil {
				return err
			}
			price, amt = amount(*r.UnitPrice, money), amount(*r.Amount, money)
		}
		note := r.Flag
		if r.Corrects != "" && note == "" {
			note = "correction of " + r.Corrects
		}
		if err := g.add(true, text(r.Agency, s[kindText]), text(r.Product, s[kindText]), text(r.PONumber, s[kindText]), text(r.Line, s[kindText]),
			number(r.Seats, s[kindInt]), price, text(r.Currency, s[kindText]), number(r.Days, s[kindInt]), amt,
			text(r.Charged(), s[kindText]), text(note, s[kindText])); err != nil {
			return err
		}
	}
	lastRow := g.row
	if err := g.notes(st,
		"Amount = unit price × seats / 12 for a whole month in force; for part of a month, × the days in force / the days of the month; rounded to a hundredth.",
		"A unit price is the price of one seat for one year as the purchase order quotes it; a correction without a price of its own takes that of the line it corrects.",
		"Days are those of the term (the grace period after a term ends is not charged), before a renewal replacing the line starts.",
		"Lines without a price have a blank amount and are flagged: charge them by hand. The Totals sheet adds amounts per currency only."); err != nil {
		return err
	}
	if err := g.table("Chargeback", headerRow, 11, lastRow); err != nil {
		return err
	}
	return g.finish()
}

func chargebackTotals(f *excelize.File, st *styles, c licensing.Chargeback) error {
	g := &grid{f: f, name: sheetTotals}
	if err := g.header(st, cols(3, 4), "Agency", "Currency", "Amount", "Lines without a price"); err != nil {
		return err
	}
	if err := f.SetPanes(sheetTotals, freezeAbove(2)); err != nil {
		return err
	}
	for _, t := range c.Totals {
		tn := plain
		agency := t.Agency
		if agency == "" {
			tn, agency = total, "Total"
		}
		s := &st.cell[tn]
		cur, amt := text(t.Currency, s[kindText]), blank(s[kindInt])
		if t.Currency == "" {
			cur = text("no price", s[kindText])
		} else {
			money, err := st.moneyStyle(tn, t.Currency)
			if err != nil {
				return err
			}
			amt = amount(t.Amount, money)
		}
		if err := g.add(true, text(agency, s[kindText]), cur, amt, number(t.Unpriced, s[kindInt])); err != nil {
			return err
		}
	}
	if err := g.notes(st, "A row per agency and currency, then the totals per currency over every agency: amounts in different currencies are never added."); err != nil {
		return err
	}
	return g.finish()
}
