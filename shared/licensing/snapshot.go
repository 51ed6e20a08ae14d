package licensing

import (
	"context"
	"io"
	"strings"
	"time"
)

// Snapshot is one dated, complete picture of license use in the tenant: who
// holds which SKU, attributed to which agency, and the tenant's own totals.
// Reports and audits read a published snapshot, never a run in progress.
type Snapshot struct {
	ID    string    `json:"id"`
	Taken time.Time `json:"taken"`
	// Full is set when every user was read; else only changes were read and
	// merged into the previous snapshot (Base).
	Full bool   `json:"full"`
	Base string `json:"base,omitempty"`
	// UsersFile is the blob holding one SnapshotUser per line (gzip JSON
	// lines), every user of the tenant.
	UsersFile string `json:"usersFile"`
	// DeltaLink lets the next snapshot read only what changed since this one.
	DeltaLink string `json:"deltaLink,omitempty"`

	Users         int `json:"users"`
	LicensedUsers int `json:"licensedUsers"`
	Agencies      int `json:"agencies"`
	Unattributed  int `json:"unattributed"`
	Conflicts     int `json:"conflicts"`
	// AgencyUsers counts the licensed users of each agency (and of
	// Unattributed and Conflicted); nil in snapshots taken before it was
	// recorded.
	AgencyUsers map[string]int `json:"agencyUsers,omitempty"`
	// Changes is how many users an incremental read brought (added, changed
	// or removed).
	Changes int `json:"changes"`
	// Requests is how many Graph requests the snapshot took.
	Requests        int  `json:"requests"`
	SignInAvailable bool `json:"signInAvailable"`
	// SignInAsOf is when the sign-in pass the snapshot took its sign-ins
	// from started (SignInPass names it); zero when sign-ins were read with
	// the users.
	SignInAsOf time.Time `json:"signInAsOf,omitzero"`
	SignInPass string    `json:"signInPass,omitempty"`
	// AgencyFiles is set when the snapshot also keeps each agency's users
	// (and the unattributed and conflicting ones) in a file of their own,
	// snapshots/{id}/agencies/{agency}.jsonl.gz.
	AgencyFiles bool `json:"agencyFiles,omitempty"`
	// SegmentEnds are lower-cased user principal names that cut the
	// snapshot's users into parts of about equal size, ascending: the next
	// full read splits its segments there, so that each holds about as
	// many users.
	SegmentEnds []string    `json:"segmentEnds,omitempty"`
	Notes       []string    `json:"notes,omitempty"`
	Tenant      []TenantSku `json:"tenant"`
	Duration    string      `json:"duration"`
	// Pruned is when retention deleted the snapshot's files (its users);
	// its counts and usage rows stay for the true-up. Zero while the files
	// are kept.
	Pruned time.Time `json:"pruned,omitzero"`
}

// Usage counts, for one agency (or Unattributed or Conflicted) and one SKU,
// the users holding it in a snapshot.
type Usage struct {
	Agency string `json:"agency"`
	SkuID  string `json:"skuId"`
	// Users hold the SKU (assignment without error), by any path.
	Users int `json:"users"`
	// Direct and ByGroup count the paths (a user can have both).
	Direct  int `json:"direct"`
	ByGroup int `json:"byGroup"`
	// Disabled users still hold a license: candidates to reclaim.
	Disabled int `json:"disabled"`
	// NeverSignedIn counts users without any sign-in (only when sign-in
	// activity was read).
	NeverSignedIn int `json:"neverSignedIn"`
	// Errors are assignments the directory could not honour (CountViolation
	// and the like): wanted, but not held, so not counted in Users.
	Errors int `json:"errors"`
}

// SnapshotUser is one user as a snapshot keeps it: what the directory says
// and how the user was attributed. The JSON names are the stored format.
type SnapshotUser struct {
	ID                string     `json:"id"`
	UserPrincipalName string     `json:"upn"`
	DisplayName       string     `json:"name,omitempty"`
	Mail              string     `json:"mail,omitempty"`
	Department        string     `json:"dept,omitempty"`
	CompanyName       string     `json:"company,omitempty"`
	OfficeLocation    string     `json:"office,omitempty"`
	Extension         []string   `json:"ext,omitempty"`
	UsageLocation     string     `json:"loc,omitempty"`
	AccountEnabled    bool       `json:"enabled"`
	Created           time.Time  `json:"created,omitzero"`
	LastSignIn        *time.Time `json:"signIn,omitempty"`
	// SignInUnknown is set when the user was created after the sign-in
	// pass the snapshot took its sign-ins from: a missing LastSignIn then
	// says nothing.
	SignInUnknown bool          `json:"signInUnknown,omitempty"`
	Licenses      []UserLicense `json:"licenses,omitempty"`
	Attribution
}

// Licensed reports whether the user holds at least one license.
func (u SnapshotUser) Licensed() bool {
	for _, l := range u.Licenses {
		if l.Error == "" {
			return true
		}
	}
	return false
}

// directoryUser turns a stored user back into the directory's view.
func (u SnapshotUser) AsDirectoryUser() DirectoryUser {
	d := DirectoryUser{
		ID: u.ID, UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName, Mail: u.Mail,
		Department: u.Department, CompanyName: u.CompanyName, OfficeLocation: u.OfficeLocation,
		UsageLocation: u.UsageLocation, AccountEnabled: u.AccountEnabled, CreatedDateTime: u.Created,
		LastSignIn: u.LastSignIn, Licenses: u.Licenses,
	}
	copy(d.ExtensionAttributes[:], u.Extension)
	return d
}

// SnapshotStore keeps published snapshots.
type SnapshotStore interface {
	// LatestSnapshot returns the newest published snapshot; NotFound when
	// none has been published yet.
	LatestSnapshot(ctx context.Context) (Snapshot, error)
	// GetSnapshot returns a published snapshot by id; NotFound if unknown.
	GetSnapshot(ctx context.Context, id string) (Snapshot, error)
	// SnapshotUsage returns the usage counts of a published snapshot.
	SnapshotUsage(ctx context.Context, id string) ([]Usage, error)
	// ListSnapshots returns the published snapshots taken from from (inclusive)
	// to to (exclusive), oldest first, without their users; a zero bound is
	// open.
	ListSnapshots(ctx context.Context, from, to time.Time) ([]Snapshot, error)
	// PublishSnapshot stores s and its usage and then, last, makes it the
	// latest, so a reader sees either the previous complete snapshot or this
	// complete one. A snapshot older than the latest is stored but does not
	// replace it.
	PublishSnapshot(ctx context.Context, s Snapshot, usage []Usage) error
}

// FileStore keeps large files (blobs).
type FileStore interface {
	// Create starts writing the file name. The file is visible to readers
	// only once Close returns nil; Abort, or a failed Close, leaves nothing.
	Create(ctx context.Context, name, contentType string) (FileWriter, error)
	// Open reads the file name; NotFound when it does not exist.
	Open(ctx context.Context, name string) (io.ReadCloser, error)
}

// FileWriter is a file being written.
type FileWriter interface {
	io.Writer
	Close() error
	Abort(cause error)
}

// userFields are the user properties the app reads from the directory, in
// Graph's spelling and in the order they are asked for, each with how
// MergeUser carries it from a partial update (nil for id, which every
// update carries).
var userFields = []struct {
	name  string
	merge func(m *DirectoryUser, upd DirectoryUser)
}{
	{"id", nil},
	{"userPrincipalName", func(m *DirectoryUser, upd DirectoryUser) { m.UserPrincipalName = upd.UserPrincipalName }},
	{"displayName", func(m *DirectoryUser, upd DirectoryUser) { m.DisplayName = upd.DisplayName }},
	{"mail", func(m *DirectoryUser, upd DirectoryUser) { m.Mail = upd.Mail }},
	{"department", func(m *DirectoryUser, upd DirectoryUser) { m.Department = upd.Department }},
	{"companyName", func(m *DirectoryUser, upd DirectoryUser) { m.CompanyName = upd.CompanyName }},
	{"officeLocation", func(m *DirectoryUser, upd DirectoryUser) { m.OfficeLocation = upd.OfficeLocation }},
	{"onPremisesExtensionAttributes", func(m *DirectoryUser, upd DirectoryUser) { m.ExtensionAttributes = upd.ExtensionAttributes }},
	{"usageLocation", func(m *DirectoryUser, upd DirectoryUser) { m.UsageLocation = upd.UsageLocation }},
	{"accountEnabled", func(m *DirectoryUser, upd DirectoryUser) { m.AccountEnabled = upd.AccountEnabled }},
	{"createdDateTime", func(m *DirectoryUser, upd DirectoryUser) { m.CreatedDateTime = upd.CreatedDateTime }},
	{"assignedLicenses", mergeLicenses},
	{"licenseAssignmentStates", mergeLicenses},
}

func mergeLicenses(m *DirectoryUser, upd DirectoryUser) { m.Licenses = upd.Licenses }

// mergeByName indexes the merges of userFields by lower-case name.
var mergeByName = func() map[string]func(*DirectoryUser, DirectoryUser) {
	by := map[string]func(*DirectoryUser, DirectoryUser){}
	for _, f := range userFields {
		if f.merge != nil {
			by[strings.ToLower(f.name)] = f.merge
		}
	}
	return by
}()

// UserFields returns the names of the user properties the app reads from
// the directory (Graph's $select), in Graph's spelling. Sign-in activity is
// not among them: the directory serves it on full reads only.
func UserFields() []string {
	out := make([]string, len(userFields))
	for i, f := range userFields {
		out[i] = f.name
	}
	return out
}

// MergeUser applies a partial update (only the properties the directory sent
// in a change) to the user as last known. Merging two partial updates gives a
// partial update carrying the fields of both. Field names are matched
// without case; names that are not among UserFields are ignored.
func MergeUser(old, upd DirectoryUser) DirectoryUser {
	if !upd.Partial {
		return upd
	}
	m := old
	m.ID, m.Partial, m.Fields = upd.ID, false, nil
	if old.Partial {
		m.Partial = true
		m.Fields = append(append([]string(nil), old.Fields...), upd.Fields...)
	}
	for _, name := range upd.Fields {
		if merge := mergeByName[strings.ToLower(name)]; merge != nil {
			merge(&m, upd)
		}
	}
	return m
}
