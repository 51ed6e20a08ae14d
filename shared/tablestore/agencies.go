package tablestore

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/shared-tenant/licensetrack/shared/azerr"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Row keys in an agency's partition.
const (
	configRow     = "config"
	historyPrefix = "history-"
	// historyEnd is the first row key after every history row ('.' follows
	// '-').
	historyEnd = "history."
)

// Audit actions.
const (
	ActionCreated  = "created"
	ActionReplaced = "replaced"
)

// AgencyChange is one entry of an agency's audit trail: the configuration as
// written, by whom, when, and whether it created or replaced the agency.
type AgencyChange struct {
	Agency licensing.Agency
	Action string
	Who    string
	When   time.Time
}

// GetAgency returns the agency with id, or NotFound.
func (s *Store) GetAgency(ctx context.Context, id string) (licensing.Agency, error) {
	const op = "tablestore.getAgency"
	if err := checkKey(op, "The agency id", id); err != nil {
		return licensing.Agency{}, err
	}
	resp, err := s.agencies.GetEntity(ctx, id, configRow, nil)
	if err != nil {
		return licensing.Agency{}, azerr.Translate(op, "agency "+id, err)
	}
	props, err := decodeEntity(resp.Value)
	if err != nil {
		return licensing.Agency{}, internal(op, err)
	}
	a, err := agencyFromEntity(props)
	if err != nil {
		return licensing.Agency{}, internal(op, err)
	}
	a.ETag = string(resp.ETag)
	return a, nil
}

// ListAgencies returns every agency ordered by id.
func (s *Store) ListAgencies(ctx context.Context) ([]licensing.Agency, error) {
	const op = "tablestore.listAgencies"
	filter := "RowKey eq " + quote(configRow)
	var out []licensing.Agency
	err := eachEntity(ctx, s.agencies, filter, op, "the agency list", func(e []byte) error {
		props, err := decodeEntity(e)
		if err != nil {
			return internal(op, err)
		}
		a, err := agencyFromEntity(props)
		if err != nil {
			return internal(op, err)
		}
		a.ETag = etagOf(props)
		out = append(out, a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// PutAgency creates or replaces a, writing an audit row in the same
// transaction, and claims the values of its attribution rule (see
// claims.go): a value another agency holds is Conflict, naming that
// agency, and nothing is written; the values its previous rule claimed and
// a no longer names are released. With pre.IfNoneMatch it only creates (an
// existing agency is Stale); with pre.IfMatch ("*" or an ETag) it only
// replaces the agency with that ETag (a different or missing one is
// Stale); with neither it creates or replaces, and a concurrent writer is
// never silently overwritten: the write is conditional on what was read,
// retried once, and Stale if it loses twice. It returns the stored agency
// with its new ETag.
func (s *Store) PutAgency(ctx context.Context, a licensing.Agency, pre licensing.Precondition) (licensing.Agency, bool, error) {
	const op = "tablestore.putAgency"
	if err := checkKey(op, "The agency id", a.ID); err != nil {
		return licensing.Agency{}, false, err
	}
	if a.ID == claimsPartition {
		return licensing.Agency{}, false, licensing.Errorf(op, licensing.Invalid, "The agency id %q is reserved.", a.ID)
	}
	if pre.IfNoneMatch && pre.IfMatch != "" {
		return licensing.Agency{}, false, licensing.Errorf(op, licensing.Invalid, "If-Match and If-None-Match cannot be used together.")
	}
	if pre.IfMatch != "" && pre.IfMatch != "*" && !tableETag.MatchString(pre.IfMatch) {
		// No row carries such an ETag; sent on, the service would refuse
		// it as bad input (400) rather than as a failed condition.
		return licensing.Agency{}, false, stale(op, "agency "+a.ID, nil)
	}
	attempts := 1
	if !pre.IfNoneMatch && pre.IfMatch == "" {
		attempts = 2
	}
	var created bool
	var err error
	for i := 0; i < attempts; i++ {
		created, err = s.putAgencyOnce(ctx, op, a, pre)
		if licensing.ErrorCode(err) != licensing.Stale {
			break
		}
	}
	if err != nil {
		return licensing.Agency{}, false, err
	}
	stored, err := s.GetAgency(ctx, a.ID)
	if err != nil {
		return licensing.Agency{}, false, err
	}
	return stored, created, nil
}

// putAgencyOnce is one attempt of PutAgency: the steps claims.go lists. A
// write without precondition is conditional on the agency as read after
// taking the writer row: an Add when there is none (a racing create makes
// it Conflict), else an UpdateReplace on its ETag. Losing the writer row or
// the agency to another write is Stale.
func (s *Store) putAgencyOnce(ctx context.Context, op string, a licensing.Agency, pre licensing.Precondition) (bool, error) {
	what := "agency " + a.ID
	if pre.IfNoneMatch || pre.IfMatch != "" {
		exists, _, err := s.configETag(ctx, op, a.ID)
		switch {
		case err != nil:
			return false, err
		case exists == pre.IfNoneMatch: // a create finds one, a replace none
			return false, stale(op, what, nil)
		}
	}
	w, err := s.takeWriter(ctx, op, a.ID)
	if err != nil {
		return false, err
	}
	var ifMatch *azcore.ETag
	switch {
	case pre.IfMatch != "":
		e := azcore.ETag(pre.IfMatch)
		ifMatch = &e
	case !pre.IfNoneMatch:
		exists, etag, err := s.configETag(ctx, op, a.ID)
		if err != nil {
			return false, err
		}
		if exists {
			ifMatch = &etag
		}
	}
	if err := s.claim(ctx, op, a); err != nil {
		// The claim's error is the answer; what this write claimed is
		// released, or left to the agency's next write.
		_ = s.release(ctx, op, a.ID, w.seq, nil)
		return false, err
	}
	err = s.writeAgency(ctx, op, a, ifMatch, w)
	// Written or not, the claims the stored rule does not name go: the
	// previous rule's after a write, this write's after a refusal. If this
	// fails, the agency's next write or another agency's takeover releases
	// them (see claims.go); the stored agency is right either way.
	var stored *licensing.AttributionRule
	if err == nil {
		stored = &a.Attribution
	}
	_ = s.release(ctx, op, a.ID, w.seq, stored)
	switch azerr.Classify(err) {
	case "":
		return ifMatch == nil, nil
	case licensing.Conflict, licensing.Stale, licensing.NotFound:
		return false, stale(op, what, err)
	default:
		return false, err
	}
}

// configETag reports whether agency id has a configuration row, with its
// ETag.
func (s *Store) configETag(ctx context.Context, op, id string) (bool, azcore.ETag, error) {
	resp, err := s.agencies.GetEntity(ctx, id, configRow, nil)
	switch azerr.Classify(err) {
	case "":
		return true, resp.ETag, nil
	case licensing.NotFound:
		return false, "", nil
	default:
		return false, "", azerr.Translate(op, "agency "+id, err)
	}
}

// writeAgency writes a's configuration row and an audit row in one
// transaction, an Add when ifMatch is nil, else an UpdateReplace on
// ifMatch, with a rewrite of the writer row on the ETag w holds: a write
// whose writer row was taken since changes nothing.
func (s *Store) writeAgency(ctx context.Context, op string, a licensing.Agency, ifMatch *azcore.ETag, w writer) error {
	action, kind := ActionCreated, aztables.TransactionTypeAdd
	if ifMatch != nil {
		action, kind = ActionReplaced, aztables.TransactionTypeUpdateReplace
	}
	config, err := json.Marshal(agencyEntity(a))
	if err != nil {
		return internal(op, err)
	}
	history, err := s.historyEntity(a, action)
	if err != nil {
		return internal(op, err)
	}
	return Transact(ctx, s.agencies, op, "agency "+a.ID, []aztables.TransactionAction{
		{ActionType: kind, Entity: config, IfMatch: ifMatch},
		{ActionType: aztables.TransactionTypeAdd, Entity: history},
		{ActionType: aztables.TransactionTypeUpdateReplace, Entity: writerEntity(a.ID, w.seq), IfMatch: &w.etag},
	})
}

// tableETag is the form of the ETags Table Storage gives entities: weak,
// holding the URL-encoded time of the last write.
var tableETag = regexp.MustCompile(`^W/"datetime'[0-9A-Za-z%.:_-]+'"$`)

func stale(op, what string, err error) error {
	return licensing.Wrap(op, licensing.Stale, azerr.Message(licensing.Stale, what), err)
}

// agencyEntity returns the configuration row of a: explicit columns, the
// lists as JSON.
func agencyEntity(a licensing.Agency) map[string]any {
	props := map[string]any{
		"PartitionKey": a.ID,
		"RowKey":       configRow,
		"UpdatedBy":    a.UpdatedBy,
	}
	setLong(props, "Name", a.Name)
	setLong(props, "Contacts", mustJSON([]string(a.Contacts)))
	setLong(props, "Delegates", mustJSON([]string(a.Delegates)))
	setLong(props, "Attribution", mustJSON(attributionPayloadOf(a.Attribution)))
	setLong(props, "DelegatedGroups", mustJSON(delegatedGroupsPayloadOf(a.DelegatedGroups)))
	setTime(props, "Updated", a.Updated)
	setSchema(props)
	return props
}

// agencyFromEntity reads a configuration row.
func agencyFromEntity(props map[string]any) (licensing.Agency, error) {
	a := licensing.Agency{
		ID:        getString(props, "PartitionKey"),
		Name:      getLong(props, "Name"),
		UpdatedBy: getString(props, "UpdatedBy"),
	}
	if err := checkSchema(props, "agency "+a.ID); err != nil {
		return a, err
	}
	var err error
	if a.Updated, err = getTime(props, "Updated"); err != nil {
		return a, err
	}
	var (
		contacts, delegates []string
		attribution         attributionPayload
		groups              []delegatedGroupPayload
	)
	for _, f := range []struct {
		name string
		dst  any
	}{
		{"Contacts", &contacts},
		{"Delegates", &delegates},
		{"Attribution", &attribution},
		{"DelegatedGroups", &groups},
	} {
		s := getLong(props, f.name)
		if s == "" {
			continue
		}
		if err := json.Unmarshal([]byte(s), f.dst); err != nil {
			return a, errors.New("agency " + a.ID + " property " + f.name + ": " + err.Error())
		}
	}
	a.Contacts, a.Delegates = contacts, delegates
	a.Attribution = attribution.rule()
	a.DelegatedGroups = delegatedGroupsOf(groups)
	return a, nil
}

// historyEntity returns a new audit row for writing a.
func (s *Store) historyEntity(a licensing.Agency, action string) ([]byte, error) {
	when := a.Updated
	if !inRange(when) {
		when = s.now()
	}
	full, err := encodePayload(agencyPayloadOf(a))
	if err != nil {
		return nil, err
	}
	props := map[string]any{
		"PartitionKey": a.ID,
		"RowKey":       historyPrefix + invertedTime(when) + "-" + randomSuffix(),
		"Action":       action,
		"Who":          a.UpdatedBy,
	}
	setLong(props, "Agency", full)
	setTime(props, "When", when)
	setSchema(props)
	return json.Marshal(props)
}

// agencyPayload is the JSON of an agency in the Agency property of a
// history row: the configuration as written.
type agencyPayload struct {
	ID              string                  `json:"id"`
	Name            string                  `json:"name"`
	Contacts        []string                `json:"contacts"`
	Delegates       []string                `json:"delegates"`
	Attribution     attributionPayload      `json:"attribution"`
	DelegatedGroups []delegatedGroupPayload `json:"delegatedGroups"`
	Updated         time.Time               `json:"updated"`
	UpdatedBy       string                  `json:"updatedBy"`
	// ETag is the ETag the written agency carried, if any; it is read back
	// as the history entry's.
	ETag string `json:"etag,omitempty"`
}

// attributionPayload is an attribution rule: the Attribution property of a
// configuration row, and part of an agencyPayload.
type attributionPayload struct {
	Attribute string   `json:"attribute"`
	Values    []string `json:"values,omitempty"`
	GroupID   string   `json:"groupId,omitempty"`
}

// delegatedGroupPayload is one delegated group: an element of the
// DelegatedGroups property of a configuration row, and of an agencyPayload.
type delegatedGroupPayload struct {
	Product string `json:"product"`
	GroupID string `json:"groupId"`
}

func agencyPayloadOf(a licensing.Agency) agencyPayload {
	return agencyPayload{
		ID:              a.ID,
		Name:            a.Name,
		Contacts:        a.Contacts,
		Delegates:       a.Delegates,
		Attribution:     attributionPayloadOf(a.Attribution),
		DelegatedGroups: delegatedGroupsPayloadOf(a.DelegatedGroups),
		Updated:         a.Updated,
		UpdatedBy:       a.UpdatedBy,
		ETag:            a.ETag,
	}
}

func (p agencyPayload) agency() licensing.Agency {
	return licensing.Agency{
		ID:              p.ID,
		Name:            p.Name,
		Contacts:        p.Contacts,
		Delegates:       p.Delegates,
		Attribution:     p.Attribution.rule(),
		DelegatedGroups: delegatedGroupsOf(p.DelegatedGroups),
		Updated:         p.Updated,
		UpdatedBy:       p.UpdatedBy,
		ETag:            p.ETag,
	}
}

func attributionPayloadOf(r licensing.AttributionRule) attributionPayload {
	return attributionPayload{Attribute: r.Attribute, Values: r.Values, GroupID: r.GroupID}
}

func (p attributionPayload) rule() licensing.AttributionRule {
	return licensing.AttributionRule{Attribute: p.Attribute, Values: p.Values, GroupID: p.GroupID}
}

func delegatedGroupsPayloadOf(gs []licensing.DelegatedGroup) []delegatedGroupPayload {
	return mapSlice(gs, func(g licensing.DelegatedGroup) delegatedGroupPayload {
		return delegatedGroupPayload{Product: g.Product, GroupID: g.GroupID}
	})
}

func delegatedGroupsOf(ps []delegatedGroupPayload) []licensing.DelegatedGroup {
	return mapSlice(ps, func(p delegatedGroupPayload) licensing.DelegatedGroup {
		return licensing.DelegatedGroup{Product: p.Product, GroupID: p.GroupID}
	})
}

// AgencyHistory returns the audit trail of agency id, newest first, at most
// limit entries (all when limit is 0 or less). An agency never written has
// an empty trail.
func (s *Store) AgencyHistory(ctx context.Context, id string, limit int) ([]AgencyChange, error) {
	const op = "tablestore.agencyHistory"
	if err := checkKey(op, "The agency id", id); err != nil {
		return nil, err
	}
	filter := "PartitionKey eq " + quote(id) + " and RowKey ge " + quote(historyPrefix) + " and RowKey lt " + quote(historyEnd)
	pager := s.agencies.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Top: pageSize(limit)})
	var out []AgencyChange
	for pager.More() && (limit <= 0 || len(out) < limit) {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, azerr.Translate(op, "the history of agency "+id, err)
		}
		for _, e := range page.Entities {
			props, err := decodeEntity(e)
			if err != nil {
				return nil, internal(op, err)
			}
			c := AgencyChange{Action: getString(props, "Action"), Who: getString(props, "Who")}
			if c.When, err = getTime(props, "When"); err != nil {
				return nil, internal(op, err)
			}
			what := "agency history row " + getString(props, "RowKey")
			if err := checkSchema(props, what); err != nil {
				return nil, internal(op, err)
			}
			var p agencyPayload
			if err := decodePayload(getLong(props, "Agency"), what, &p); err != nil {
				return nil, internal(op, err)
			}
			c.Agency = p.agency()
			out = append(out, c)
			if limit > 0 && len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// pageSize returns the $top for a listing that needs limit rows (0: all).
func pageSize(limit int) *int32 {
	if limit <= 0 || limit >= 1000 {
		return nil
	}
	n := int32(limit)
	return &n
}

// mustJSON returns the JSON of v, a payload of this package or a list or
// map of plain values.
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Only payloads of this package and lists and maps of strings and
		// numbers come here.
		panic("tablestore: " + err.Error())
	}
	return strings.TrimSpace(string(b))
}
