package usage

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// idSet holds the ids seen by a merge: a GUID as its 16 bytes (a map of
// [16]byte keys takes about 30 bytes a user, some 30 MB for a million
// users), any other id as a string.
type idSet struct {
	guids map[[16]byte]struct{}
	other map[string]struct{}
}

func newIDSet() *idSet {
	return &idSet{guids: map[[16]byte]struct{}{}, other: map[string]struct{}{}}
}

// guidKey returns the 16 bytes of a GUID written as 36 characters with
// dashes; false for anything else. Upper and lower case give the same key.
func guidKey(id string) ([16]byte, bool) {
	var k [16]byte
	if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
		return k, false
	}
	hexDigits := id[0:8] + id[9:13] + id[14:18] + id[19:23] + id[24:36]
	if _, err := hex.Decode(k[:], []byte(hexDigits)); err != nil {
		return k, false
	}
	return k, true
}

// add records id and reports whether it was new.
func (s *idSet) add(id string) bool {
	if k, ok := guidKey(id); ok {
		if _, dup := s.guids[k]; dup {
			return false
		}
		s.guids[k] = struct{}{}
		return true
	}
	if _, dup := s.other[id]; dup {
		return false
	}
	s.other[id] = struct{}{}
	return true
}

func (s *idSet) has(id string) bool {
	if k, ok := guidKey(id); ok {
		_, dup := s.guids[k]
		return dup
	}
	_, dup := s.other[id]
	return dup
}

// agencyFile is the name of an agency's users in snapshot id.
func agencyFile(id, agency string) string {
	return "snapshots/" + id + "/agencies/" + agency + ".jsonl.gz"
}

// mergeSnapshot reads the job's parts in order into the snapshot's users
// file and one file per agency, applying the changes its delta link brings
// and the latest sign-in pass, and publishes the snapshot. Run again, it
// publishes the same snapshot (same id, time and parts).
func (s *Service) mergeSnapshot(ctx context.Context, job licensing.SnapJob, segs []licensing.SnapSegment, log *slog.Logger) error {
	snap := licensing.Snapshot{ID: job.ID, Taken: job.Started, Full: true, UsersFile: "snapshots/" + job.ID + "/users.jsonl.gz", AgencyFiles: true}
	agencies, err := s.cfg.Agencies.ListAgencies(ctx)
	if err != nil {
		return err
	}
	snap.Agencies = len(agencies)
	at, err := s.attributor(ctx, agencies, &snap, log)
	if err != nil {
		return err
	}
	changes, res, err := s.changesSince(ctx, job.DeltaLink)
	switch {
	case licensing.ErrorCode(err) == licensing.Stale:
		snap.Notes = append(snap.Notes, "The delta link taken before the read had expired at the merge: changes made while the segments were read may be missing.")
		log.Warn("delta link expired at the merge", "error", err)
	case err != nil:
		return err
	}
	snap.DeltaLink, snap.Requests, snap.Changes = res.DeltaLink, res.Requests, len(changes)
	log.Info("changes during the read", "users", len(changes))
	pass, err := s.loadPass(ctx)
	if err != nil {
		return err
	}

	w, err := s.cfg.Files.Create(ctx, snap.UsersFile, "application/x-ndjson+gzip")
	if err != nil {
		return err
	}
	spool, err := newAgencySpool()
	if err != nil {
		w.Abort(err)
		return err
	}
	defer spool.remove()
	sink := newUserSink(w, at)
	sink.also = spool.put
	if pass != nil {
		sink.signInAsOf = pass.Taken
	}
	seen := newIDSet()
	add := func(d licensing.DirectoryUser) error {
		if pass != nil {
			d.LastSignIn = pass.lookup(d.ID)
		}
		if err := sink.add(d); err != nil {
			return err
		}
		if sink.users%100_000 == 0 {
			log.Info("merge progress", "users", sink.users)
		}
		return nil
	}
	err = s.mergeParts(ctx, segs, seen, changes, add, &snap)
	if err == nil {
		err = s.addLeftovers(ctx, seen, changes, add, log)
	}
	if err == nil {
		err = sink.close()
	}
	if err != nil {
		w.Abort(err)
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := spool.upload(ctx, s.cfg.Files, job.ID); err != nil {
		return err
	}
	if pass != nil {
		snap.SignInAsOf, snap.SignInPass, snap.SignInAvailable = pass.Taken, pass.ID, pass.Available
		if !pass.Available {
			snap.Notes = append(snap.Notes, pass.Note)
		}
	}
	snap.Users, snap.LicensedUsers = sink.users, sink.licensed
	snap.Unattributed, snap.Conflicts = sink.unattributed, sink.conflicts
	snap.AgencyUsers = sink.agencies
	snap.SegmentEnds = sink.names.ends()
	snap.Duration = s.now().Sub(job.Started).Round(time.Millisecond).String()
	if err := s.cfg.Snapshots.PublishSnapshot(ctx, snap, sink.usage()); err != nil {
		return err
	}
	log.Info("snapshot published", "id", snap.ID, "users", snap.Users, "licensed", snap.LicensedUsers,
		"unattributed", snap.Unattributed, "conflicts", snap.Conflicts, "changes", snap.Changes, "signInPass", snap.SignInPass)
	return nil
}

// changesSince follows link (Strict) and returns the changes by id.
func (s *Service) changesSince(ctx context.Context, link string) (map[string]licensing.DirectoryUser, licensing.UserReadResult, error) {
	changes := map[string]licensing.DirectoryUser{}
	if link == "" {
		return changes, licensing.UserReadResult{}, nil
	}
	res, err := s.cfg.Directory.ReadUsers(ctx, licensing.UserQuery{DeltaLink: link, Strict: true}, func(u licensing.DirectoryUser) error {
		if old, ok := changes[u.ID]; ok && u.Partial {
			u = licensing.MergeUser(old, u)
		}
		changes[u.ID] = u
		return nil
	})
	if err != nil {
		return map[string]licensing.DirectoryUser{}, res, err
	}
	return changes, res, nil
}

// mergeParts passes the users of every checkpointed part, in segment and
// chunk order, to add: the first copy of an id only, with its change
// applied (a removed user is dropped).
func (s *Service) mergeParts(ctx context.Context, segs []licensing.SnapSegment, seen *idSet, changes map[string]licensing.DirectoryUser, add func(licensing.DirectoryUser) error, snap *licensing.Snapshot) error {
	for _, g := range segs {
		snap.Requests += g.Pages
		for _, part := range g.Parts {
			err := readLines(ctx, s.cfg.Files, part, func(u licensing.SnapshotUser) error {
				if !seen.add(u.ID) {
					return nil
				}
				d := u.AsDirectoryUser()
				if c, ok := changes[u.ID]; ok {
					if c.Removed {
						return nil
					}
					d = licensing.MergeUser(d, c)
				}
				return add(d)
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// addLeftovers adds the changed users no part held (created, or renamed
// past the segments, during the read), in id order. A change that carries
// only some properties is completed by reading the user by its new name.
func (s *Service) addLeftovers(ctx context.Context, seen *idSet, changes map[string]licensing.DirectoryUser, add func(licensing.DirectoryUser) error, log *slog.Logger) error {
	ids := make([]string, 0)
	for id, c := range changes {
		if !c.Removed && !seen.has(id) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		c := changes[id]
		if c.Partial {
			full, ok, err := s.readByName(ctx, c)
			if err != nil {
				return err
			}
			if !ok {
				log.Warn("a user changed during the read could not be read whole; left out", "user", id)
				continue
			}
			c = full
		}
		if err := add(c); err != nil {
			return err
		}
	}
	return nil
}

// readByName reads the user c names by its user principal name.
func (s *Service) readByName(ctx context.Context, c licensing.DirectoryUser) (licensing.DirectoryUser, bool, error) {
	if c.UserPrincipalName == "" {
		return licensing.DirectoryUser{}, false, nil
	}
	var found licensing.DirectoryUser
	ok := false
	name := strings.ToLower(c.UserPrincipalName)
	_, err := s.cfg.Directory.ReadUsers(ctx, licensing.UserQuery{Segment: licensing.UserSegment{From: name, To: name}, NoDeltaLink: true}, func(u licensing.DirectoryUser) error {
		if u.ID == c.ID && !u.Removed {
			found, ok = u, true
		}
		return nil
	})
	return found, ok, err
}

// agencySpool keeps each agency's users in a local temporary file while a
// merge runs (one buffered file per agency, so memory does not grow with
// the users), then uploads each compressed.
type agencySpool struct {
	dir   string
	files map[string]*spoolFile
}

type spoolFile struct {
	f  *os.File
	bw *bufio.Writer
}

func newAgencySpool() (*agencySpool, error) {
	dir, err := os.MkdirTemp("", "snapshot-agencies-")
	if err != nil {
		return nil, licensing.Wrap("snapshot.spool", licensing.Unavailable, "", err)
	}
	return &agencySpool{dir: dir, files: map[string]*spoolFile{}}, nil
}

func (sp *agencySpool) put(u licensing.SnapshotUser) error {
	f := sp.files[u.Agency]
	if f == nil {
		osf, err := os.Create(filepath.Join(sp.dir, hex.EncodeToString([]byte(u.Agency))))
		if err != nil {
			return licensing.Wrap("snapshot.spool", licensing.Unavailable, "", err)
		}
		f = &spoolFile{f: osf, bw: bufio.NewWriterSize(osf, 16<<10)}
		sp.files[u.Agency] = f
	}
	b, err := json.Marshal(u)
	if err == nil {
		b = append(b, '\n')
		_, err = f.bw.Write(b)
	}
	if err != nil {
		return licensing.Wrap("snapshot.spool", licensing.Unavailable, "", err)
	}
	return nil
}

// upload writes each agency's file of snapshot id.
func (sp *agencySpool) upload(ctx context.Context, files licensing.FileStore, id string) error {
	names := make([]string, 0, len(sp.files))
	for a := range sp.files {
		names = append(names, a)
	}
	sort.Strings(names)
	for _, a := range names {
		f := sp.files[a]
		if err := f.bw.Flush(); err != nil {
			return licensing.Wrap("snapshot.spool", licensing.Unavailable, "", err)
		}
		if _, err := f.f.Seek(0, io.SeekStart); err != nil {
			return licensing.Wrap("snapshot.spool", licensing.Unavailable, "", err)
		}
		w, err := files.Create(ctx, agencyFile(id, a), "application/x-ndjson+gzip")
		if err != nil {
			return err
		}
		lw := newLineWriter(w)
		_, err = io.Copy(lw.zw, f.f)
		if err == nil {
			err = lw.close()
		}
		if err != nil {
			w.Abort(err)
			return licensing.Wrap("snapshot.agencyFile", licensing.Unavailable, "", err)
		}
		if err := w.Close(); err != nil {
			return err
		}
	}
	return nil
}

func (sp *agencySpool) remove() {
	for _, f := range sp.files {
		f.f.Close()
	}
	os.RemoveAll(sp.dir)
}

// ReadAgencyUsers passes every user of snap attributed to agency (or to
// licensing.Unattributed or licensing.Conflicted) to fn: from the agency's
// own file when snap has them, else from the whole users file.
func (s *Service) ReadAgencyUsers(ctx context.Context, snap licensing.Snapshot, agency string, fn func(licensing.SnapshotUser) error) error {
	if !snap.AgencyFiles {
		return s.ReadSnapshotUsers(ctx, snap, func(u licensing.SnapshotUser) error {
			if u.Agency != agency {
				return nil
			}
			return fn(u)
		})
	}
	err := readLines(ctx, s.cfg.Files, agencyFile(snap.ID, agency), fn)
	if licensing.ErrorCode(err) == licensing.NotFound {
		// No user of the snapshot is the agency's.
		return nil
	}
	return err
}
