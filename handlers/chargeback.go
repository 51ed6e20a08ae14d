package handlers

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// chargeback serves GET /api/reports/chargeback?month=2026-11&format=json|xlsx:
// the month's chargeback for administrators, as JSON or through a
// short-lived download link to its workbook (the host does not pass binary
// answers reliably). A month or format it cannot read is 400 with what to
// send.
func (s *Server) chargeback(ctx context.Context, r *Request) (*Response, error) {
	if r.Method != http.MethodGet {
		return methodNotAllowed(r.Method, "GET"), nil
	}
	var fe licensing.FieldErrors
	month, err := licensing.ParseMonth(r.Query["month"])
	if strings.TrimSpace(r.Query["month"]) == "" {
		fe.Add("month", "is required: the month to charge, like month=2026-11")
	} else if err != nil {
		fe.Add("month", "%v", err)
	}
	format := strings.ToLower(strings.TrimSpace(r.Query["format"]))
	switch format {
	case "", "json":
		format = "json"
	case "xlsx":
	default:
		fe.Add("format", "must be json (the rows and totals) or xlsx (a link to the workbook)")
	}
	if len(fe) > 0 {
		return nil, &licensing.Error{Op: "handlers.chargeback", Code: licensing.Malformed,
			Message: "The request has " + licensing.Plural(len(fe), "problem") + "; see fields.", Fields: fe}
	}
	if format == "xlsx" {
		link, file, err := s.usage.ChargebackWorkbook(ctx, r.Caller, month, linkLifetime)
		if err != nil {
			return nil, err
		}
		r.Log.Info("workbook ready", "file", file)
		name := "chargeback-" + month.String() + ".xlsx"
		return &Response{Status: http.StatusOK, Body: chargebackWorkbookResponse{
			workbookResponse: workbookResponse{URL: link, Expires: s.now().UTC().Add(linkLifetime).Format(time.RFC3339),
				Message: "Download the workbook " + name + " from url within 15 minutes."},
			FileName: name,
		}}, nil
	}
	c, err := s.usage.Chargeback(ctx, r.Caller, month)
	if err != nil {
		return nil, err
	}
	return &Response{Status: http.StatusOK, Body: newChargebackResponse(c)}, nil
}

// chargebackWorkbookResponse is the link to a chargeback workbook.
type chargebackWorkbookResponse struct {
	workbookResponse
	FileName string `json:"fileName"`
}

// chargebackResponse is a month's chargeback: amounts are decimal strings
// ("20.00"), never JSON numbers, and a row without a price has null for
// its unit price and amount.
type chargebackResponse struct {
	Month    string                  `json:"month"`
	From     licensing.Date          `json:"from"`
	To       licensing.Date          `json:"to"`
	Rows     []chargebackRowResponse `json:"rows"`
	Totals   []chargebackTotal       `json:"totals"`
	Unpriced int                     `json:"unpriced"`
	Note     string                  `json:"note"`
}

type chargebackRowResponse struct {
	Agency     string            `json:"agency"`
	AgencyName string            `json:"agencyName,omitempty"`
	Product    string            `json:"product"`
	PartNumber string            `json:"skuPartNumber,omitempty"`
	PONumber   string            `json:"poNumber"`
	Line       string            `json:"line"`
	Corrects   string            `json:"corrects,omitempty"`
	Seats      int               `json:"seats"`
	UnitPrice  *licensing.Amount `json:"unitPrice"`
	Currency   string            `json:"currency,omitempty"`
	Days       int               `json:"days"`
	MonthDays  int               `json:"monthDays"`
	Charged    string            `json:"charged"`
	Amount     *licensing.Amount `json:"amount"`
	Flag       string            `json:"flag,omitempty"`
}

// chargebackTotal is an agency's total in one currency; agency is empty
// on the totals over every agency, currency on those of rows without a
// price.
type chargebackTotal struct {
	Agency   string           `json:"agency,omitempty"`
	Currency string           `json:"currency,omitempty"`
	Amount   licensing.Amount `json:"amount"`
	Unpriced int              `json:"unpriced,omitempty"`
}

func newChargebackResponse(c licensing.Chargeback) chargebackResponse {
	out := chargebackResponse{Month: c.Month.String(), From: c.From, To: c.To, Unpriced: c.Unpriced,
		Rows: []chargebackRowResponse{}, Totals: []chargebackTotal{},
		Note: "A unit price is the price of one seat for one year; a month's amount is unit price × seats / 12, by days for part of a month, rounded to a hundredth. Amounts in different currencies are never added."}
	for _, r := range c.Rows {
		out.Rows = append(out.Rows, chargebackRowResponse{Agency: r.Agency, AgencyName: r.AgencyName, Product: r.Product, PartNumber: r.PartNumber,
			PONumber: r.PONumber, Line: r.Line, Corrects: r.Corrects, Seats: r.Seats, UnitPrice: r.UnitPrice, Currency: r.Currency,
			Days: r.Days, MonthDays: r.MonthDays, Charged: r.Charged(), Amount: r.Amount, Flag: r.Flag})
	}
	for _, t := range c.Totals {
		out.Totals = append(out.Totals, chargebackTotal{Agency: t.Agency, Currency: t.Currency, Amount: t.Amount, Unpriced: t.Unpriced})
	}
	return out
}
