package fakes

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// SKUs and groups of the sample tenant.
const (
	SkuE3         = "6fd2c87f-b296-42f0-b197-1e91e994b900"
	SkuVisio      = "c5928f49-12ba-48f7-ada3-0d743a3601d5"
	SkuPowerBIPro = "f8a1db68-be16-40ed-86d5-cb42ce701560"
	// GroupDOT is the group that agency DOT attributes by; u06 is its only
	// member.
	GroupDOT = "aaaaaaaa-0000-0000-0000-000000000001"
)

var _ licensing.Directory = (*Directory)(nil)

// Directory is a small working directory: users, a change log for delta
// reads, group members and tenant SKUs.
type Directory struct {
	Users   map[string]licensing.DirectoryUser
	Members map[string][]string
	Skus    []licensing.TenantSku
	// Subs are the tenant's commercial subscriptions, as Subscriptions
	// returns them.
	Subs []licensing.TenantSubscription
	// Changes are what the next delta read returns.
	Changes []licensing.DirectoryUser
	// Round counts the reads; the delta link of read n is "delta-n".
	Round int
	// Expired makes the next delta read fail as Stale when it is strict,
	// and turns it into a full read when it is not.
	Expired bool
	// Fail is returned after the first user of the next read.
	Fail error
	// Reads lists the reads done: "full", "delta", "continue" (a full read
	// continued from a Cursor), "signin" (SignInOnly) or "link" (LinkOnly).
	Reads []string
	// PageSize is the number of users in a page of a full read; 0 means 2.
	PageSize int
	// BeforePage, when set, runs before each page of a full read is taken,
	// with the page's number in the whole read (1 for the first, counting
	// on across calls continued from a Cursor), outside the directory's
	// lock: a test changes users there (Change, Remove, Put) to play a
	// directory that changes during a read.
	BeforePage func(page int)
	// NoSignIn plays a tenant without sign-in activity for SignInOnly reads.
	NoSignIn bool

	mu sync.Mutex
}

// SubscribedSkus returns Skus.
func (d *Directory) SubscribedSkus(context.Context) ([]licensing.TenantSku, error) {
	return d.Skus, nil
}

// Subscriptions returns Subs.
func (d *Directory) Subscriptions(context.Context) ([]licensing.TenantSubscription, error) {
	return d.Subs, nil
}

// GroupUserMembers calls fn for each member of group g; a group not in
// Members is NotFound.
func (d *Directory) GroupUserMembers(_ context.Context, g string, fn func(licensing.GroupMember) error) error {
	ids, ok := d.Members[g]
	if !ok {
		return licensing.Errorf("fake", licensing.NotFound, "no group")
	}
	for _, id := range ids {
		if err := fn(licensing.GroupMember{ID: id}); err != nil {
			return err
		}
	}
	return nil
}

// ReadUsers reads the users in id order, a page of PageSize at a time: every
// user, or those of q.Segment, or with the delta link of the last read only
// the Changes since then. See readPages for what the fields that split a
// full read do here.
func (d *Directory) ReadUsers(ctx context.Context, q licensing.UserQuery, fn func(licensing.DirectoryUser) error) (licensing.UserReadResult, error) {
	res := licensing.UserReadResult{Requests: 1}
	if err := checkQuery(q); err != nil {
		return licensing.UserReadResult{}, err
	}
	if q.LinkOnly {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.Reads = append(d.Reads, "link")
		d.Changes = nil
		d.Round++
		res.DeltaLink = fmt.Sprint("delta-", d.Round)
		return res, nil
	}
	if q.DeltaLink != "" && !(d.Expired && !q.Strict) && !q.SignInOnly {
		return d.readDelta(q, fn)
	}
	return d.readPages(ctx, q, fn)
}

// checkQuery refuses what the Graph adapter refuses: a delta link with the
// fields that split a full read, LinkOnly with a cursor or a sign-in pass,
// a segment whose start comes after its end, a negative MaxPages.
func checkQuery(q licensing.UserQuery) error {
	split := !q.Segment.IsZero() || q.Cursor != "" || q.MaxPages != 0 || q.SignInOnly || q.LinkOnly
	from, to := strings.ToLower(q.Segment.From), strings.ToLower(q.Segment.To)
	if q.MaxPages < 0 || (q.DeltaLink != "" && split) || (q.LinkOnly && (q.Cursor != "" || q.SignInOnly || q.MaxPages != 0)) ||
		(from != "" && to != "" && from > to) {
		return licensing.Errorf("fake", licensing.Invalid, "contradictory user query %+v", q)
	}
	return nil
}

// readDelta passes the Changes recorded since the delta link of the last
// read.
func (d *Directory) readDelta(q licensing.UserQuery, fn func(licensing.DirectoryUser) error) (licensing.UserReadResult, error) {
	res := licensing.UserReadResult{Requests: 1}
	d.mu.Lock()
	if d.Expired {
		d.mu.Unlock()
		return res, licensing.Errorf("fake", licensing.Stale, "expired")
	}
	if q.DeltaLink != fmt.Sprint("delta-", d.Round) {
		d.mu.Unlock()
		return res, fmt.Errorf("unexpected link %s", q.DeltaLink)
	}
	d.Reads = append(d.Reads, "delta")
	list := append([]licensing.DirectoryUser(nil), d.Changes...)
	d.mu.Unlock()
	for i, u := range list {
		if err := d.fail(i); err != nil {
			return res, err
		}
		if err := fn(u); err != nil {
			return res, err
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.Changes = d.Changes[len(list):]
	d.Round++
	res.Users, res.Pages = len(list), 1
	res.DeltaLink = fmt.Sprint("delta-", d.Round)
	return res, nil
}

// readPages is a full read, page by page in id order. A page is the next
// PageSize users after the last one passed, as the directory holds them
// when the page is read (BeforePage runs first), so a user renamed into or
// out of q.Segment during the read is read or not as Graph would. MaxPages
// stops the read with a Cursor ("page-N|last id|from|to"); a cursor for
// another segment is Stale, as Graph's adapter answers a cursor it cannot
// follow. A read from the start (no Cursor) takes the
// delta link unless q.NoDeltaLink or q.SignInOnly: its changes start when
// the read does. SignInOnly passes only ID and LastSignIn, or, with
// NoSignIn, no user and a SignInNote. Full is set when one call passed
// every user of the directory.
func (d *Directory) readPages(ctx context.Context, q licensing.UserQuery, fn func(licensing.DirectoryUser) error) (licensing.UserReadResult, error) {
	res := licensing.UserReadResult{}
	from, to := strings.ToLower(q.Segment.From), strings.ToLower(q.Segment.To)
	page, after := 0, ""
	if q.Cursor != "" {
		parts := strings.Split(q.Cursor, "|")
		n, err := strconv.Atoi(strings.TrimPrefix(parts[0], "page-"))
		if len(parts) != 4 || err != nil || parts[2] != from || parts[3] != to {
			return res, licensing.Errorf("fake", licensing.Stale, "cursor %q is not one of this segment's", q.Cursor)
		}
		page, after = n, parts[1]
	}
	d.mu.Lock()
	switch {
	case q.SignInOnly:
		d.Reads = append(d.Reads, "signin")
	case q.Cursor != "":
		d.Reads = append(d.Reads, "continue")
	default:
		d.Reads = append(d.Reads, "full")
	}
	if q.SignInOnly && d.NoSignIn {
		d.mu.Unlock()
		res.Requests = 1
		res.SignInNote = "Sign-in activity is not available in this tenant."
		return res, nil
	}
	takeLink := q.Cursor == "" && !q.NoDeltaLink && !q.SignInOnly
	known := len(d.Changes)
	d.mu.Unlock()
	size := d.PageSize
	if size <= 0 {
		size = 2
	}
	emitted := 0
	for {
		if q.MaxPages > 0 && res.Pages == q.MaxPages {
			res.Cursor = fmt.Sprintf("page-%d|%s|%s|%s", page, after, from, to)
			break
		}
		if err := ctx.Err(); err != nil {
			return res, licensing.Wrap("fake", licensing.Unavailable, "", err)
		}
		page++
		if d.BeforePage != nil {
			d.BeforePage(page)
		}
		list, more := d.page(after, from, to, size)
		res.Pages++
		res.Requests++
		for _, u := range list {
			if err := d.fail(emitted); err != nil {
				return res, err
			}
			if q.SignInOnly {
				u = licensing.DirectoryUser{ID: u.ID, LastSignIn: u.LastSignIn}
			}
			if err := fn(u); err != nil {
				return res, err
			}
			emitted++
			after = u.ID
		}
		if !more {
			res.Full = q.Cursor == "" && q.Segment.IsZero() && !q.SignInOnly
			break
		}
	}
	res.Users = emitted
	res.SignInAvailable = q.SignInOnly
	d.mu.Lock()
	defer d.mu.Unlock()
	if takeLink {
		d.Changes = d.Changes[min(known, len(d.Changes)):]
		d.Round++
		res.DeltaLink = fmt.Sprint("delta-", d.Round)
		res.Requests++
	}
	d.Expired = false
	return res, nil
}

// page returns up to size users after id after (in id order) whose lower-cased
// user principal name lies in [from, to], and whether more may follow.
func (d *Directory) page(after, from, to string, size int) ([]licensing.DirectoryUser, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var ids []string
	for id, u := range d.Users {
		upn := strings.ToLower(u.UserPrincipalName)
		if id > after && (from == "" || upn >= from) && (to == "" || upn <= to) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	more := len(ids) > size
	if more {
		ids = ids[:size]
	}
	list := make([]licensing.DirectoryUser, len(ids))
	for i, id := range ids {
		list[i] = d.Users[id]
	}
	return list, more
}

// fail returns Fail (once) when i users were already passed in this read
// and i is 1.
func (d *Directory) fail(i int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.Fail == nil || i != 1 {
		return nil
	}
	err := d.Fail
	d.Fail = nil
	return err
}

// Change applies edit to user id and records the change as Graph reports
// it: only the fields given.
func (d *Directory) Change(id string, fields []string, edit func(u *licensing.DirectoryUser)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u := d.Users[id]
	u.ID = id
	edit(&u)
	d.Users[id] = u
	upd := licensing.DirectoryUser{ID: id, Partial: true, Fields: fields}
	edit(&upd)
	d.Changes = append(d.Changes, upd)
}

// Remove deletes user id and records the removal.
func (d *Directory) Remove(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.Users, id)
	d.Changes = append(d.Changes, licensing.DirectoryUser{ID: id, Removed: true})
}

// Put adds user u, or replaces the user of its ID, and records it as a
// change with every field.
func (d *Directory) Put(u licensing.DirectoryUser) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.Users[u.ID] = u
	d.Changes = append(d.Changes, u)
}

// Lic returns a license of sku, assigned directly and/or through groups.
func Lic(sku string, direct bool, groups ...string) licensing.UserLicense {
	return licensing.UserLicense{SkuID: sku, Direct: direct, Groups: groups}
}

// NewDirectory returns the sample tenant: 10 Visio and 100 E3 seats, and
// eight users covering every path of attribution and counting:
//
//	u01 a@doa     Administration, E3 direct, Visio by group, signed in
//	u02 b@doa     " administration ", disabled, E3 direct and by group
//	u03 c@det     no department, E3
//	u04 d@nowhere no department, E3 (unattributed)
//	u05 e@det     Administration, E3 (conflict between DOA and DET)
//	u06 f@x       Visio; the member of GroupDOT
//	u07 g@doa     Administration, Visio in error (CountViolation)
//	u08 h@doa     Administration, no license
func NewDirectory() *Directory {
	signed := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	users := []licensing.DirectoryUser{
		{ID: "u01", UserPrincipalName: "a@doa.example.gov", Department: "Administration", AccountEnabled: true, LastSignIn: &signed, Licenses: []licensing.UserLicense{Lic(SkuE3, true), Lic(SkuVisio, false, "g-visio")}},
		{ID: "u02", UserPrincipalName: "b@doa.example.gov", Department: " administration ", AccountEnabled: false, Licenses: []licensing.UserLicense{Lic(SkuE3, true, "g-e3")}},
		{ID: "u03", UserPrincipalName: "c@det.example.gov", AccountEnabled: true, Licenses: []licensing.UserLicense{Lic(SkuE3, true)}},
		{ID: "u04", UserPrincipalName: "d@nowhere.example.gov", AccountEnabled: true, Licenses: []licensing.UserLicense{Lic(SkuE3, true)}},
		{ID: "u05", UserPrincipalName: "e@det.example.gov", Department: "Administration", AccountEnabled: true, Licenses: []licensing.UserLicense{Lic(SkuE3, true)}},
		{ID: "u06", UserPrincipalName: "f@x.example.gov", AccountEnabled: true, Licenses: []licensing.UserLicense{Lic(SkuVisio, true)}},
		{ID: "u07", UserPrincipalName: "g@doa.example.gov", Department: "Administration", AccountEnabled: true, Licenses: []licensing.UserLicense{{SkuID: SkuVisio, Direct: true, Error: "CountViolation"}}},
		{ID: "u08", UserPrincipalName: "h@doa.example.gov", Department: "Administration", AccountEnabled: true},
	}
	d := &Directory{Users: map[string]licensing.DirectoryUser{}, Members: map[string][]string{GroupDOT: {"u06"}},
		Skus: []licensing.TenantSku{{SkuID: SkuVisio, PartNumber: "VISIOCLIENT", Enabled: 10, Consumed: 2}, {SkuID: SkuE3, PartNumber: "ENTERPRISEPACK", Enabled: 100, Consumed: 5}}}
	for _, u := range users {
		d.Users[u.ID] = u
	}
	return d
}
