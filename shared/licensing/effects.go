package licensing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Effect states.
const (
	// EffectClaimed: a performer claimed the effect and is acting, until the
	// claim's Until; a claim found expired means the performer died mid-way.
	EffectClaimed = "claimed"
	// EffectDone: the effect happened.
	EffectDone = "done"
	// EffectUnconfirmed: the effect may or may not have happened (the answer
	// was lost, or the performer died after acting). It is reported and
	// never performed again.
	EffectUnconfirmed = "unconfirmed"
	// EffectReleased: the performer failed before acting, or a lease ended;
	// the next performer may claim it again.
	EffectReleased = "released"
)

// Effect is the record of one intended action on the outside world (a mail,
// a queue message, a license assignment, a scheduled run), under a stable key
// that says what and for whom: mail:DOA-1a2b.route,
// step:DOA-1a2b:3:route, run:PayrollReport:2026-11-23.
type Effect struct {
	Key     string
	State   string
	Claimed time.Time
	// Until is when a claim lapses.
	Until time.Time
	// Done is when the effect was confirmed (or found unconfirmed).
	Done   time.Time
	Detail string
	// ETag is the store's version, for conditional updates.
	ETag string
}

// EffectStore keeps effect records.
type EffectStore interface {
	// ClaimEffect writes e if no record of its key exists. When one does, it
	// returns that record and a Conflict error.
	ClaimEffect(ctx context.Context, e Effect) (Effect, error)
	// UpdateEffect replaces the record of e.Key if its version is still
	// e.ETag, else Stale; NotFound when there is none.
	UpdateEffect(ctx context.Context, e Effect) (Effect, error)
	// GetEffect returns the record of key, or NotFound.
	GetEffect(ctx context.Context, key string) (Effect, error)
	// ListEffects returns the records in state whose key starts with prefix.
	ListEffects(ctx context.Context, prefix, state string) ([]Effect, error)
}

// EffectOutcome says what Once did.
type EffectOutcome string

// The outcomes of Once.
const (
	// Performed: the effect happened now.
	Performed EffectOutcome = "performed"
	// AlreadyDone: it had happened before; nothing was done.
	AlreadyDone EffectOutcome = "already done"
	// Unconfirmed: it may have happened; it is recorded as unconfirmed and
	// will not be tried again.
	Unconfirmed EffectOutcome = "unconfirmed"
)

// ErrInProgress is the cause of the Unavailable error Once returns when
// another worker holds a live claim on the effect: it is being done.
var ErrInProgress = errors.New("another worker is doing it")

// DefaultEffectLease is how long a claim stands before its performer is
// presumed dead.
const DefaultEffectLease = 2 * time.Minute

// Effects performs actions on the outside world once per key, under retries,
// concurrent duplicates and crashes: the key is claimed by an insert-only
// write before the action, confirmed after it, and released when the action
// failed before acting so that a retry can claim it again.
type Effects struct {
	store EffectStore
	now   func() time.Time
	lease time.Duration
}

// NewEffects returns Effects recording in store. lease is how long a claim
// stands (DefaultEffectLease when 0); now defaults to the clock.
func NewEffects(store EffectStore, now func() time.Time, lease time.Duration) *Effects {
	if now == nil {
		now = time.Now
	}
	if lease <= 0 {
		lease = DefaultEffectLease
	}
	return &Effects{store: store, now: now, lease: lease}
}

// Check tells, for an effect whose performer died after claiming it, whether
// it happened. Safe reports true for effects that may simply be performed
// again (a queue message whose consumer ignores duplicates).
type Check func(ctx context.Context) (happened bool, err error)

// Safe is the Check of effects that may be repeated harmlessly: a claim left
// by a dead performer is taken over and the effect performed.
func Safe(context.Context) (bool, error) { return false, nil }

// Once performs do for key unless it happened before or may have:
//   - performed now: Performed;
//   - done before: AlreadyDone, nothing done;
//   - another performer holds a live claim: an Unavailable error (try later);
//   - the outcome is unknown (do returned an Ambiguous error, or a claim
//     lapsed and check is nil): the record says unconfirmed, the outcome is
//     Unconfirmed and no error; the effect is never tried again;
//   - do failed before acting (any other error): the claim is released and
//     the error returned, so a retry performs it.
//
// check, when not nil, resolves a lapsed claim: happened marks it done, not
// happened takes the claim over and performs do.
func (e *Effects) Once(ctx context.Context, key string, check Check, do func(ctx context.Context) error) (EffectOutcome, error) {
	c, outcome, err := e.Begin(ctx, key, check)
	if c == nil {
		return outcome, err
	}
	return c.Finish(ctx, do(ctx))
}

// Claim is an effect claimed by Begin, to be performed and then settled with
// Finish.
type Claim struct {
	e   *Effects
	rec Effect
}

// Key is the claimed effect's key.
func (c *Claim) Key() string { return c.rec.Key }

// Begin claims key for a caller that performs the effect itself (several at
// once, in one request): it returns the claim when the caller is to perform
// it, else nil with the outcome and error Once would return without calling
// do. The caller performs the effect and then calls Finish with its error.
func (e *Effects) Begin(ctx context.Context, key string, check Check) (*Claim, EffectOutcome, error) {
	now := e.now().UTC()
	rec, err := e.store.ClaimEffect(ctx, Effect{Key: key, State: EffectClaimed, Claimed: now, Until: now.Add(e.lease)})
	if ErrorCode(err) == Conflict {
		rec, err = e.takeOver(ctx, rec, check)
		if err != nil || rec.State != EffectClaimed {
			return nil, outcomeOf(rec), err
		}
	} else if err != nil {
		return nil, "", err
	}
	return &Claim{e: e, rec: rec}, "", nil
}

// Finish settles a claimed effect with the error of performing it, as Once
// does: nil confirms it (Performed), an Ambiguous error records it
// unconfirmed (Unconfirmed, no error), any other error releases it for a
// retry and is returned.
func (c *Claim) Finish(ctx context.Context, cause error) (EffectOutcome, error) {
	const op = "effects.once"
	e, rec := c.e, c.rec
	if cause != nil {
		return e.failed(ctx, rec, cause)
	}
	rec.State, rec.Done, rec.Detail = EffectDone, e.now().UTC(), ""
	if _, err := e.store.UpdateEffect(ctx, rec); err != nil {
		// The effect happened; the record stays claimed and lapses into
		// unconfirmed (or a check) rather than a second performance.
		return Performed, Wrap(op, Unavailable, "The action was done but could not be recorded; it will not be repeated.", err)
	}
	return Performed, nil
}

// takeOver decides what to do with an existing record: returns it claimed by
// this caller (perform), or in its final state (do nothing).
func (e *Effects) takeOver(ctx context.Context, rec Effect, check Check) (Effect, error) {
	const op = "effects.once"
	now := e.now().UTC()
	switch rec.State {
	case EffectDone, EffectUnconfirmed:
		return rec, nil
	case EffectClaimed:
		if now.Before(rec.Until) {
			return rec, &Error{Op: op, Code: Unavailable, Message: fmt.Sprintf("%s is being done by another worker; try again after %s.", rec.Key, rec.Until.Format(time.RFC3339)),
				RetryAfter: rec.Until.Sub(now), Err: ErrInProgress}
		}
		if check == nil {
			rec.State, rec.Done, rec.Detail = EffectUnconfirmed, now, "its performer stopped between claiming and confirming it (claimed "+rec.Claimed.Format(time.RFC3339)+")"
			return e.store.UpdateEffect(ctx, rec)
		}
		happened, err := check(ctx)
		if err != nil {
			return rec, err
		}
		if happened {
			rec.State, rec.Done, rec.Detail = EffectDone, now, "found done after its performer stopped"
			return e.store.UpdateEffect(ctx, rec)
		}
	}
	// Released, or lapsed and found not done: claim it again.
	rec.State, rec.Claimed, rec.Until, rec.Done, rec.Detail = EffectClaimed, now, now.Add(e.lease), time.Time{}, ""
	rec, err := e.store.UpdateEffect(ctx, rec)
	if ErrorCode(err) == Stale {
		return rec, Wrap(op, Unavailable, "Another worker took this action over; try again shortly.", err)
	}
	return rec, err
}

// failed records the failure of do: unconfirmed when the outcome is unknown,
// released when it surely did not act.
func (e *Effects) failed(ctx context.Context, rec Effect, cause error) (EffectOutcome, error) {
	if ErrorCode(cause) == Ambiguous {
		rec.State, rec.Done, rec.Detail = EffectUnconfirmed, e.now().UTC(), ErrorMessage(cause)
		if _, err := e.store.UpdateEffect(ctx, rec); err != nil {
			return "", errors.Join(cause, err)
		}
		return Unconfirmed, nil
	}
	rec.State, rec.Detail = EffectReleased, ErrorMessage(cause)
	if _, err := e.store.UpdateEffect(ctx, rec); err != nil {
		return "", errors.Join(cause, err)
	}
	return "", cause
}

func outcomeOf(rec Effect) EffectOutcome {
	switch rec.State {
	case EffectDone:
		return AlreadyDone
	case EffectUnconfirmed:
		return Unconfirmed
	}
	return ""
}

// Lease holds key for d so that two copies of a scheduled run never act at
// once: it returns held false when a live lease exists, else holds it and
// returns the function that ends it (the next run may then take it). A lease
// left by a run that died lapses after d.
func (e *Effects) Lease(ctx context.Context, key string, d time.Duration) (held bool, release func(context.Context) error, err error) {
	now := e.now().UTC()
	rec, err := e.store.ClaimEffect(ctx, Effect{Key: key, State: EffectClaimed, Claimed: now, Until: now.Add(d)})
	if ErrorCode(err) == Conflict {
		if rec.State == EffectClaimed && now.Before(rec.Until) {
			return false, nil, nil
		}
		rec.State, rec.Claimed, rec.Until, rec.Done, rec.Detail = EffectClaimed, now, now.Add(d), time.Time{}, ""
		rec, err = e.store.UpdateEffect(ctx, rec)
		if ErrorCode(err) == Stale {
			return false, nil, nil
		}
	}
	if err != nil {
		return false, nil, err
	}
	return true, func(ctx context.Context) error {
		rec.State, rec.Done = EffectReleased, e.now().UTC()
		_, err := e.store.UpdateEffect(ctx, rec)
		return err
	}, nil
}

// UnconfirmedEffects lists the effects whose key starts with prefix that may
// or may not have happened, for reports.
func (e *Effects) UnconfirmedEffects(ctx context.Context, prefix string) ([]Effect, error) {
	return e.store.ListEffects(ctx, prefix, EffectUnconfirmed)
}

// RunLease is how long a scheduled run holds its lease: longer than one
// invocation may last (host.json's functionTimeout), so that a second copy
// never starts while the first works; a run that died frees it after this.
const RunLease = 30 * time.Minute

// HoldRun takes the lease of a scheduled run (key names the function and its
// date or scope) for RunLease. When another copy holds it, busy says so (and
// is logged) and nothing is held; else release ends the lease.
func (e *Effects) HoldRun(ctx context.Context, key string, log *slog.Logger) (release func(), busy string, err error) {
	held, end, err := e.Lease(ctx, key, RunLease)
	if err != nil || !held {
		if err == nil {
			busy = "another copy of this run (" + strings.TrimPrefix(key, "run:") + ") is under way; this one did nothing"
			log.Warn(busy)
		}
		return nil, busy, err
	}
	return func() {
		if err := end(context.WithoutCancel(ctx)); err != nil {
			log.Warn("could not end the run's lease; it lapses by itself", "lease", key, "error", err)
		}
	}, "", nil
}
