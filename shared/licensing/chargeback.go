package licensing

import (
	"fmt"
	"io"
	"sort"
)

// Chargeback is central IT's monthly chargeback: per agency, product and
// purchase line in force during the month, what it costs that month, and
// the totals per agency and currency. Amounts in different currencies are
// never added.
type Chargeback struct {
	Month Month
	From  Date
	To    Date
	Rows  []ChargebackRow
	// Totals are per agency and currency, then (Agency empty) per currency
	// over every agency.
	Totals []ChargebackTotal
	// Unpriced counts the rows without a price (their amount is blank).
	Unpriced int
}

// ChargebackRow is one purchase line charged for a month.
type ChargebackRow struct {
	Agency     string  `json:"agency"`
	AgencyName string  `json:"agencyName,omitempty"`
	Product    string  `json:"product"`
	PartNumber string  `json:"skuPartNumber,omitempty"`
	PONumber   string  `json:"poNumber"`
	Line       string  `json:"line"`
	Corrects   string  `json:"corrects,omitempty"`
	Seats      int     `json:"seats"`
	UnitPrice  *Amount `json:"unitPrice"`
	Currency   string  `json:"currency,omitempty"`
	// Days of the month the line was in force, of MonthDays.
	Days      int     `json:"days"`
	MonthDays int     `json:"monthDays"`
	Amount    *Amount `json:"amount"`
	// Flag says why a row needs a look (no price); empty when it does not.
	Flag string `json:"flag,omitempty"`
}

// ChargebackTotal is the month's amount of an agency (or, with Agency
// empty, of every agency) in one currency; Unpriced counts its rows
// without a price, which it leaves out.
type ChargebackTotal struct {
	Agency   string `json:"agency,omitempty"`
	Currency string `json:"currency,omitempty"`
	Amount   Amount `json:"amount"`
	Unpriced int    `json:"unpriced,omitempty"`
}

// FlagNoPrice flags a chargeback row whose line has no price.
const FlagNoPrice = "no unit price recorded for this line: charge it by hand"

// Charged says how much of the month a row was charged: "1 month", or
// "12 of 30 days".
func (r ChargebackRow) Charged() string {
	if r.Days == r.MonthDays {
		return "1 month"
	}
	return fmt.Sprintf("%d of %d days", r.Days, r.MonthDays)
}

// base is the line a row charges: the corrected line for a correction.
func (r ChargebackRow) base() string {
	if r.Corrects != "" {
		return r.Corrects
	}
	return r.Line
}

// ChargebackWriter renders the chargeback as a spreadsheet.
type ChargebackWriter interface {
	WriteChargeback(w io.Writer, c Chargeback) error
}

// BuildChargeback charges month m from the ledger all: a row per line in
// force during the month (ChargeLines), ordered by agency, product, PO
// number and line (each correction after the line it corrects), named through agencies and product; the totals per
// agency and currency, then per currency.
func BuildChargeback(m Month, agencies []Agency, all []Purchase, product func(skuID, partNumber string) Product, t Terms) Chargeback {
	names := map[string]string{}
	for _, a := range agencies {
		names[a.ID] = a.Name
	}
	c := Chargeback{Month: m, From: m.First(), To: m.Last()}
	for _, l := range ChargeLines(all, m, t) {
		p := product(l.Line.SkuID, l.Line.PartNumber)
		part := p.PartNumber
		if part == "" {
			part = l.Line.PartNumber
		}
		row := ChargebackRow{Agency: l.Line.Agency, AgencyName: names[l.Line.Agency], Product: p.Name, PartNumber: part,
			PONumber: l.Line.PONumber, Line: l.Line.ID, Corrects: l.Line.Corrects, Seats: l.Line.Quantity,
			UnitPrice: l.UnitPrice, Currency: l.Currency, Days: l.Days, MonthDays: m.Days(), Amount: l.Amount}
		if row.Product == "" {
			row.Product = part
		}
		if row.Amount == nil {
			row.Flag = FlagNoPrice
			c.Unpriced++
		}
		c.Rows = append(c.Rows, row)
	}
	sort.SliceStable(c.Rows, func(i, j int) bool {
		a, b := c.Rows[i], c.Rows[j]
		switch {
		case a.Agency != b.Agency:
			return a.Agency < b.Agency
		case a.Product != b.Product:
			return a.Product < b.Product
		case a.PONumber != b.PONumber:
			return a.PONumber < b.PONumber
		case a.base() != b.base():
			return a.base() < b.base()
		case (a.Corrects == "") != (b.Corrects == ""):
			// A correction follows the line it corrects.
			return a.Corrects == ""
		}
		return a.Line < b.Line
	})
	type key struct{ agency, currency string }
	sums := map[key]*ChargebackTotal{}
	var keys []key
	add := func(k key, r ChargebackRow) {
		t := sums[k]
		if t == nil {
			t = &ChargebackTotal{Agency: k.agency, Currency: k.currency}
			sums[k] = t
			keys = append(keys, k)
		}
		if r.Amount == nil {
			t.Unpriced++
			return
		}
		t.Amount += *r.Amount
	}
	for _, r := range c.Rows {
		add(key{r.Agency, r.Currency}, r)
		add(key{"", r.Currency}, r)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if (a.agency == "") != (b.agency == "") {
			return b.agency == ""
		}
		if a.agency != b.agency {
			return a.agency < b.agency
		}
		return a.currency < b.currency
	})
	for _, k := range keys {
		c.Totals = append(c.Totals, *sums[k])
	}
	return c
}
