// Package graphfake is a fake Microsoft Graph server over real HTTP, for the
// Graph adapter's tests and for the local demo. It holds a tenant in memory
// (users, groups, devices, subscribed SKUs, subscriptions) and serves the
// JSON shapes Graph v1.0 documents for the reads the app makes: /users with
// $select, $top, $filter on userPrincipalName (ge, le) and absolute
// @odata.nextLink paging, /users/delta with delta
// and skip tokens, group transitive members, /subscribedSkus and
// /directory/subscriptions. It also takes mail as Graph does: sendMail with
// inline attachments, and drafts with attachments posted or uploaded through
// upload sessions (a pre-authenticated upload URL taking Content-Range
// chunks) and then sent; SentMail lists what was delivered, with every
// attachment reassembled. It assigns licenses (assignLicense with the
// refusals Graph gives: no usage location, no free unit, mutually exclusive
// SKUs), sets usage locations (PATCH /users/{id}) and reads one user, each
// directly or inside a JSON $batch of up to 20 requests; Assignments lists
// what was applied. Faults (429 and 503 storms, any status) can be
// injected, every request is counted by endpoint and recorded with its query,
// and the tenant can be changed between runs so that delta reads have
// something to find.
//
// A large tenant need not be held in memory: a UserSource generates users on
// demand by position, and the Tenant keeps only what was changed since.
// Nothing here depends on the testing package or on the Graph SDK.
package graphfake

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// User is one user of the fake tenant.
type User struct {
	ID                string
	UserPrincipalName string
	DisplayName       string
	Mail              string
	Department        string
	CompanyName       string
	OfficeLocation    string
	// ExtensionAttributes are onPremisesExtensionAttributes
	// extensionAttribute1..15 at index 0..14; "" is served as null.
	ExtensionAttributes [15]string
	UsageLocation       string
	AccountEnabled      bool
	Created             time.Time
	// LastSignIn and LastNonInteractiveSignIn are signInActivity; nil is
	// served as null (never signed in).
	LastSignIn               *time.Time
	LastNonInteractiveSignIn *time.Time
	// Licenses are the user's licenseAssignmentStates.
	Licenses []LicenseState
}

// LicenseState is one license assignment of a user: one SKU, assigned
// directly or through one group.
type LicenseState struct {
	// SkuID is the SKU's GUID.
	SkuID string
	// AssignedByGroup is the id of the group the license comes through, ""
	// for a direct assignment. A user holding a license through a group is
	// a member of that group (see Group).
	AssignedByGroup string
	// Error is the assignment error (CountViolation, ...), "" when active.
	// A state in error is not counted in assignedLicenses nor consumed units.
	Error string
}

// Group is a group of the fake tenant.
type Group struct {
	ID          string
	DisplayName string
	// Members are the ids of the group's direct members: users, devices or
	// other groups. Users holding a license through the group
	// (LicenseState.AssignedByGroup) are members as well without being
	// listed, so that a generated tenant need not list a million ids.
	Members []string
}

// Device is a directory object that is not a user or a group (a device by
// default); it exists so that groups can have members that are not users.
type Device struct {
	ID          string
	DisplayName string
	// Type is the object's type: device when empty, or orgContact,
	// servicePrincipal.
	Type string
}

// Sku is one subscribed SKU. Its consumed units are counted from the users'
// active license states when it is served.
type Sku struct {
	SkuID            string
	PartNumber       string
	CapabilityStatus string
	Enabled          int
	Warning          int
	Suspended        int
	LockedOut        int
}

// Subscription is one commercial subscription (companySubscription).
type Subscription struct {
	ID                     string
	CommerceSubscriptionID string
	SkuID                  string
	PartNumber             string
	Status                 string
	TotalLicenses          int
	IsTrial                bool
	Created                time.Time
	// NextLifecycle is nil when unknown (served as null).
	NextLifecycle *time.Time
}

// UserSource generates the users of a large tenant on demand. User must
// return the same user for the same position every time, and Lookup must
// find the position of every id it generates.
type UserSource interface {
	Len() int
	User(i int) User
	Lookup(id string) (int, bool)
}

// slot states.
const (
	slotBase    = iota // the source's user, unchanged
	slotChanged        // replaced by a PutUser
	slotRemoved        // removed by RemoveUser
)

type slotState struct {
	kind      int
	user      *User
	permanent bool
}

type change struct {
	seq  uint64
	slot int
}

// Tenant is the fake tenant's state. It is safe for concurrent use; every
// method may be called while a Server is serving it.
type Tenant struct {
	mu sync.RWMutex

	source  UserSource
	baseLen int
	// states holds what differs from the source, by slot. Slots at or past
	// baseLen are users added with PutUser.
	states map[int]*slotState
	extra  int
	byID   map[string]int // slots of users that are not the source's

	// byUPN and putByUPN order the users by principal name (see index.go);
	// idxMu guards byUPN's build, which readers may start.
	idxMu    sync.Mutex
	byUPN    []int32
	putByUPN []upnEntry

	groups  map[string]*Group
	devices map[string]*Device
	skus    []Sku
	subs    []Subscription

	// seq counts changes to users; log records them for delta reads.
	seq   uint64
	log   []change
	epoch uint64

	signInForbidden bool
	tenantID        string
	// exclusive holds the SKU pairs that cannot be assigned together, each
	// pair under both orders.
	exclusive map[[2]string]bool

	// cached derived data, valid while version matches seq.
	consumed        map[string]int
	consumedVersion uint64
	consumedValid   bool
	members         map[string]memberCache
	// licensedBy lists the users holding a license through each group
	// (see groupLicensed), valid while licensedByVersion matches seq.
	licensedBy        map[string][]int
	licensedByVersion uint64
}

type memberCache struct {
	version uint64
	list    []memberRef
}

// NewTenant returns an empty tenant.
func NewTenant() *Tenant {
	return &Tenant{
		states:   map[int]*slotState{},
		byID:     map[string]int{},
		groups:   map[string]*Group{},
		devices:  map[string]*Device{},
		members:  map[string]memberCache{},
		epoch:    1,
		tenantID: "00000000-0000-0000-0000-00000000f4ce",
	}
}

// SetSource makes src the tenant's users, replacing every user the tenant
// had. Changes made afterwards are kept on top of the source.
func (t *Tenant) SetSource(src UserSource) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.source = src
	t.baseLen = 0
	if src != nil {
		t.baseLen = src.Len()
	}
	t.states = map[int]*slotState{}
	t.byID = map[string]int{}
	t.byUPN, t.putByUPN = nil, nil
	t.extra = 0
	t.log = nil
	t.seq++
	t.epoch++
	t.invalidate()
}

// SetTenantID sets the tenant id used in subscribedSku ids.
func (t *Tenant) SetTenantID(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tenantID = id
}

// SetSignInActivityForbidden makes the tenant answer any request selecting
// signInActivity with 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant,
// as Graph does for a tenant without Entra ID P1.
func (t *Tenant) SetSignInActivityForbidden(forbidden bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.signInForbidden = forbidden
}

// PutUser adds u, or replaces the user with u.ID. Delta reads report it.
func (t *Tenant) PutUser(u User) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.putLocked(u)
}

// putLocked stores u as PutUser does; t.mu must be held for writing.
func (t *Tenant) putLocked(u User) {
	u.ID = strings.ToLower(u.ID)
	cp := cloneUser(u)
	slot, ok := t.slotOf(u.ID)
	if !ok {
		slot = t.baseLen + t.extra
		t.extra++
	}
	var old *User
	if st := t.states[slot]; st != nil && st.kind == slotChanged {
		old = st.user
	}
	t.indexPut(slot, old, &cp)
	t.states[slot] = &slotState{kind: slotChanged, user: &cp}
	t.byID[u.ID] = slot
	t.record(slot)
}

// UpdateUser applies fn to a copy of the user with id and stores the result.
// It reports whether the user exists.
func (t *Tenant) UpdateUser(id string, fn func(*User)) bool {
	u, ok := t.User(id)
	if !ok {
		return false
	}
	fn(&u)
	u.ID = strings.ToLower(id)
	t.PutUser(u)
	return true
}

// RemoveUser deletes the user with id. A permanent removal is reported by
// delta reads with reason "deleted", a soft one (restorable) with "changed".
// It reports whether the user existed.
func (t *Tenant) RemoveUser(id string, permanent bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	id = strings.ToLower(id)
	slot, ok := t.slotOf(id)
	if !ok {
		return false
	}
	if st := t.states[slot]; st != nil && st.kind == slotRemoved {
		return false
	} else if st != nil {
		t.indexDrop(slot, st.user)
	}
	t.states[slot] = &slotState{kind: slotRemoved, user: &User{ID: id}, permanent: permanent}
	t.byID[id] = slot
	t.record(slot)
	return true
}

// User returns the current user with id.
func (t *Tenant) User(id string) (User, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	slot, ok := t.slotOf(strings.ToLower(id))
	if !ok {
		return User{}, false
	}
	u, live := t.userAt(slot)
	if !live {
		return User{}, false
	}
	return cloneUser(u), true
}

// UserCount returns the number of users the tenant has now.
func (t *Tenant) UserCount() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := t.baseLen + t.extra
	for _, st := range t.states {
		if st.kind == slotRemoved {
			n--
		}
	}
	return n
}

// EachUser calls fn for every current user in the order the fake serves
// them, until fn returns false. It holds a read lock: fn must not change the
// tenant.
func (t *Tenant) EachUser(fn func(User) bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for slot := 0; slot < t.baseLen+t.extra; slot++ {
		u, live := t.userAt(slot)
		if live && !fn(u) {
			return
		}
	}
}

// PutGroup adds or replaces a group.
func (t *Tenant) PutGroup(g Group) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g.ID = strings.ToLower(g.ID)
	g.Members = append([]string(nil), g.Members...)
	for i := range g.Members {
		g.Members[i] = strings.ToLower(g.Members[i])
	}
	t.groups[g.ID] = &g
	t.seq++
	t.invalidate()
}

// PutDevice adds or replaces a device.
func (t *Tenant) PutDevice(d Device) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d.ID = strings.ToLower(d.ID)
	t.devices[d.ID] = &d
}

// PutSku adds or replaces a subscribed SKU (by SkuID).
func (t *Tenant) PutSku(s Sku) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s.SkuID = strings.ToLower(s.SkuID)
	for i := range t.skus {
		if t.skus[i].SkuID == s.SkuID {
			t.skus[i] = s
			return
		}
	}
	t.skus = append(t.skus, s)
}

// Skus returns the subscribed SKUs with their consumed units.
func (t *Tenant) Skus() ([]Sku, map[string]int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Sku(nil), t.skus...), t.consumedLocked()
}

// PutSubscription adds or replaces a subscription (by ID).
func (t *Tenant) PutSubscription(s Subscription) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.subs {
		if t.subs[i].ID == s.ID {
			t.subs[i] = s
			return
		}
	}
	t.subs = append(t.subs, s)
}

// ExpireDeltaTokens makes every delta and skip token issued so far invalid:
// Graph answers them with 410 Gone, as it does for expired tokens.
func (t *Tenant) ExpireDeltaTokens() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.epoch++
	t.log = nil
}

// slotOf finds id's slot; t.mu must be held.
func (t *Tenant) slotOf(id string) (int, bool) {
	if slot, ok := t.byID[id]; ok {
		return slot, true
	}
	if t.source != nil {
		if i, ok := t.source.Lookup(id); ok && i >= 0 && i < t.baseLen {
			return i, true
		}
	}
	return 0, false
}

// userAt returns the user in slot and whether it is live; t.mu must be held.
func (t *Tenant) userAt(slot int) (User, bool) {
	if st := t.states[slot]; st != nil {
		if st.kind == slotRemoved {
			return *st.user, false
		}
		return *st.user, true
	}
	if slot < t.baseLen {
		return t.source.User(slot), true
	}
	return User{}, false
}

// record notes a change of slot for delta reads; t.mu must be held.
func (t *Tenant) record(slot int) {
	t.seq++
	t.log = append(t.log, change{seq: t.seq, slot: slot})
	t.invalidate()
}

func (t *Tenant) invalidate() {
	t.consumedValid = false
	t.members = map[string]memberCache{}
}

// consumedLocked counts active license states per SKU; t.mu must be held
// for writing (it caches).
func (t *Tenant) consumedLocked() map[string]int {
	if t.consumedValid && t.consumedVersion == t.seq {
		return t.consumed
	}
	counts := map[string]int{}
	for slot := 0; slot < t.baseLen+t.extra; slot++ {
		u, live := t.userAt(slot)
		if !live {
			continue
		}
		for _, sku := range activeSkus(u) {
			counts[sku]++
		}
	}
	t.consumed, t.consumedVersion, t.consumedValid = counts, t.seq, true
	return counts
}

// activeSkus returns the distinct SKUs u holds without error, sorted.
func activeSkus(u User) []string {
	var out []string
	for _, l := range u.Licenses {
		if l.Error != "" {
			continue
		}
		sku := strings.ToLower(l.SkuID)
		dup := false
		for _, s := range out {
			if s == sku {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, sku)
		}
	}
	sort.Strings(out)
	return out
}

func cloneUser(u User) User {
	u.Licenses = append([]LicenseState(nil), u.Licenses...)
	if u.LastSignIn != nil {
		v := *u.LastSignIn
		u.LastSignIn = &v
	}
	if u.LastNonInteractiveSignIn != nil {
		v := *u.LastNonInteractiveSignIn
		u.LastNonInteractiveSignIn = &v
	}
	return u
}

// Object kinds of group members.
const (
	kindUser   = "#microsoft.graph.user"
	kindGroup  = "#microsoft.graph.group"
	kindDevice = "#microsoft.graph.device"
)

type memberRef struct {
	kind string
	slot int    // users
	id   string // groups and other objects
}

// transitiveMembers lists the members of group id, through nested groups,
// each once: listed members first in breadth-first order, then users holding
// a license through any group reached. It reports false when the group does
// not exist. t.mu must be held for writing (it caches).
func (t *Tenant) transitiveMembers(id string) ([]memberRef, bool) {
	if _, ok := t.groups[id]; !ok {
		return nil, false
	}
	if c, ok := t.members[id]; ok && c.version == t.seq {
		return c.list, true
	}
	var out []memberRef
	seenUser := map[int]bool{}
	seenObj := map[string]bool{id: true}
	reached := map[string]bool{id: true}
	queue := []string{id}
	for len(queue) > 0 {
		g := t.groups[queue[0]]
		queue = queue[1:]
		if g == nil {
			continue
		}
		for _, m := range g.Members {
			if slot, ok := t.slotOf(m); ok {
				if _, live := t.userAt(slot); live && !seenUser[slot] {
					seenUser[slot] = true
					out = append(out, memberRef{kind: kindUser, slot: slot})
				}
				continue
			}
			if seenObj[m] {
				continue
			}
			switch {
			case t.groups[m] != nil:
				seenObj[m] = true
				reached[m] = true
				out = append(out, memberRef{kind: kindGroup, id: m})
				queue = append(queue, m)
			case t.devices[m] != nil:
				seenObj[m] = true
				out = append(out, memberRef{kind: "#microsoft.graph." + orDefault(t.devices[m].Type, "device"), id: m})
			}
		}
	}
	var licensed []int
	by := t.groupLicensed()
	for g := range reached {
		licensed = append(licensed, by[g]...)
	}
	slices.Sort(licensed)
	for _, slot := range licensed {
		if !seenUser[slot] {
			seenUser[slot] = true
			out = append(out, memberRef{kind: kindUser, slot: slot})
		}
	}
	t.members[id] = memberCache{version: t.seq, list: out}
	return out, true
}

// groupLicensed returns, by group id, the slots of the live users holding
// a license through the group, in slot order. One pass over the users
// serves every group read until the tenant changes. t.mu must be held for
// writing (it caches).
func (t *Tenant) groupLicensed() map[string][]int {
	if t.licensedBy != nil && t.licensedByVersion == t.seq {
		return t.licensedBy
	}
	by := map[string][]int{}
	for slot := 0; slot < t.baseLen+t.extra; slot++ {
		u, live := t.userAt(slot)
		if !live {
			continue
		}
		for _, l := range u.Licenses {
			if l.AssignedByGroup == "" {
				continue
			}
			g := strings.ToLower(l.AssignedByGroup)
			if list := by[g]; len(list) == 0 || list[len(list)-1] != slot {
				by[g] = append(list, slot)
			}
		}
	}
	t.licensedBy, t.licensedByVersion = by, t.seq
	return by
}

// AddSeats adds n prepaid (enabled) units to the SKU, creating it when the
// tenant does not have it yet: what an activation does to subscribedSkus.
func (t *Tenant) AddSeats(skuID, partNumber string, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	skuID = strings.ToLower(skuID)
	for i := range t.skus {
		if t.skus[i].SkuID == skuID {
			t.skus[i].Enabled += n
			return
		}
	}
	t.skus = append(t.skus, Sku{SkuID: skuID, PartNumber: partNumber, CapabilityStatus: "Enabled", Enabled: n})
}
