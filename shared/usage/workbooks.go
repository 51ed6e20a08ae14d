package usage

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// workbookLookback bounds how many payroll Mondays back PayrollWorkbooks
// looks for an agency's workbooks (one delivery record read each).
const workbookLookback = 12

// PayrollWorkbook is an agency's workbook of one payroll run, with a
// short-lived download link.
type PayrollWorkbook struct {
	Date licensing.Date
	File string
	Size int64
	// URL reads the workbook until Expires; empty when download links are
	// not configured.
	URL     string
	Expires time.Time
}

// AgencyWorkbooks are an agency's latest payroll workbooks, newest first.
type AgencyWorkbooks struct {
	Agency    string
	Name      string
	Workbooks []PayrollWorkbook
}

// payrollRunName names the run (and the delivery records) of the payroll
// reports of date.
func payrollRunName(date licensing.Date) string { return "payroll-" + date.String() }

// PayrollWorkbooks returns the workbooks of agency's last n payroll reports
// (looking back at most workbookLookback payroll Mondays of the calendar),
// each with a download link valid for ttl. Admins and the agency's
// delegates may read them; anyone else is Forbidden, and an unknown agency
// is NotFound.
func (s *Service) PayrollWorkbooks(ctx context.Context, caller *licensing.Principal, agency string, n int, ttl time.Duration) (AgencyWorkbooks, error) {
	const op = "reports.payrollWorkbooks"
	if licensing.NormalizeAgencyID(agency) == "" {
		return AgencyWorkbooks{}, &licensing.Error{Op: op, Code: licensing.Invalid, Message: "Name the agency whose workbooks to list.",
			Fields: []licensing.FieldError{{Field: "agency", Message: "is required"}}}
	}
	_, agencies, err := s.adhocScope(ctx, op, caller, agency)
	if err != nil {
		return AgencyWorkbooks{}, err
	}
	a := agencies[0]
	out := AgencyWorkbooks{Agency: a.ID, Name: a.Name, Workbooks: []PayrollWorkbook{}}
	cal := s.cfg.Reporting.Calendar
	if cal.IntervalDays <= 0 || s.cfg.Deliveries == nil {
		return out, nil
	}
	today := licensing.DateOf(s.now(), cal.Location)
	back := (cal.Anchor.DaysUntil(today)%cal.IntervalDays + cal.IntervalDays) % cal.IntervalDays
	date := today.AddDays(-back)
	for i := 0; i < workbookLookback && len(out.Workbooks) < n; i, date = i+1, date.AddDays(-cal.IntervalDays) {
		d, err := s.cfg.Deliveries.GetDelivery(ctx, payrollRunName(date), a.ID)
		if licensing.ErrorCode(err) == licensing.NotFound || (err == nil && d.File == "") {
			continue
		}
		if err != nil {
			return out, err
		}
		wb := PayrollWorkbook{Date: date, File: d.File, Size: d.Size}
		if s.cfg.Links != nil {
			if wb.URL, err = s.cfg.Links.Link(ctx, d.File, ttl); err != nil {
				return out, err
			}
			wb.Expires = s.now().UTC().Add(ttl)
		}
		out.Workbooks = append(out.Workbooks, wb)
	}
	return out, nil
}

// pageLink returns the address of the app's page at path (under AppURL),
// or "" when AppURL is not configured.
func (s *Service) pageLink(path string) string {
	if s.cfg.AppURL == "" {
		return ""
	}
	return strings.TrimRight(s.cfg.AppURL, "/") + path
}

// agencyPageText is the line of a mail pointing an agency to its overview
// page, where its latest workbooks can be downloaded; "" without AppURL.
func (s *Service) agencyPageText(agency string) string {
	link := s.pageLink("/agencies/" + url.PathEscape(agency))
	if link == "" {
		return ""
	}
	return "\nYour agency's overview, with its latest workbooks to download: " + link + "\n"
}

// overviewPageText is the line of a mail to central IT pointing to the
// overview of every agency; "" without AppURL.
func (s *Service) overviewPageText() string {
	link := s.pageLink("/agencies")
	if link == "" {
		return ""
	}
	return "\nEvery agency's numbers and the latest runs: " + link + "\n"
}
