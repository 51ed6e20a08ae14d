package graph

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Page sizes of /users: Graph's maximum, and its maximum when signInActivity
// is selected.
const (
	pageSize       = 999
	pageSizeSignIn = 500
)

// signInField is added to licensing.UserFields when sign-in activity is
// asked for; /users/delta does not accept it.
const signInField = "signInActivity"

// ReadUsers implements licensing.Directory.
//
// How it reads:
//
//   - Full read (no delta link, an expired one, or sign-in activity asked
//     for): first GET /users/delta?$deltatoken=latest (one request, no
//     users) for the link of the next incremental read, then every page of
//     GET /users with $select and $top=999 (500 with signInActivity). The
//     link is taken before the read, so a change made during it is read
//     again next time rather than missed. A full read costs
//     ceil(users/999)+1 requests, where a full delta round would cost one
//     request per page of Graph's choosing ($top is not accepted on
//     /users/delta).
//   - Incremental read (a delta link and no sign-in activity): the link and
//     its next links, to the new delta link. Removed users come with
//     Removed set. 410 Gone (or a 400 about the sync state) falls back to a
//     full read, said in Note.
//   - Sign-in activity: /users/delta does not serve signInActivity, so
//     asking for it makes the read a full one. When Graph refuses it (403:
//     no Entra ID P1, or no AuditLog.Read.All) the read carries on without
//     it, incrementally if a delta link was given, and SignInNote says why.
//
// Graph does not track changes of licenseAssignmentStates in delta (changes
// of assignedLicenses are tracked and bring the user back with its current
// states), so a periodic full read is still worth scheduling.
func (c *Client) ReadUsers(ctx context.Context, q licensing.UserQuery, fn func(licensing.DirectoryUser) error) (licensing.UserReadResult, error) {
	const op = "graph.readUsers"
	var reqs atomic.Int64
	ctx = withCounter(ctx, &reqs)
	r := &userRead{c: c, fn: fn}
	err := r.run(ctx, q)
	r.res.Requests = int(reqs.Load())
	if err != nil {
		var cbErr callbackError
		if errors.As(err, &cbErr) {
			return r.res, cbErr.err
		}
		return r.res, translate(op, permUsers, "The user list", err)
	}
	c.log.InfoContext(ctx, "graph: users read", "full", r.res.Full, "users", r.res.Users, "pages", r.res.Pages,
		"requests", r.res.Requests, "signIn", r.res.SignInAvailable)
	return r.res, nil
}

// userRead is the state of one ReadUsers.
type userRead struct {
	c   *Client
	fn  func(licensing.DirectoryUser) error
	res licensing.UserReadResult
}

// callbackError carries an error returned by the caller's callback, which
// must come back unchanged.
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }

func (r *userRead) run(ctx context.Context, q licensing.UserQuery) error {
	if q.DeltaLink != "" && r.checkLink(q.DeltaLink) != nil {
		// A link to another Graph endpoint (the base URL changed since it
		// was stored) cannot be followed: it counts as expired.
		if q.Strict {
			return expiredLink(r.checkLink(q.DeltaLink))
		}
		r.res.Note = "The stored delta link points at another Graph endpoint than " + r.c.base + "; every user was read again."
		q.DeltaLink = ""
	}
	if q.DeltaLink != "" && !q.SignIn {
		err := r.delta(ctx, q.DeltaLink)
		if err == nil || !isDeltaExpired(err) {
			return err
		}
		if q.Strict {
			return expiredLink(err)
		}
		r.c.log.WarnContext(ctx, "graph: delta link expired; reading every user", "error", err.Error())
		r.res.Note = "The stored delta link had expired (" + shortError(err) + "); every user was read again."
	}
	link, err := r.latestDeltaLink(ctx)
	if err != nil {
		return err
	}
	signIn := q.SignIn
	if signIn {
		err := r.full(ctx, true)
		if err == nil {
			r.res.SignInAvailable = true
			r.res.Full = true
			r.res.DeltaLink = link
			return nil
		}
		ok, note := isSignInUnavailable(err)
		if !ok || r.res.Pages > 0 {
			return err
		}
		r.res.SignInNote = note
		r.c.log.WarnContext(ctx, "graph: sign-in activity unavailable; reading users without it", "error", err.Error())
		if q.DeltaLink != "" {
			err := r.delta(ctx, q.DeltaLink)
			if err == nil || !isDeltaExpired(err) {
				return err
			}
			if q.Strict {
				return expiredLink(err)
			}
			r.res.Note = "The stored delta link had expired (" + shortError(err) + "); every user was read again."
		}
	}
	if err := r.full(ctx, false); err != nil {
		return err
	}
	r.res.Full = true
	r.res.DeltaLink = link
	return nil
}

// latestDeltaLink asks Graph for a delta link that starts now.
func (r *userRead) latestDeltaLink(ctx context.Context) (string, error) {
	u := r.c.base + "/users/delta()?$select=" + strings.Join(licensing.UserFields(), ",") + "&$deltatoken=latest"
	var link string
	err := r.c.call(ctx, "users/delta latest", func(ctx context.Context) error {
		resp, err := r.c.svc.Users().Delta().WithUrl(u).GetAsDeltaGetResponse(ctx, nil)
		if err != nil {
			return err
		}
		if resp == nil || resp.GetOdataDeltaLink() == nil {
			return errNoLink
		}
		link = *resp.GetOdataDeltaLink()
		return nil
	})
	return link, err
}

// full reads every page of /users.
func (r *userRead) full(ctx context.Context, signIn bool) error {
	fields, top := licensing.UserFields(), int32(pageSize)
	if signIn {
		fields, top = append(fields, signInField), pageSizeSignIn
	}
	cfg := &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Select: fields, Top: &top},
	}
	next := ""
	for {
		var page models.UserCollectionResponseable
		err := r.c.call(ctx, "users page", func(ctx context.Context) error {
			var err error
			if next == "" {
				page, err = r.c.svc.Users().Get(ctx, cfg)
			} else {
				page, err = r.c.svc.Users().WithUrl(next).Get(ctx, nil)
			}
			return err
		})
		if err != nil {
			return err
		}
		if page == nil {
			return errNoPage
		}
		r.res.Pages++
		for _, u := range page.GetValue() {
			if err := r.emit(toDirectoryUser(u, signIn)); err != nil {
				return err
			}
		}
		link := page.GetOdataNextLink()
		if link == nil || *link == "" {
			return nil
		}
		if err := r.checkLink(*link); err != nil {
			return err
		}
		next = *link
	}
}

// delta follows a delta link to the end of its round.
func (r *userRead) delta(ctx context.Context, link string) error {
	if err := r.checkLink(link); err != nil {
		return err
	}
	for {
		var page users.DeltaGetResponseable
		err := r.c.call(ctx, "users/delta page", func(ctx context.Context) error {
			var err error
			page, err = r.c.svc.Users().Delta().WithUrl(link).GetAsDeltaGetResponse(ctx, nil)
			return err
		})
		if err != nil {
			return err
		}
		if page == nil {
			return errNoPage
		}
		r.res.Pages++
		for _, u := range page.GetValue() {
			du := toDirectoryUser(u, false)
			// Without "Prefer: return=minimal" Graph sends every selected
			// property of a changed user (null for unset ones), so a change
			// is a whole user, never a partial one.
			if removed(u) {
				du = licensing.DirectoryUser{ID: du.ID, Removed: true}
			}
			if err := r.emit(du); err != nil {
				return err
			}
		}
		switch {
		case page.GetOdataNextLink() != nil && *page.GetOdataNextLink() != "":
			link = *page.GetOdataNextLink()
			if err := r.checkLink(link); err != nil {
				return err
			}
		case page.GetOdataDeltaLink() != nil && *page.GetOdataDeltaLink() != "":
			r.res.DeltaLink = *page.GetOdataDeltaLink()
			return nil
		default:
			return errNoLink
		}
	}
}

func (r *userRead) emit(u licensing.DirectoryUser) error {
	r.res.Users++
	if err := r.fn(u); err != nil {
		return callbackError{err}
	}
	return nil
}

// checkLink refuses a next or delta link that leaves the configured Graph
// host: the token would go with it.
func (r *userRead) checkLink(link string) error {
	return r.c.checkLink(link)
}

func (c *Client) checkLink(link string) error {
	u, err := url.Parse(link)
	base, _ := url.Parse(c.base)
	if err != nil || !u.IsAbs() || !strings.EqualFold(u.Host, base.Host) || u.Scheme != base.Scheme {
		return &linkError{link: link}
	}
	return nil
}

// linkError is a paging link that does not point at the configured Graph.
type linkError struct{ link string }

func (e *linkError) Error() string {
	return "graph: paging link " + truncateLink(e.link) + " does not point at the configured Graph base URL"
}

var errNoPage = errors.New("graph: empty response where a page was expected")

// expiredLink is the Strict answer to a delta link Graph no longer accepts.
func expiredLink(err error) error {
	return licensing.Wrap("graph.readUsers", licensing.Stale, "The stored delta link has expired; every user must be read again.", err)
}

// removed reports whether a delta entry is a removal (@removed annotation).
func removed(u models.Userable) bool {
	_, ok := u.GetAdditionalData()["@removed"]
	return ok
}

// toDirectoryUser converts a Graph user. signIn says whether signInActivity
// was selected.
func toDirectoryUser(u models.Userable, signIn bool) licensing.DirectoryUser {
	du := licensing.DirectoryUser{
		ID:                strings.ToLower(str(u.GetId())),
		UserPrincipalName: str(u.GetUserPrincipalName()),
		DisplayName:       str(u.GetDisplayName()),
		Mail:              str(u.GetMail()),
		Department:        str(u.GetDepartment()),
		CompanyName:       str(u.GetCompanyName()),
		OfficeLocation:    str(u.GetOfficeLocation()),
		UsageLocation:     str(u.GetUsageLocation()),
		AccountEnabled:    u.GetAccountEnabled() != nil && *u.GetAccountEnabled(),
		Licenses:          licenses(u.GetLicenseAssignmentStates(), u.GetAssignedLicenses()),
	}
	if t := u.GetCreatedDateTime(); t != nil {
		du.CreatedDateTime = t.UTC()
	}
	if ext := u.GetOnPremisesExtensionAttributes(); ext != nil {
		du.ExtensionAttributes = extensionAttributes(ext)
	}
	if signIn {
		du.LastSignIn = lastSignIn(u.GetSignInActivity())
	}
	return du
}

func extensionAttributes(e models.OnPremisesExtensionAttributesable) [15]string {
	return [15]string{
		str(e.GetExtensionAttribute1()), str(e.GetExtensionAttribute2()), str(e.GetExtensionAttribute3()),
		str(e.GetExtensionAttribute4()), str(e.GetExtensionAttribute5()), str(e.GetExtensionAttribute6()),
		str(e.GetExtensionAttribute7()), str(e.GetExtensionAttribute8()), str(e.GetExtensionAttribute9()),
		str(e.GetExtensionAttribute10()), str(e.GetExtensionAttribute11()), str(e.GetExtensionAttribute12()),
		str(e.GetExtensionAttribute13()), str(e.GetExtensionAttribute14()), str(e.GetExtensionAttribute15()),
	}
}

// lastSignIn is the latest of the interactive, non-interactive and successful
// sign-ins: a user whose apps refresh tokens silently is using the license.
func lastSignIn(a models.SignInActivityable) *time.Time {
	if a == nil {
		return nil
	}
	var last *time.Time
	for _, t := range []*time.Time{a.GetLastSignInDateTime(), a.GetLastNonInteractiveSignInDateTime(), a.GetLastSuccessfulSignInDateTime()} {
		if t != nil && (last == nil || t.After(*last)) {
			v := t.UTC()
			last = &v
		}
	}
	return last
}

// licenses folds licenseAssignmentStates (one per SKU and source) into one
// UserLicense per SKU, in the order Graph lists them. A SKU in
// assignedLicenses that no state mentions is taken as direct.
func licenses(states []models.LicenseAssignmentStateable, assigned []models.AssignedLicenseable) []licensing.UserLicense {
	var out []licensing.UserLicense
	index := map[string]int{}
	get := func(sku string) *licensing.UserLicense {
		if i, ok := index[sku]; ok {
			return &out[i]
		}
		index[sku] = len(out)
		out = append(out, licensing.UserLicense{SkuID: sku})
		return &out[len(out)-1]
	}
	for _, s := range states {
		if s.GetSkuId() == nil {
			continue
		}
		l := get(strings.ToLower(s.GetSkuId().String()))
		if g := str(s.GetAssignedByGroup()); g != "" {
			l.Groups = append(l.Groups, strings.ToLower(g))
		} else {
			l.Direct = true
		}
		if e := str(s.GetError()); e != "" && !strings.EqualFold(e, "None") && l.Error == "" {
			l.Error = e
		}
	}
	for _, a := range assigned {
		if a.GetSkuId() == nil {
			continue
		}
		sku := strings.ToLower(a.GetSkuId().String())
		if _, ok := index[sku]; !ok {
			get(sku).Direct = true
		}
	}
	return out
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func shortError(err error) string {
	status, _ := apiStatus(err)
	code, _ := odataCode(err)
	if status != 0 {
		return strings.TrimSpace("HTTP " + strconv.Itoa(status) + " " + code)
	}
	return "error"
}

func truncateLink(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
