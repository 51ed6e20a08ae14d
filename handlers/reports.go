package handlers

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// Limits of the ad-hoc report.
const (
	// maxInlineCSV is the largest CSV answered in the body; a larger one is
	// refused with a pointer to the workbook, which is downloaded from Blob.
	maxInlineCSV = 16 << 20
	linkLifetime = 15 * time.Minute
)

// licenseReports serves
// GET /api/reports/licenses?agency=&format=json|csv|xlsx&shape=assignments|users
// (shape with format=csv only).
func (s *Server) licenseReports(ctx context.Context, r *Request) (*Response, error) {
	if r.Method != http.MethodGet {
		return methodNotAllowed(r.Method, "GET"), nil
	}
	agency := strings.TrimSpace(r.Query["agency"])
	format := strings.ToLower(strings.TrimSpace(r.Query["format"]))
	shape, err := csvShape(format, r.Query["shape"])
	if err != nil {
		return nil, err
	}
	switch format {
	case "", "json":
		rep, err := s.usage.LicenseReport(ctx, r.Caller, agency)
		if err != nil {
			return nil, err
		}
		return &Response{Status: http.StatusOK, Body: newLicenseReportResponse(rep)}, nil
	case "csv":
		var buf bytes.Buffer
		limited := &limitWriter{w: &buf, max: maxInlineCSV}
		name := "licenses-" + strings.ToLower(orText(agency, "all"))
		if shape == usage.ShapeUsers {
			name += "-users"
			err = usage.WriteUserCSV(limited, func(fn func(usage.UserRow) error) error {
				return s.usage.LicenseUsers(ctx, r.Caller, agency, fn)
			})
		} else {
			err = usage.WriteLicenseCSV(limited, func(fn func(usage.LicenseRow) error) error {
				return s.usage.LicenseRows(ctx, r.Caller, agency, fn)
			})
		}
		if limited.over {
			return nil, licensing.Errorf("handlers.reports", licensing.TooLarge,
				"The CSV is larger than %d MB; ask for one agency, or for format=xlsx (a download link).", maxInlineCSV>>20)
		}
		if err != nil {
			return nil, err
		}
		name += "-" + time.Now().UTC().Format(time.DateOnly) + ".csv"
		return &Response{Status: http.StatusOK, Body: buf.String(), Headers: map[string]string{
			"Content-Type":        "text/csv; charset=utf-8",
			"Content-Disposition": `attachment; filename="` + safeHeaderValue(name) + `"`,
		}}, nil
	case "xlsx":
		link, file, err := s.usage.LicenseWorkbook(ctx, r.Caller, agency, linkLifetime, r.Log)
		if err != nil {
			return nil, err
		}
		r.Log.Info("workbook ready", "file", file)
		return &Response{Status: http.StatusOK, Body: workbookResponse{
			URL: link, Expires: time.Now().UTC().Add(linkLifetime).Format(time.RFC3339),
			Message: "Download the workbook from url within 15 minutes.",
		}}, nil
	default:
		return nil, &licensing.Error{Op: "handlers.reports", Code: licensing.Invalid, Message: "The query has 1 problem; see fields.",
			Fields: []licensing.FieldError{{Field: "format", Message: "must be json, csv or xlsx"}}}
	}
}

// csvShape returns the CSV shape the query names (assignments when it names
// none); a shape that is not one of usage.CSVShapes, or a shape with a
// format other than csv, is refused.
func csvShape(format, shape string) (string, error) {
	shape = strings.ToLower(strings.TrimSpace(shape))
	msg := ""
	switch {
	case shape == "":
		return usage.ShapeAssignments, nil
	case !slices.Contains(usage.CSVShapes, shape):
		msg = "must be " + strings.Join(usage.CSVShapes, " or ") + " (users: one row per user like the admin center's export; assignments: one row per user and license)"
	case format != "csv":
		msg = "applies to format=csv only"
	default:
		return shape, nil
	}
	return "", &licensing.Error{Op: "handlers.reports", Code: licensing.Invalid, Message: "The query has 1 problem; see fields.",
		Fields: []licensing.FieldError{{Field: "shape", Message: msg}}}
}

// limitWriter stops accepting bytes past max and remembers it did.
type limitWriter struct {
	w    *bytes.Buffer
	max  int
	over bool
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.w.Len()+len(p) > l.max {
		l.over = true
		return 0, errCSVTooLarge
	}
	return l.w.Write(p)
}

var errCSVTooLarge = licensing.Errorf("handlers.reports", licensing.TooLarge, "The CSV is too large.")

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// safeHeaderValue keeps a header value to letters, digits, '-', '_' and '.'.
func safeHeaderValue(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, s)
}

// payrollReport is the weekly timer: on payroll Mondays it takes the run's
// snapshot and starts the run, whose pieces (the Work function) produce and
// mail the reports; on other Mondays it logs that it skipped.
func (s *Server) payrollReport(ctx context.Context, t *TimerInfo, log *slog.Logger) error {
	res, err := s.usage.PayrollRun(ctx, "timer", licensing.Date{}, t.IsPastDue, usage.PayrollOptions{}, log)
	if err != nil {
		return err
	}
	if res.Run != "" {
		log.Info("payroll run under way: the Work function delivers the reports", "date", res.Date.String(), "snapshot", res.Snapshot,
			"written", res.Written, "mailed", res.Mailed, "alreadyDelivered", res.Skipped, "over", res.Over)
	}
	return nil
}

// usageAudit is the monthly over-consumption audit.
func (s *Server) usageAudit(ctx context.Context, t *TimerInfo, log *slog.Logger) error {
	res, err := s.usage.AuditRun(ctx, "timer", log)
	if err != nil {
		return err
	}
	log.Info("usage audit done", "over", len(res.Over), "mailed", res.Mailed)
	return nil
}
