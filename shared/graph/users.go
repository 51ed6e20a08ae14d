package graph

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
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
//   - Pieces of a full read: Segment adds $filter=userPrincipalName ge
//     'from' and userPrincipalName le 'to' (the ends that are set);
//     MaxPages stops after that many pages with Cursor set to the
//     @odata.nextLink of the next page, and Cursor continues from such a
//     link (which keeps the $select, $top and $filter of the first page).
//     A continuation takes no delta link, nor does a read with
//     NoDeltaLink; LinkOnly takes only the link. A cursor that does not
//     point at the configured Graph's /users, or a next link Graph no
//     longer accepts (400 or 410: the skiptoken expired), is Stale: read
//     the segment again from its start. Full is set only when one call
//     read every user.
//   - Sign-in pass (SignInOnly): GET /users?$select=id,signInActivity,
//     $top=500, with the segment and cursor as above; a 403 for
//     signInActivity passes no user and says why in SignInNote.
//   - Incremental read (a delta link and no sign-in activity): the link and
//     its next links, to the new delta link. Removed users come with
//     Removed set. 410 Gone (or a 400 about the sync state) falls back to a
//     full read, said in Note.
//   - Sign-in activity: /users/delta does not serve signInActivity, so
//     asking for it makes the read a full one. When Graph refuses it (403:
//     no Entra ID P1, or no AuditLog.Read.All) the read carries on without
//     it, incrementally if a delta link was given, and SignInNote says why.
//
// Pages of users are requested through the SDK's request builders and
// adapter (authentication, retry and throttling handlers, errors as
// ODataError), and their bodies decoded with encoding/json into this
// package's own structs (userpage.go): the SDK's parse-node tree costs
// several times the CPU. A long read logs its progress at Info every
// progressPages pages or progressEvery, whichever comes first.
//
// Graph does not track changes of licenseAssignmentStates in delta (changes
// of assignedLicenses are tracked and bring the user back with its current
// states), so a periodic full read is still worth scheduling.
func (c *Client) ReadUsers(ctx context.Context, q licensing.UserQuery, fn func(licensing.DirectoryUser) error) (licensing.UserReadResult, error) {
	const op = "graph.readUsers"
	if err := checkUserQuery(op, q); err != nil {
		return licensing.UserReadResult{}, err
	}
	var reqs atomic.Int64
	ctx = withCounter(ctx, &reqs)
	now := time.Now()
	r := &userRead{c: c, fn: fn, segment: segmentText(q.Segment), start: now, logged: now}
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
		"requests", r.res.Requests, "signIn", r.res.SignInAvailable, "segment", r.segment, "more", r.res.Cursor != "",
		"elapsed", time.Since(r.start).Round(time.Millisecond).String())
	return r.res, nil
}

// checkUserQuery refuses a query whose fields contradict each other.
func checkUserQuery(op string, q licensing.UserQuery) error {
	split := !q.Segment.IsZero() || q.Cursor != "" || q.MaxPages != 0 || q.SignInOnly || q.LinkOnly
	from, to := strings.ToLower(q.Segment.From), strings.ToLower(q.Segment.To)
	switch {
	case q.MaxPages < 0:
		return licensing.Errorf(op, licensing.Invalid, "MaxPages is %d; give 0 to read to the end, or a positive number of pages.", q.MaxPages)
	case q.DeltaLink != "" && split:
		return licensing.Errorf(op, licensing.Invalid, "A delta link reads the changes since an earlier read; Segment, Cursor, MaxPages, SignInOnly and LinkOnly split a full read and cannot go with it.")
	case q.LinkOnly && (q.Cursor != "" || q.SignInOnly || q.MaxPages != 0):
		return licensing.Errorf(op, licensing.Invalid, "LinkOnly reads no user; it cannot go with Cursor, MaxPages or SignInOnly.")
	case from != "" && to != "" && from > to:
		return licensing.Errorf(op, licensing.Invalid, "The segment from %q to %q is empty: its start comes after its end.", q.Segment.From, q.Segment.To)
	}
	return nil
}

// Progress logging of a long read: every progressPages pages, or when
// progressEvery passed since the last line, whichever comes first.
var (
	progressPages = 100
	progressEvery = 30 * time.Second
)

// userRead is the state of one ReadUsers.
type userRead struct {
	c   *Client
	fn  func(licensing.DirectoryUser) error
	res licensing.UserReadResult
	// segment names the segment read, for the log.
	segment string
	// start is when the read began, logged when progress was last logged.
	start, logged time.Time
}

// callbackError carries an error returned by the caller's callback, which
// must come back unchanged.
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }

func (r *userRead) run(ctx context.Context, q licensing.UserQuery) error {
	switch {
	case q.LinkOnly:
		link, err := r.latestDeltaLink(ctx)
		r.res.DeltaLink = link
		return err
	case q.SignInOnly:
		return r.signInPass(ctx, q)
	}
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
	link := ""
	if q.Cursor == "" && !q.NoDeltaLink {
		var err error
		if link, err = r.latestDeltaLink(ctx); err != nil {
			return err
		}
	}
	if q.Cursor != "" {
		// A continuation selects what its first call selected: the cursor
		// carries the first page's query.
		return r.continued(ctx, q)
	}
	if q.SignIn {
		err := r.pages(ctx, q, fullPages(true))
		if err == nil {
			r.res.SignInAvailable = true
			r.finished(q, link)
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
	if err := r.pages(ctx, q, fullPages(false)); err != nil {
		return err
	}
	r.finished(q, link)
	return nil
}

// finished records the end of a read of /users pages: Full when this call
// read every user, and the delta link taken before it.
func (r *userRead) finished(q licensing.UserQuery, link string) {
	r.res.Full = q.Segment.IsZero() && q.Cursor == "" && r.res.Cursor == ""
	r.res.DeltaLink = link
}

// continued goes on with a full read from q.Cursor, with or without
// sign-in activity as the cursor's $select says.
func (r *userRead) continued(ctx context.Context, q licensing.UserQuery) error {
	signIn := strings.Contains(strings.ToLower(cursorSelect(q.Cursor)), strings.ToLower(signInField))
	if err := r.pages(ctx, q, fullPages(signIn)); err != nil {
		return err
	}
	r.res.SignInAvailable = signIn
	if q.SignIn && !signIn {
		r.res.SignInNote = "Last sign-in dates are not available: the first part of this read was made without them."
	}
	r.finished(q, "")
	return nil
}

// signInPass reads only each user's id and sign-in activity.
func (r *userRead) signInPass(ctx context.Context, q licensing.UserQuery) error {
	err := r.pages(ctx, q, pageKind{fields: []string{"id", signInField}, top: pageSizeSignIn, signIn: true, signInOnly: true})
	if err == nil {
		r.res.SignInAvailable = true
		return nil
	}
	if ok, note := isSignInUnavailable(err); ok && r.res.Pages == 0 {
		r.res.SignInNote = note
		r.c.log.WarnContext(ctx, "graph: sign-in activity unavailable; no sign-in pass", "error", err.Error())
		return nil
	}
	return err
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

// pageKind says what a read of /users pages selects and how it converts.
type pageKind struct {
	fields []string
	top    int32
	// signIn says whether signInActivity is selected; signInOnly passes
	// only ID and LastSignIn.
	signIn, signInOnly bool
}

// fullPages is the page kind of a full read, with or without sign-in
// activity.
func fullPages(signIn bool) pageKind {
	k := pageKind{fields: licensing.UserFields(), top: pageSize}
	if signIn {
		k.fields, k.top, k.signIn = append(k.fields, signInField), pageSizeSignIn, true
	}
	return k
}

// pages reads pages of /users: from the start of q.Segment, or from
// q.Cursor, to the end or to q.MaxPages pages (then setting the result's
// Cursor).
func (r *userRead) pages(ctx context.Context, q licensing.UserQuery, kind pageKind) error {
	next := q.Cursor
	if next != "" {
		if err := r.checkCursor(next); err != nil {
			return err
		}
	}
	top := kind.top
	params := &users.UsersRequestBuilderGetQueryParameters{Select: kind.fields, Top: &top}
	if f := segmentFilter(q.Segment); f != "" {
		params.Filter = &f
	}
	cfg := &users.UsersRequestBuilderGetRequestConfiguration{QueryParameters: params}
	for n := 0; ; n++ {
		if q.MaxPages > 0 && n == q.MaxPages {
			r.res.Cursor = next
			return nil
		}
		var page userPage
		err := r.get(ctx, "users page", func(ctx context.Context) (*abstractions.RequestInformation, error) {
			if next == "" {
				return r.c.svc.Users().ToGetRequestInformation(ctx, cfg)
			}
			return r.c.svc.Users().WithUrl(next).ToGetRequestInformation(ctx, nil)
		}, &page)
		if err != nil {
			if next != "" && isPageExpired(err) {
				return staleCursor(err)
			}
			return err
		}
		r.res.Pages++
		for i := range page.Value {
			u := &page.Value[i]
			var du licensing.DirectoryUser
			if kind.signInOnly {
				du = licensing.DirectoryUser{ID: strings.ToLower(u.ID), LastSignIn: u.lastSignIn()}
			} else {
				du = u.directoryUser(kind.signIn)
			}
			if err := r.emit(du); err != nil {
				return err
			}
		}
		r.progress(ctx)
		if page.NextLink == "" {
			return nil
		}
		if err := r.checkLink(page.NextLink); err != nil {
			return err
		}
		next = page.NextLink
	}
}

// delta follows a delta link to the end of its round.
func (r *userRead) delta(ctx context.Context, link string) error {
	if err := r.checkLink(link); err != nil {
		return err
	}
	for {
		var page userPage
		err := r.get(ctx, "users/delta page", func(ctx context.Context) (*abstractions.RequestInformation, error) {
			return r.c.svc.Users().Delta().WithUrl(link).ToGetRequestInformation(ctx, nil)
		}, &page)
		if err != nil {
			return err
		}
		r.res.Pages++
		for i := range page.Value {
			u := &page.Value[i]
			du := u.directoryUser(false)
			// Without "Prefer: return=minimal" Graph sends every selected
			// property of a changed user (null for unset ones), so a change
			// is a whole user, never a partial one.
			if u.removed() {
				du = licensing.DirectoryUser{ID: du.ID, Removed: true}
			}
			if err := r.emit(du); err != nil {
				return err
			}
		}
		r.progress(ctx)
		switch {
		case page.NextLink != "":
			link = page.NextLink
			if err := r.checkLink(link); err != nil {
				return err
			}
		case page.DeltaLink != "":
			r.res.DeltaLink = page.DeltaLink
			return nil
		default:
			return errNoLink
		}
	}
}

// progress logs how far a long read got, at most every progressPages pages
// or progressEvery.
func (r *userRead) progress(ctx context.Context) {
	if r.res.Pages%progressPages != 0 && time.Since(r.logged) < progressEvery {
		return
	}
	r.logged = time.Now()
	r.c.log.InfoContext(ctx, "graph: reading users", "pages", r.res.Pages, "users", r.res.Users,
		"elapsed", time.Since(r.start).Round(time.Second).String(), "segment", r.segment)
}

// checkCursor refuses a cursor that is not a /users link of the configured
// Graph: it would send the token elsewhere, or read something else.
func (r *userRead) checkCursor(cursor string) error {
	err := r.checkLink(cursor)
	if err == nil {
		u, _ := url.Parse(cursor)
		base, _ := url.Parse(r.c.base)
		if !strings.EqualFold(strings.TrimSuffix(u.Path, "/"), strings.TrimSuffix(base.Path, "/")+"/users") {
			err = &linkError{link: cursor}
		}
	}
	if err != nil {
		return licensing.Wrap("graph.readUsers", licensing.Stale, "The cursor is not a page of "+r.c.base+"/users (the Graph base URL may have changed); read the segment again from its start.", err)
	}
	return nil
}

// segmentFilter is the $filter of a segment, "" for the whole directory.
func segmentFilter(s licensing.UserSegment) string {
	var parts []string
	if s.From != "" {
		parts = append(parts, "userPrincipalName ge "+odataString(s.From))
	}
	if s.To != "" {
		parts = append(parts, "userPrincipalName le "+odataString(s.To))
	}
	return strings.Join(parts, " and ")
}

// odataString quotes v as an OData string literal: single quotes around,
// a single quote inside doubled.
func odataString(v string) string {
	return "'" + strings.ReplaceAll(v, "'", "''") + "'"
}

// segmentText names a segment in log lines.
func segmentText(s licensing.UserSegment) string {
	if s.IsZero() {
		return "all"
	}
	return "[" + s.From + ", " + s.To + "]"
}

// cursorSelect returns the $select of a cursor link.
func cursorSelect(cursor string) string {
	u, err := url.Parse(cursor)
	if err != nil {
		return ""
	}
	return u.Query().Get("$select")
}

// isPageExpired reports whether Graph refused a next link: 400 or 410, as
// it answers a skiptoken it no longer accepts.
func isPageExpired(err error) bool {
	status, _ := apiStatus(err)
	return status == http.StatusBadRequest || status == http.StatusGone
}

// staleCursor is the answer to a next link Graph no longer accepts.
func staleCursor(err error) error {
	return licensing.Wrap("graph.readUsers", licensing.Stale,
		"Graph no longer accepts the paging position of this read ("+shortError(err)+"); read the segment again from its start.", err)
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
