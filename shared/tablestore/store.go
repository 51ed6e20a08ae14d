// Package tablestore keeps the domain's records in Azure Table Storage: it
// implements licensing.AgencyStore and licensing.RunStore on aztables.
//
// Every SDK or network failure is translated at this package's edge into a
// *licensing.Error by package azerr (404 NotFound, 409 Conflict, 412 Stale,
// 429, 5xx and timeouts Unavailable, anything else Internal); the message is
// safe to show and the SDK error is kept for the logs.
//
// Layout:
//
//	{prefix}Agencies  PartitionKey = agency id
//	                  RowKey "config": the configuration; lists as JSON strings
//	                  RowKey "history-{inverted time}-{random}": one audit row
//	                  per write, in the same transaction as the write
//	                  RowKey "writer": Seq, taken by each write (claims.go)
//	                  PartitionKey "claims", RowKey "{attribute}-{hash}": one
//	                  attribution value claimed, with the Agency holding it
//	{prefix}Runs      PartitionKey "runs"
//	                  RowKey {MaxInt64 - Started in Unix ns, 19 digits}-{run id},
//	                  so that a listing returns the newest runs first
//	{prefix}Snapshots PartitionKey "s-{snapshot id}"
//	                  RowKey "meta": the snapshot's summary (JSON)
//	                  RowKey "u-{agency}|{sku id}": one usage count
//	                  PartitionKey "latest", RowKey "pointer": the id of the
//	                  newest published snapshot, written last
//	{prefix}Deliveries PartitionKey = report run (payroll-2026-11-23),
//	                  RowKey = report (agency id, enterprise-summary)
//	{prefix}Requests  PartitionKey = agency id
//	                  RowKey "sr-{id}": a service request (JSON)
//	                  RowKey "po-{hex of the upper-case PO number}": the
//	                  index of the agency's requests by PO, written in the
//	                  same transaction as the request
//	                  RowKey "fp-{hex of the fingerprint}": the same for a
//	                  request created without a PO number
//	{prefix}Effects   PartitionKey = the effect key's kind (before the first
//	                  ':'), RowKey = hex SHA-256 of the key: one record
//	                  per effect (claimed, done, unconfirmed, released)
//	{prefix}Seats     PartitionKey "{agency}|{sku id}" (a SKU id holds no
//	                  '|'), RowKey = user id: one member of the agency's
//	                  delegated group for the SKU (UPN, FirstSeen, State,
//	                  Since, Error, Disabled)
//	{prefix}Grants    PartitionKey = sku id, RowKey = user id: one license
//	                  the app assigns (UPN, Agency, GroupID, State, Gen,
//	                  Since, Run, Detail); its ETag guards the next write
//	{prefix}Notices   PartitionKey = agency id, RowKey = kind of notice
//	                  ("waitlist", "errors"): the last state the delegates
//	                  were told of (Seq, Digest, Sent)
//	{prefix}Enrollments PartitionKey "enrollments", RowKey = enrollment
//	                  number: one Enterprise Agreement enrollment
//	                  (Anniversary, Kind, LastReported, UpdatedBy, Updated;
//	                  PlatformProducts, Reservations, Transitions and
//	                  Reductions as JSON)
//
// Seats, Grants, Notices and Enrollments rows carry explicit columns and a
// Schema number (see provisioning.go, enrollments.go and rows.go).
//
// The JSON held in properties is encoded from this package's payload types,
// not from the domain types, and rows holding it carry a Schema number (see
// rows.go).
package tablestore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/shared-tenant/licensetrack/shared/azerr"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Options configures a Store.
type Options struct {
	// TablePrefix is put before every table name (tables {prefix}Agencies
	// and {prefix}Runs): letters and digits, starting with a letter, or
	// empty.
	TablePrefix string
	// Now is the clock, used for audit rows of agencies written without an
	// Updated time and for the age of attribution claims. Default time.Now.
	Now func() time.Time
}

// Store keeps agencies and run records in Azure Table Storage.
type Store struct {
	svc       *aztables.ServiceClient
	agencies  *aztables.Client
	runs      *aztables.Client
	snapshots *aztables.Client
	requests  *aztables.Client
	delivery  *aztables.Client
	effects   *aztables.Client
	names     []string
	now       func() time.Time
}

var (
	_ licensing.AgencyStore   = (*Store)(nil)
	_ licensing.RunStore      = (*Store)(nil)
	_ licensing.SnapshotStore = (*Store)(nil)
	_ licensing.RequestStore  = (*Store)(nil)
	_ licensing.Deliveries    = (*Store)(nil)
)

// Table name suffixes.
const (
	agenciesTable  = "Agencies"
	runsTable      = "Runs"
	snapshotsTable = "Snapshots"
	requestsTable  = "Requests"
	deliveryTable  = "Deliveries"
)

// New returns a Store on the table service svc. Call Init once before use.
func New(svc *aztables.ServiceClient, opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	names := []string{opts.TablePrefix + agenciesTable, opts.TablePrefix + runsTable, opts.TablePrefix + snapshotsTable,
		opts.TablePrefix + requestsTable, opts.TablePrefix + deliveryTable}
	names = append(names, opts.TablePrefix+purchasesTable)
	names = append(names, opts.TablePrefix+effectsTable)
	names = append(names, opts.TablePrefix+seatsTable, opts.TablePrefix+grantsTable, opts.TablePrefix+noticesTable)
	names = append(names, opts.TablePrefix+enrollmentsTable)
	names = append(names, opts.TablePrefix+snapJobsTable)
	return &Store{
		svc:       svc,
		agencies:  svc.NewClient(names[0]),
		runs:      svc.NewClient(names[1]),
		snapshots: svc.NewClient(names[2]),
		requests:  svc.NewClient(names[3]),
		delivery:  svc.NewClient(names[4]),
		effects:   svc.NewClient(opts.TablePrefix + effectsTable),
		names:     names,
		now:       opts.Now,
	}
}

// TableNames lists the tables the store uses.
func (s *Store) TableNames() []string { return append([]string(nil), s.names...) }

var tableNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{2,62}$`)

// Init creates the store's tables when they do not exist yet. It is safe to
// call again and from several instances at once.
func (s *Store) Init(ctx context.Context) error {
	const op = "tablestore.init"
	for _, name := range s.names {
		if !tableNamePattern.MatchString(name) {
			return licensing.Errorf(op, licensing.Internal, "The table prefix is not usable: table names must be 3 to 63 letters and digits starting with a letter.")
		}
		_, err := s.svc.CreateTable(ctx, name, nil)
		if err != nil && azerr.Classify(err) != licensing.Conflict {
			return azerr.Translate(op, "table "+name, err)
		}
	}
	return nil
}

// checkKey rejects values that cannot be a PartitionKey or RowKey: empty,
// over 1 KiB, or holding '/', '\', '#', '?' or control characters.
func checkKey(op, what, v string) error {
	bad := v == "" || len(v) > 1024 || strings.ContainsAny(v, `/\#?`) ||
		strings.IndexFunc(v, unicode.IsControl) >= 0
	if bad {
		return licensing.Errorf(op, licensing.Invalid, "%s must be 1 to 1024 characters without '/', '\\', '#', '?' or control characters.", what)
	}
	return nil
}

// quote returns v as an OData string literal: in single quotes, with single
// quotes doubled.
func quote(v string) string {
	return "'" + strings.ReplaceAll(v, "'", "''") + "'"
}

// Property values are limited to 64 KiB, that is 32 Ki UTF-16 code units
// for a string. Longer strings are split over the properties name, name_1,
// name_2, ... each holding at most maxChunk code units.
const maxChunk = 30000

// setLong stores s in props under name, split as needed.
func setLong(props map[string]any, name, s string) {
	i, units, start := 0, 0, 0
	for pos, r := range s {
		n := utf16.RuneLen(r)
		if n < 0 {
			n = 1
		}
		if units+n > maxChunk {
			props[chunkName(name, i)] = s[start:pos]
			i, units, start = i+1, 0, pos
		}
		units += n
	}
	props[chunkName(name, i)] = s[start:]
}

// getLong joins what setLong stored under name.
func getLong(props map[string]any, name string) string {
	var b strings.Builder
	for i := 0; ; i++ {
		v, ok := props[chunkName(name, i)].(string)
		if !ok {
			return b.String()
		}
		b.WriteString(v)
	}
}

func chunkName(name string, i int) string {
	if i == 0 {
		return name
	}
	return fmt.Sprintf("%s_%d", name, i)
}

// edmTimeLayout is the Edm.DateTime form: UTC with 100 ns precision.
const edmTimeLayout = "2006-01-02T15:04:05.0000000Z"

// earliestEdm is the earliest time an Edm.DateTime holds.
var earliestEdm = time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)

// setTime stores t as an Edm.DateTime under name; a zero time (or one
// before 1601, which the service cannot hold) is left out.
func setTime(props map[string]any, name string, t time.Time) {
	if t.Before(earliestEdm) {
		return
	}
	props[name] = t.UTC().Format(edmTimeLayout)
	props[name+"@odata.type"] = "Edm.DateTime"
}

// getTime reads an Edm.DateTime; absent gives the zero time.
func getTime(props map[string]any, name string) (time.Time, error) {
	v, ok := props[name].(string)
	if !ok {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("property %s: %w", name, err)
	}
	return t.UTC(), nil
}

func getString(props map[string]any, name string) string {
	v, _ := props[name].(string)
	return v
}

// decodeEntity parses an entity as the service returns it.
func decodeEntity(b []byte) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decoding entity: %w", err)
	}
	return m, nil
}

// etagOf returns the ETag a listed entity carries in its odata.etag.
func etagOf(props map[string]any) string {
	return getString(props, "odata.etag")
}

// invertedTime returns math.MaxInt64 - t in Unix nanoseconds, zero-padded to
// 19 digits: later times sort first. t must be within 1970 to 2262.
func invertedTime(t time.Time) string {
	return fmt.Sprintf("%019d", math.MaxInt64-t.UnixNano())
}

// inRange reports whether t can be written by invertedTime.
func inRange(t time.Time) bool {
	return !t.Before(time.Unix(0, 0)) && t.Before(time.Unix(0, math.MaxInt64))
}

func randomSuffix() string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("tablestore: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// internal wraps a local failure (encoding, decoding) as Internal.
func internal(op string, err error) error {
	return licensing.Wrap(op, licensing.Internal, azerr.Message(licensing.Internal, ""), err)
}

// eachEntity passes every entity of table that matches filter to fn, page
// by page. An SDK failure is translated for op and what; an error from fn
// stops the listing and is returned as it is.
func eachEntity(ctx context.Context, table *aztables.Client, filter, op, what string, fn func(raw []byte) error) error {
	pager := table.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return azerr.Translate(op, what, err)
		}
		for _, e := range page.Entities {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}
