package main

import (
	"context"
	"flag"
	"io"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

func init() {
	jobs["chargeback"] = job{
		about: "charge a month's purchase lines to the agencies, print the rows and totals per agency and currency, and store the workbook " +
			"under reports/chargeback/ [--month 2026-11; default: the month before this one]",
		run: chargebackJob,
	}
}

// chargebackJob charges a month (by default the one that ended) and prints
// what it charged.
func chargebackJob(ctx context.Context, a *app, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("chargeback", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	monthFlag := fs.String("month", "", "the month to charge (2006-01); default: the month before this one")
	if err := fs.Parse(args); err != nil {
		return usageError{"chargeback: " + err.Error()}
	}
	m := licensing.MonthOf(licensing.DateOf(time.Now(), a.cfg.Reporting.Location)).Prev()
	if *monthFlag != "" {
		var err error
		if m, err = licensing.ParseMonth(*monthFlag); err != nil {
			return usageError{"chargeback --month: " + err.Error()}
		}
	}
	if err := a.initStorage(ctx); err != nil {
		return err
	}
	res, err := a.usage.ChargebackRun(ctx, m, a.log)
	if err != nil {
		return err
	}
	return res.WriteText(out)
}
