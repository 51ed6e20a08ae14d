// Package memstore keeps the domain's records in memory: a working
// implementation of the domain's stores (agencies, runs, snapshots, files)
// with the
// same ETag, precondition and error semantics as the Table Storage adapter,
// for tests and local experiments. Package storetest checks that both
// behave alike.
package memstore

import (
	"context"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Store is an in-memory store. The zero value is not usable; call New.
type Store struct {
	mu        sync.Mutex
	version   uint64
	agencies  map[string]licensing.Agency
	runs      map[string]licensing.Run
	snapshots map[string]storedSnapshot
	latest    string
	files     map[string][]byte
	// fileInfo describes the files (see files.go); clock dates them.
	fileInfo map[string]licensing.FileInfo
	clock    func() time.Time

	requestState *requestState
	ledgerState  *ledger
	deliveries   map[[2]string]licensing.Delivery
	effects      map[string]licensing.Effect
	// claims maps the key of each attribution value claimed to the agency
	// holding it (see claims.go).
	claims map[string]string
	// provisioning holds the members, grants and notices of capped group
	// provisioning (see provisioning.go).
	provisioning *provisioningState
	// enrollments are the Enterprise Agreement enrollments by number (see
	// enrollments.go).
	enrollments map[string]licensing.Enrollment
	// snapJobs are the split directory reads and the latest sign-in pass
	// (see snapjobs.go).
	snapJobs *snapJobState
}

var (
	_ licensing.AgencyStore   = (*Store)(nil)
	_ licensing.RunStore      = (*Store)(nil)
	_ licensing.SnapshotStore = (*Store)(nil)
	_ licensing.FileStore     = (*Store)(nil)
)

// New returns an empty Store.
func New() *Store {
	return &Store{agencies: map[string]licensing.Agency{}, runs: map[string]licensing.Run{},
		snapshots: map[string]storedSnapshot{}, files: map[string][]byte{}}
}

// GetAgency returns the agency with id, or NotFound.
func (s *Store) GetAgency(ctx context.Context, id string) (licensing.Agency, error) {
	const op = "memstore.getAgency"
	if err := ctx.Err(); err != nil {
		return licensing.Agency{}, unavailable(op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.agencies[id]
	if !ok {
		return licensing.Agency{}, licensing.Errorf(op, licensing.NotFound, "Agency %s does not exist.", id)
	}
	return copyAgency(a), nil
}

// ListAgencies returns every agency ordered by id.
func (s *Store) ListAgencies(ctx context.Context) ([]licensing.Agency, error) {
	const op = "memstore.listAgencies"
	if err := ctx.Err(); err != nil {
		return nil, unavailable(op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []licensing.Agency
	for _, a := range s.agencies {
		out = append(out, copyAgency(a))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// PutAgency creates or replaces a under pre (see licensing.AgencyStore):
// IfNoneMatch on an existing agency, and an IfMatch that does not match the
// stored ETag or finds no agency, are Stale; an attribution value another
// agency holds is Conflict.
func (s *Store) PutAgency(ctx context.Context, a licensing.Agency, pre licensing.Precondition) (licensing.Agency, bool, error) {
	const op = "memstore.putAgency"
	if err := ctx.Err(); err != nil {
		return licensing.Agency{}, false, unavailable(op, err)
	}
	if a.ID == "" {
		return licensing.Agency{}, false, licensing.Errorf(op, licensing.Invalid, "The agency id must not be empty.")
	}
	if pre.IfNoneMatch && pre.IfMatch != "" {
		return licensing.Agency{}, false, licensing.Errorf(op, licensing.Invalid, "If-Match and If-None-Match cannot be used together.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, exists := s.agencies[a.ID]
	switch {
	case pre.IfNoneMatch && exists:
		return licensing.Agency{}, false, licensing.Errorf(op, licensing.Stale, "Agency %s exists already.", a.ID)
	case pre.IfMatch != "" && !exists:
		return licensing.Agency{}, false, licensing.Errorf(op, licensing.Stale, "Agency %s does not exist.", a.ID)
	}
	// As in Table Storage, the claims are checked before the ETag.
	if err := s.checkClaims(op, a); err != nil {
		return licensing.Agency{}, false, err
	}
	if pre.IfMatch != "" && pre.IfMatch != "*" && pre.IfMatch != cur.ETag {
		return licensing.Agency{}, false, licensing.Errorf(op, licensing.Stale, "Agency %s was changed by someone else in the meantime; read it again and retry.", a.ID)
	}
	s.takeClaims(a)
	s.version++
	a = copyAgency(a)
	a.ETag = `W/"` + strconv.FormatUint(s.version, 10) + `"`
	s.agencies[a.ID] = a
	return copyAgency(a), !exists, nil
}

// PutRun creates or replaces the record with r.ID.
func (s *Store) PutRun(ctx context.Context, r licensing.Run) error {
	const op = "memstore.putRun"
	if err := ctx.Err(); err != nil {
		return unavailable(op, err)
	}
	if r.ID == "" {
		return licensing.Errorf(op, licensing.Invalid, "The run id must not be empty.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs[r.ID] = copyRun(r)
	return nil
}

// ListRuns returns runs newest first (ties by id), filtered by f.
func (s *Store) ListRuns(ctx context.Context, f licensing.RunFilter) ([]licensing.Run, error) {
	const op = "memstore.listRuns"
	if err := ctx.Err(); err != nil {
		return nil, unavailable(op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []licensing.Run
	for _, r := range s.runs {
		if f.Function != "" && r.Function != f.Function {
			continue
		}
		if !f.Since.IsZero() && r.Started.Before(f.Since) {
			continue
		}
		out = append(out, copyRun(r))
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Started.Equal(out[j].Started) {
			return out[i].Started.After(out[j].Started)
		}
		return out[i].ID < out[j].ID
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

func unavailable(op string, err error) error {
	return licensing.Wrap(op, licensing.Unavailable, "The operation was cancelled or timed out; try again.", err)
}

func copyAgency(a licensing.Agency) licensing.Agency {
	a.Contacts = append([]string(nil), a.Contacts...)
	a.Delegates = append([]string(nil), a.Delegates...)
	a.Attribution.Values = append([]string(nil), a.Attribution.Values...)
	a.DelegatedGroups = append([]licensing.DelegatedGroup(nil), a.DelegatedGroups...)
	return a
}

func copyRun(r licensing.Run) licensing.Run {
	if r.Ended != nil {
		e := *r.Ended
		r.Ended = &e
	}
	if r.Counts != nil {
		c := make(map[string]int, len(r.Counts))
		for k, v := range r.Counts {
			c[k] = v
		}
		r.Counts = c
	}
	return r
}
