package licensing

import (
	"testing"
	"time"
)

func amt(s string) *Amount {
	a, err := ParseAmount(s)
	if err != nil {
		panic(err)
	}
	return &a
}

func TestParseAmount(t *testing.T) {
	for in, want := range map[string]string{"12": "12.00", "12.5": "12.50", "0.1234": "0.1234", "007.10": "7.10", "1000000": "1000000.00"} {
		a, err := ParseAmount(in)
		if err != nil || a.String() != want {
			t.Errorf("ParseAmount(%q) = %v, %v; want %s", in, a, err, want)
		}
	}
	for _, in := range []string{"", "-1", "abc", "1.23456", "1,5", "1e3", ".5", "5.", "1000000.01", "$5"} {
		if _, err := ParseAmount(in); err == nil {
			t.Errorf("ParseAmount(%q) took it", in)
		}
	}
	if got := (Money{Amount: 1234567 * AmountScale / 10, Currency: "USD"}).String(); got != "123,456.70 USD" {
		t.Errorf("Money.String = %q", got)
	}
}

func TestParsePrice(t *testing.T) {
	cases := []struct {
		price, currency string
		fields          []string
	}{
		{"", "", nil},
		{"12.50", "usd", nil},
		{"12.50", "", []string{"l.currency"}},
		{"", "USD", []string{"l.unitPrice"}},
		{"-1", "USD", []string{"l.unitPrice"}},
		{"ten", "USD", []string{"l.unitPrice"}},
		{"1.23456", "USD", []string{"l.unitPrice"}},
		{"12", "US", []string{"l.currency"}},
		{"12", "XYZ", []string{"l.currency"}},
	}
	for _, c := range cases {
		var fe FieldErrors
		p, cur := ParsePrice(c.price, c.currency, "l", &fe)
		if len(fe) != len(c.fields) {
			t.Errorf("ParsePrice(%q, %q): %v, want errors on %v", c.price, c.currency, fe, c.fields)
			continue
		}
		for i, f := range c.fields {
			if fe[i].Field != f || fe[i].Message == "" {
				t.Errorf("ParsePrice(%q, %q): %v, want %s", c.price, c.currency, fe, f)
			}
		}
		if len(c.fields) == 0 && c.price != "" && (p == nil || cur != "USD") {
			t.Errorf("ParsePrice(%q, %q) = %v %q", c.price, c.currency, p, cur)
		}
	}
}

func TestMonthCharge(t *testing.T) {
	// 10 seats at 120.00 a year: 100.00 for a whole month.
	if got := MonthCharge(*amt("120"), 10, 30, 30); got.String() != "100.00" {
		t.Errorf("whole month = %s", got)
	}
	// 15 of 30 days: half of it.
	if got := MonthCharge(*amt("120"), 10, 15, 30); got.String() != "50.00" {
		t.Errorf("15 of 30 days = %s", got)
	}
	// 7 seats at 99.99 for 10 of 31 days: 699.93 / 12 × 10/31 = 18.815… → 18.82.
	if got := MonthCharge(*amt("99.99"), 7, 10, 31); got.String() != "18.82" {
		t.Errorf("10 of 31 days = %s", got)
	}
	if got := MonthCharge(*amt("120"), -2, 30, 30); got.String() != "-20.00" {
		t.Errorf("a correction removing 2 seats = %s", got)
	}
}

func chargebackLedger() []Purchase {
	on := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return []Purchase{
		// In force all of November.
		{ID: "a", Agency: "DOA", SkuID: "e3", PONumber: "PO-1", Quantity: 10, TermStart: NewDate(2026, 1, 1), TermEnd: NewDate(2026, 12, 31), UnitPrice: amt("240"), Currency: "USD", ActivatedAt: &on},
		// A correction of a, without a price of its own: a's price.
		{ID: "a-c1", Agency: "DOA", SkuID: "e3", PONumber: "PO-1", Quantity: -2, Corrects: "a", Source: SourceCorrection, TermStart: NewDate(2026, 1, 1), TermEnd: NewDate(2026, 12, 31), ActivatedAt: &on},
		// Ends November 15: 15 of 30 days.
		{ID: "b", Agency: "DOA", SkuID: "visio", PONumber: "PO-2", Quantity: 4, TermStart: NewDate(2025, 11, 16), TermEnd: NewDate(2026, 11, 15), UnitPrice: amt("180"), Currency: "EUR", ActivatedAt: &on},
		// No price.
		{ID: "c", Agency: "DOT", SkuID: "e3", PONumber: "PO-3", Quantity: 5, TermStart: NewDate(2026, 1, 1), TermEnd: NewDate(2026, 12, 31), ActivatedAt: &on},
		// Pending: not charged.
		{ID: "d", Agency: "DOT", SkuID: "e3", PONumber: "PO-4", Quantity: 5, TermStart: NewDate(2026, 1, 1), TermEnd: NewDate(2026, 12, 31), UnitPrice: amt("1"), Currency: "USD"},
		// Ended before November.
		{ID: "e", Agency: "DOT", SkuID: "e3", PONumber: "PO-5", Quantity: 5, TermStart: NewDate(2025, 1, 1), TermEnd: NewDate(2025, 12, 31), UnitPrice: amt("1"), Currency: "USD", ActivatedAt: &on},
	}
}

func TestBuildChargeback(t *testing.T) {
	m, err := ParseMonth("2026-11")
	if err != nil {
		t.Fatal(err)
	}
	c := BuildChargeback(m, []Agency{{ID: "DOA", Name: "Administration"}}, chargebackLedger(), PartNumbers{}.Product, Terms{GraceDays: 30})
	type row struct {
		line, cur, amount string
		days              int
	}
	want := []row{{"a", "USD", "200.00", 30}, {"a-c1", "USD", "-40.00", 30}, {"b", "EUR", "30.00", 15}, {"c", "", "", 30}}
	if len(c.Rows) != len(want) {
		t.Fatalf("rows = %+v", c.Rows)
	}
	for i, w := range want {
		r := c.Rows[i]
		got := row{r.Line, r.Currency, "", r.Days}
		if r.Amount != nil {
			got.amount = r.Amount.String()
		}
		if got != w {
			t.Errorf("row %d = %+v, want %+v", i, got, w)
		}
	}
	if c.Rows[3].Flag != FlagNoPrice || c.Unpriced != 1 || c.Rows[2].Charged() != "15 of 30 days" || c.Rows[0].Charged() != "1 month" {
		t.Errorf("flag %q, unpriced %d, charged %q", c.Rows[3].Flag, c.Unpriced, c.Rows[2].Charged())
	}
	var totals []string
	for _, tot := range c.Totals {
		totals = append(totals, tot.Agency+" "+tot.Currency+" "+tot.Amount.String()+" "+Plural(tot.Unpriced, "unpriced"))
	}
	wantTotals := []string{"DOA EUR 30.00 0 unpriceds", "DOA USD 160.00 0 unpriceds", "DOT  0.00 1 unpriced", "  0.00 1 unpriced", " EUR 30.00 0 unpriceds", " USD 160.00 0 unpriceds"}
	if len(totals) != len(wantTotals) {
		t.Fatalf("totals = %q", totals)
	}
	for i := range totals {
		if totals[i] != wantTotals[i] {
			t.Errorf("total %d = %q, want %q", i, totals[i], wantTotals[i])
		}
	}
}

func TestCostsOn(t *testing.T) {
	all := chargebackLedger()
	inUse := map[string]int{"e3": 11, "visio": 2}
	on := NewDate(2026, 11, 1)
	costs := CostsOn(all, "DOA", on, Terms{}, func(s string) int { return inUse[s] })
	e3 := costs["e3"]
	if e3 == nil || e3.Currency != "USD" || e3.Bought[0].Amount.String() != "1920.00" || e3.InUse.String() != "2640.00" || e3.Over.String() != "720.00" {
		t.Fatalf("e3 = %+v", e3)
	}
	// Visio mixed: a second line in GBP.
	all = append(all, Purchase{ID: "f", Agency: "DOA", SkuID: "visio", PONumber: "PO-6", Quantity: 1, TermStart: NewDate(2026, 1, 1), TermEnd: NewDate(2026, 12, 31), UnitPrice: amt("100"), Currency: "GBP", ActivatedAt: all[0].ActivatedAt})
	costs = CostsOn(all, "DOA", on, Terms{}, func(s string) int { return inUse[s] })
	v := costs["visio"]
	if !v.Mixed() || len(v.Bought) != 2 || v.InUse != nil || v.Bought[0].String() != "720.00 EUR" || v.Bought[1].String() != "100.00 GBP" {
		t.Fatalf("visio = %+v", v)
	}
	if c := CostsOn(all, "DOT", on, Terms{}, func(string) int { return 5 }); c["e3"] != nil {
		t.Errorf("DOT's unpriced e3 = %+v, want unknown", c["e3"])
	}
	totals, mixed, unknown := TotalCosts([]ProductLine{{Cost: e3}, {Cost: v}, {}})
	if mixed != 1 || unknown != 1 || len(totals) != 3 || totals[2].Currency != "USD" || totals[2].Bought.String() != "1920.00" || totals[1].Bought.String() != "100.00" {
		t.Errorf("totals %+v mixed %d unknown %d", totals, mixed, unknown)
	}
}
