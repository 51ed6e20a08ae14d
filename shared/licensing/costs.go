package licensing

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// A unit price is the price of one seat for one year, as the purchase order
// quotes it (Enterprise Agreement and CSP annual orders quote per seat per
// year). What a product costs per year is its seats times that price; a
// month of chargeback is a twelfth of it, by days for part of a month.

// ProductCost is what one product of an agency costs per year, from the
// prices of its lines in force.
type ProductCost struct {
	// Currency is the one currency of the product's prices; empty when they
	// are in several (Bought then has one entry per currency, and UnitPrice,
	// InUse and Over are unset: amounts in different currencies are never
	// added).
	Currency string
	// UnitPrice is the product's price per seat and year: that of its line
	// in force with the latest term start.
	UnitPrice *Amount
	// Bought is seats in force × their unit price, per currency.
	Bought []Money
	// InUse and Over are the seats in use and the seats over × UnitPrice.
	InUse, Over *Amount
}

// Mixed reports whether the product's prices are in several currencies.
func (c *ProductCost) Mixed() bool { return c != nil && c.Currency == "" }

// priceOf returns the price of line p: its own, or for a correction
// without one that of the line it corrects.
func (ix ledgerIndex) priceOf(p Purchase) (*Amount, string) {
	if p.UnitPrice != nil {
		return p.UnitPrice, p.Currency
	}
	if p.Corrects != "" {
		if b := ix.base(p); b.ID != p.ID && b.UnitPrice != nil {
			return b.UnitPrice, b.Currency
		}
	}
	return nil, ""
}

// CostsOn returns, per SKU id (lower case) of agency, what its lines in force
// on day on cost per year, given the seats in use per SKU id. A product
// one of whose lines in force (corrections included) has no price is left
// out: its cost is unknown.
func CostsOn(all []Purchase, agency string, on Date, t Terms, inUse func(sku string) int) map[string]*ProductCost {
	ix := newLedgerIndex(all)
	type acc struct {
		unknown bool
		bought  map[string]Amount
		seats   int
		latest  *Purchase
	}
	per := map[string]*acc{}
	for i := range all {
		p := all[i]
		if p.Agency != agency || !ix.inForce(p, on, t) {
			continue
		}
		sku := strings.ToLower(p.SkuID)
		a := per[sku]
		if a == nil {
			a = &acc{bought: map[string]Amount{}}
			per[sku] = a
		}
		a.seats += p.Quantity
		price, cur := ix.priceOf(p)
		if price == nil {
			a.unknown = true
			continue
		}
		a.bought[cur] += price.MulSeats(p.Quantity)
		if p.Corrects == "" && (a.latest == nil || a.latest.TermStart.Before(p.TermStart) ||
			(a.latest.TermStart.Equal(p.TermStart) && a.latest.ID < p.ID)) {
			a.latest = &all[i]
		}
	}
	out := map[string]*ProductCost{}
	for sku, a := range per {
		if a.unknown || a.latest == nil {
			continue
		}
		c := &ProductCost{}
		for cur, amt := range a.bought {
			c.Bought = append(c.Bought, Money{Amount: amt, Currency: cur})
		}
		sortMoney(c.Bought)
		if len(c.Bought) == 1 {
			c.Currency = c.Bought[0].Currency
			price := *a.latest.UnitPrice
			used := price.MulSeats(inUse(sku))
			over := price.MulSeats(OverBy(max(a.seats, 0), inUse(sku)))
			c.UnitPrice, c.InUse, c.Over = &price, &used, &over
		}
		out[sku] = c
	}
	return out
}

func sortMoney(m []Money) {
	sort.Slice(m, func(i, j int) bool { return m[i].Currency < m[j].Currency })
}

// CostTotal is the yearly cost of an agency's (or every agency's) products
// in one currency.
type CostTotal struct {
	Agency   string `json:"agency,omitempty"`
	Currency string `json:"currency"`
	Bought   Amount `json:"bought"`
	InUse    Amount `json:"inUse"`
	Over     Amount `json:"over"`
}

// TotalCosts adds up the costs of products per currency. A product priced
// in several currencies adds its Bought to each of them and nothing to In
// use and Over (mixed counts them); a product without a price adds nothing
// (unknown counts them).
func TotalCosts(products []ProductLine) (totals []CostTotal, mixed, unknown int) {
	by := map[string]*CostTotal{}
	get := func(cur string) *CostTotal {
		if by[cur] == nil {
			by[cur] = &CostTotal{Currency: cur}
		}
		return by[cur]
	}
	for _, p := range products {
		c := p.Cost
		switch {
		case c == nil:
			unknown++
			continue
		case c.Mixed():
			mixed++
		default:
			t := get(c.Currency)
			t.InUse += *c.InUse
			t.Over += *c.Over
		}
		for _, m := range c.Bought {
			get(m.Currency).Bought += m.Amount
		}
	}
	for _, t := range by {
		totals = append(totals, *t)
	}
	sort.Slice(totals, func(i, j int) bool { return totals[i].Currency < totals[j].Currency })
	return totals, mixed, unknown
}

// Month is a calendar month, written 2006-01.
type Month struct {
	Year  int
	Month time.Month
}

// ParseMonth reads 2026-11.
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", strings.TrimSpace(s))
	if err != nil {
		return Month{}, fmt.Errorf("%q is not a month like 2026-11", Truncate(s))
	}
	if t.Year() < 2000 || t.Year() > 2100 {
		return Month{}, fmt.Errorf("%s is not a plausible month: give one from 2000-01 to 2100-12", s)
	}
	return Month{t.Year(), t.Month()}, nil
}

// MonthOf returns the month of day d.
func MonthOf(d Date) Month { return Month{d.Time().Year(), d.Time().Month()} }

// First and Last are the month's first and last days.
func (m Month) First() Date { return NewDate(m.Year, m.Month, 1) }
func (m Month) Last() Date  { return NewDate(m.Year, m.Month+1, 1).AddDays(-1) }

// Days counts the month's days.
func (m Month) Days() int { return m.Last().Time().Day() }

// Prev returns the month before m.
func (m Month) Prev() Month { return MonthOf(m.First().AddDays(-1)) }

func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }

// MonthCharge is what seats at price (per seat and year) cost for days of
// a month of monthDays days: price × seats / 12 for a whole month,
// × days / monthDays for part of one, rounded to a hundredth (halves away
// from zero).
func MonthCharge(price Amount, seats, days, monthDays int) Amount {
	if monthDays <= 0 {
		return 0
	}
	return (price.MulSeats(seats) * Amount(days)).divRound(Amount(12 * monthDays)).RoundCents()
}

// divRound divides a by d (positive), rounding halves away from zero, in
// Amount units.
func (a Amount) divRound(d Amount) Amount {
	if a < 0 {
		return -(-a).divRound(d)
	}
	return (a + d/2) / d
}

// ChargeLine is one purchase line of an agency charged for a month: its
// seats (a correction's are its own, negative when it removes seats), the
// days of the month it was in force, and what they cost.
type ChargeLine struct {
	Line Purchase
	// Days the line was in force in the month: from its term start to its
	// term end (the grace period after the end is not charged), before a
	// renewal replacing it starts, and only once it is active.
	Days int
	// UnitPrice and Currency are the line's, or for a correction without
	// a price of its own those of the line it corrects; nil when unknown.
	UnitPrice *Amount
	Currency  string
	// Amount is MonthCharge of the line's seats; nil without a price.
	Amount *Amount
}

// ChargeLines returns the lines (corrections included) in force on at
// least one day of month m, in ledger order, each with its days and
// amount.
func ChargeLines(all []Purchase, m Month, t Terms) []ChargeLine {
	ix := newLedgerIndex(all)
	noGrace := t
	noGrace.GraceDays = 0
	var out []ChargeLine
	for _, p := range all {
		days := 0
		for d := m.First(); !d.After(m.Last()); d = d.AddDays(1) {
			if ix.inForce(p, d, noGrace) {
				days++
			}
		}
		if days == 0 {
			continue
		}
		c := ChargeLine{Line: p, Days: days}
		c.UnitPrice, c.Currency = ix.priceOf(p)
		if c.UnitPrice != nil {
			amt := MonthCharge(*c.UnitPrice, p.Quantity, days, m.Days())
			c.Amount = &amt
		}
		out = append(out, c)
	}
	return out
}
