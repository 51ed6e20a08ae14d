package licensing

import (
	"context"
	"strings"
	"time"
)

// Capped group provisioning: the members of each agency's
// delegated group for a product are licensed up to the agency's entitlement,
// in the order the product first saw them; the rest wait.

// Seat states of a member of a delegated group.
const (
	// SeatAssigned: the member holds a license the app assigned for this
	// agency; it counts against the cap.
	SeatAssigned = "assigned"
	// SeatElsewhere: the member holds the SKU from somewhere else (an
	// admin, another group, another agency's group); never touched and not
	// counted.
	SeatElsewhere = "licensedElsewhere"
	// SeatWaiting: the member needs a license and waits for a seat.
	SeatWaiting = "waiting"
	// SeatFailed: the member was to get a license and could not (no usage
	// location, a plan conflict, ...); Error says why.
	SeatFailed = "failed"
)

// SeatMember is the product's memory of one member of an agency's delegated
// group for one SKU: when it first saw the member, and where the member
// stands.
type SeatMember struct {
	Agency string
	// SkuID is the SKU's GUID in lower case.
	SkuID             string
	UserID            string
	UserPrincipalName string
	// FirstSeen orders the members: first seen first, ties by UPN.
	FirstSeen time.Time
	// State is one of the Seat* states.
	State string
	// Since is when the member entered State: got the app's license
	// (assigned) or started waiting (waiting); zero otherwise.
	Since time.Time
	// Error names why a license could not be assigned or is in error
	// (MutuallyExclusiveViolation, UsageLocationMissing, ...).
	Error string
	// Disabled is set when the member's account is disabled.
	Disabled bool
}

// Grant states.
const (
	// GrantAssigning: the app decided to assign and may be doing it; a run
	// that finds the user holding the SKU confirms it.
	GrantAssigning = "assigning"
	// GrantAssigned: the app assigned the license and owns it.
	GrantAssigned = "assigned"
	// GrantRemoving: the app decided to remove it.
	GrantRemoving = "removing"
	// GrantEnded: the app removed it, or it was never assigned; the app
	// owns nothing.
	GrantEnded = "ended"
)

// LicenseGrant records a license the app assigns: who, which SKU, for which
// agency and group, since when, by which run. There is one per user and SKU:
// a user licensed by one agency's group is licensed elsewhere for another.
type LicenseGrant struct {
	UserID            string
	SkuID             string
	UserPrincipalName string
	Agency            string
	GroupID           string
	State             string
	// Gen counts the app's attempts for this user and SKU; it is part of
	// the effect keys (assign:{user}:{sku}:{gen}), so a license removed and
	// later assigned again is a new effect.
	Gen   int
	Since time.Time
	Run   string
	// Detail says why the last change failed, when it did.
	Detail string
	ETag   string
}

// Owned reports whether the grant says the app holds (or is taking) the
// license for agency.
func (g LicenseGrant) Owned(agency string) bool {
	return g.Agency == agency && (g.State == GrantAssigning || g.State == GrantAssigned || g.State == GrantRemoving)
}

// ProvisioningNotice remembers, per agency and kind of notice, the last
// state the delegates were told about, so that each change is mailed once.
type ProvisioningNotice struct {
	Agency string
	// Kind is "waitlist" or "errors".
	Kind string
	// Seq counts the notices sent; Digest identifies the state last told.
	Seq    int
	Digest string
	Sent   time.Time
	ETag   string
}

// ProvisioningStore keeps the members of delegated groups, the licenses the
// app assigned and the notices sent.
type ProvisioningStore interface {
	// SeatMembers returns the remembered members of agency's group for
	// skuID, in no particular order.
	SeatMembers(ctx context.Context, agency, skuID string) ([]SeatMember, error)
	// SaveSeatMembers writes put (creating or replacing by user id) and
	// deletes the members whose user ids are in gone; unknown ids in gone
	// are not an error.
	SaveSeatMembers(ctx context.Context, agency, skuID string, put []SeatMember, gone []string) error
	// Grants returns every grant of skuID (of all agencies), in no
	// particular order.
	Grants(ctx context.Context, skuID string) ([]LicenseGrant, error)
	// GrantsFor returns the grants of skuID made for agency (in any
	// state) and those of the users listed (of any agency), each once, in
	// no particular order: what one agency's groups need, without reading
	// every agency's grants.
	GrantsFor(ctx context.Context, skuID, agency string, users []string) ([]LicenseGrant, error)
	// PutGrant writes g. pre.IfNoneMatch creates only (Stale when one
	// exists); pre.IfMatch replaces the version read (Stale when it
	// changed). It returns g with its new ETag.
	PutGrant(ctx context.Context, g LicenseGrant, pre Precondition) (LicenseGrant, error)
	// GetNotice returns agency's notice of kind, NotFound when none was
	// sent.
	GetNotice(ctx context.Context, agency, kind string) (ProvisioningNotice, error)
	// PutNotice writes n under the same preconditions as PutGrant.
	PutNotice(ctx context.Context, n ProvisioningNotice, pre Precondition) (ProvisioningNotice, error)
}

// LicenseChange adds or removes one SKU for one user.
type LicenseChange struct {
	UserID string
	// SkuID is the SKU's GUID in lower case.
	SkuID  string
	Remove bool
}

// Names of license failures, as the directory reports them in
// licenseAssignmentStates, and the ones the app adds.
const (
	ReasonCountViolation     = "CountViolation"
	ReasonMutuallyExclusive  = "MutuallyExclusiveViolation"
	ReasonDependency         = "DependencyViolation"
	ReasonProhibitedLocation = "ProhibitedInUsageLocationViolation"
	ReasonUsageLocation      = "UsageLocationMissing"
	ReasonUserNotFound       = "UserNotFound"
)

// LicenseResult is what became of one LicenseChange.
type LicenseResult struct {
	// Err is nil when the change was made. Else a *Error: Invalid when the
	// directory refused it (Reason names why), Ambiguous when it may have
	// been made (the answer was lost), Unavailable when it surely was not
	// (throttled beyond the wait); NotFound when the user does not exist.
	Err error
	// Reason names a refusal (one of the Reason* names, or the
	// directory's own code when it is none of them).
	Reason string
}

// LicenseWriter changes the tenant's license assignments
// (LicenseAssignment.ReadWrite.All).
type LicenseWriter interface {
	// ChangeLicenses makes changes, 20 to a request, and returns one
	// result per change in the same order. The error is for the whole
	// call (nothing could be sent: Forbidden, Unavailable before sending).
	ChangeLicenses(ctx context.Context, changes []LicenseChange) ([]LicenseResult, error)
	// SetUsageLocations sets the usage location of each user (two-letter
	// country code), 20 to a request, and returns one result per user.
	SetUsageLocations(ctx context.Context, userIDs []string, location string) ([]LicenseResult, error)
	// UserLicenses returns the licenses a user holds, to check an
	// assignment whose answer was lost; NotFound when the user does not
	// exist.
	UserLicenses(ctx context.Context, userID string) ([]UserLicense, error)
}

// Holds reports whether licenses include skuID in force (not in error).
func Holds(licenses []UserLicense, skuID string) bool {
	for _, l := range licenses {
		if strings.EqualFold(l.SkuID, skuID) && l.Error == "" {
			return true
		}
	}
	return false
}

// LicenseErrorOf returns the error the directory records on skuID for the
// user, "" when none.
func LicenseErrorOf(licenses []UserLicense, skuID string) string {
	for _, l := range licenses {
		if strings.EqualFold(l.SkuID, skuID) && l.Error != "" {
			return l.Error
		}
	}
	return ""
}

// ProvisioningState is where an agency's delegated groups stand: per
// product, the cap and each member's seat (GET /api/provisioning, the
// Provisioning sheet of the agency's payroll workbook).
type ProvisioningState struct {
	Agency string
	// AsOf is when a run last read the groups; zero when none has.
	AsOf     time.Time
	Products []ProductSeats
}

// ProductSeats is one delegated group's seats.
type ProductSeats struct {
	SkuID      string
	PartNumber string
	Name       string
	GroupID    string
	// Cap is the agency's entitlement for the product today.
	Cap               int
	Assigned          []SeatEntry
	LicensedElsewhere []SeatEntry
	Waitlist          []SeatEntry
	Errors            []SeatEntry
	// WouldFree are members holding a seat the app assigned whose accounts
	// are disabled: taking them out of the group frees their seats.
	WouldFree []SeatEntry
}

// SeatEntry is one member in a ProductSeats list.
type SeatEntry struct {
	UserID            string
	UserPrincipalName string
	// Since is when the seat was assigned (Assigned, WouldFree) or when the
	// member started waiting (Waitlist); zero otherwise.
	Since time.Time
	// Error names the failure (Errors).
	Error string
}

// ProvisioningReader reads an agency's provisioning state (for the payroll
// workbook).
type ProvisioningReader interface {
	ProvisioningState(ctx context.Context, agency string) (ProvisioningState, error)
}
