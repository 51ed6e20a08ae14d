package memstore

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

var _ licensing.ProvisioningStore = (*Store)(nil)

// provisioningState holds the members of delegated groups, the grants and
// the notices; Store.mu guards it.
type provisioningState struct {
	// seats: agency|sku id -> user id -> member.
	seats map[string]map[string]licensing.SeatMember
	// grants: sku id -> user id -> grant.
	grants map[string]map[string]licensing.LicenseGrant
	// notices: agency, kind -> notice.
	notices map[[2]string]licensing.ProvisioningNotice
}

// prov returns the state, creating it; s.mu is held.
func (s *Store) prov() *provisioningState {
	if s.provisioning == nil {
		s.provisioning = &provisioningState{seats: map[string]map[string]licensing.SeatMember{},
			grants: map[string]map[string]licensing.LicenseGrant{}, notices: map[[2]string]licensing.ProvisioningNotice{}}
	}
	return s.provisioning
}

// earliestEdm is the earliest time Table Storage holds.
var earliestEdm = time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)

// storedTime returns t as Table Storage keeps it: UTC, to 100 ns, and the
// zero time for a time before 1601.
func storedTime(t time.Time) time.Time {
	if t.Before(earliestEdm) {
		return time.Time{}
	}
	return t.UTC().Truncate(100 * time.Nanosecond)
}

// checkGroupKeys refuses an agency or SKU id that cannot be a table key, or
// a SKU id holding '|', as tablestore does.
func checkGroupKeys(op, agency, skuID string) error {
	if badKey(agency) {
		return licensing.Errorf(op, licensing.Invalid, "The agency id must be 1 to 1024 characters without '/', '\\', '#', '?' or control characters.")
	}
	return checkSku(op, skuID)
}

func checkSku(op, skuID string) error {
	if badKey(skuID) || strings.Contains(skuID, "|") {
		return licensing.Errorf(op, licensing.Invalid, "The SKU id must be 1 to 1024 characters without '|', '/', '\\', '#', '?' or control characters.")
	}
	return nil
}

// SeatMembers returns the members stored for agency's group for skuID,
// ordered by user id.
func (s *Store) SeatMembers(ctx context.Context, agency, skuID string) ([]licensing.SeatMember, error) {
	const op = "memstore.seatMembers"
	if err := ctx.Err(); err != nil {
		return nil, unavailable(op, err)
	}
	if err := checkGroupKeys(op, agency, skuID); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []licensing.SeatMember
	for _, m := range s.prov().seats[agency+"|"+skuID] {
		out = append(out, m)
	}
	sortBy(out, func(m licensing.SeatMember) string { return m.UserID })
	return out, nil
}

// SaveSeatMembers writes put and deletes gone, all at once. A member of
// another agency or SKU, a user id that cannot be a table key, or one named
// twice (in put, or in put and gone) is Invalid, and nothing is written.
func (s *Store) SaveSeatMembers(ctx context.Context, agency, skuID string, put []licensing.SeatMember, gone []string) error {
	const op = "memstore.saveSeatMembers"
	if err := ctx.Err(); err != nil {
		return unavailable(op, err)
	}
	if err := checkGroupKeys(op, agency, skuID); err != nil {
		return err
	}
	ids := make(map[string]bool, len(put))
	for _, m := range put {
		if (m.Agency != "" && m.Agency != agency) || (m.SkuID != "" && m.SkuID != skuID) {
			return licensing.Errorf(op, licensing.Invalid, "Member %s is of agency %q and SKU %q, not of %s and %s: save each group's members on their own.", m.UserID, m.Agency, m.SkuID, agency, skuID)
		}
		if badKey(m.UserID) || ids[m.UserID] {
			return licensing.Errorf(op, licensing.Invalid, "Member %q is named twice or is not a usable user id; put each member once.", m.UserID)
		}
		ids[m.UserID] = true
	}
	for _, id := range gone {
		if badKey(id) || ids[id] {
			return licensing.Errorf(op, licensing.Invalid, "Departed member %q is also put or is not a usable user id; name it once.", id)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := agency + "|" + skuID
	group := s.prov().seats[key]
	if group == nil {
		group = map[string]licensing.SeatMember{}
		s.prov().seats[key] = group
	}
	for _, m := range put {
		m.Agency, m.SkuID = agency, skuID
		m.FirstSeen, m.Since = storedTime(m.FirstSeen), storedTime(m.Since)
		group[m.UserID] = m
	}
	for _, id := range gone {
		delete(group, id)
	}
	return nil
}

// Grants returns every grant of skuID, ordered by user id.
func (s *Store) Grants(ctx context.Context, skuID string) ([]licensing.LicenseGrant, error) {
	const op = "memstore.grants"
	if err := ctx.Err(); err != nil {
		return nil, unavailable(op, err)
	}
	if err := checkSku(op, skuID); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []licensing.LicenseGrant
	for _, g := range s.prov().grants[skuID] {
		out = append(out, g)
	}
	sortBy(out, func(g licensing.LicenseGrant) string { return g.UserID })
	return out, nil
}

// PutGrant writes g under pre (see checkPre) and returns it as stored.
func (s *Store) PutGrant(ctx context.Context, g licensing.LicenseGrant, pre licensing.Precondition) (licensing.LicenseGrant, error) {
	const op = "memstore.putGrant"
	if err := ctx.Err(); err != nil {
		return licensing.LicenseGrant{}, unavailable(op, err)
	}
	if err := checkSku(op, g.SkuID); err != nil {
		return licensing.LicenseGrant{}, err
	}
	if badKey(g.UserID) {
		return licensing.LicenseGrant{}, licensing.Errorf(op, licensing.Invalid, "The user id of a grant must be 1 to 1024 characters without '/', '\\', '#', '?' or control characters.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	grants := s.prov().grants[g.SkuID]
	cur, exists := grants[g.UserID]
	what := "The grant of SKU " + g.SkuID + " to user " + g.UserID
	if err := checkPre(op, what, pre, exists, cur.ETag); err != nil {
		return licensing.LicenseGrant{}, err
	}
	if grants == nil {
		grants = map[string]licensing.LicenseGrant{}
		s.prov().grants[g.SkuID] = grants
	}
	g.Since = storedTime(g.Since)
	g.ETag = s.nextETag()
	grants[g.UserID] = g
	return g, nil
}

// GetNotice returns agency's notice of kind, NotFound when none is stored.
func (s *Store) GetNotice(ctx context.Context, agency, kind string) (licensing.ProvisioningNotice, error) {
	const op = "memstore.getNotice"
	if err := ctx.Err(); err != nil {
		return licensing.ProvisioningNotice{}, unavailable(op, err)
	}
	if err := checkNoticeKeys(op, agency, kind); err != nil {
		return licensing.ProvisioningNotice{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.prov().notices[[2]string{agency, kind}]
	if !ok {
		return licensing.ProvisioningNotice{}, licensing.Errorf(op, licensing.NotFound, "The %s notice of agency %s does not exist.", kind, agency)
	}
	return n, nil
}

// PutNotice writes n under pre (see checkPre) and returns it as stored.
func (s *Store) PutNotice(ctx context.Context, n licensing.ProvisioningNotice, pre licensing.Precondition) (licensing.ProvisioningNotice, error) {
	const op = "memstore.putNotice"
	if err := ctx.Err(); err != nil {
		return licensing.ProvisioningNotice{}, unavailable(op, err)
	}
	if err := checkNoticeKeys(op, n.Agency, n.Kind); err != nil {
		return licensing.ProvisioningNotice{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := [2]string{n.Agency, n.Kind}
	cur, exists := s.prov().notices[key]
	if err := checkPre(op, "The "+n.Kind+" notice of agency "+n.Agency, pre, exists, cur.ETag); err != nil {
		return licensing.ProvisioningNotice{}, err
	}
	n.Sent = storedTime(n.Sent)
	n.ETag = s.nextETag()
	s.prov().notices[key] = n
	return n, nil
}

func checkNoticeKeys(op, agency, kind string) error {
	if badKey(agency) || badKey(kind) {
		return licensing.Errorf(op, licensing.Invalid, "The agency id and the kind of notice must be 1 to 1024 characters without '/', '\\', '#', '?' or control characters.")
	}
	return nil
}

// checkPre applies pre to the stored row, as tablestore does: IfNoneMatch
// on an existing row, and IfMatch on a missing row or one with another
// ETag, are Stale; both at once are Invalid.
func checkPre(op, what string, pre licensing.Precondition, exists bool, etag string) error {
	switch {
	case pre.IfNoneMatch && pre.IfMatch != "":
		return licensing.Errorf(op, licensing.Invalid, "If-Match and If-None-Match cannot be used together.")
	case pre.IfNoneMatch && exists:
		return licensing.Errorf(op, licensing.Stale, "%s exists already.", what)
	case pre.IfMatch != "" && (!exists || (pre.IfMatch != "*" && pre.IfMatch != etag)):
		return licensing.Errorf(op, licensing.Stale, "%s was changed by someone else in the meantime; read it again and retry.", what)
	}
	return nil
}

// nextETag returns a new ETag; s.mu is held.
func (s *Store) nextETag() string {
	s.version++
	return `W/"` + strconv.FormatUint(s.version, 10) + `"`
}

// sortBy sorts list by the key of each element.
func sortBy[T any](list []T, key func(T) string) {
	slices.SortFunc(list, func(a, b T) int { return strings.Compare(key(a), key(b)) })
}
