package usage

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// LicenseReport is the ad-hoc report's numbers, on demand: per
// agency and product what was bought and what is in use, from the latest
// snapshot.
type LicenseReport struct {
	Date       licensing.Date             `json:"date"`
	DataAsOf   time.Time                  `json:"dataAsOf"`
	SnapshotID string                     `json:"snapshot"`
	Agencies   []AgencyNumbers            `json:"agencies"`
	Tenant     []licensing.TenantCheckRow `json:"tenantCheck,omitempty"`
	// Notes say what the snapshot could not see (sign-in activity).
	Notes []string `json:"notes,omitempty"`
}

// AgencyNumbers is one agency of the ad-hoc report, or, in an admin's
// tenant-wide report, one bucket of users no agency answers for.
type AgencyNumbers struct {
	Agency string `json:"agency"`
	Name   string `json:"name"`
	// Users counts the licensed users (a user holding several products
	// counts once), as the workbook does.
	Users    int                     `json:"licensedUsers"`
	Products []licensing.ProductLine `json:"products"`
	// Bucket marks the users matching no agency ("unattributed") or
	// several ("conflict"); Note says what to do about them.
	Bucket string `json:"bucket,omitempty"`
	Note   string `json:"note,omitempty"`
}

// LicenseRow is one user and license, the row of the CSV's assignments
// shape.
type LicenseRow struct {
	Agency     string
	UPN        string
	Name       string
	License    string
	PartNumber string
	Assigned   string
	Enabled    bool
	LastSignIn *time.Time
	Reclaim    string
}

// adhocScope resolves which agencies a caller's ad-hoc report covers: the
// one asked for (if the caller may see it), or every agency for an admin,
// or the caller's own agencies for a delegate.
func (s *Service) adhocScope(ctx context.Context, op string, caller *licensing.Principal, agency string) (licensing.Access, []licensing.Agency, error) {
	acc, err := s.cfg.Auth.Authorize(ctx, op, caller)
	if err != nil {
		return acc, nil, err
	}
	agency = licensing.NormalizeAgencyID(agency)
	if agency != "" && !acc.CanActFor(agency) {
		return acc, nil, licensing.Errorf(op, licensing.Forbidden, "You may see only your own agency's licenses.")
	}
	if agency == "" && !acc.Admin && len(acc.Agencies) == 0 {
		return acc, nil, licensing.Errorf(op, licensing.Forbidden, "Only central IT and agency delegates may see license reports.")
	}
	all, err := s.cfg.Agencies.ListAgencies(ctx)
	if err != nil {
		return acc, nil, err
	}
	var out []licensing.Agency
	for _, a := range all {
		if (agency == "" && acc.CanActFor(a.ID)) || a.ID == agency {
			out = append(out, a)
		}
	}
	if agency != "" && len(out) == 0 {
		return acc, nil, licensing.Errorf(op, licensing.NotFound, "There is no agency %q.", licensing.Truncate(agency))
	}
	return acc, out, nil
}

// adhocData reads the latest snapshot and the ledger for today.
func (s *Service) adhocData(ctx context.Context) (licensing.Snapshot, *reportData, licensing.Date, error) {
	snap, err := s.cfg.Snapshots.LatestSnapshot(ctx)
	if err != nil {
		return snap, nil, licensing.Date{}, err
	}
	today := licensing.DateOf(s.now(), s.cfg.Reporting.Calendar.Location)
	rd, err := s.reportData(ctx, snap, today)
	return snap, rd, today, err
}

// countUsers counts, in one pass over snap's users, the licensed users of
// every agency and bucket and the inactive ones per SKU, into rd.
func (s *Service) countUsers(ctx context.Context, snap licensing.Snapshot, rd *reportData) error {
	sp, err := s.spoolUsers(ctx, snap, rd, nil, false)
	if err != nil {
		return err
	}
	sp.close()
	return nil
}

// tenantWide reports whether an ad-hoc report covers the whole tenant: an
// admin naming no agency. It then shows the unattributed and conflicting
// users too.
func tenantWide(acc licensing.Access, agency string) bool {
	return acc.Admin && licensing.NormalizeAgencyID(agency) == ""
}

// LicenseReport returns the ad-hoc numbers for agency (or every agency the
// caller may see). Admins asking for every agency also get the unattributed
// and conflicting users, each bucket marked, and the tenant check.
func (s *Service) LicenseReport(ctx context.Context, caller *licensing.Principal, agency string) (LicenseReport, error) {
	const op = "reports.licenses"
	acc, agencies, err := s.adhocScope(ctx, op, caller, agency)
	if err != nil {
		return LicenseReport{}, err
	}
	snap, rd, today, err := s.adhocData(ctx)
	if err != nil {
		return LicenseReport{}, err
	}
	if err := s.countUsers(ctx, snap, rd); err != nil {
		return LicenseReport{}, err
	}
	rep := LicenseReport{Date: today, DataAsOf: snap.Taken, SnapshotID: snap.ID, Agencies: []AgencyNumbers{}}
	if n := signInNote(snap); n != "" {
		rep.Notes = append(rep.Notes, n)
	}
	for _, a := range agencies {
		r := s.agencyReport(a, rd, snap, today)
		rep.Agencies = append(rep.Agencies, AgencyNumbers{Agency: a.ID, Name: a.Name, Users: r.Users, Products: r.Products})
	}
	if tenantWide(acc, agency) {
		for _, b := range buckets {
			rep.Agencies = append(rep.Agencies, AgencyNumbers{Agency: b, Name: bucketName(b), Users: rd.users[b], Products: rd.bucketLines(b),
				Bucket: bucketKind(b), Note: bucketNote(b)})
		}
		rep.Tenant = s.enterpriseSummary(rd, snap, today).Tenant
	}
	return rep, nil
}

// LicenseRows streams one row per user and license of the agencies the
// caller may see (agency, or all of them), from the latest snapshot. An
// admin's tenant-wide rows include the users matching no agency or several,
// their Agency being licensing.Unattributed or licensing.Conflicted.
func (s *Service) LicenseRows(ctx context.Context, caller *licensing.Principal, agency string, fn func(LicenseRow) error) error {
	return s.licensedUsers(ctx, "reports.licenseRows", caller, agency, func(u licensing.SnapshotUser, line licensing.UserLine) error {
		for _, l := range line.Licenses {
			assigned := "Direct"
			switch {
			case l.Direct && l.ByGroup:
				assigned = "Direct and group"
			case l.ByGroup:
				assigned = "Group"
			}
			row := LicenseRow{Agency: u.Agency, UPN: u.UserPrincipalName, Name: u.DisplayName, License: l.Name, PartNumber: l.PartNumber,
				Assigned: assigned, Enabled: u.AccountEnabled, LastSignIn: u.LastSignIn, Reclaim: line.Reclaim}
			if err := fn(row); err != nil {
				return err
			}
		}
		return nil
	})
}

// licensedUsers calls fn with every licensed user of the agencies the
// caller may see (agency, or all of them; an admin's tenant-wide read also
// the users matching no agency or several) and the user's report line, from
// the latest snapshot.
func (s *Service) licensedUsers(ctx context.Context, op string, caller *licensing.Principal, agency string, fn func(licensing.SnapshotUser, licensing.UserLine) error) error {
	acc, agencies, err := s.adhocScope(ctx, op, caller, agency)
	if err != nil {
		return err
	}
	snap, rd, _, err := s.adhocData(ctx)
	if err != nil {
		return err
	}
	in := map[string]bool{}
	for _, a := range agencies {
		in[a.ID] = true
	}
	if tenantWide(acc, agency) {
		for _, b := range buckets {
			in[b] = true
		}
	}
	cutoff := time.Time{}
	if s.cfg.Reporting.InactiveDays > 0 {
		cutoff = snap.Taken.AddDate(0, 0, -s.cfg.Reporting.InactiveDays)
	}
	return s.ReadSnapshotUsers(ctx, snap, func(u licensing.SnapshotUser) error {
		if !in[u.Agency] || !u.Licensed() {
			return nil
		}
		return fn(u, s.userLine(u, rd, snap.SignInAvailable, cutoff))
	})
}

// LicenseWorkbook writes the report as a workbook for agency (or, for an
// admin asking for every agency, the enterprise summary) and returns a link
// to download it for ttl: the Functions host does not pass binary answers
// reliably (docs/host-protocol.md), so the browser fetches the file from Blob Storage.
// The workbook is deleted once the link has expired (see SweepWorkbooks);
// the request itself deletes a few workbooks whose links have, logging each
// on log.
func (s *Service) LicenseWorkbook(ctx context.Context, caller *licensing.Principal, agency string, ttl time.Duration, log *slog.Logger) (string, string, error) {
	const op = "reports.workbook"
	if s.cfg.Reports == nil || s.cfg.Links == nil {
		return "", "", licensing.Errorf(op, licensing.Internal, "Workbook downloads are not configured.")
	}
	acc, agencies, err := s.adhocScope(ctx, op, caller, agency)
	if err != nil {
		return "", "", err
	}
	snap, rd, today, err := s.adhocData(ctx)
	if err != nil {
		return "", "", err
	}
	all := acc.Admin && licensing.NormalizeAgencyID(agency) == ""
	if !all && len(agencies) != 1 {
		return "", "", &licensing.Error{Op: op, Code: licensing.Invalid, Message: "Name the agency for a workbook.", Fields: []licensing.FieldError{{Field: "agency", Message: "is required for a workbook unless you are central IT"}}}
	}
	key := enterpriseKey
	var todo []licensing.Agency
	if !all {
		key, todo = agencies[0].ID, agencies
	}
	file := s.workbookName(key, s.now().Add(ttl))
	spool, err := s.spoolUsers(ctx, snap, rd, todo, all)
	if err != nil {
		return "", "", err
	}
	defer spool.close()
	w, err := s.cfg.Files.Create(ctx, file, xlsxType)
	if err != nil {
		return "", "", err
	}
	if all {
		err = s.cfg.Reports.WriteEnterpriseSummary(w, s.enterpriseSummary(rd, snap, today), spool.source(licensing.Unattributed), spool.source(licensing.Conflicted))
	} else {
		err = s.cfg.Reports.WriteAgencyReport(w, s.agencyReport(agencies[0], rd, snap, today), spool.source(key))
	}
	if err != nil {
		w.Abort(err)
		return "", "", licensing.Wrap(op, licensing.Internal, "The workbook could not be written.", err)
	}
	if err := w.Close(); err != nil {
		return "", "", err
	}
	link, err := s.cfg.Links.Link(ctx, file, ttl)
	if _, serr := s.sweepWorkbooks(ctx, log, requestSweepMax); serr != nil && log != nil {
		log.Warn("expired workbooks not deleted; the timer's sweep will", "error", serr)
	}
	return link, file, err
}

// WriteLicenseCSV writes rows in the assignments shape as CSV (UTF-8 with a
// BOM so Excel reads the accents), header first, every text cell made safe.
func WriteLicenseCSV(w io.Writer, rows func(fn func(LicenseRow) error) error) error {
	cw := newCSV(w)
	cw.row("Agency", "User principal name", "Display name", "License", "Part number", "Assigned", "Account enabled", "Last sign-in", "Reclaim candidate")
	err := rows(func(r LicenseRow) error {
		enabled := "No"
		if r.Enabled {
			enabled = "Yes"
		}
		cw.row(r.Agency, r.UPN, r.Name, r.License, r.PartNumber, r.Assigned, enabled, signInDate(r.LastSignIn), r.Reclaim)
		return cw.err
	})
	if err != nil {
		return err
	}
	return cw.flush()
}
