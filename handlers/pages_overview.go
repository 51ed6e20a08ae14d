package handlers

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/renewals"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// The overview pages: an agency's (its delegates and central IT) and
// central IT's of every agency. Their numbers come from the services the
// API calls, with the caller's identity, so they are the API's numbers and
// its authorization applies.

// Limits of the overview pages.
const (
	// overviewWorkbooks is how many payroll workbooks an agency's page
	// offers to download.
	overviewWorkbooks = 3
	// overviewRuns is how many runs central IT's page lists.
	overviewRuns = 20
)

// productRow is one product of an agency's table, its figures written out.
type productRow struct {
	Name, PartNumber                                string
	Purchased, InUse, Available, Disabled, Inactive string
	Status                                          string
	Over                                            bool
	OverBy                                          string
}

// seatRow is one member of a delegated group's list.
type seatRow struct {
	UserPrincipalName string
	Since             time.Time
	Error             string
}

// groupView is one delegated group of an agency's page.
type groupView struct {
	// ElementID is the id of the group's section: group-{part number}.
	ElementID                 string
	Name, PartNumber, GroupID string
	Cap, Assigned, Elsewhere  string
	Waitlist                  []seatRow
	WouldFree                 []seatRow
	Errors                    []seatRow
}

// agencyOverview is the data of an agency's page.
type agencyOverview struct {
	ID, Name string
	// Snapshot is false until a usage snapshot exists.
	Snapshot   bool
	DataAsOf   time.Time
	SnapshotID string
	Users      string
	Products   []productRow
	Over       []string
	Chart      barChart
	Notes      []string

	Groups           []groupView
	ProvisioningAsOf time.Time

	Renewals renewals.DueRenewals

	Workbooks   []workbookView
	LinkMinutes int
}

// workbookView is one payroll workbook to download.
type workbookView struct {
	Date licensing.Date
	URL  string
	Size string
}

// pageAgencyOverview serves GET /agencies/{id}: what the agency bought
// against what it uses, its delegated groups' waitlists, the renewals due
// and its latest payroll workbooks.
func (s *Server) pageAgencyOverview(ctx context.Context, p *pageRequest) (*Response, error) {
	id := licensing.NormalizeAgencyID(p.Params["id"])
	wb, err := s.usage.PayrollWorkbooks(ctx, p.Caller, id, overviewWorkbooks, linkLifetime)
	if err != nil {
		return nil, err
	}
	v := agencyOverview{ID: wb.Agency, Name: wb.Name, LinkMinutes: int(linkLifetime / time.Minute)}
	for _, w := range wb.Workbooks {
		v.Workbooks = append(v.Workbooks, workbookView{Date: w.Date, URL: w.URL, Size: formatCount(int((w.Size+1023)/1024)) + " KB"})
	}
	rep, err := s.usage.LicenseReport(ctx, p.Caller, id)
	switch {
	case licensing.ErrorCode(err) == licensing.NotFound:
	case err != nil:
		return nil, err
	default:
		v.Snapshot, v.DataAsOf, v.SnapshotID, v.Notes = true, rep.DataAsOf, rep.SnapshotID, rep.Notes
		for _, a := range rep.Agencies {
			if a.Agency == wb.Agency && a.Bucket == "" {
				v.Users = formatCount(a.Users)
				v.Products, v.Over, v.Chart = productView(a.Products)
			}
		}
	}
	states, err := s.provisioning.State(ctx, p.Caller, id)
	if err != nil {
		return nil, err
	}
	for _, st := range states {
		v.ProvisioningAsOf = st.AsOf
		for _, g := range st.Products {
			v.Groups = append(v.Groups, groupView{ElementID: "group-" + lowerID(g.PartNumber), Name: g.Name, PartNumber: g.PartNumber, GroupID: g.GroupID, Cap: formatCount(g.Cap),
				Assigned: formatCount(len(g.Assigned)), Elsewhere: formatCount(len(g.LicensedElsewhere)),
				Waitlist: seatRows(g.Waitlist), WouldFree: seatRows(g.WouldFree), Errors: seatRows(g.Errors)})
		}
	}
	if v.Renewals, err = s.renewals.RenewalsDue(ctx, p.Caller, id); err != nil {
		return nil, err
	}
	return p.render(http.StatusOK, "agency", v.Name+" ("+v.ID+")", v)
}

// productView writes an agency's products out for its table and chart,
// and names those it uses more of than it bought.
func productView(lines []licensing.ProductLine) ([]productRow, []string, barChart) {
	var rows []productRow
	var over []string
	var chart []chartRow
	for _, l := range lines {
		r := productRow{Name: l.Name, PartNumber: l.PartNumber, Purchased: formatCount(l.Purchased), InUse: formatCount(l.InUse),
			Available: formatCount(l.Available), Disabled: formatCount(l.Disabled), Inactive: formatCount(l.Inactive), Status: l.Status,
			Over: l.Status == licensing.ProductOver}
		if r.Over {
			r.OverBy = formatCount(licensing.OverBy(l.Purchased, l.InUse))
			over = append(over, l.Name)
		}
		rows = append(rows, r)
		chart = append(chart, chartRow{Label: l.Name, Purchased: l.Purchased, InUse: l.InUse})
	}
	return rows, over, newBarChart("license-chart", "Seats purchased and in use, per product", chart)
}

func seatRows(list []licensing.SeatEntry) []seatRow {
	out := make([]seatRow, 0, len(list))
	for _, e := range list {
		out = append(out, seatRow{UserPrincipalName: e.UserPrincipalName, Since: e.Since, Error: e.Error})
	}
	return out
}

// agencyTotal is one agency of central IT's page.
type agencyTotal struct {
	ID, Name         string
	Purchased, InUse string
	Users            string
	Over             bool
	OverProducts     []string
}

// bucketView is one kind of user no agency answers for.
type bucketView struct {
	Kind, Name, Users, Note string
}

// runView is one run of central IT's page.
type runView struct {
	licensing.Run
	Took string
}

// adminOverview is the data of central IT's page.
type adminOverview struct {
	Snapshot   bool
	DataAsOf   time.Time
	SnapshotID string
	Agencies   []agencyTotal
	OverCount  int
	Buckets    []bucketView
	Notes      []string
	Runs       []runView
}

// pageAdminOverview serves GET /agencies: every agency's totals, the over
// ones first, the users no agency answers for, and the latest runs.
// Central IT only.
func (s *Server) pageAdminOverview(ctx context.Context, p *pageRequest) (*Response, error) {
	if !p.Access.Admin {
		msg := "Only central IT sees every agency."
		if len(p.Access.Agencies) > 0 {
			msg += " Your agency's page is /agencies/" + p.Access.Agencies[0] + "."
		}
		return nil, licensing.Errorf("pages.agencies", licensing.Forbidden, "%s", msg)
	}
	var v adminOverview
	rep, err := s.usage.LicenseReport(ctx, p.Caller, "")
	switch {
	case licensing.ErrorCode(err) == licensing.NotFound:
		agencies, err := s.agencyAdmin.ListAgencies(ctx, p.Caller)
		if err != nil {
			return nil, err
		}
		for _, a := range agencies {
			v.Agencies = append(v.Agencies, agencyTotal{ID: a.ID, Name: a.Name})
		}
	case err != nil:
		return nil, err
	default:
		v.Snapshot, v.DataAsOf, v.SnapshotID, v.Notes = true, rep.DataAsOf, rep.SnapshotID, rep.Notes
		for _, a := range rep.Agencies {
			if a.Bucket != "" {
				v.Buckets = append(v.Buckets, bucketView{Kind: a.Bucket, Name: a.Name, Users: formatCount(a.Users), Note: a.Note})
				continue
			}
			v.Agencies = append(v.Agencies, totalOf(a))
		}
	}
	sort.SliceStable(v.Agencies, func(i, j int) bool {
		if v.Agencies[i].Over != v.Agencies[j].Over {
			return v.Agencies[i].Over
		}
		return v.Agencies[i].ID < v.Agencies[j].ID
	})
	for _, a := range v.Agencies {
		if a.Over {
			v.OverCount++
		}
	}
	runs, err := s.runRecords.List(ctx, p.Caller, licensing.RunFilter{Limit: overviewRuns})
	if err != nil {
		return nil, err
	}
	now := s.now()
	for _, r := range runs {
		v.Runs = append(v.Runs, runView{Run: r, Took: r.Duration(now).Round(time.Second).String()})
	}
	return p.render(http.StatusOK, "agencies", "Every agency", v)
}

// totalOf adds up an agency's products.
func totalOf(a usage.AgencyNumbers) agencyTotal {
	t := agencyTotal{ID: a.Agency, Name: a.Name, Users: formatCount(a.Users)}
	purchased, inUse := 0, 0
	for _, l := range a.Products {
		purchased += l.Purchased
		inUse += l.InUse
		if l.Status == licensing.ProductOver {
			t.Over = true
			t.OverProducts = append(t.OverProducts, l.Name+" by "+formatCount(licensing.OverBy(l.Purchased, l.InUse)))
		}
	}
	t.Purchased, t.InUse = formatCount(purchased), formatCount(inUse)
	return t
}

// lowerID is an element id made of s: lower case, letters, digits and
// hyphens.
func lowerID(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, s)
}
