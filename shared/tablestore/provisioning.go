package tablestore

// Capped group provisioning: tables {prefix}Seats, {prefix}Grants and
// {prefix}Notices (the layout is in store.go's package comment).
//
// SaveSeatMembers writes a group of any size in entity group transactions
// of MaxBatch rows of the member partition, several at once: each
// transaction is all or nothing, the call as a whole is not. A call that
// fails half-way leaves some transactions written and others not; the same
// call again writes them all (puts replace, deletes of rows already gone
// are ignored), so a retry converges.
//
// A transaction fails as a whole when one of its deletes finds no row (the
// service answers 404 for the batch). Such a chunk of deletes is then done
// row by row, each delete ignoring 404: a member deleted by another writer
// in the meantime, or never stored, is not an error.

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/shared-tenant/licensetrack/shared/azerr"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

var _ licensing.ProvisioningStore = (*Store)(nil)

// Table name suffixes of capped group provisioning.
const (
	seatsTable   = "Seats"
	grantsTable  = "Grants"
	noticesTable = "Notices"
)

// seatWriters is how many transactions SaveSeatMembers has in flight at
// once. They all go to one partition, which the service serves from one
// server: more would mostly make each wait longer behind the others, and
// a transaction that waits past the try timeout is sent again.
const seatWriters = 4

// provisioningTable returns the client of the table with suffix.
func (s *Store) provisioningTable(suffix string) *aztables.Client {
	for _, n := range s.names {
		if strings.HasSuffix(n, suffix) {
			return s.svc.NewClient(n)
		}
	}
	// New always lists the table; reaching here is a bug.
	panic("tablestore: no " + suffix + " table")
}

// checkSku refuses a SKU id that cannot be a key, or that holds '|', the
// separator of the member partitions' keys.
func checkSku(op, skuID string) error {
	if err := checkKey(op, "The SKU id", skuID); err != nil {
		return err
	}
	if strings.Contains(skuID, "|") {
		return licensing.Errorf(op, licensing.Invalid, "The SKU id must not hold '|'.")
	}
	return nil
}

// seatPartition is the PartitionKey of the members of agency's group for
// skuID; skuID holds no '|', so the key reads back one way only.
func seatPartition(agency, skuID string) string { return agency + "|" + skuID }

// storedTime returns t as an Edm.DateTime keeps it: UTC, to 100 ns, and the
// zero time for a time before 1601 (which setTime leaves out).
func storedTime(t time.Time) time.Time {
	if t.Before(earliestEdm) {
		return time.Time{}
	}
	return t.UTC().Truncate(100 * time.Nanosecond)
}

// SeatMembers returns the members stored for agency's group for skuID.
func (s *Store) SeatMembers(ctx context.Context, agency, skuID string) ([]licensing.SeatMember, error) {
	const op = "tablestore.seatMembers"
	if err := checkKey(op, "The agency id", agency); err != nil {
		return nil, err
	}
	if err := checkSku(op, skuID); err != nil {
		return nil, err
	}
	var out []licensing.SeatMember
	filter := "PartitionKey eq " + quote(seatPartition(agency, skuID))
	err := eachEntity(ctx, s.provisioningTable(seatsTable), filter, op, "the members of "+agency+"'s group for SKU "+skuID, func(raw []byte) error {
		m, err := seatFrom(op, raw)
		if err != nil {
			return err
		}
		m.Agency, m.SkuID = agency, skuID
		out = append(out, m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SaveSeatMembers writes put and deletes gone in the partition of agency's
// group for skuID (see the file comment). Everything is checked before
// anything is written: a member of another agency or SKU, a user id that
// cannot be a key, or one named twice (in put, or in put and gone) is
// Invalid.
func (s *Store) SaveSeatMembers(ctx context.Context, agency, skuID string, put []licensing.SeatMember, gone []string) error {
	const op = "tablestore.saveSeatMembers"
	if err := checkKey(op, "The agency id", agency); err != nil {
		return err
	}
	if err := checkSku(op, skuID); err != nil {
		return err
	}
	if err := checkSeatWrite(op, agency, skuID, put, gone); err != nil {
		return err
	}
	pk := seatPartition(agency, skuID)
	puts := make([]aztables.TransactionAction, 0, len(put))
	for _, m := range put {
		b, err := seatEntity(pk, m)
		if err != nil {
			return internal(op, err)
		}
		puts = append(puts, aztables.TransactionAction{ActionType: aztables.TransactionTypeInsertReplace, Entity: b})
	}
	deletes := make([]aztables.TransactionAction, 0, len(gone))
	seen := make(map[string]bool, len(gone))
	for _, id := range gone {
		if seen[id] {
			continue
		}
		seen[id] = true
		b, err := json.Marshal(map[string]string{"PartitionKey": pk, "RowKey": id})
		if err != nil {
			return internal(op, err)
		}
		deletes = append(deletes, aztables.TransactionAction{ActionType: aztables.TransactionTypeDelete, Entity: b})
	}
	// Deletes go in chunks of their own: a missing row fails its chunk,
	// which is then redone row by row, and puts are not caught in that.
	chunks := slices.Collect(slices.Chunk(puts, MaxBatch))
	chunks = slices.AppendSeq(chunks, slices.Chunk(deletes, MaxBatch))
	return s.writeSeatChunks(ctx, op, pk, agency+"'s members for SKU "+skuID, chunks)
}

// checkSeatWrite checks the arguments of SaveSeatMembers.
func checkSeatWrite(op, agency, skuID string, put []licensing.SeatMember, gone []string) error {
	ids := make(map[string]bool, len(put))
	for _, m := range put {
		if (m.Agency != "" && m.Agency != agency) || (m.SkuID != "" && m.SkuID != skuID) {
			return licensing.Errorf(op, licensing.Invalid, "Member %s is of agency %q and SKU %q, not of %s and %s: save each group's members on their own.", m.UserID, m.Agency, m.SkuID, agency, skuID)
		}
		if err := checkKey(op, "A member's user id", m.UserID); err != nil {
			return err
		}
		if ids[m.UserID] {
			return licensing.Errorf(op, licensing.Invalid, "Member %s is named twice; put each member once.", m.UserID)
		}
		ids[m.UserID] = true
	}
	for _, id := range gone {
		if err := checkKey(op, "A departed member's user id", id); err != nil {
			return err
		}
		if ids[id] {
			return licensing.Errorf(op, licensing.Invalid, "Member %s is both put and deleted; name it once.", id)
		}
	}
	return nil
}

// writeSeatChunks submits chunks, up to seatWriters at once, and returns
// the first failure (the chunks still waiting are then not sent). A chunk
// of deletes that fails NotFound is redone one delete at a time.
func (s *Store) writeSeatChunks(ctx context.Context, op, pk, what string, chunks [][]aztables.TransactionAction) error {
	table := s.provisioningTable(seatsTable)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	slots := make(chan struct{}, seatWriters)
	sent := 0
	for _, chunk := range chunks {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		sent++
		wg.Add(1)
		go func(chunk []aztables.TransactionAction) {
			defer func() { <-slots; wg.Done() }()
			err := Transact(ctx, table, op, what, chunk)
			if licensing.ErrorCode(err) == licensing.NotFound && chunk[0].ActionType == aztables.TransactionTypeDelete {
				err = deleteEach(ctx, table, op, pk, what, chunk)
			}
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
					cancel()
				}
				mu.Unlock()
			}
		}(chunk)
	}
	wg.Wait()
	if first == nil && sent < len(chunks) {
		// The caller's context ended before every chunk was sent.
		return azerr.Translate(op, what, context.Cause(ctx))
	}
	return first
}

// deleteEach deletes the rows of a chunk of deletes one by one; a row that
// is not there is skipped.
func deleteEach(ctx context.Context, table *aztables.Client, op, pk, what string, chunk []aztables.TransactionAction) error {
	for _, a := range chunk {
		var keys struct{ RowKey string }
		if err := json.Unmarshal(a.Entity, &keys); err != nil {
			return internal(op, err)
		}
		_, err := table.DeleteEntity(ctx, pk, keys.RowKey, nil)
		if err != nil && azerr.Classify(err) != licensing.NotFound {
			return azerr.Translate(op, what, err)
		}
	}
	return nil
}

func seatEntity(pk string, m licensing.SeatMember) ([]byte, error) {
	props := map[string]any{"PartitionKey": pk, "RowKey": m.UserID, "UPN": m.UserPrincipalName, "State": m.State,
		"Error": m.Error, "Disabled": m.Disabled}
	setTime(props, "FirstSeen", m.FirstSeen)
	setTime(props, "Since", m.Since)
	setSchema(props)
	return json.Marshal(props)
}

func seatFrom(op string, raw []byte) (licensing.SeatMember, error) {
	props, err := decodeEntity(raw)
	if err != nil {
		return licensing.SeatMember{}, internal(op, err)
	}
	rk := getString(props, "RowKey")
	if err := checkSchema(props, "member "+rk); err != nil {
		return licensing.SeatMember{}, internal(op, err)
	}
	disabled, _ := props["Disabled"].(bool)
	m := licensing.SeatMember{UserID: rk, UserPrincipalName: getString(props, "UPN"), State: getString(props, "State"),
		Error: getString(props, "Error"), Disabled: disabled}
	var terr [2]error
	m.FirstSeen, terr[0] = getTime(props, "FirstSeen")
	m.Since, terr[1] = getTime(props, "Since")
	if err := errors.Join(terr[:]...); err != nil {
		return licensing.SeatMember{}, internal(op, err)
	}
	return m, nil
}

// Grants returns every grant stored for skuID, with its ETag.
func (s *Store) Grants(ctx context.Context, skuID string) ([]licensing.LicenseGrant, error) {
	const op = "tablestore.grants"
	if err := checkSku(op, skuID); err != nil {
		return nil, err
	}
	var out []licensing.LicenseGrant
	filter := "PartitionKey eq " + quote(skuID)
	err := eachEntity(ctx, s.provisioningTable(grantsTable), filter, op, "the grants of SKU "+skuID, func(raw []byte) error {
		g, err := grantFrom(op, raw)
		if err != nil {
			return err
		}
		out = append(out, g)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PutGrant writes g under pre (see putRow) and returns it as stored, with
// its new ETag.
func (s *Store) PutGrant(ctx context.Context, g licensing.LicenseGrant, pre licensing.Precondition) (licensing.LicenseGrant, error) {
	const op = "tablestore.putGrant"
	if err := checkSku(op, g.SkuID); err != nil {
		return licensing.LicenseGrant{}, err
	}
	if err := checkKey(op, "The user id of a grant", g.UserID); err != nil {
		return licensing.LicenseGrant{}, err
	}
	g.Since = storedTime(g.Since)
	b, err := grantEntity(g)
	if err != nil {
		return licensing.LicenseGrant{}, internal(op, err)
	}
	etag, err := putRow(ctx, s.provisioningTable(grantsTable), op, "the grant of SKU "+g.SkuID+" to user "+g.UserID, b, pre)
	if err != nil {
		return licensing.LicenseGrant{}, err
	}
	g.ETag = etag
	return g, nil
}

func grantEntity(g licensing.LicenseGrant) ([]byte, error) {
	props := map[string]any{"PartitionKey": g.SkuID, "RowKey": g.UserID, "UPN": g.UserPrincipalName, "Agency": g.Agency,
		"GroupID": g.GroupID, "State": g.State, "Gen": g.Gen, "Run": g.Run}
	setTime(props, "Since", g.Since)
	setLong(props, "Detail", g.Detail)
	setSchema(props)
	return json.Marshal(props)
}

func grantFrom(op string, raw []byte) (licensing.LicenseGrant, error) {
	props, err := decodeEntity(raw)
	if err != nil {
		return licensing.LicenseGrant{}, internal(op, err)
	}
	g := licensing.LicenseGrant{SkuID: getString(props, "PartitionKey"), UserID: getString(props, "RowKey"), UserPrincipalName: getString(props, "UPN"),
		Agency: getString(props, "Agency"), GroupID: getString(props, "GroupID"), State: getString(props, "State"),
		Run: getString(props, "Run"), Detail: getLong(props, "Detail"), ETag: etagOf(props)}
	if err := checkSchema(props, "grant of SKU "+g.SkuID+" to user "+g.UserID); err != nil {
		return licensing.LicenseGrant{}, internal(op, err)
	}
	gen, _ := props["Gen"].(float64)
	g.Gen = int(gen)
	if g.Since, err = getTime(props, "Since"); err != nil {
		return licensing.LicenseGrant{}, internal(op, err)
	}
	return g, nil
}

// GetNotice returns agency's notice of kind, NotFound when none is stored.
func (s *Store) GetNotice(ctx context.Context, agency, kind string) (licensing.ProvisioningNotice, error) {
	const op = "tablestore.getNotice"
	if err := checkNoticeKeys(op, agency, kind); err != nil {
		return licensing.ProvisioningNotice{}, err
	}
	resp, err := s.provisioningTable(noticesTable).GetEntity(ctx, agency, kind, nil)
	if err != nil {
		return licensing.ProvisioningNotice{}, azerr.Translate(op, "the "+kind+" notice of agency "+agency, err)
	}
	n, err := noticeFrom(op, resp.Value)
	if err != nil {
		return licensing.ProvisioningNotice{}, err
	}
	n.ETag = string(resp.ETag)
	return n, nil
}

// PutNotice writes n under pre (see putRow) and returns it as stored, with
// its new ETag.
func (s *Store) PutNotice(ctx context.Context, n licensing.ProvisioningNotice, pre licensing.Precondition) (licensing.ProvisioningNotice, error) {
	const op = "tablestore.putNotice"
	if err := checkNoticeKeys(op, n.Agency, n.Kind); err != nil {
		return licensing.ProvisioningNotice{}, err
	}
	n.Sent = storedTime(n.Sent)
	props := map[string]any{"PartitionKey": n.Agency, "RowKey": n.Kind, "Seq": n.Seq, "Digest": n.Digest}
	setTime(props, "Sent", n.Sent)
	setSchema(props)
	b, err := json.Marshal(props)
	if err != nil {
		return licensing.ProvisioningNotice{}, internal(op, err)
	}
	etag, err := putRow(ctx, s.provisioningTable(noticesTable), op, "the "+n.Kind+" notice of agency "+n.Agency, b, pre)
	if err != nil {
		return licensing.ProvisioningNotice{}, err
	}
	n.ETag = etag
	return n, nil
}

func checkNoticeKeys(op, agency, kind string) error {
	if err := checkKey(op, "The agency id", agency); err != nil {
		return err
	}
	return checkKey(op, "The kind of notice", kind)
}

func noticeFrom(op string, raw []byte) (licensing.ProvisioningNotice, error) {
	props, err := decodeEntity(raw)
	if err != nil {
		return licensing.ProvisioningNotice{}, internal(op, err)
	}
	n := licensing.ProvisioningNotice{Agency: getString(props, "PartitionKey"), Kind: getString(props, "RowKey"), Digest: getString(props, "Digest")}
	if err := checkSchema(props, "the "+n.Kind+" notice of agency "+n.Agency); err != nil {
		return licensing.ProvisioningNotice{}, internal(op, err)
	}
	seq, _ := props["Seq"].(float64)
	n.Seq = int(seq)
	if n.Sent, err = getTime(props, "Sent"); err != nil {
		return licensing.ProvisioningNotice{}, internal(op, err)
	}
	return n, nil
}

// putRow writes entity to table under pre and returns its new ETag.
// pre.IfNoneMatch adds it: an existing row is Stale. pre.IfMatch replaces
// the row with that ETag ("*": any row): a row changed since, or no row at
// all, is Stale. Neither creates or replaces. Both is Invalid.
func putRow(ctx context.Context, table *aztables.Client, op, what string, entity []byte, pre licensing.Precondition) (string, error) {
	var etag azcore.ETag
	var err error
	switch {
	case pre.IfNoneMatch && pre.IfMatch != "":
		return "", licensing.Errorf(op, licensing.Invalid, "If-Match and If-None-Match cannot be used together.")
	case pre.IfNoneMatch:
		var resp aztables.AddEntityResponse
		resp, err = table.AddEntity(ctx, entity, nil)
		if azerr.Classify(err) == licensing.Conflict {
			return "", licensing.Wrap(op, licensing.Stale, azerr.Message(licensing.Conflict, what), err)
		}
		etag = resp.ETag
	case pre.IfMatch != "":
		if pre.IfMatch != "*" && !tableETag.MatchString(pre.IfMatch) {
			// No row carries such an ETag; sent on, the service would
			// refuse it as bad input (400) rather than as a failed
			// condition.
			return "", stale(op, what, nil)
		}
		match := azcore.ETag(pre.IfMatch)
		var resp aztables.UpdateEntityResponse
		resp, err = table.UpdateEntity(ctx, entity, &aztables.UpdateEntityOptions{UpdateMode: aztables.UpdateModeReplace, IfMatch: &match})
		if c := azerr.Classify(err); c == licensing.Stale || c == licensing.NotFound {
			return "", stale(op, what, err)
		}
		etag = resp.ETag
	default:
		var resp aztables.UpsertEntityResponse
		resp, err = table.UpsertEntity(ctx, entity, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace})
		etag = resp.ETag
	}
	if err != nil {
		return "", azerr.Translate(op, what, err)
	}
	return string(etag), nil
}
