package usage

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// setCosts sets the yearly cost of each of an agency's products from the
// prices of its lines in force on date (licensing.CostsOn).
func setCosts(products []licensing.ProductLine, lines []licensing.Purchase, agency string, date licensing.Date, t licensing.Terms) {
	inUse := map[string]int{}
	for _, p := range products {
		inUse[strings.ToLower(p.SkuID)] = p.InUse
	}
	costs := licensing.CostsOn(lines, agency, date, t, func(sku string) int { return inUse[sku] })
	for i := range products {
		products[i].Cost = costs[strings.ToLower(products[i].SkuID)]
	}
}

// Chargeback charges month m: a row per agency, product and purchase line
// in force during the month, with the totals per agency and currency
// (licensing.BuildChargeback). Reading it is for administrators.
func (s *Service) Chargeback(ctx context.Context, caller *licensing.Principal, m licensing.Month) (licensing.Chargeback, error) {
	if _, err := s.cfg.Auth.RequireAdmin(ctx, "reports.chargeback", caller); err != nil {
		return licensing.Chargeback{}, err
	}
	return s.chargeback(ctx, m)
}

func (s *Service) chargeback(ctx context.Context, m licensing.Month) (licensing.Chargeback, error) {
	agencies, err := s.cfg.Agencies.ListAgencies(ctx)
	if err != nil {
		return licensing.Chargeback{}, err
	}
	lines, err := s.cfg.Purchases.ListPurchases(ctx, licensing.PurchaseFilter{})
	if err != nil {
		return licensing.Chargeback{}, err
	}
	catalog, err := s.catalog(ctx)
	if err != nil {
		return licensing.Chargeback{}, err
	}
	return licensing.BuildChargeback(m, agencies, lines, catalog.Product, s.cfg.Terms), nil
}

// chargebackWriter is the report writer's chargeback workbook, if it
// writes one.
func (s *Service) chargebackWriter() (licensing.ChargebackWriter, error) {
	if w, ok := s.cfg.Reports.(licensing.ChargebackWriter); ok {
		return w, nil
	}
	return nil, licensing.Errorf("reports.chargeback", licensing.Internal, "The chargeback workbook is not configured.")
}

// chargebackFile is where the chargeback workbook of month m is stored.
func chargebackFile(m licensing.Month) string {
	return fmt.Sprintf("reports/chargeback/%s.xlsx", m)
}

// writeChargeback writes c's workbook to file, replacing one written
// before (the same month gives the same file), and returns its size.
func (s *Service) writeChargeback(ctx context.Context, file string, c licensing.Chargeback) (int64, error) {
	cw, err := s.chargebackWriter()
	if err != nil {
		return 0, err
	}
	w, err := s.cfg.Files.Create(ctx, file, xlsxType)
	if err != nil {
		return 0, err
	}
	counted := &countingWriter{w: w}
	if err := cw.WriteChargeback(counted, c); err != nil {
		w.Abort(err)
		return 0, licensing.Wrap("reports.chargeback", licensing.Internal, "The chargeback workbook could not be written.", err)
	}
	return counted.n, w.Close()
}

// ChargebackResult is what the chargeback job did: the month's rows and
// totals, and the workbook it wrote.
type ChargebackResult struct {
	Month    string                      `json:"month"`
	File     string                      `json:"file"`
	Rows     []licensing.ChargebackRow   `json:"rows"`
	Totals   []licensing.ChargebackTotal `json:"totals"`
	Unpriced int                         `json:"unpriced"`
}

// ChargebackRun is the job `handler run chargeback --month 2026-11`: it
// charges the month and stores its workbook under reports/chargeback/
// (written again, the same, when run again).
func (s *Service) ChargebackRun(ctx context.Context, m licensing.Month, log *slog.Logger) (ChargebackResult, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c, err := s.chargeback(ctx, m)
	if err != nil {
		return ChargebackResult{Month: m.String()}, err
	}
	res := ChargebackResult{Month: m.String(), File: chargebackFile(m), Rows: c.Rows, Totals: c.Totals, Unpriced: c.Unpriced}
	if _, err := s.writeChargeback(ctx, res.File, c); err != nil {
		return res, err
	}
	log.Info("chargeback", "month", res.Month, "rows", len(res.Rows), "unpriced", res.Unpriced, "file", res.File)
	return res, nil
}

// ChargebackWorkbook writes month m's chargeback workbook for an
// administrator, as an ad-hoc workbook (deleted once its link expires, as
// those of LicenseWorkbook), and returns a download link valid for ttl.
func (s *Service) ChargebackWorkbook(ctx context.Context, caller *licensing.Principal, m licensing.Month, ttl time.Duration) (link, file string, err error) {
	c, err := s.Chargeback(ctx, caller, m)
	if err != nil {
		return "", "", err
	}
	if s.cfg.Links == nil {
		return "", "", licensing.Errorf("reports.chargeback", licensing.Internal, "Download links are not configured.")
	}
	file = s.workbookName("chargeback-"+m.String(), s.now().Add(ttl))
	if _, err := s.writeChargeback(ctx, file, c); err != nil {
		return "", "", err
	}
	link, err = s.cfg.Links.Link(ctx, file, ttl)
	return link, file, err
}

// chargebackAttachment writes the chargeback workbook of month m for the
// audit of run and returns it as an attachment.
func (s *Service) chargebackAttachment(ctx context.Context, run string, m licensing.Month) (licensing.Attachment, licensing.Chargeback, error) {
	c, err := s.chargeback(ctx, m)
	if err != nil {
		return licensing.Attachment{}, c, err
	}
	file := fmt.Sprintf("reports/audit/%s/chargeback-%s.xlsx", strings.TrimPrefix(run, "audit-"), m)
	size, err := s.writeChargeback(ctx, file, c)
	if err != nil {
		return licensing.Attachment{}, c, err
	}
	return licensing.Attachment{Name: fmt.Sprintf("chargeback-%s.xlsx", m), ContentType: xlsxType, Size: size,
		Open: func(ctx context.Context) (io.ReadCloser, error) { return s.cfg.Files.Open(ctx, file) }}, c, nil
}

// chargebackText summarises c's totals for a mail.
func chargebackText(c licensing.Chargeback) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nChargeback %s (attached: a row per agency, product and purchase line in force):\n", c.Month)
	priced := false
	for _, t := range c.Totals {
		if t.Agency != "" || t.Currency == "" {
			continue
		}
		priced = true
		fmt.Fprintf(&b, "  %s\n", licensing.Money{Amount: t.Amount, Currency: t.Currency})
	}
	if !priced {
		b.WriteString("  no purchase line in force has a price\n")
	}
	if c.Unpriced > 0 {
		fmt.Fprintf(&b, "  %s without a price (flagged, amount blank): charge them by hand.\n", licensing.Plural(c.Unpriced, "line"))
	}
	return b.String()
}

// WriteText prints the result as the chargeback job shows it: a row per
// line, then the totals per agency and currency.
func (r ChargebackResult) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "chargeback %s: %s, %d without a price; workbook %s\n", r.Month, licensing.Plural(len(r.Rows), "line"), r.Unpriced, r.File)
	fmt.Fprintln(tw, "agency\tproduct\tPO\tseats\tunit price\tcharged\tamount\t")
	for _, row := range r.Rows {
		price, amount := "-", "no price"
		if row.UnitPrice != nil {
			price = licensing.Money{Amount: *row.UnitPrice, Currency: row.Currency}.String()
			amount = licensing.Money{Amount: *row.Amount, Currency: row.Currency}.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t\n", row.Agency, licensing.TruncateTo(row.Product, 36), row.PONumber, row.Seats, price, row.Charged(), amount)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "totals:")
	for _, t := range r.Totals {
		agency := t.Agency
		if agency == "" {
			agency = "all agencies"
		}
		if t.Currency == "" {
			fmt.Fprintf(w, "  %-14s %s without a price\n", agency, licensing.Plural(t.Unpriced, "line"))
			continue
		}
		fmt.Fprintf(w, "  %-14s %s\n", agency, licensing.Money{Amount: t.Amount, Currency: t.Currency})
	}
	return nil
}
