package usage

import (
	"context"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// The shapes of the ad-hoc report's CSV.
const (
	// ShapeAssignments is one row per user and license (the default).
	ShapeAssignments = "assignments"
	// ShapeUsers is one row per user, the licenses joined by "+", with the
	// columns of the Microsoft 365 admin center's "Export users".
	ShapeUsers = "users"
)

// CSVShapes lists the CSV shapes, the default first.
var CSVShapes = []string{ShapeAssignments, ShapeUsers}

// UserRow is one licensed user, the row of the users shape.
type UserRow struct {
	Agency        string
	ObjectID      string
	UPN           string
	Name          string
	Department    string
	Office        string
	UsageLocation string
	Enabled       bool
	Created       time.Time
	// Licenses are the products' friendly names, sorted.
	Licenses   []string
	LastSignIn *time.Time
	Reclaim    string
}

// LicenseUsers streams one row per licensed user of the agencies the caller
// may see (agency, or all of them), from the latest snapshot, as
// LicenseRows does per license.
func (s *Service) LicenseUsers(ctx context.Context, caller *licensing.Principal, agency string, fn func(UserRow) error) error {
	return s.licensedUsers(ctx, "reports.licenseUsers", caller, agency, func(u licensing.SnapshotUser, line licensing.UserLine) error {
		names := make([]string, 0, len(line.Licenses))
		for _, l := range line.Licenses {
			names = append(names, l.Name)
		}
		slices.Sort(names)
		return fn(UserRow{Agency: u.Agency, ObjectID: u.ID, UPN: u.UserPrincipalName, Name: u.DisplayName, Department: u.Department,
			Office: u.OfficeLocation, UsageLocation: u.UsageLocation, Enabled: u.AccountEnabled, Created: u.Created,
			Licenses: slices.Compact(names), LastSignIn: u.LastSignIn, Reclaim: line.Reclaim})
	})
}

// UserCSVHeader is the header of the users shape: the admin center's
// column names, then this product's.
var UserCSVHeader = []string{"Display name", "User principal name", "Object Id", "When created", "Department", "Office", "Usage location",
	"Block credential", "Licenses", "Agency", "Last sign-in", "Reclaim candidate"}

// WriteUserCSV writes rows in the users shape, as WriteLicenseCSV does:
// UTF-8 with a BOM, header first, every text cell made safe. Block
// credential is True or False and When created is UTC, both as the admin
// center writes them.
func WriteUserCSV(w io.Writer, rows func(fn func(UserRow) error) error) error {
	cw := newCSV(w)
	cw.row(slices.Clone(UserCSVHeader)...)
	err := rows(func(r UserRow) error {
		created := ""
		if !r.Created.IsZero() {
			created = r.Created.UTC().Format("2006-01-02 15:04:05Z")
		}
		blocked := "True"
		if r.Enabled {
			blocked = "False"
		}
		cw.row(r.Name, r.UPN, r.ObjectID, created, r.Department, r.Office, r.UsageLocation, blocked,
			strings.Join(r.Licenses, "+"), r.Agency, signInDate(r.LastSignIn), r.Reclaim)
		return cw.err
	})
	if err != nil {
		return err
	}
	return cw.flush()
}

// signInDate is a last sign-in's UTC date, or "" when there is none.
func signInDate(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}
