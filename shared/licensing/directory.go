package licensing

import (
	"context"
	"time"
)

// DirectoryUser is one user of the tenant's directory as a usage snapshot
// needs it: who the user is, the attributes that attribute the user to an
// agency, and the licenses the user holds.
type DirectoryUser struct {
	// ID is the Entra ID object id (a lower-case GUID).
	ID                string
	UserPrincipalName string
	DisplayName       string
	Mail              string
	// Department, CompanyName and OfficeLocation are attribution attributes
	// exactly as the directory holds them (case and spaces not normalized).
	Department     string
	CompanyName    string
	OfficeLocation string
	// ExtensionAttributes are onPremisesExtensionAttributes
	// extensionAttribute1..15, at index 0..14.
	ExtensionAttributes [15]string
	// UsageLocation is the two-letter country code licenses need; empty
	// when the user has none.
	UsageLocation   string
	AccountEnabled  bool
	CreatedDateTime time.Time
	// LastSignIn is the user's most recent sign-in (interactive or not).
	// It is nil when the user never signed in, and also when sign-in
	// activity was not read (see UserReadResult.SignInAvailable).
	LastSignIn *time.Time
	// Licenses are the user's license assignments, one per SKU.
	Licenses []UserLicense
	// Removed is set by an incremental read for a user that was deleted
	// (or otherwise left the set of users) since the previous read; only ID
	// is meaningful then.
	Removed bool
	// Partial is set by an incremental read for a changed user when the
	// directory sent only some of its properties (Graph promises at least
	// the changed ones); Fields names those sent, in Graph's spelling
	// (department, assignedLicenses, ...). MergeUser applies such an update
	// to the user as last known.
	Partial bool
	Fields  []string
}

// ExtensionAttribute returns extensionAttribute n (1 to 15), or "" when n is
// out of range.
func (u DirectoryUser) ExtensionAttribute(n int) string {
	if n < 1 || n > len(u.ExtensionAttributes) {
		return ""
	}
	return u.ExtensionAttributes[n-1]
}

// UserLicense is one SKU assigned to a user, directly, through groups, or both.
type UserLicense struct {
	// SkuID is the SKU's GUID in lower case.
	SkuID string
	// Direct is set when the license is assigned to the user directly.
	Direct bool
	// Groups are the ids of the groups the license is inherited through.
	Groups []string
	// Error is the assignment error reported by the directory
	// (CountViolation, MutuallyExclusiveViolation, DependencyViolation, ...),
	// empty when the assignment is active. A license in error is wanted but
	// not actually held.
	Error string
}

// TenantSku is one SKU the tenant has bought (GET /subscribedSkus): the units
// it has and how many are in use.
type TenantSku struct {
	// SkuID is the SKU's GUID in lower case.
	SkuID string
	// PartNumber is the SKU's string id (VISIOCLIENT).
	PartNumber string
	// CapabilityStatus is Enabled, Warning, Suspended, Deleted or LockedOut.
	CapabilityStatus string
	// Prepaid units by state.
	Enabled   int
	Warning   int
	Suspended int
	LockedOut int
	// Consumed is the number of units assigned to users.
	Consumed int
}

// TenantSubscription is one commercial subscription of the tenant
// (GET /directory/subscriptions).
type TenantSubscription struct {
	ID string
	// SkuID is the SKU's GUID in lower case.
	SkuID      string
	PartNumber string
	// Status is Enabled, Expired, Suspended, Warning or LockedOut.
	Status        string
	TotalLicenses int
	IsTrial       bool
	Created       time.Time
	// NextLifecycle is when the subscription next changes state (renewal,
	// expiry); nil when the directory does not say.
	NextLifecycle *time.Time
}

// GroupMember is a user that is a member of a group, directly or through
// nested groups. Devices, contacts and nested groups themselves are never
// reported.
type GroupMember struct {
	ID                string
	UserPrincipalName string
	DisplayName       string
	Mail              string
	UsageLocation     string
	AccountEnabled    bool
	Licenses          []UserLicense
}

// UserQuery says how to read the directory's users.
type UserQuery struct {
	// DeltaLink is the link a previous read returned. When set, only the
	// changes since that read are read (an incremental read); when empty, or
	// when the link has expired, every user is read.
	DeltaLink string
	// SignIn asks for each user's last sign-in. The directory keeps sign-in
	// activity only on the full user list, so asking for it makes the read
	// a full one (unless the tenant does not offer sign-in activity, see
	// UserReadResult.SignInAvailable).
	SignIn bool
	// Strict makes an expired DeltaLink an error with code Stale, before any
	// user is passed to the callback, instead of a fallback to a full read:
	// for a caller that holds changes in memory and must not receive every
	// user that way.
	Strict bool

	// The fields below split a full read (no DeltaLink) into pieces that
	// separate invocations, or separate instances, can do.

	// Segment limits the read to the users whose user principal name lies
	// in it. Segments that share their ends cover every user.
	Segment UserSegment
	// Cursor continues a read where an earlier call with the same query
	// stopped (UserReadResult.Cursor).
	Cursor string
	// MaxPages stops the read after that many pages, with
	// UserReadResult.Cursor set when there is more to read; 0 reads to the
	// end.
	MaxPages int
	// SignInOnly reads only each user's ID and LastSignIn (a sign-in pass,
	// at the smaller page size sign-in activity allows). A tenant without
	// sign-in activity is not an error: no user is passed, and the result
	// says why in SignInNote.
	SignInOnly bool
	// NoDeltaLink skips taking the delta link a full read otherwise takes
	// before it starts: the caller took one for the whole read (LinkOnly).
	NoDeltaLink bool
	// LinkOnly reads no user: it only returns in DeltaLink a link whose
	// changes start now, for a caller that then reads every user in
	// segments and follows the link afterwards to catch what changed
	// during the read.
	LinkOnly bool
}

// UserSegment is a range of user principal names, From and To included, in
// the directory's order (Graph's $filter with ge and le); an empty end is
// open. A user whose name equals a shared end is read by both segments, so
// a caller reading segments removes duplicates by ID.
type UserSegment struct {
	From, To string
}

// IsZero reports whether s is the whole directory.
func (s UserSegment) IsZero() bool { return s.From == "" && s.To == "" }

// UserReadResult reports how a read of the directory's users went.
type UserReadResult struct {
	// DeltaLink is the link to pass as UserQuery.DeltaLink next time.
	DeltaLink string
	// Full is set when every current user was passed to the callback: the
	// first read, a read with sign-in activity, or an incremental read that
	// fell back to a full one because its link had expired. After a full read
	// any user the caller knew of and did not receive is gone.
	Full bool
	// SignInAvailable is set when LastSignIn was read. SignInNote says why
	// it was not, in a sentence fit for a run log, when it was asked for.
	SignInAvailable bool
	SignInNote      string
	// Note explains, for the run log, anything else worth knowing about the
	// read (a fallback from an expired delta link, for instance).
	Note string
	// Users is how many users (including removals) were passed to the
	// callback, Pages how many pages of users were read, and Requests how
	// many HTTP requests the read made, retries included.
	Users    int
	Pages    int
	Requests int
	// Cursor is set when the read stopped after UserQuery.MaxPages with
	// more to read: pass it as UserQuery.Cursor, with the same query, to
	// go on.
	Cursor string
}

// Directory is what the domain needs from the tenant's directory (Microsoft
// Graph). Every method returns *Error values with these codes:
//
//   - Forbidden: the app lacks a permission; the message names it.
//   - Unavailable: the directory is down, throttling beyond the configured
//     wait, or did not answer; try again later.
//   - Internal: the directory answered something that could not be read.
//
// and, where a method says so, NotFound. An error returned by a callback
// stops the read and is returned as is.
type Directory interface {
	// SubscribedSkus returns every SKU the tenant has (Organization.Read.All).
	SubscribedSkus(ctx context.Context) ([]TenantSku, error)

	// Subscriptions returns every commercial subscription of the tenant
	// (Organization.Read.All).
	Subscriptions(ctx context.Context) ([]TenantSubscription, error)

	// ReadUsers passes the tenant's users to fn one at a time, never holding
	// them all in memory (User.Read.All; AuditLog.Read.All for sign-in
	// activity). See UserQuery for full and incremental reads. A tenant
	// without sign-in activity (no Entra ID P1, or no AuditLog.Read.All) is
	// not an error: the read carries on without it and says so in the result.
	// When fn is called for a user more than once in a read, the last call
	// wins.
	ReadUsers(ctx context.Context, q UserQuery, fn func(DirectoryUser) error) (UserReadResult, error)

	// GroupUserMembers passes every user that is a member of the group,
	// directly or through nested groups, to fn (GroupMember.Read.All).
	// A group that does not exist is NotFound.
	GroupUserMembers(ctx context.Context, groupID string, fn func(GroupMember) error) error
}
