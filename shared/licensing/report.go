package licensing

import (
	"context"
	"io"
	"time"
)

// Product statuses on a report.
const (
	ProductOK     = "OK"
	ProductOver   = "Over"
	ProductUnused = "Unused"
)

// AgencyReport is what one agency's license report shows:
// per product what it bought and what it uses, its purchases in force, and,
// streamed separately, its licensed users.
type AgencyReport struct {
	Agency Agency
	// Date is the report's date (the payroll Monday); DataAsOf when the
	// usage snapshot was taken.
	Date       Date
	DataAsOf   time.Time
	SnapshotID string
	Products   []ProductLine
	Purchases  []PurchaseLine
	// InactiveDays is how long without a sign-in makes a user a candidate
	// to reclaim; SignInKnown says whether sign-ins were read at all.
	InactiveDays int
	SignInKnown  bool
	// Users counts the licensed users attributed to the agency.
	Users int
	// Provisioning is where the agency's delegated groups stand (its
	// Provisioning sheet); nil when it has none or they could not be read.
	Provisioning *ProvisioningState
}

// ProductLine is one product of a report's Summary.
type ProductLine struct {
	SkuID      string
	PartNumber string
	Name       string
	// Purchased is the entitlement in force on the report's date.
	Purchased int
	// InUse counts the agency's users holding the product.
	InUse int
	// Available is Purchased − InUse (negative when over).
	Available int
	// Status is ProductOK, ProductOver or ProductUnused.
	Status string
	// Disabled and Inactive count users holding it who could give it back.
	Disabled int
	Inactive int
	// Cost is what the product costs per year (CostsOn); nil when a line
	// in force has no price.
	Cost *ProductCost
}

// OverBy returns how many more seats of a product an agency uses than it
// bought: inUse − purchased when that is positive, else 0.
func OverBy(purchased, inUse int) int {
	return max(inUse-purchased, 0)
}

// Tally sets l.Available from Purchased and InUse, and l.Status:
// ProductOver when the agency uses more than it bought (OverBy),
// ProductUnused when nobody holds the product, else ProductOK.
func (l *ProductLine) Tally() {
	l.Available = l.Purchased - l.InUse
	switch {
	case OverBy(l.Purchased, l.InUse) > 0:
		l.Status = ProductOver
	case l.InUse == 0:
		l.Status = ProductUnused
	default:
		l.Status = ProductOK
	}
}

// PurchaseLine is one purchase in force on a report's date.
type PurchaseLine struct {
	PONumber    string
	Reseller    string
	ProductName string
	PartNumber  string
	Quantity    int
	TermStart   Date
	TermEnd     Date
	// DaysToEnd counts from the report's date to the term end (negative
	// when in grace).
	DaysToEnd int
	InGrace   bool
	// UnitPrice and Currency are the line's price per seat and year; nil
	// when unknown.
	UnitPrice *Amount
	Currency  string
	// Imported, for a line imported from the legacy tracking sheet, names
	// the file and row it came from ("license-tracking.csv row 12"); empty
	// for a line recorded from a purchase order.
	Imported string
}

// UserLine is one licensed user on a report.
type UserLine struct {
	UserPrincipalName string
	DisplayName       string
	// Agency is set on the enterprise summary's lists; Matched says which
	// attribute matched (or, for a conflict, every match).
	Agency         string
	Matched        string
	Licenses       []UserLicenseLine
	AccountEnabled bool
	LastSignIn     *time.Time
	// Reclaim says why the user is a candidate to give a license back
	// (disabled, never signed in, no sign-in for N days); empty when not.
	Reclaim string
}

// UserLicenseLine is one license of a user on a report.
type UserLicenseLine struct {
	Name       string
	PartNumber string
	Direct     bool
	ByGroup    bool
}

// EnterpriseSummary is central IT's view of a payroll date: every agency by
// product, the tenant check, and (streamed separately) the unattributed and
// conflicting users.
type EnterpriseSummary struct {
	Date         Date
	DataAsOf     time.Time
	SnapshotID   string
	Rows         []EnterpriseRow
	Tenant       []TenantCheckRow
	Unattributed int
	Conflicts    int
}

// EnterpriseRow is one agency and product.
type EnterpriseRow struct {
	Agency     string
	AgencyName string
	ProductLine
}

// TenantCheckRow compares, for one SKU, what the agencies bought (the
// ledger) with what the tenant has (subscribedSkus): a difference means
// untracked purchases or a tracking error.
type TenantCheckRow struct {
	SkuID      string
	PartNumber string
	Name       string
	// Purchased is the sum of the agencies' entitlements.
	Purchased int
	// Prepaid is the tenant's enabled units; Consumed its assigned ones.
	Prepaid  int
	Consumed int
	// Difference is Prepaid − Purchased.
	Difference int
	Note       string
}

// UserSource streams users to fn, in order; fn's error stops it.
type UserSource func(fn func(UserLine) error) error

// ReportWriter renders reports as spreadsheets. Users stream from the
// source, so memory does not grow with the number of users.
type ReportWriter interface {
	// WriteAgencyReport writes r with sheets Summary (with a chart of
	// purchased against in use), Users and Purchases, and Provisioning when
	// r.Provisioning is set.
	WriteAgencyReport(w io.Writer, r AgencyReport, users UserSource) error
	// WriteEnterpriseSummary writes s with sheets Overview, Agencies,
	// Tenant check, Unattributed and Conflicts.
	WriteEnterpriseSummary(w io.Writer, s EnterpriseSummary, unattributed, conflicts UserSource) error
}

// Deliveries records which reports went to whom, so a resumed run never
// mails twice.
type Deliveries interface {
	// GetDelivery returns the delivery of report key for run (a payroll
	// date); NotFound when nothing was recorded yet.
	GetDelivery(ctx context.Context, run, key string) (Delivery, error)
	// PutDelivery records d (create or replace).
	PutDelivery(ctx context.Context, d Delivery) error
	// ListDeliveries returns a run's deliveries.
	ListDeliveries(ctx context.Context, run string) ([]Delivery, error)
}

// Delivery states, in order.
const (
	DeliveryWritten = "written"
	// DeliveryMailing was recorded just before a mail went by earlier
	// versions; a delivery found in it is treated as unconfirmed.
	DeliveryMailing = "mailing"
	DeliveryMailed  = "mailed"
	// DeliveryUnconfirmed: the sending was cut short and the mail may or
	// may not have gone; it is not sent again (it is reported instead).
	DeliveryUnconfirmed = "unconfirmed"
)

// Delivery is one report of one run.
type Delivery struct {
	Run    string    `json:"run"`
	Key    string    `json:"key"`
	State  string    `json:"state"`
	File   string    `json:"file"`
	Size   int64     `json:"size,omitempty"`
	To     []string  `json:"to,omitempty"`
	At     time.Time `json:"at"`
	Detail string    `json:"detail,omitempty"`
}

// Linker makes short-lived download links for stored files.
type Linker interface {
	// Link returns a URL that reads the file name for ttl.
	Link(ctx context.Context, name string, ttl time.Duration) (string, error)
}

// Over reports whether the agency uses more of any product than it bought.
func (r AgencyReport) Over() bool {
	for _, p := range r.Products {
		if p.Status == ProductOver {
			return true
		}
	}
	return false
}
