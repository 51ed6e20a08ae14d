package fakes

import (
	"context"
	"fmt"
	"sort"
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
	// Reads lists the reads done, "full" or "delta".
	Reads []string
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

// ReadUsers reads every user in id order, or with the delta link of the last
// read only the Changes since then.
func (d *Directory) ReadUsers(_ context.Context, q licensing.UserQuery, fn func(licensing.DirectoryUser) error) (licensing.UserReadResult, error) {
	emit := func(list []licensing.DirectoryUser) error {
		for i, u := range list {
			if d.Fail != nil && i == 1 {
				err := d.Fail
				d.Fail = nil
				return err
			}
			if err := fn(u); err != nil {
				return err
			}
		}
		return nil
	}
	res := licensing.UserReadResult{Requests: 1}
	if q.DeltaLink != "" && !(d.Expired && !q.Strict) {
		if d.Expired {
			return res, licensing.Errorf("fake", licensing.Stale, "expired")
		}
		if q.DeltaLink != fmt.Sprint("delta-", d.Round) {
			return res, fmt.Errorf("unexpected link %s", q.DeltaLink)
		}
		d.Reads = append(d.Reads, "delta")
		if err := emit(d.Changes); err != nil {
			return res, err
		}
		res.Users = len(d.Changes)
	} else {
		d.Reads = append(d.Reads, "full")
		var ids []string
		for id := range d.Users {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		var list []licensing.DirectoryUser
		for _, id := range ids {
			list = append(list, d.Users[id])
		}
		if err := emit(list); err != nil {
			return res, err
		}
		res.Full, res.Users = true, len(list)
	}
	d.Expired = false
	d.Changes = nil
	d.Round++
	res.DeltaLink = fmt.Sprint("delta-", d.Round)
	return res, nil
}

// Change applies edit to user id and records the change as Graph reports
// it: only the fields given.
func (d *Directory) Change(id string, fields []string, edit func(u *licensing.DirectoryUser)) {
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
	delete(d.Users, id)
	d.Changes = append(d.Changes, licensing.DirectoryUser{ID: id, Removed: true})
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
