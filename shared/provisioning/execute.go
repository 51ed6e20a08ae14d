package provisioning

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

const (
	// batchSize is how many changes go in one write request ($batch).
	batchSize = 20
	// workers is how many changes are recorded at once.
	workers = 16

	outcomeDone = "done"
)

// change is one license change of a run.
type change struct {
	w *work
	// i is the index of the change's action in w.plan.actions.
	i int
	// removal is set for a removal, clear for an assignment.
	removal bool
	grant   licensing.LicenseGrant
	claim   *licensing.Claim
	run     string
}

func (c *change) action() *Action { return &c.w.plan.actions[c.i] }

func (c *change) key() string {
	kind := "assign"
	if c.removal {
		kind = "unassign"
	}
	return fmt.Sprintf("%s:%s:%s:%d", kind, c.grant.UserID, c.grant.SkuID, c.grant.Gen)
}

// execute makes the planned changes of every group: removals first, then
// assignments, 20 to a write request across groups, so a run that changes
// N licenses sends ceil(N/20) requests (plus one per 20 users whose usage
// location is set first). Each change is recorded before it is made: its
// grant (what the app owns) and its effect (assign:{user}:{sku}:{gen}),
// which a rerun after a crash finds and checks against the user's licenses
// instead of acting again.
func (s *Service) execute(ctx context.Context, works []*work, res *Result, log *slog.Logger) error {
	var removes, assigns []*change
	for _, w := range works {
		for i, a := range w.plan.actions {
			switch a.Kind {
			case Remove:
				removes = append(removes, &change{w: w, i: i, removal: true, run: res.RunID})
			case Assign:
				assigns = append(assigns, &change{w: w, i: i, run: res.RunID})
			}
		}
	}
	if err := s.confirm(ctx, works); err != nil {
		return err
	}
	assigns = s.setLocations(ctx, assigns, res, log)
	todo := append(removes, assigns...)
	ready := make([]bool, len(todo))
	if err := parallel(len(todo), func(i int) error {
		var err error
		ready[i], err = s.begin(ctx, todo[i])
		return err
	}); err != nil {
		return err
	}
	var batch []*change
	for i, c := range todo {
		if ready[i] {
			batch = append(batch, c)
		}
		if len(batch) == batchSize || (i == len(todo)-1 && len(batch) > 0) {
			if err := s.send(ctx, batch, res, log); err != nil {
				return err
			}
			batch = nil
		}
	}
	return nil
}

// confirm settles the assignments a run that died left unconfirmed and
// that this run found made (the member holds the license under a grant
// still "assigning"): the effect is checked and marked done, the grant
// assigned.
func (s *Service) confirm(ctx context.Context, works []*work) error {
	var todo []*change
	for _, w := range works {
		planned := map[string]bool{}
		for _, a := range w.plan.actions {
			planned[a.UserID] = true
		}
		for _, m := range w.plan.seats {
			if g, ok := w.in.grants[m.UserID]; ok && !planned[m.UserID] && m.State == licensing.SeatAssigned && g.Owned(w.agency.ID) && g.State == licensing.GrantAssigning {
				todo = append(todo, &change{w: w, grant: g})
			}
		}
	}
	return parallel(len(todo), func(i int) error {
		c := todo[i]
		claim, _, err := s.cfg.Effects.Begin(ctx, c.key(), s.check(c))
		if err != nil {
			return nil // another worker holds it: the next run confirms it
		}
		if claim != nil {
			if _, err := claim.Finish(ctx, nil); err != nil {
				return err
			}
		}
		c.grant.State = licensing.GrantAssigned
		_, err = s.cfg.Seats.PutGrant(ctx, c.grant, licensing.Precondition{IfMatch: c.grant.ETag})
		if licensing.ErrorCode(err) == licensing.Stale {
			return nil
		}
		return err
	})
}

// send makes one batch of claimed changes and settles each.
func (s *Service) send(ctx context.Context, batch []*change, res *Result, log *slog.Logger) error {
	req := make([]licensing.LicenseChange, len(batch))
	for i, c := range batch {
		req[i] = licensing.LicenseChange{UserID: c.grant.UserID, SkuID: c.grant.SkuID, Remove: c.removal}
	}
	res.Batches++
	results, err := s.cfg.Licenses.ChangeLicenses(ctx, req)
	if err != nil {
		log.Warn("provisioning: license batch not sent", "changes", len(batch), "error", err)
		results = make([]licensing.LicenseResult, len(batch))
		for i := range results {
			results[i].Err = err
		}
	}
	return parallel(len(batch), func(i int) error { return s.finish(ctx, batch[i], results[i]) })
}

// setLocations gives the default usage location to the members about to be
// licensed that have none, and drops from assigns those it could not set.
func (s *Service) setLocations(ctx context.Context, assigns []*change, res *Result, log *slog.Logger) []*change {
	var need []*change
	var ids []string
	for _, c := range assigns {
		if c.action().SetLocation {
			need = append(need, c)
			ids = append(ids, c.action().UserID)
		}
	}
	if len(ids) == 0 {
		return assigns
	}
	res.Batches += (len(ids) + batchSize - 1) / batchSize
	results, err := s.cfg.Licenses.SetUsageLocations(ctx, ids, s.cfg.DefaultUsageLocation)
	failed := map[*change]bool{}
	for i, c := range need {
		e := err
		if e == nil {
			e = results[i].Err
		}
		if e != nil {
			failed[c] = true
			c.action().Outcome = "failed: usage location not set: " + licensing.ErrorMessage(e)
			m := c.w.seat(c.action().UserID)
			m.State, m.Since, m.Error = licensing.SeatFailed, c.w.in.now, licensing.ReasonUsageLocation
			log.Warn("provisioning: usage location not set", "user", c.action().UserPrincipalName, "error", e)
		}
	}
	kept := assigns[:0]
	for _, c := range assigns {
		if !failed[c] {
			kept = append(kept, c)
		}
	}
	return kept
}

// begin records a change before it is made: the grant (a new attempt, or
// the one a dead run left) and the effect's claim. It reports whether the
// change is to be sent; when not, the action's outcome says why.
func (s *Service) begin(ctx context.Context, c *change) (bool, error) {
	a := c.action()
	w := c.w
	g, ok := w.in.grants[a.UserID]
	var pre licensing.Precondition
	switch {
	case c.removal:
		g.State, g.Run = licensing.GrantRemoving, c.run
		pre.IfMatch = g.ETag
	case !ok:
		g = licensing.LicenseGrant{UserID: a.UserID, SkuID: w.in.sku.SkuID, Gen: 1}
		pre.IfNoneMatch = true
	case g.Owned(w.agency.ID) && g.State == licensing.GrantAssigning:
		// A run that died left this attempt: its effect says whether it
		// was made.
	case g.Agency != w.agency.ID && g.Owned(g.Agency):
		return false, s.skip(c, "another agency's group ("+g.Agency+") is licensing this member")
	default:
		g.Gen++
		pre.IfMatch = g.ETag
	}
	if !c.removal && (pre.IfMatch != "" || pre.IfNoneMatch) {
		g.UserPrincipalName, g.Agency, g.GroupID = a.UserPrincipalName, w.agency.ID, w.in.groupID
		g.State, g.Since, g.Run, g.Detail = licensing.GrantAssigning, w.in.now, c.run, ""
	}
	for attempt := 0; ; attempt++ {
		if pre.IfMatch != "" || pre.IfNoneMatch {
			var err error
			if g, err = s.cfg.Seats.PutGrant(ctx, g, pre); licensing.ErrorCode(err) == licensing.Stale {
				return false, s.skip(c, "its record changed while this run worked; the next run retries")
			} else if err != nil {
				return false, err
			}
		}
		c.grant = g
		claim, outcome, err := s.cfg.Effects.Begin(ctx, c.key(), s.check(c))
		switch {
		case claim != nil:
			c.claim = claim
			return true, nil
		case err != nil && licensing.ErrorCode(err) == licensing.Unavailable:
			return false, s.skip(c, "another run is making this change")
		case err != nil:
			return false, err
		case c.removal:
			// Removed before (or perhaps): what the user holds now is not
			// the app's to take.
			a.Outcome = "already " + string(outcome)
			g.State, g.Detail = licensing.GrantEnded, "removal "+string(outcome)
			_, err := s.cfg.Seats.PutGrant(ctx, g, licensing.Precondition{IfMatch: g.ETag})
			return false, err
		case attempt > 0:
			return false, s.skip(c, "its attempt is recorded as "+string(outcome))
		}
		// This attempt was made (or perhaps) and the user does not hold
		// the license now: someone took it away since. A new attempt.
		g.Gen++
		g.State, g.Since, g.Run = licensing.GrantAssigning, w.in.now, c.run
		pre = licensing.Precondition{IfMatch: g.ETag}
	}
}

// skip records that a change is not made this run; the member waits.
func (s *Service) skip(c *change, why string) error {
	c.action().Outcome = "not done: " + why
	if !c.removal {
		m := c.w.seat(c.action().UserID)
		m.State = licensing.SeatWaiting
		if m.Since.IsZero() {
			m.Since = c.w.in.now
		}
	}
	return nil
}

// check tells whether a change a dead run claimed was made, from the user's
// licenses now.
func (s *Service) check(c *change) licensing.Check {
	return func(ctx context.Context) (bool, error) {
		lic, err := s.cfg.Licenses.UserLicenses(ctx, c.grant.UserID)
		if licensing.ErrorCode(err) == licensing.NotFound {
			return c.removal, nil
		}
		if err != nil {
			return false, err
		}
		return licensing.Holds(lic, c.grant.SkuID) != c.removal, nil
	}
}

// finish settles one sent change: its effect, its grant and its line.
func (s *Service) finish(ctx context.Context, c *change, r licensing.LicenseResult) error {
	a := c.action()
	err := r.Err
	switch licensing.ErrorCode(err) {
	case licensing.NotFound:
		if c.removal {
			err = nil // the user is gone, and the license with them
		}
	case licensing.Ambiguous:
		happened, cerr := s.check(c)(ctx)
		switch {
		case cerr != nil:
			// Still unknown: recorded unconfirmed; the next run reads the
			// user and decides.
		case happened:
			err = nil
		default:
			err = licensing.Wrap("provisioning.change", licensing.Unavailable, "The change was found not made.", err)
		}
	}
	outcome, ferr := c.claim.Finish(ctx, err)
	g := c.grant
	switch {
	case outcome == licensing.Performed:
		a.Outcome = outcomeDone
		c.w.wrote.Store(true)
		if c.removal {
			g.State = licensing.GrantEnded
		} else {
			g.State = licensing.GrantAssigned
		}
	case outcome == licensing.Unconfirmed:
		a.Outcome = "unconfirmed: " + licensing.ErrorMessage(err)
		c.w.wrote.Store(true)
		return nil
	case licensing.ErrorCode(err) == licensing.Invalid || licensing.ErrorCode(err) == licensing.NotFound:
		reason := r.Reason
		if reason == "" {
			reason = licensing.ErrorMessage(err)
		}
		a.Outcome = "failed: " + reason
		g.Detail = reason
		if !c.removal {
			g.State = licensing.GrantEnded
			m := c.w.seat(a.UserID)
			m.State, m.Since, m.Error = licensing.SeatFailed, c.w.in.now, reason
		}
	default:
		if ferr == nil {
			ferr = err
		}
		return s.skip(c, licensing.ErrorMessage(ferr))
	}
	_, err = s.cfg.Seats.PutGrant(ctx, g, licensing.Precondition{IfMatch: g.ETag})
	return err
}

// parallel runs fn for 0..n-1 on a few goroutines and returns the first
// error.
func parallel(n int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  int
	)
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil
				mu.Unlock()
				if i >= n || stop {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return first
}
