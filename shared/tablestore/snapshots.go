package tablestore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/shared-tenant/licensetrack/shared/azerr"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// The snapshot pointer: one row naming the newest published snapshot.
const (
	pointerPartition = "latest"
	pointerRow       = "pointer"
	metaRow          = "meta"
	usagePrefix      = "u-"
)

func snapshotPartition(id string) string { return "s-" + id }

// PublishSnapshot stores s and its usage, then moves the pointer to s unless
// a newer snapshot is already published. Readers follow the pointer, so they
// see the previous snapshot until the pointer moves, and a complete one after.
// Writing the same snapshot again is harmless (every row is replaced).
func (s *Store) PublishSnapshot(ctx context.Context, snap licensing.Snapshot, usage []licensing.Usage) error {
	const op = "tablestore.publishSnapshot"
	if err := checkKey(op, "The snapshot id", snap.ID); err != nil {
		return err
	}
	pk := snapshotPartition(snap.ID)
	what := "snapshot " + snap.ID
	var batch []aztables.TransactionAction
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := Transact(ctx, s.snapshots, op, what, batch)
		batch = batch[:0]
		return err
	}
	for _, u := range usage {
		rk := usagePrefix + u.Agency + "|" + u.SkuID
		if err := checkKey(op, "The usage key", rk); err != nil {
			return err
		}
		b, err := json.Marshal(map[string]any{
			"PartitionKey": pk, "RowKey": rk,
			"Agency": u.Agency, "SkuID": u.SkuID,
			"Users": u.Users, "Direct": u.Direct, "ByGroup": u.ByGroup,
			"Disabled": u.Disabled, "NeverSignedIn": u.NeverSignedIn, "Errors": u.Errors,
		})
		if err != nil {
			return internal(op, err)
		}
		batch = append(batch, aztables.TransactionAction{ActionType: aztables.TransactionTypeInsertReplace, Entity: b})
		if len(batch) == MaxBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	meta, err := json.Marshal(snap)
	if err != nil {
		return internal(op, err)
	}
	props := map[string]any{"PartitionKey": pk, "RowKey": metaRow, "SnapshotID": snap.ID}
	setTime(props, "Taken", snap.Taken)
	setLong(props, "Snapshot", string(meta))
	b, err := json.Marshal(props)
	if err != nil {
		return internal(op, err)
	}
	if _, err := s.snapshots.UpsertEntity(ctx, b, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace}); err != nil {
		return azerr.Translate(op, what, err)
	}
	return s.movePointer(ctx, op, snap)
}

// movePointer points "latest" at snap when snap is newer than what it names,
// conditionally on what it read so two runs cannot interleave.
func (s *Store) movePointer(ctx context.Context, op string, snap licensing.Snapshot) error {
	props := map[string]any{"PartitionKey": pointerPartition, "RowKey": pointerRow, "SnapshotID": snap.ID}
	setTime(props, "Taken", snap.Taken)
	b, err := json.Marshal(props)
	if err != nil {
		return internal(op, err)
	}
	for attempt := 0; attempt < 5; attempt++ {
		resp, gerr := s.snapshots.GetEntity(ctx, pointerPartition, pointerRow, nil)
		switch azerr.Classify(gerr) {
		case licensing.NotFound:
			_, err = s.snapshots.AddEntity(ctx, b, nil)
		case "":
			cur, derr := decodeEntity(resp.Value)
			if derr != nil {
				return internal(op, derr)
			}
			taken, terr := getTime(cur, "Taken")
			if terr != nil {
				return internal(op, terr)
			}
			if getString(cur, "SnapshotID") == snap.ID || taken.After(snap.Taken) {
				return nil
			}
			etag := resp.ETag
			_, err = s.snapshots.UpdateEntity(ctx, b, &aztables.UpdateEntityOptions{IfMatch: &etag, UpdateMode: aztables.UpdateModeReplace})
		default:
			return azerr.Translate(op, "the snapshot pointer", gerr)
		}
		switch c := azerr.Classify(err); c {
		case "":
			return nil
		case licensing.Conflict, licensing.Stale:
			continue
		default:
			return azerr.Translate(op, "the snapshot pointer", err)
		}
	}
	return licensing.Errorf(op, licensing.Stale, "Another run kept moving the snapshot pointer; try again.")
}

// LatestSnapshot returns the snapshot the pointer names; NotFound when none
// has been published.
func (s *Store) LatestSnapshot(ctx context.Context) (licensing.Snapshot, error) {
	const op = "tablestore.latestSnapshot"
	resp, err := s.snapshots.GetEntity(ctx, pointerPartition, pointerRow, nil)
	if err != nil {
		if azerr.Classify(err) == licensing.NotFound {
			return licensing.Snapshot{}, licensing.Errorf(op, licensing.NotFound, "No usage snapshot has been taken yet; run the snapshot job first.")
		}
		return licensing.Snapshot{}, azerr.Translate(op, "the snapshot pointer", err)
	}
	props, err := decodeEntity(resp.Value)
	if err != nil {
		return licensing.Snapshot{}, internal(op, err)
	}
	return s.GetSnapshot(ctx, getString(props, "SnapshotID"))
}

// GetSnapshot returns a stored snapshot's summary; NotFound if unknown.
func (s *Store) GetSnapshot(ctx context.Context, id string) (licensing.Snapshot, error) {
	const op = "tablestore.getSnapshot"
	if err := checkKey(op, "The snapshot id", id); err != nil {
		return licensing.Snapshot{}, licensing.Errorf(op, licensing.NotFound, "There is no snapshot %q.", id)
	}
	resp, err := s.snapshots.GetEntity(ctx, snapshotPartition(id), metaRow, nil)
	if err != nil {
		return licensing.Snapshot{}, azerr.Translate(op, "snapshot "+id, err)
	}
	props, err := decodeEntity(resp.Value)
	if err != nil {
		return licensing.Snapshot{}, internal(op, err)
	}
	var snap licensing.Snapshot
	if err := json.Unmarshal([]byte(getLong(props, "Snapshot")), &snap); err != nil {
		return licensing.Snapshot{}, internal(op, fmt.Errorf("snapshot %s: %w", id, err))
	}
	return snap, nil
}

// SnapshotUsage returns the usage counts of snapshot id, ordered by agency
// and SKU.
func (s *Store) SnapshotUsage(ctx context.Context, id string) ([]licensing.Usage, error) {
	const op = "tablestore.snapshotUsage"
	if err := checkKey(op, "The snapshot id", id); err != nil {
		return nil, err
	}
	filter := "PartitionKey eq " + quote(snapshotPartition(id)) +
		" and RowKey ge " + quote(usagePrefix) + " and RowKey lt " + quote(strings.TrimSuffix(usagePrefix, "-")+".")
	var out []licensing.Usage
	err := eachEntity(ctx, s.snapshots, filter, op, "snapshot "+id, func(e []byte) error {
		var u struct {
			Agency, SkuID                                           string
			Users, Direct, ByGroup, Disabled, NeverSignedIn, Errors int
		}
		if err := json.Unmarshal(e, &u); err != nil {
			return internal(op, err)
		}
		out = append(out, licensing.Usage{Agency: u.Agency, SkuID: u.SkuID, Users: u.Users, Direct: u.Direct,
			ByGroup: u.ByGroup, Disabled: u.Disabled, NeverSignedIn: u.NeverSignedIn, Errors: u.Errors})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
