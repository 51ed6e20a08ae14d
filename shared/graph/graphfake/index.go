package graphfake

import (
	"slices"
	"sort"
	"strings"
)

// The tenant keeps its users ordered by lower-cased user principal name
// (ties by slot), as Graph's directory index does, so that a page of
// /users with a userPrincipalName range finds its first user by binary
// search instead of walking the tenant. The order has two parts:
//
//   - the source's users, as slots sorted by their generated names (4 bytes
//     a user), built by the first filtered read after SetSource and
//     unchanged afterwards: a slot that has changed since (slotChanged or
//     slotRemoved) is skipped when read;
//   - the users put since SetSource (changed source users and added ones),
//     as sorted (name, slot) entries that PutUser and RemoveUser keep up to
//     date.
//
// A filtered page's skiptoken names the last (name, slot) served, so the
// next page starts after it: a user renamed to a name after it is served
// under its new name, one renamed to a name before it is not.

// upnEntry is one user put since SetSource: its lower-cased principal name
// and its slot.
type upnEntry struct {
	key  string
	slot int
}

// upnPos is a position in the order: a name and a slot.
type upnPos struct {
	key  string
	slot int
}

// after reports whether (key, slot) comes after p.
func (p upnPos) after(key string, slot int) bool {
	return key > p.key || (key == p.key && slot > p.slot)
}

// upnKey is the key the order sorts u by.
func upnKey(u *User) string { return strings.ToLower(u.UserPrincipalName) }

// sourceOrder returns the source's slots sorted by name, building it on
// first use. t.mu must be held (for reading at least); idxMu guards the
// build against concurrent readers.
func (t *Tenant) sourceOrder() []int32 {
	t.idxMu.Lock()
	defer t.idxMu.Unlock()
	if t.byUPN != nil || t.baseLen == 0 {
		return t.byUPN
	}
	keys := make([]string, t.baseLen)
	order := make([]int32, t.baseLen)
	for i := range keys {
		u := t.source.User(i)
		keys[i] = upnKey(&u)
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if c := strings.Compare(keys[a], keys[b]); c != 0 {
			return c
		}
		return int(a - b)
	})
	t.byUPN = order
	return order
}

// indexPut records that slot now holds u, replacing the entry of the user
// it held before (old, nil when it held none or the source's user). t.mu
// must be held for writing.
func (t *Tenant) indexPut(slot int, old, u *User) {
	if old != nil {
		t.indexDrop(slot, old)
	}
	e := upnEntry{key: upnKey(u), slot: slot}
	i := t.putIndexSearch(upnPos(e))
	t.putByUPN = slices.Insert(t.putByUPN, i, e)
}

// indexDrop removes the entry of old in slot. t.mu must be held for
// writing.
func (t *Tenant) indexDrop(slot int, old *User) {
	p := upnPos{key: upnKey(old), slot: slot}
	if i := t.putIndexSearch(p); i < len(t.putByUPN) && t.putByUPN[i] == upnEntry(p) {
		t.putByUPN = slices.Delete(t.putByUPN, i, i+1)
	}
}

// putIndexSearch returns the index of the first put entry at or after p.
func (t *Tenant) putIndexSearch(p upnPos) int {
	return sort.Search(len(t.putByUPN), func(i int) bool {
		e := t.putByUPN[i]
		return e.key > p.key || (e.key == p.key && e.slot >= p.slot)
	})
}

// usersAfter returns up to top live users in r after the position from
// (the first ones in r when from is nil), in the order, and the position
// of the last one returned when more follow in r (nil otherwise). t.mu must
// be held for reading at least.
func (t *Tenant) usersAfter(r upnRange, from *upnPos, top int) ([]User, *upnPos) {
	start := upnPos{key: r.from, slot: -1}
	if from != nil && start.after(from.key, from.slot) {
		start = *from
	}
	base := t.sourceOrder()
	bi := sort.Search(len(base), func(i int) bool {
		u := t.source.User(int(base[i]))
		return start.after(upnKey(&u), int(base[i]))
	})
	pi := sort.Search(len(t.putByUPN), func(i int) bool {
		return start.after(t.putByUPN[i].key, t.putByUPN[i].slot)
	})
	// next returns the next user in the order, merging both parts.
	var pending *User
	var pendingSlot int
	var pendingKey string
	next := func() (User, upnPos, bool) {
		for pending == nil && bi < len(base) {
			slot := int(base[bi])
			bi++
			if t.states[slot] != nil {
				continue
			}
			u := t.source.User(slot)
			pending, pendingSlot, pendingKey = &u, slot, upnKey(&u)
		}
		if pi < len(t.putByUPN) {
			e := t.putByUPN[pi]
			if pending == nil || !(upnPos{key: pendingKey, slot: pendingSlot}).after(e.key, e.slot) {
				pi++
				return *t.states[e.slot].user, upnPos(e), true
			}
		}
		if pending == nil {
			return User{}, upnPos{}, false
		}
		u, p := *pending, upnPos{key: pendingKey, slot: pendingSlot}
		pending = nil
		return u, p, true
	}
	var page []User
	var last upnPos
	for {
		u, p, ok := next()
		if !ok || (r.to != "" && p.key > r.to) {
			return page, nil
		}
		if len(page) == top {
			return page, &last
		}
		page = append(page, u)
		last = p
	}
}
