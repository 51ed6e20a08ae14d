package tablestore

// Attribution claims (see licensing.AttributionClaim). Each value an agency's
// attribution rule claims is a row of the agencies table:
//
//	PartitionKey "claims" (agency ids are upper case: no agency has it)
//	RowKey "{attribute}-{hex of the first 16 bytes of SHA-256 of the claim key}"
//	Agency, Attribute, Value
//
// A claim row is added only where none exists, and the service refuses a
// second Add of one row: of two agencies claiming one value at once, one
// gets it. A table transaction holds rows of one partition only, so the
// claims cannot share the transaction of the agency's configuration, which
// lives in the agency's partition. Instead each agency has a writer row:
//
//	PartitionKey = agency id, RowKey "writer", Seq
//
// and a write of an agency
//
//  1. takes the writer row: Seq + 1, conditional on the row it read;
//  2. adds a claim row for each value of its rule that the agency does not
//     hold, and rewrites, conditionally, each one it holds (so that a
//     release of it listed earlier fails);
//  3. commits the configuration and the audit row in one transaction with a
//     rewrite of the writer row conditional on the ETag step 1 left: if
//     anyone took the writer row since, the transaction changes nothing;
//  4. releases the claims the agency holds that its stored rule does not
//     name, provided the writer row still has the Seq of step 1 (no write
//     of the agency began since), each on the ETag it was listed with.
//
// A stored rule's values are therefore always claimed by its agency. A
// write cut short between steps 2 and 4 leaves claims its agency's rule
// does not name: the agency's next write releases them, and another agency
// that wants one of them takes it over once the claim is claimGrace old.
// It takes the holder's writer row first (a write of the holder still
// under way then cannot commit), reads the holder's stored rule again, and
// deletes the claim only if that rule does not name it.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/shared-tenant/licensetrack/shared/azerr"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

const (
	// claimsPartition holds the claim rows of the agencies table.
	claimsPartition = "claims"
	// writerRow is the row key of an agency's writer row.
	writerRow = "writer"
	// claimGrace is how old a claim that its holder's stored rule does not
	// name must be before another agency may take it over: far longer
	// than one write of an agency takes.
	claimGrace = 5 * time.Minute
	// claimAttempts bounds the rounds on one row that keeps changing
	// under a write; the write is Stale after that.
	claimAttempts = 5
)

// writer is a write's hold on an agency's writer row.
type writer struct {
	seq  int64
	etag azcore.ETag
}

func claimRowKey(c licensing.AttributionClaim) string {
	sum := sha256.Sum256([]byte(c.Key))
	return c.Attribute + "-" + hex.EncodeToString(sum[:16])
}

func claimEntity(c licensing.AttributionClaim, agency string) []byte {
	return []byte(mustJSON(map[string]any{
		"PartitionKey": claimsPartition,
		"RowKey":       claimRowKey(c),
		"Agency":       agency,
		"Attribute":    c.Attribute,
		"Value":        c.Value,
	}))
}

func writerEntity(id string, seq int64) []byte {
	return []byte(mustJSON(map[string]any{"PartitionKey": id, "RowKey": writerRow, "Seq": seq}))
}

// readWriter returns the Seq of agency id's writer row and its ETag, or 0
// and nil when there is none.
func (s *Store) readWriter(ctx context.Context, op, id string) (int64, *azcore.ETag, error) {
	resp, err := s.agencies.GetEntity(ctx, id, writerRow, nil)
	switch azerr.Classify(err) {
	case "":
	case licensing.NotFound:
		return 0, nil, nil
	default:
		return 0, nil, azerr.Translate(op, "agency "+id, err)
	}
	props, err := decodeEntity(resp.Value)
	if err != nil {
		return 0, nil, internal(op, err)
	}
	seq, _ := props["Seq"].(float64)
	return int64(seq), &resp.ETag, nil
}

// takeWriter takes agency id's writer row for a new write, conditional on
// the row it read; when another write takes it first, it reads it again.
func (s *Store) takeWriter(ctx context.Context, op, id string) (writer, error) {
	what := "agency " + id
	var err error
	for attempt := 0; attempt < claimAttempts; attempt++ {
		seq, etag, rerr := s.readWriter(ctx, op, id)
		if rerr != nil {
			return writer{}, rerr
		}
		w := writer{seq: seq + 1}
		if etag == nil {
			var resp aztables.AddEntityResponse
			resp, err = s.agencies.AddEntity(ctx, writerEntity(id, w.seq), nil)
			w.etag = resp.ETag
		} else {
			var resp aztables.UpdateEntityResponse
			resp, err = s.agencies.UpdateEntity(ctx, writerEntity(id, w.seq), &aztables.UpdateEntityOptions{UpdateMode: aztables.UpdateModeReplace, IfMatch: etag})
			w.etag = resp.ETag
		}
		switch azerr.Classify(err) {
		case "":
			return w, nil
		case licensing.Conflict, licensing.Stale, licensing.NotFound:
			continue
		default:
			return writer{}, azerr.Translate(op, what, err)
		}
	}
	return writer{}, stale(op, what, err)
}

// heldClaims returns the row keys of the claims agency id holds, with their
// ETags.
func (s *Store) heldClaims(ctx context.Context, op, id string) (map[string]azcore.ETag, error) {
	filter := "PartitionKey eq " + quote(claimsPartition) + " and Agency eq " + quote(id)
	held := map[string]azcore.ETag{}
	err := eachEntity(ctx, s.agencies, filter, op, "the attribution claims of agency "+id, func(raw []byte) error {
		props, err := decodeEntity(raw)
		if err != nil {
			return internal(op, err)
		}
		held[getString(props, "RowKey")] = azcore.ETag(etagOf(props))
		return nil
	})
	return held, err
}

// claim gives agency a the claims of its rule (step 2): an Add of each one
// it does not hold, a conditional rewrite of each one it holds. Another
// agency's claim is Conflict, naming that agency.
func (s *Store) claim(ctx context.Context, op string, a licensing.Agency) error {
	claims := a.Attribution.Claims()
	for _, c := range claims {
		if err := checkKey(op, "The attribution attribute", c.Attribute); err != nil {
			return err
		}
	}
	// One order for every write: two writes wanting the same values meet
	// on the first of them, and one of the two gets them all.
	sort.Slice(claims, func(i, j int) bool { return claimRowKey(claims[i]) < claimRowKey(claims[j]) })
	held, err := s.heldClaims(ctx, op, a.ID)
	if err != nil {
		return err
	}
	actions := make([]aztables.TransactionAction, len(claims))
	for i, c := range claims {
		actions[i] = aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: claimEntity(c, a.ID)}
		if etag, ok := held[claimRowKey(c)]; ok {
			actions[i].ActionType, actions[i].IfMatch = aztables.TransactionTypeUpdateReplace, &etag
		}
	}
	return s.inBatches(ctx, op, "the attribution claims of agency "+a.ID, actions, func(i int) error {
		return s.claimOne(ctx, op, a.ID, claims[i])
	})
}

// inBatches submits actions on claim rows in transactions of up to
// MaxBatch. A transaction refused because one of its rows changed
// (Conflict, Stale, NotFound) is done again action by action with one(i).
func (s *Store) inBatches(ctx context.Context, op, what string, actions []aztables.TransactionAction, one func(i int) error) error {
	for start := 0; start < len(actions); start += MaxBatch {
		end := min(start+MaxBatch, len(actions))
		err := Transact(ctx, s.agencies, op, what, actions[start:end])
		switch azerr.Classify(err) {
		case "":
			continue
		case licensing.Conflict, licensing.Stale, licensing.NotFound:
			for i := start; i < end; i++ {
				if err := one(i); err != nil {
					return err
				}
			}
		default:
			return err
		}
	}
	return nil
}

// claimOne gives claim c to agency id on its own: it adds the row, adopts
// it when id holds it already, refuses it when another agency's stored
// rule names it or its claim is younger than claimGrace, and otherwise
// takes the abandoned claim over.
func (s *Store) claimOne(ctx context.Context, op, id string, c licensing.AttributionClaim) error {
	what := "the attribution claims of agency " + id
	rk := claimRowKey(c)
	var err error
	for attempt := 0; attempt < claimAttempts; attempt++ {
		_, err = s.agencies.AddEntity(ctx, claimEntity(c, id), nil)
		if azerr.Classify(err) != licensing.Conflict {
			return azerr.Translate(op, what, err)
		}
		resp, gerr := s.agencies.GetEntity(ctx, claimsPartition, rk, nil)
		switch azerr.Classify(gerr) {
		case "":
		case licensing.NotFound:
			continue
		default:
			return azerr.Translate(op, what, gerr)
		}
		props, derr := decodeEntity(resp.Value)
		if derr != nil {
			return internal(op, derr)
		}
		etag, holder := resp.ETag, getString(props, "Agency")
		if holder == id {
			_, err = s.agencies.UpdateEntity(ctx, claimEntity(c, id), &aztables.UpdateEntityOptions{UpdateMode: aztables.UpdateModeReplace, IfMatch: &etag})
			if code := azerr.Classify(err); code == licensing.Stale || code == licensing.NotFound {
				continue
			}
			return azerr.Translate(op, what, err)
		}
		if err := s.refuseIfHeld(ctx, op, holder, c); err != nil {
			return err
		}
		if at, _ := getTime(props, "Timestamp"); s.now().Sub(at) < claimGrace {
			return licensing.AttributionTaken(op, c, holder, true)
		}
		// Abandoned by a write of holder that was cut short: stop any write
		// of holder under way, look at its stored rule again, take it over.
		if _, err := s.takeWriter(ctx, op, holder); err != nil {
			return err
		}
		if err := s.refuseIfHeld(ctx, op, holder, c); err != nil {
			return err
		}
		_, err = s.agencies.DeleteEntity(ctx, claimsPartition, rk, &aztables.DeleteEntityOptions{IfMatch: &etag})
		if code := azerr.Classify(err); code != "" && code != licensing.Stale && code != licensing.NotFound {
			return azerr.Translate(op, what, err)
		}
	}
	return stale(op, what, err)
}

// refuseIfHeld returns the Conflict naming holder when holder's stored rule
// claims c.
func (s *Store) refuseIfHeld(ctx context.Context, op, holder string, c licensing.AttributionClaim) error {
	a, err := s.GetAgency(ctx, holder)
	switch {
	case licensing.ErrorCode(err) == licensing.NotFound:
		return nil
	case err != nil:
		return err
	case a.Attribution.ClaimKeys()[c.Key]:
		return licensing.AttributionTaken(op, c, holder, false)
	}
	return nil
}

// release deletes the claims agency id holds that its stored rule does not
// name (step 4), if its writer row still has seq. stored is that rule when
// the write holding seq has just committed it; nil reads it. It reads the
// rule and the claims before it looks at the writer row: a write that
// takes the row after that look rewrites every claim it keeps, so the
// deletes, on the listed ETags, miss them.
func (s *Store) release(ctx context.Context, op, id string, seq int64, stored *licensing.AttributionRule) error {
	if stored == nil {
		a, err := s.GetAgency(ctx, id)
		switch licensing.ErrorCode(err) {
		case "":
			stored = &a.Attribution
		case licensing.NotFound:
			stored = &licensing.AttributionRule{}
		default:
			return err
		}
	}
	keep := map[string]bool{}
	for _, c := range stored.Claims() {
		keep[claimRowKey(c)] = true
	}
	held, err := s.heldClaims(ctx, op, id)
	if err != nil {
		return err
	}
	var keys []string
	for rk := range held {
		if !keep[rk] {
			keys = append(keys, rk)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	if cur, _, err := s.readWriter(ctx, op, id); err != nil || cur != seq {
		return err
	}
	sort.Strings(keys)
	actions := make([]aztables.TransactionAction, len(keys))
	for i, rk := range keys {
		etag := held[rk]
		actions[i] = aztables.TransactionAction{ActionType: aztables.TransactionTypeDelete, IfMatch: &etag,
			Entity: []byte(mustJSON(map[string]string{"PartitionKey": claimsPartition, "RowKey": rk}))}
	}
	return s.inBatches(ctx, op, "the attribution claims of agency "+id, actions, func(i int) error {
		_, err := s.agencies.DeleteEntity(ctx, claimsPartition, keys[i], &aztables.DeleteEntityOptions{IfMatch: actions[i].IfMatch})
		if code := azerr.Classify(err); code == licensing.Stale || code == licensing.NotFound {
			return nil
		}
		return azerr.Translate(op, "the attribution claims of agency "+id, err)
	})
}
