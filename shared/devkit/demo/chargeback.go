package demo

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// demoPrices are the unit prices (USD, one seat for one year) the demo's
// legacy sheet and purchase orders quote, by part number; the products not
// listed have no price, so the reports show where prices are unknown.
var demoPrices = map[string]string{
	"ENTERPRISEPACK":    "276.00",
	"SPE_E3":            "432.00",
	"ENTERPRISEPREMIUM": "456.00",
	"VISIOCLIENT":       "180.00",
	"POWER_BI_PRO":      "120.00",
}

// demoChargeback asks for the chargeback of the month that ended (GET
// /api/reports/chargeback) and prints each agency's amount per currency and
// its lines without a price.
func demoChargeback(ctx context.Context, api *demoClient, out io.Writer, step func(string, ...any)) error {
	month := licensing.MonthOf(licensing.DateOf(time.Now(), time.UTC)).Prev()
	var c struct {
		Rows []struct {
			Agency string  `json:"agency"`
			Amount *string `json:"amount"`
		} `json:"rows"`
		Totals []struct {
			Agency   string `json:"agency"`
			Currency string `json:"currency"`
			Amount   string `json:"amount"`
			Unpriced int    `json:"unpriced"`
		} `json:"totals"`
		Unpriced int `json:"unpriced"`
	}
	if err := api.decode(ctx, http.MethodGet, "/reports/chargeback?month="+month.String(), &c); err != nil {
		return err
	}
	step("GET /api/reports/chargeback?month=%s -> %d purchase lines charged, %d without a price (amount left blank):", month, len(c.Rows), c.Unpriced)
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "AGENCY\tCURRENCY\tAMOUNT\tLINES WITHOUT A PRICE\t")
	for _, t := range c.Totals {
		agency, currency, amount := t.Agency, t.Currency, licensing.GroupThousands(t.Amount)
		if agency == "" {
			agency = "TOTAL"
		}
		if currency == "" {
			currency, amount = "-", "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t\n", agency, currency, amount, t.Unpriced)
	}
	return tw.Flush()
}
