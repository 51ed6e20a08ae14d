package licensing

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
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
	// Changes is how many users an incremental read brought (added, changed
	// or removed).
	Changes int `json:"changes"`
	// Requests is how many Graph requests the snapshot took.
	Requests        int         `json:"requests"`
	SignInAvailable bool        `json:"signInAvailable"`
	Notes           []string    `json:"notes,omitempty"`
	Tenant          []TenantSku `json:"tenant"`
	Duration        string      `json:"duration"`
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
	ID                string        `json:"id"`
	UserPrincipalName string        `json:"upn"`
	DisplayName       string        `json:"name,omitempty"`
	Mail              string        `json:"mail,omitempty"`
	Department        string        `json:"dept,omitempty"`
	CompanyName       string        `json:"company,omitempty"`
	OfficeLocation    string        `json:"office,omitempty"`
	Extension         []string      `json:"ext,omitempty"`
	UsageLocation     string        `json:"loc,omitempty"`
	AccountEnabled    bool          `json:"enabled"`
	Created           time.Time     `json:"created,omitzero"`
	LastSignIn        *time.Time    `json:"signIn,omitempty"`
	Licenses          []UserLicense `json:"licenses,omitempty"`
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
func (u SnapshotUser) directoryUser() DirectoryUser {
	d := DirectoryUser{
		ID: u.ID, UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName, Mail: u.Mail,
		Department: u.Department, CompanyName: u.CompanyName, OfficeLocation: u.OfficeLocation,
		UsageLocation: u.UsageLocation, AccountEnabled: u.AccountEnabled, CreatedDateTime: u.Created,
		LastSignIn: u.LastSignIn, Licenses: u.Licenses,
	}
	copy(d.ExtensionAttributes[:], u.Extension)
	return d
}

func snapshotUser(d DirectoryUser, a Attribution) SnapshotUser {
	u := SnapshotUser{
		ID: d.ID, UserPrincipalName: d.UserPrincipalName, DisplayName: d.DisplayName, Mail: d.Mail,
		Department: d.Department, CompanyName: d.CompanyName, OfficeLocation: d.OfficeLocation,
		UsageLocation: d.UsageLocation, AccountEnabled: d.AccountEnabled, Created: d.CreatedDateTime,
		LastSignIn: d.LastSignIn, Licenses: d.Licenses, Attribution: a,
	}
	n := len(d.ExtensionAttributes)
	for n > 0 && d.ExtensionAttributes[n-1] == "" {
		n--
	}
	if n > 0 {
		u.Extension = append([]string(nil), d.ExtensionAttributes[:n]...)
	}
	return u
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

// SnapshotOptions tunes TakeSnapshot.
type SnapshotOptions struct {
	// Full reads every user even when an incremental read is possible.
	Full bool
	// SignIn reads last sign-in activity, which needs a full read.
	SignIn bool
}

// TakeSnapshot reads the directory and publishes a new snapshot. It reads
// every user the first time, when asked to, or when the stored delta link has
// expired, and otherwise only the changes since the latest snapshot, merged
// into it. Users stream from the directory to the snapshot's file, so memory
// grows with the number of changes, never with the number of users. Nothing
// is published unless every step succeeded.
func (s *Service) TakeSnapshot(ctx context.Context, opts SnapshotOptions, log *slog.Logger) (Snapshot, error) {
	const op = "snapshot.take"
	if s.cfg.Directory == nil || s.cfg.Snapshots == nil || s.cfg.Files == nil {
		return Snapshot{}, Errorf(op, Internal, "The directory or the snapshot store is not configured.")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	start := s.now()
	snap := Snapshot{ID: snapshotID(start, s.newID()), Taken: start.UTC()}
	snap.UsersFile = "snapshots/" + snap.ID + "/users.jsonl.gz"

	agencies, err := s.cfg.Agencies.ListAgencies(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	snap.Agencies = len(agencies)
	at := NewAttributor(agencies)
	for _, g := range at.Groups() {
		var ids []string
		err := s.cfg.Directory.GroupUserMembers(ctx, g, func(m GroupMember) error {
			ids = append(ids, m.ID)
			return nil
		})
		if ErrorCode(err) == NotFound {
			snap.Notes = append(snap.Notes, fmt.Sprintf("Group %s named by an attribution rule does not exist; nobody is attributed through it.", g))
		} else if err != nil {
			return Snapshot{}, err
		}
		at.SetMembers(g, ids)
		log.Info("group members read", "group", g, "users", len(ids))
	}

	tenant, err := s.cfg.Directory.SubscribedSkus(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	sort.Slice(tenant, func(i, j int) bool { return tenant[i].SkuID < tenant[j].SkuID })
	snap.Tenant = tenant

	var prev *Snapshot
	if p, err := s.cfg.Snapshots.LatestSnapshot(ctx); err == nil {
		prev = &p
	} else if ErrorCode(err) != NotFound {
		return Snapshot{}, err
	}

	w, err := s.cfg.Files.Create(ctx, snap.UsersFile, "application/x-ndjson+gzip")
	if err != nil {
		return Snapshot{}, err
	}
	sink := newUserSink(w, at)
	incremental := prev != nil && prev.DeltaLink != "" && !opts.Full && !opts.SignIn
	var res UserReadResult
	if incremental {
		var expired bool
		res, expired, err = s.readChanges(ctx, *prev, sink, log)
		if expired {
			snap.Notes = append(snap.Notes, "The stored delta link had expired; every user was read again.")
			log.Warn("delta link expired; reading every user", "error", err)
			incremental, err = false, nil
		} else if err == nil {
			snap.Base = prev.ID
		}
	}
	if !incremental && err == nil {
		res, err = s.cfg.Directory.ReadUsers(ctx, UserQuery{SignIn: opts.SignIn}, func(u DirectoryUser) error {
			if u.Removed {
				return nil
			}
			return sink.add(u)
		})
	}
	if err == nil {
		err = sink.close()
	}
	if err != nil {
		w.Abort(err)
		return Snapshot{}, err
	}
	if err := w.Close(); err != nil {
		return Snapshot{}, err
	}

	snap.Full = !incremental
	snap.DeltaLink = res.DeltaLink
	snap.Requests += res.Requests
	snap.SignInAvailable = res.SignInAvailable
	for _, n := range []string{res.SignInNote, res.Note} {
		if n != "" {
			snap.Notes = append(snap.Notes, n)
		}
	}
	snap.Users, snap.LicensedUsers = sink.users, sink.licensed
	snap.Unattributed, snap.Conflicts = sink.unattributed, sink.conflicts
	if incremental {
		snap.Changes = res.Users
	}
	snap.Duration = s.now().Sub(start).Round(time.Millisecond).String()
	usage := sink.usage()
	if err := s.cfg.Snapshots.PublishSnapshot(ctx, snap, usage); err != nil {
		return Snapshot{}, err
	}
	log.Info("snapshot published", "id", snap.ID, "full", snap.Full, "users", snap.Users, "licensed", snap.LicensedUsers,
		"unattributed", snap.Unattributed, "conflicts", snap.Conflicts, "requests", snap.Requests)
	return snap, nil
}

// readChanges reads the changes since prev (only those are held in memory),
// then streams prev's users through the sink, replacing changed ones and
// dropping removed ones, and adds the new ones. expired reports that prev's
// delta link is no longer accepted; nothing was written to the sink then.
func (s *Service) readChanges(ctx context.Context, prev Snapshot, sink *userSink, log *slog.Logger) (res UserReadResult, expired bool, err error) {
	changes := map[string]DirectoryUser{}
	res, err = s.cfg.Directory.ReadUsers(ctx, UserQuery{DeltaLink: prev.DeltaLink, Strict: true}, func(u DirectoryUser) error {
		if old, ok := changes[u.ID]; ok && u.Partial {
			u = MergeUser(old, u)
		}
		changes[u.ID] = u
		return nil
	})
	if err != nil {
		return res, ErrorCode(err) == Stale, err
	}
	log.Info("changes read", "users", len(changes), "requests", res.Requests)
	err = s.ReadSnapshotUsers(ctx, prev, func(old SnapshotUser) error {
		u, changed := changes[old.ID]
		if !changed {
			return sink.add(old.directoryUser())
		}
		delete(changes, old.ID)
		if u.Removed {
			return nil
		}
		if u.Partial {
			u = MergeUser(old.directoryUser(), u)
		}
		return sink.add(u)
	})
	if err != nil {
		return res, false, err
	}
	// What is left is new to the tenant (or was unknown to prev).
	ids := make([]string, 0, len(changes))
	for id, u := range changes {
		if !u.Removed {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		if err := sink.add(changes[id]); err != nil {
			return res, false, err
		}
	}
	return res, false, nil
}

// ReadSnapshotUsers passes every user of snap to fn, in the stored order.
func (s *Service) ReadSnapshotUsers(ctx context.Context, snap Snapshot, fn func(SnapshotUser) error) error {
	const op = "snapshot.readUsers"
	rc, err := s.cfg.Files.Open(ctx, snap.UsersFile)
	if err != nil {
		return err
	}
	defer rc.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(rc, 256<<10))
	if err != nil {
		return Wrap(op, Internal, "The snapshot's user file is damaged.", err)
	}
	dec := json.NewDecoder(zr)
	for {
		var u SnapshotUser
		err := dec.Decode(&u)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if ErrorCode(err) == Unavailable {
				return err
			}
			return Wrap(op, Internal, "The snapshot's user file is damaged.", err)
		}
		if err := fn(u); err != nil {
			return err
		}
	}
}

// LatestSnapshot returns the newest published snapshot.
func (s *Service) LatestSnapshot(ctx context.Context) (Snapshot, error) {
	return s.cfg.Snapshots.LatestSnapshot(ctx)
}

// snapshotID sorts by time and is safe in table keys and blob names.
func snapshotID(t time.Time, random string) string {
	if len(random) > 8 {
		random = random[:8]
	}
	return t.UTC().Format("20060102T150405Z") + "-" + random
}

// userSink attributes users, counts them and writes them to the snapshot's
// file, one gzip JSON line each.
type userSink struct {
	at       *Attributor
	zw       *gzip.Writer
	bw       *bufio.Writer
	enc      *json.Encoder
	counts   map[[2]string]*Usage
	users    int
	licensed int

	unattributed, conflicts int
}

func newUserSink(w io.Writer, at *Attributor) *userSink {
	s := &userSink{at: at, counts: map[[2]string]*Usage{}}
	s.bw = bufio.NewWriterSize(w, 256<<10)
	s.zw, _ = gzip.NewWriterLevel(s.bw, gzip.BestSpeed)
	s.enc = json.NewEncoder(s.zw)
	return s
}

func (s *userSink) add(d DirectoryUser) error {
	a := s.at.Attribute(d)
	u := snapshotUser(d, a)
	s.users++
	if u.Licensed() {
		s.licensed++
		switch a.Agency {
		case Unattributed:
			s.unattributed++
		case Conflicted:
			s.conflicts++
		}
	}
	for _, l := range u.Licenses {
		k := [2]string{a.Agency, l.SkuID}
		c := s.counts[k]
		if c == nil {
			c = &Usage{Agency: a.Agency, SkuID: l.SkuID}
			s.counts[k] = c
		}
		if l.Error != "" {
			c.Errors++
			continue
		}
		c.Users++
		if l.Direct {
			c.Direct++
		}
		if len(l.Groups) > 0 {
			c.ByGroup++
		}
		if !u.AccountEnabled {
			c.Disabled++
		}
		if u.LastSignIn == nil {
			c.NeverSignedIn++
		}
	}
	if err := s.enc.Encode(u); err != nil {
		return Wrap("snapshot.write", Unavailable, "", err)
	}
	return nil
}

func (s *userSink) close() error {
	if err := s.zw.Close(); err != nil {
		return Wrap("snapshot.write", Unavailable, "", err)
	}
	if err := s.bw.Flush(); err != nil {
		return Wrap("snapshot.write", Unavailable, "", err)
	}
	return nil
}

// usage returns the counts sorted by agency and SKU.
func (s *userSink) usage() []Usage {
	out := make([]Usage, 0, len(s.counts))
	for _, c := range s.counts {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Agency != out[j].Agency {
			return out[i].Agency < out[j].Agency
		}
		return out[i].SkuID < out[j].SkuID
	})
	return out
}

// MergeUser applies a partial update (only the properties the directory sent
// in a change) to the user as last known. Merging two partial updates gives a
// partial update carrying the fields of both.
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
	for _, f := range upd.Fields {
		switch strings.ToLower(f) {
		case "userprincipalname":
			m.UserPrincipalName = upd.UserPrincipalName
		case "displayname":
			m.DisplayName = upd.DisplayName
		case "mail":
			m.Mail = upd.Mail
		case "department":
			m.Department = upd.Department
		case "companyname":
			m.CompanyName = upd.CompanyName
		case "officelocation":
			m.OfficeLocation = upd.OfficeLocation
		case "onpremisesextensionattributes":
			m.ExtensionAttributes = upd.ExtensionAttributes
		case "usagelocation":
			m.UsageLocation = upd.UsageLocation
		case "accountenabled":
			m.AccountEnabled = upd.AccountEnabled
		case "createddatetime":
			m.CreatedDateTime = upd.CreatedDateTime
		case "assignedlicenses", "licenseassignmentstates":
			m.Licenses = upd.Licenses
		}
	}
	return m
}
