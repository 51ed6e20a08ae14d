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
		b, err := json.Marshal(usageRowOf(pk, rk, u))
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
	b, err := snapshotMeta(snap)
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
	return s.decodeSnapshot(op, resp.Value)
}

// ListSnapshots returns the published snapshots taken in [from, to), oldest
// first: their meta rows, found by the Taken column. The column keeps 100 ns
// and Azurite compares milliseconds, so the filter asks for whole
// milliseconds around the bounds and the exact time in the payload decides.
func (s *Store) ListSnapshots(ctx context.Context, from, to time.Time) ([]licensing.Snapshot, error) {
	const op = "tablestore.listSnapshots"
	filter := "RowKey eq " + quote(metaRow)
	if !from.IsZero() {
		filter += " and Taken ge datetime'" + from.UTC().Truncate(time.Millisecond).Format(edmTimeLayout) + "'"
	}
	if !to.IsZero() {
		filter += " and Taken lt datetime'" + to.UTC().Truncate(time.Millisecond).Add(time.Millisecond).Format(edmTimeLayout) + "'"
	}
	var out []licensing.Snapshot
	err := eachEntity(ctx, s.snapshots, filter, op, "the snapshots", func(e []byte) error {
		props, err := decodeEntity(e)
		if err != nil {
			return internal(op, err)
		}
		what := "snapshot " + getString(props, "SnapshotID")
		if err := checkSchema(props, what); err != nil {
			return internal(op, err)
		}
		var p snapshotPayload
		if err := decodePayload(getLong(props, "Snapshot"), what, &p); err != nil {
			return internal(op, err)
		}
		if (from.IsZero() || !p.Taken.Before(from)) && (to.IsZero() || p.Taken.Before(to)) {
			out = append(out, p.snapshot())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Taken.Before(out[j].Taken) })
	return out, nil
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
		var u usageRow
		if err := json.Unmarshal(e, &u); err != nil {
			return internal(op, err)
		}
		out = append(out, u.usage())
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// usageRow is the row of one usage count: explicit columns.
type usageRow struct {
	PartitionKey  string `json:"PartitionKey"`
	RowKey        string `json:"RowKey"`
	Agency        string `json:"Agency"`
	SkuID         string `json:"SkuID"`
	Users         int    `json:"Users"`
	Direct        int    `json:"Direct"`
	ByGroup       int    `json:"ByGroup"`
	Disabled      int    `json:"Disabled"`
	NeverSignedIn int    `json:"NeverSignedIn"`
	Errors        int    `json:"Errors"`
}

func usageRowOf(pk, rk string, u licensing.Usage) usageRow {
	return usageRow{PartitionKey: pk, RowKey: rk, Agency: u.Agency, SkuID: u.SkuID, Users: u.Users, Direct: u.Direct,
		ByGroup: u.ByGroup, Disabled: u.Disabled, NeverSignedIn: u.NeverSignedIn, Errors: u.Errors}
}

func (r usageRow) usage() licensing.Usage {
	return licensing.Usage{Agency: r.Agency, SkuID: r.SkuID, Users: r.Users, Direct: r.Direct,
		ByGroup: r.ByGroup, Disabled: r.Disabled, NeverSignedIn: r.NeverSignedIn, Errors: r.Errors}
}

// snapshotPayload is the JSON of a snapshot's summary in the Snapshot
// property of its "meta" row.
type snapshotPayload struct {
	ID              string             `json:"id"`
	Taken           time.Time          `json:"taken"`
	Full            bool               `json:"full"`
	Base            string             `json:"base,omitempty"`
	UsersFile       string             `json:"usersFile"`
	DeltaLink       string             `json:"deltaLink,omitempty"`
	Users           int                `json:"users"`
	LicensedUsers   int                `json:"licensedUsers"`
	Agencies        int                `json:"agencies"`
	Unattributed    int                `json:"unattributed"`
	Conflicts       int                `json:"conflicts"`
	AgencyUsers     map[string]int     `json:"agencyUsers,omitempty"`
	Changes         int                `json:"changes"`
	Requests        int                `json:"requests"`
	SignInAvailable bool               `json:"signInAvailable"`
	SignInAsOf      time.Time          `json:"signInAsOf,omitzero"`
	SignInPass      string             `json:"signInPass,omitempty"`
	AgencyFiles     bool               `json:"agencyFiles,omitempty"`
	SegmentEnds     []string           `json:"segmentEnds,omitempty"`
	Notes           []string           `json:"notes,omitempty"`
	Tenant          []tenantSkuPayload `json:"tenant"`
	Duration        string             `json:"duration"`
	Pruned          time.Time          `json:"pruned,omitzero"`
}

// tenantSkuPayload is one of the tenant's SKUs in a snapshotPayload. Its
// keys are capitalized: they were first written from a type without JSON
// tags.
type tenantSkuPayload struct {
	SkuID            string `json:"SkuID"`
	PartNumber       string `json:"PartNumber"`
	CapabilityStatus string `json:"CapabilityStatus"`
	Enabled          int    `json:"Enabled"`
	Warning          int    `json:"Warning"`
	Suspended        int    `json:"Suspended"`
	LockedOut        int    `json:"LockedOut"`
	Consumed         int    `json:"Consumed"`
}

func snapshotPayloadOf(s licensing.Snapshot) snapshotPayload {
	return snapshotPayload{
		ID: s.ID, Taken: s.Taken, Full: s.Full, Base: s.Base, UsersFile: s.UsersFile, DeltaLink: s.DeltaLink,
		Users: s.Users, LicensedUsers: s.LicensedUsers, Agencies: s.Agencies, Unattributed: s.Unattributed,
		Conflicts: s.Conflicts, AgencyUsers: s.AgencyUsers, Changes: s.Changes, Requests: s.Requests, SignInAvailable: s.SignInAvailable,
		Notes: s.Notes, SignInAsOf: s.SignInAsOf, SignInPass: s.SignInPass, AgencyFiles: s.AgencyFiles, SegmentEnds: s.SegmentEnds,
		Tenant: mapSlice(s.Tenant, func(t licensing.TenantSku) tenantSkuPayload {
			return tenantSkuPayload{SkuID: t.SkuID, PartNumber: t.PartNumber, CapabilityStatus: t.CapabilityStatus,
				Enabled: t.Enabled, Warning: t.Warning, Suspended: t.Suspended, LockedOut: t.LockedOut, Consumed: t.Consumed}
		}),
		Duration: s.Duration, Pruned: s.Pruned,
	}
}

func (p snapshotPayload) snapshot() licensing.Snapshot {
	return licensing.Snapshot{
		ID: p.ID, Taken: p.Taken, Full: p.Full, Base: p.Base, UsersFile: p.UsersFile, DeltaLink: p.DeltaLink,
		Users: p.Users, LicensedUsers: p.LicensedUsers, Agencies: p.Agencies, Unattributed: p.Unattributed,
		Conflicts: p.Conflicts, AgencyUsers: p.AgencyUsers, Changes: p.Changes, Requests: p.Requests, SignInAvailable: p.SignInAvailable,
		Notes: p.Notes, SignInAsOf: p.SignInAsOf, SignInPass: p.SignInPass, AgencyFiles: p.AgencyFiles, SegmentEnds: p.SegmentEnds,
		Tenant: mapSlice(p.Tenant, func(t tenantSkuPayload) licensing.TenantSku {
			return licensing.TenantSku{SkuID: t.SkuID, PartNumber: t.PartNumber, CapabilityStatus: t.CapabilityStatus,
				Enabled: t.Enabled, Warning: t.Warning, Suspended: t.Suspended, LockedOut: t.LockedOut, Consumed: t.Consumed}
		}),
		Duration: p.Duration, Pruned: p.Pruned,
	}
}
