package usage

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
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

func snapshotUser(d licensing.DirectoryUser, a licensing.Attribution) licensing.SnapshotUser {
	u := licensing.SnapshotUser{
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
func (s *Service) TakeSnapshot(ctx context.Context, opts SnapshotOptions, log *slog.Logger) (licensing.Snapshot, error) {
	const op = "snapshot.take"
	if s.cfg.Directory == nil || s.cfg.Snapshots == nil || s.cfg.Files == nil {
		return licensing.Snapshot{}, licensing.Errorf(op, licensing.Internal, "The directory or the snapshot store is not configured.")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	start := s.now()
	snap := licensing.Snapshot{ID: snapshotID(start, s.newID()), Taken: start.UTC()}
	snap.UsersFile = "snapshots/" + snap.ID + "/users.jsonl.gz"

	agencies, err := s.cfg.Agencies.ListAgencies(ctx)
	if err != nil {
		return licensing.Snapshot{}, err
	}
	snap.Agencies = len(agencies)
	at, err := s.attributor(ctx, agencies, &snap, log)
	if err != nil {
		return licensing.Snapshot{}, err
	}

	var prev *licensing.Snapshot
	if p, err := s.cfg.Snapshots.LatestSnapshot(ctx); err == nil {
		prev = &p
	} else if licensing.ErrorCode(err) != licensing.NotFound {
		return licensing.Snapshot{}, err
	}

	w, err := s.cfg.Files.Create(ctx, snap.UsersFile, "application/x-ndjson+gzip")
	if err != nil {
		return licensing.Snapshot{}, err
	}
	sink := newUserSink(w, at)
	incremental := prev != nil && prev.DeltaLink != "" && !opts.Full && !opts.SignIn
	var res licensing.UserReadResult
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
		res, err = s.cfg.Directory.ReadUsers(ctx, licensing.UserQuery{SignIn: opts.SignIn}, func(u licensing.DirectoryUser) error {
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
		return licensing.Snapshot{}, err
	}
	if err := w.Close(); err != nil {
		return licensing.Snapshot{}, err
	}

	snap.Full = !incremental
	snap.DeltaLink = res.DeltaLink
	snap.Requests += res.Requests
	snap.SignInAvailable = res.SignInAvailable
	if opts.SignIn && !res.SignInAvailable {
		snap.Notes = append(snap.Notes, signInUnavailableNote(res.SignInNote))
	}
	if res.Note != "" {
		snap.Notes = append(snap.Notes, res.Note)
	}
	snap.Users, snap.LicensedUsers = sink.users, sink.licensed
	snap.Unattributed, snap.Conflicts = sink.unattributed, sink.conflicts
	snap.AgencyUsers = sink.agencies
	snap.SegmentEnds = sink.names.ends()
	if incremental {
		snap.Changes = res.Users
	}
	snap.Duration = s.now().Sub(start).Round(time.Millisecond).String()
	usage := sink.usage()
	if err := s.cfg.Snapshots.PublishSnapshot(ctx, snap, usage); err != nil {
		return licensing.Snapshot{}, err
	}
	log.Info("snapshot published", "id", snap.ID, "full", snap.Full, "users", snap.Users, "licensed", snap.LicensedUsers,
		"unattributed", snap.Unattributed, "conflicts", snap.Conflicts, "requests", snap.Requests)
	return snap, nil
}

// attributor returns the agencies' attributor with the members of the
// groups their rules name, and sets snap's tenant SKUs; a missing group is
// noted on snap.
func (s *Service) attributor(ctx context.Context, agencies []licensing.Agency, snap *licensing.Snapshot, log *slog.Logger) (*licensing.Attributor, error) {
	at := licensing.NewAttributor(agencies)
	for _, g := range at.Groups() {
		var ids []string
		err := s.cfg.Directory.GroupUserMembers(ctx, g, func(m licensing.GroupMember) error {
			ids = append(ids, m.ID)
			return nil
		})
		if licensing.ErrorCode(err) == licensing.NotFound {
			snap.Notes = append(snap.Notes, fmt.Sprintf("Group %s named by an attribution rule does not exist; nobody is attributed through it.", g))
		} else if err != nil {
			return nil, err
		}
		at.SetMembers(g, ids)
		log.Info("group members read", "group", g, "users", len(ids))
	}
	tenant, err := s.cfg.Directory.SubscribedSkus(ctx)
	if err != nil {
		return nil, err
	}
	sort.Slice(tenant, func(i, j int) bool { return tenant[i].SkuID < tenant[j].SkuID })
	snap.Tenant = tenant
	return at, nil
}

// readChanges reads the changes since prev (only those are held in memory),
// then streams prev's users through the sink, replacing changed ones and
// dropping removed ones, and adds the new ones. expired reports that prev's
// delta link is no longer accepted; nothing was written to the sink then.
func (s *Service) readChanges(ctx context.Context, prev licensing.Snapshot, sink *userSink, log *slog.Logger) (res licensing.UserReadResult, expired bool, err error) {
	changes := map[string]licensing.DirectoryUser{}
	res, err = s.cfg.Directory.ReadUsers(ctx, licensing.UserQuery{DeltaLink: prev.DeltaLink, Strict: true}, func(u licensing.DirectoryUser) error {
		if old, ok := changes[u.ID]; ok && u.Partial {
			u = licensing.MergeUser(old, u)
		}
		changes[u.ID] = u
		return nil
	})
	if err != nil {
		return res, licensing.ErrorCode(err) == licensing.Stale, err
	}
	log.Info("changes read", "users", len(changes), "requests", res.Requests)
	err = s.ReadSnapshotUsers(ctx, prev, func(old licensing.SnapshotUser) error {
		u, changed := changes[old.ID]
		if !changed {
			return sink.add(old.AsDirectoryUser())
		}
		delete(changes, old.ID)
		if u.Removed {
			return nil
		}
		if u.Partial {
			u = licensing.MergeUser(old.AsDirectoryUser(), u)
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
func (s *Service) ReadSnapshotUsers(ctx context.Context, snap licensing.Snapshot, fn func(licensing.SnapshotUser) error) error {
	const op = "snapshot.readUsers"
	rc, err := s.cfg.Files.Open(ctx, snap.UsersFile)
	if err != nil {
		return err
	}
	defer rc.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(rc, 256<<10))
	if err != nil {
		return licensing.Wrap(op, licensing.Internal, "The snapshot's user file is damaged.", err)
	}
	dec := json.NewDecoder(zr)
	for {
		var u licensing.SnapshotUser
		err := dec.Decode(&u)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if licensing.ErrorCode(err) == licensing.Unavailable {
				return err
			}
			return licensing.Wrap(op, licensing.Internal, "The snapshot's user file is damaged.", err)
		}
		if err := fn(u); err != nil {
			return err
		}
	}
}

// LatestSnapshot returns the newest published snapshot.
func (s *Service) LatestSnapshot(ctx context.Context) (licensing.Snapshot, error) {
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
	at       *licensing.Attributor
	zw       *gzip.Writer
	bw       *bufio.Writer
	enc      *json.Encoder
	counts   map[[2]string]*licensing.Usage
	users    int
	licensed int
	// agencies counts licensed users per agency.
	agencies map[string]int

	unattributed, conflicts int
	// signInAsOf, when set, is when the sign-in pass the users' sign-ins
	// come from started: a user created after it without a sign-in is
	// marked SignInUnknown and not counted as never signed in.
	signInAsOf time.Time
	// also, when set, gets every user as written.
	also func(licensing.SnapshotUser) error
	// names samples the users' names for the snapshot's SegmentEnds.
	names *nameSample
}

func newUserSink(w io.Writer, at *licensing.Attributor) *userSink {
	s := &userSink{at: at, counts: map[[2]string]*licensing.Usage{}, agencies: map[string]int{}, names: newNameSample()}
	s.bw = bufio.NewWriterSize(w, 256<<10)
	s.zw, _ = gzip.NewWriterLevel(s.bw, gzip.BestSpeed)
	s.enc = json.NewEncoder(s.zw)
	return s
}

func (s *userSink) add(d licensing.DirectoryUser) error {
	a := s.at.Attribute(d)
	u := snapshotUser(d, a)
	u.SignInUnknown = u.LastSignIn == nil && !s.signInAsOf.IsZero() && u.Created.After(s.signInAsOf)
	s.users++
	s.names.add(u.UserPrincipalName)
	if u.Licensed() {
		s.licensed++
		s.agencies[a.Agency]++
		switch a.Agency {
		case licensing.Unattributed:
			s.unattributed++
		case licensing.Conflicted:
			s.conflicts++
		}
	}
	for _, l := range u.Licenses {
		k := [2]string{a.Agency, l.SkuID}
		c := s.counts[k]
		if c == nil {
			c = &licensing.Usage{Agency: a.Agency, SkuID: l.SkuID}
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
		if u.LastSignIn == nil && !u.SignInUnknown {
			c.NeverSignedIn++
		}
	}
	if err := s.enc.Encode(u); err != nil {
		return licensing.Wrap("snapshot.write", licensing.Unavailable, "", err)
	}
	if s.also != nil {
		return s.also(u)
	}
	return nil
}

func (s *userSink) close() error {
	if err := s.zw.Close(); err != nil {
		return licensing.Wrap("snapshot.write", licensing.Unavailable, "", err)
	}
	if err := s.bw.Flush(); err != nil {
		return licensing.Wrap("snapshot.write", licensing.Unavailable, "", err)
	}
	return nil
}

// usage returns the counts sorted by agency and SKU.
func (s *userSink) usage() []licensing.Usage {
	out := make([]licensing.Usage, 0, len(s.counts))
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
