package tablestore

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/shared-tenant/licensetrack/shared/azerr"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

var (
	_ licensing.SnapshotPruner = (*Store)(nil)
	_ licensing.DeliveryPruner = (*Store)(nil)
)

// snapshotMeta returns the "meta" row of snap: its summary as a payload,
// with the Taken column ListSnapshots filters on.
func snapshotMeta(snap licensing.Snapshot) ([]byte, error) {
	meta, err := encodePayload(snapshotPayloadOf(snap))
	if err != nil {
		return nil, err
	}
	props := map[string]any{"PartitionKey": snapshotPartition(snap.ID), "RowKey": metaRow, "SnapshotID": snap.ID}
	setTime(props, "Taken", snap.Taken)
	setLong(props, "Snapshot", meta)
	setSchema(props)
	return json.Marshal(props)
}

// MarkSnapshotPruned sets Pruned on snapshot id's meta row, on the ETag it
// was read with, so a mark made meanwhile by another run is read again and
// kept.
func (s *Store) MarkSnapshotPruned(ctx context.Context, id string, at time.Time) error {
	const op = "tablestore.markSnapshotPruned"
	if checkKey(op, "", id) != nil {
		return licensing.Errorf(op, licensing.NotFound, "There is no snapshot %q.", id)
	}
	what := "snapshot " + id
	for attempt := 0; attempt < 5; attempt++ {
		resp, err := s.snapshots.GetEntity(ctx, snapshotPartition(id), metaRow, nil)
		if err != nil {
			return azerr.Translate(op, what, err)
		}
		snap, err := s.decodeSnapshot(op, resp.Value)
		if err != nil {
			return err
		}
		if !snap.Pruned.IsZero() {
			return nil
		}
		snap.Pruned = at.UTC()
		b, err := snapshotMeta(snap)
		if err != nil {
			return internal(op, err)
		}
		etag := resp.ETag
		_, err = s.snapshots.UpdateEntity(ctx, b, &aztables.UpdateEntityOptions{IfMatch: &etag, UpdateMode: aztables.UpdateModeReplace})
		if c := azerr.Classify(err); c != licensing.Stale {
			return azerr.Translate(op, what, err)
		}
	}
	return licensing.Errorf(op, licensing.Stale, "Snapshot %s kept changing while it was marked pruned; try again.", id)
}

// decodeSnapshot reads a snapshot's meta row.
func (s *Store) decodeSnapshot(op string, raw []byte) (licensing.Snapshot, error) {
	props, err := decodeEntity(raw)
	if err != nil {
		return licensing.Snapshot{}, internal(op, err)
	}
	what := "snapshot " + getString(props, "SnapshotID")
	if err := checkSchema(props, what); err != nil {
		return licensing.Snapshot{}, internal(op, err)
	}
	var p snapshotPayload
	if err := decodePayload(getLong(props, "Snapshot"), what, &p); err != nil {
		return licensing.Snapshot{}, internal(op, err)
	}
	return p.snapshot(), nil
}

// DeleteSnapshot deletes snapshot id's usage rows, up to MaxBatch in a
// transaction (one by one when another deletion took some first), then its
// meta row.
func (s *Store) DeleteSnapshot(ctx context.Context, id string) error {
	const op = "tablestore.deleteSnapshot"
	if checkKey(op, "", id) != nil {
		return nil
	}
	pk, what := snapshotPartition(id), "snapshot "+id
	filter := "PartitionKey eq " + quote(pk) +
		" and RowKey ge " + quote(usagePrefix) + " and RowKey lt " + quote(strings.TrimSuffix(usagePrefix, "-")+".")
	var batch []aztables.TransactionAction
	err := eachSelected(ctx, s.snapshots, filter, "PartitionKey,RowKey", op, what, func(props map[string]any) error {
		b, err := json.Marshal(map[string]any{"PartitionKey": pk, "RowKey": getString(props, "RowKey")})
		if err != nil {
			return err
		}
		batch = append(batch, aztables.TransactionAction{ActionType: aztables.TransactionTypeDelete, Entity: b})
		return nil
	})
	if err != nil {
		return err
	}
	for len(batch) > 0 {
		chunk := batch[:min(len(batch), MaxBatch)]
		batch = batch[len(chunk):]
		err := Transact(ctx, s.snapshots, op, what, chunk)
		if licensing.ErrorCode(err) == licensing.NotFound {
			err = deleteEach(ctx, s.snapshots, op, pk, what, chunk)
		}
		if err != nil {
			return err
		}
	}
	_, err = s.snapshots.DeleteEntity(ctx, pk, metaRow, nil)
	if err != nil && azerr.Classify(err) != licensing.NotFound {
		return azerr.Translate(op, what, err)
	}
	return nil
}

// ListDeliveryRuns returns the partitions of the deliveries table: one per
// run.
func (s *Store) ListDeliveryRuns(ctx context.Context) ([]string, error) {
	const op = "tablestore.listDeliveryRuns"
	seen := map[string]bool{}
	err := eachSelected(ctx, s.delivery, "PartitionKey ne ''", "PartitionKey", op, "the deliveries", func(props map[string]any) error {
		seen[getString(props, "PartitionKey")] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	runs := make([]string, 0, len(seen))
	for r := range seen {
		runs = append(runs, r)
	}
	sort.Strings(runs)
	return runs, nil
}

// DeleteDelivery deletes the delivery row of key in run, if there is one.
func (s *Store) DeleteDelivery(ctx context.Context, run, key string) error {
	const op = "tablestore.deleteDelivery"
	if checkKey(op, "", run) != nil || checkKey(op, "", key) != nil {
		return nil
	}
	_, err := s.delivery.DeleteEntity(ctx, run, key, nil)
	if err != nil && azerr.Classify(err) != licensing.NotFound {
		return azerr.Translate(op, "delivery "+key, err)
	}
	return nil
}
