package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Write permissions, named in Forbidden messages. Graph documents
// User.ReadWrite.All as the least privileged application permission that
// updates a user's usageLocation; LicenseAssignment.ReadWrite.All covers
// assignLicense only.
const (
	permLicenseWrite = "LicenseAssignment.ReadWrite.All"
	permUserWrite    = "User.ReadWrite.All"
)

// maxBatch is how many requests one JSON $batch may hold.
const maxBatch = 20

var _ licensing.LicenseWriter = (*Client)(nil)

// ChangeLicenses implements licensing.LicenseWriter: one POST
// /users/{id}/assignLicense per change, sent 20 to a JSON $batch (POST
// /$batch). A batch holds at most one change per user, so that Graph never
// runs two changes of one user at once; further changes of the same user go
// to later batches. The batches are sent one after the other.
//
// Each answer settles its change: 2xx done; 404 NotFound (UserNotFound);
// another 4xx Invalid with the Reason Graph's message names (removing a
// license the user does not hold is done: the change is already true); 5xx
// Ambiguous. A 429, or a 503 with Retry-After, said Graph did not act: those
// requests alone are sent again in a new batch after the longest
// Retry-After, within MaxRetryWait per batch, and are Unavailable beyond it
// (so are the changes of later batches, which are then not sent). The
// $batch POST itself is retried the same way when it is throttled or cannot
// connect; when it fails once it may have reached Graph (a timeout, a lost
// connection, a 5xx) every change in it is Ambiguous and nothing is sent
// again. The SDK's retry handler is off for the POST: it would resend the
// gzip-labelled request with the uncompressed body.
//
// The error is for the whole call: Invalid input (nothing is sent), or
// Forbidden when Graph refuses the app; then the changes not settled before
// it are Unavailable in the results.
func (c *Client) ChangeLicenses(ctx context.Context, changes []licensing.LicenseChange) ([]licensing.LicenseResult, error) {
	const op = "graph.changeLicenses"
	var fields []licensing.FieldError
	steps := make([]batchStep, len(changes))
	userIDs := make([]string, len(changes))
	for i, ch := range changes {
		f := fmt.Sprintf("changes[%d]", i)
		user, ok := normalizeUserID(ch.UserID)
		if !ok {
			fields = append(fields, licensing.FieldError{Field: f + ".userId", Message: fmt.Sprintf("%q is not a user object id or user principal name", ch.UserID)})
		}
		sku := strings.ToLower(strings.TrimSpace(ch.SkuID))
		if !licensing.IsGUID(sku) {
			fields = append(fields, licensing.FieldError{Field: f + ".skuId", Message: fmt.Sprintf("%q is not a SKU id (a GUID)", ch.SkuID)})
		}
		body := assignLicenseBody{AddLicenses: []addLicense{}, RemoveLicenses: []string{}}
		if ch.Remove {
			body.RemoveLicenses = []string{sku}
		} else {
			body.AddLicenses = []addLicense{{SkuID: sku, DisabledPlans: []string{}}}
		}
		userIDs[i] = user
		steps[i] = batchStep{Method: http.MethodPost, URL: "/users/" + url.PathEscape(user) + "/assignLicense",
			Headers: jsonHeaders, Body: body}
	}
	if len(fields) > 0 {
		return nil, &licensing.Error{Op: op, Code: licensing.Invalid, Message: "The license changes cannot be made as they are; see fields.", Fields: fields}
	}
	w := batchWrite{op: op, perm: permLicenseWrite, what: "license changes",
		settle: func(i int, a batchAnswer) licensing.LicenseResult {
			return settleLicense(op, changes[i], userIDs[i], a)
		},
		describe: func(i int) string {
			verb := "assigned " + strings.ToLower(changes[i].SkuID) + " to"
			if changes[i].Remove {
				verb = "removed " + strings.ToLower(changes[i].SkuID) + " from"
			}
			return verb + " " + userIDs[i]
		}}
	return c.writeBatched(ctx, w, steps, userIDs)
}

// SetUsageLocations implements licensing.LicenseWriter: PATCH /users/{id}
// {"usageLocation": location} per user, 20 to a $batch, settled like
// ChangeLicenses. A PATCH sets a value, so doing it twice does no harm: one
// whose answer was lost (a 5xx, or the whole batch) is sent once more, and
// is Ambiguous only when the second answer is lost too. location must be a
// two-letter country code; it is sent in upper case.
func (c *Client) SetUsageLocations(ctx context.Context, userIDs []string, location string) ([]licensing.LicenseResult, error) {
	const op = "graph.setUsageLocations"
	var fields []licensing.FieldError
	loc := strings.ToUpper(strings.TrimSpace(location))
	if !isCountryCode(loc) {
		fields = append(fields, licensing.FieldError{Field: "location", Message: fmt.Sprintf("%q is not a two-letter country code (ISO 3166-1 alpha-2, such as US)", location)})
	}
	steps := make([]batchStep, len(userIDs))
	ids := make([]string, len(userIDs))
	for i, raw := range userIDs {
		user, ok := normalizeUserID(raw)
		if !ok {
			fields = append(fields, licensing.FieldError{Field: fmt.Sprintf("userIds[%d]", i), Message: fmt.Sprintf("%q is not a user object id or user principal name", raw)})
		}
		ids[i] = user
		steps[i] = batchStep{Method: http.MethodPatch, URL: "/users/" + url.PathEscape(user), Headers: jsonHeaders,
			Body: map[string]string{"usageLocation": loc}}
	}
	if len(fields) > 0 {
		return nil, &licensing.Error{Op: op, Code: licensing.Invalid, Message: "The usage locations cannot be set as asked; see fields.", Fields: fields}
	}
	w := batchWrite{op: op, perm: permUserWrite, what: "usage locations", idempotent: true,
		settle: func(i int, a batchAnswer) licensing.LicenseResult {
			return settleUsageLocation(op, ids[i], loc, a)
		},
		describe: func(i int) string { return "set the usage location of " + ids[i] }}
	return c.writeBatched(ctx, w, steps, ids)
}

// UserLicenses implements licensing.LicenseWriter: GET /users/{id} with
// $select=id,assignedLicenses,licenseAssignmentStates.
func (c *Client) UserLicenses(ctx context.Context, userID string) ([]licensing.UserLicense, error) {
	const op = "graph.userLicenses"
	id, ok := normalizeUserID(userID)
	if !ok {
		return nil, licensing.Errorf(op, licensing.Invalid, "%q is not a user object id or user principal name.", userID)
	}
	var reqs atomic.Int64
	ctx = withCounter(ctx, &reqs)
	cfg := &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: []string{"id", "assignedLicenses", "licenseAssignmentStates"}},
	}
	var u models.Userable
	err := c.call(ctx, "user licenses", func(ctx context.Context) error {
		var err error
		u, err = c.svc.Users().ByUserId(id).Get(ctx, cfg)
		return err
	})
	if err == nil && u == nil {
		err = errNoPage
	}
	if err != nil {
		return nil, translate(op, permUsers, "The user "+id, err)
	}
	out := licenses(u.GetLicenseAssignmentStates(), u.GetAssignedLicenses())
	c.log.DebugContext(ctx, "graph: user licenses read", "user", id, "licenses", len(out), "requests", reqs.Load())
	return out, nil
}

// normalizeUserID accepts an object id (lower-cased) or a user principal
// name.
func normalizeUserID(s string) (string, bool) {
	s = strings.TrimSpace(s)
	switch {
	case licensing.IsGUID(s):
		return strings.ToLower(s), true
	case licensing.IsBareAddress(s) && !licensing.HasHeaderControl(s):
		return s, true
	}
	return s, false
}

func isCountryCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// jsonHeaders are the headers of a batched request with a JSON body: Graph
// refuses a body without its Content-Type.
var jsonHeaders = map[string]string{"Content-Type": "application/json"}

// assignLicenseBody is the JSON of assignLicense; both lists are required,
// empty or not.
type assignLicenseBody struct {
	AddLicenses    []addLicense `json:"addLicenses"`
	RemoveLicenses []string     `json:"removeLicenses"`
}

type addLicense struct {
	SkuID         string   `json:"skuId"`
	DisabledPlans []string `json:"disabledPlans"`
}

// batchStep is one request of a JSON $batch.
type batchStep struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    any               `json:"body,omitempty"`
}

// batchAnswer is Graph's answer to one request of a $batch.
type batchAnswer struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// header returns the answer's header name, whatever its case.
func (a batchAnswer) header(name string) string {
	for k, v := range a.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// batchWrite describes one kind of batched write.
type batchWrite struct {
	op, perm, what string
	// idempotent: a request whose answer was lost is sent once more.
	idempotent bool
	// settle turns the final answer to request i into its result.
	settle func(i int, a batchAnswer) licensing.LicenseResult
	// describe names what request i does, for messages ("assigned X to Y").
	describe func(i int) string
}

// batchRun is the state of one writeBatched call.
type batchRun struct {
	w       batchWrite
	steps   []batchStep
	results []licensing.LicenseResult
	// lost marks the requests whose answer was lost once (idempotent
	// writes only).
	lost map[int]bool
	// batches and waits count the $batch requests and the throttled waits.
	batches, waits int
	waited         time.Duration
	// stop is set when Graph throttled beyond the budget or refused the
	// app: later batches are not sent.
	stop bool
}

// writeBatched sends steps in batches and returns one result per step.
func (c *Client) writeBatched(ctx context.Context, w batchWrite, steps []batchStep, users []string) ([]licensing.LicenseResult, error) {
	if len(steps) == 0 {
		return []licensing.LicenseResult{}, nil
	}
	var reqs atomic.Int64
	ctx = withCounter(ctx, &reqs)
	r := &batchRun{w: w, steps: steps, results: make([]licensing.LicenseResult, len(steps)), lost: map[int]bool{}}
	for i := range r.results {
		r.results[i] = licensing.LicenseResult{Err: licensing.Errorf(w.op, licensing.Unavailable,
			"%s was not asked to do it: an earlier batch failed; try again later.", graphService)}
	}
	var callErr error
	for _, chunk := range packBatches(users) {
		if callErr = c.runBatch(ctx, r, chunk); callErr != nil || r.stop {
			break
		}
	}
	counts := map[licensing.Code]int{}
	for _, res := range r.results {
		counts[licensing.ErrorCode(res.Err)]++
	}
	c.log.InfoContext(ctx, "graph: "+w.what+" written", "items", len(steps), "batches", r.batches,
		"requests", reqs.Load(), "throttledWaits", r.waits, "waited", r.waited.String(), "done", counts[""],
		"refused", counts[licensing.Invalid]+counts[licensing.NotFound], "ambiguous", counts[licensing.Ambiguous],
		"unavailable", counts[licensing.Unavailable])
	return r.results, callErr
}

// packBatches splits the indexes of users into batches of at most maxBatch,
// with each user at most once in a batch, keeping the input order.
func packBatches(users []string) [][]int {
	var batches [][]int
	var members []map[string]bool
	first := 0
	for i, u := range users {
		b := first
		for ; b < len(batches); b++ {
			if len(batches[b]) < maxBatch && !members[b][strings.ToLower(u)] {
				break
			}
		}
		if b == len(batches) {
			batches = append(batches, nil)
			members = append(members, map[string]bool{})
		}
		batches[b] = append(batches[b], i)
		members[b][strings.ToLower(u)] = true
		for first < len(batches) && len(batches[first]) == maxBatch {
			first++
		}
	}
	return batches
}

// runBatch sends the steps in pending as one $batch, and again those that
// Graph did not act on, within one retry budget. It returns an error only
// when Graph refused the app.
func (c *Client) runBatch(ctx context.Context, r *batchRun, pending []int) error {
	b := &budget{max: c.cfg.MaxRetryWait}
	ctx = context.WithValue(ctx, budgetKey{}, b)
	backoff := c.cfg.RetryDelay
	for len(pending) > 0 {
		answers, err := c.postBatch(ctx, r.steps, pending)
		r.batches++
		var again []int
		var wait time.Duration
		needBackoff := false
		if err != nil {
			status, header := apiStatus(err)
			switch {
			case status == http.StatusUnauthorized || status == http.StatusForbidden:
				r.stop = true
				return translate(r.w.op, r.w.perm, "", err)
			case ctx.Err() != nil:
				r.settleAll(pending, ambiguous(r.w, err))
				r.stop = true
				return nil
			case notActed(status, header, err):
				again = pending
				if d, ok := retryAfter(header, time.Now()); ok {
					wait = d
				} else {
					needBackoff = true
				}
			case status >= 400 && status < 500:
				refused := licensing.Wrap(r.w.op, licensing.Internal, fmt.Sprintf("%s refused the batch (%s); nothing in it was done.", graphService, shortError(err)), err)
				r.settleAll(pending, func(int) licensing.LicenseResult { return licensing.LicenseResult{Err: refused} })
				return nil
			default:
				for _, i := range pending {
					if r.w.idempotent && !r.lost[i] {
						r.lost[i] = true
						again = append(again, i)
						continue
					}
					r.results[i] = ambiguous(r.w, err)(i)
				}
				needBackoff = len(again) > 0
			}
		} else {
			for _, i := range pending {
				a, ok := answers[r.steps[i].ID]
				switch {
				case !ok:
					r.results[i] = ambiguous(r.w, errors.New("the batch answer left this request out"))(i)
				case a.Status == http.StatusTooManyRequests || a.Status == http.StatusServiceUnavailable && a.header("Retry-After") != "":
					again = append(again, i)
					if d, ok := retryAfter(a.header("Retry-After"), time.Now()); ok {
						wait = max(wait, d)
					} else {
						needBackoff = true
					}
				case a.Status >= 500 && r.w.idempotent && !r.lost[i]:
					r.lost[i] = true
					again = append(again, i)
					needBackoff = true
				default:
					r.results[i] = r.w.settle(i, a)
				}
			}
		}
		if len(again) == 0 {
			return nil
		}
		if needBackoff {
			wait = max(wait, backoff)
			backoff = min(backoff*2, c.cfg.MaxRetryWait/4)
		}
		if !b.take(wait) {
			r.giveUp(again, fmt.Sprintf("%s is throttling or unavailable and did not recover within %s; try again later.", graphService, b.waited()+wait))
			r.stop = true
			return nil
		}
		r.waits++
		r.waited += wait
		c.log.WarnContext(ctx, "graph: retrying part of a batch", "what", r.w.what, "requests", len(again),
			"of", len(pending), "wait", wait.String(), "waited", b.waited().String())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			r.giveUp(again, graphService+" was not asked again: the call was cancelled; try again later.")
			r.stop = true
			return nil
		case <-t.C:
		}
		pending = again
	}
	return nil
}

// settleAll sets the result of every index in idx.
func (r *batchRun) settleAll(idx []int, fn func(i int) licensing.LicenseResult) {
	for _, i := range idx {
		r.results[i] = fn(i)
	}
}

// giveUp settles requests that are not sent again: Unavailable when Graph
// surely did not act, Ambiguous when an earlier answer was lost.
func (r *batchRun) giveUp(idx []int, msg string) {
	for _, i := range idx {
		if r.lost[i] {
			r.results[i] = licensing.LicenseResult{Err: licensing.Errorf(r.w.op, licensing.Ambiguous,
				"%s did not answer whether it %s, twice; it may or may not be done.", graphService, r.w.describe(i))}
			continue
		}
		r.results[i] = licensing.LicenseResult{Err: licensing.Errorf(r.w.op, licensing.Unavailable, "%s", msg)}
	}
}

// ambiguous returns the result of a request whose answer was lost.
func ambiguous(w batchWrite, err error) func(i int) licensing.LicenseResult {
	status, _ := apiStatus(err)
	return func(i int) licensing.LicenseResult {
		return licensing.LicenseResult{Err: licensing.Wrap(w.op, licensing.Ambiguous, fmt.Sprintf(
			"%s did not answer whether it %s (%s); it is not sent again, and is reported as unconfirmed.",
			graphService, w.describe(i), describeFailure(status, err)), err)}
	}
}

// batchErrors maps any failure status of the $batch POST to Graph's error
// body, so that its status, headers and code reach apiStatus and odataCode.
var batchErrors = abstractions.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}

// postBatch sends the steps in idx as one POST /$batch through the SDK's
// pipeline (authentication, compression, counting, timeout) with its retry
// handler off, and returns the answers by id.
func (c *Client) postBatch(ctx context.Context, steps []batchStep, idx []int) (map[string]batchAnswer, error) {
	reqs := make([]batchStep, 0, len(idx))
	for n, i := range idx {
		steps[i].ID = fmt.Sprint(n + 1)
		reqs = append(reqs, steps[i])
	}
	body, err := json.Marshal(struct {
		Requests []batchStep `json:"requests"`
	}{reqs})
	if err != nil {
		return nil, err
	}
	ri := abstractions.NewRequestInformation()
	ri.Method = abstractions.POST
	ri.UrlTemplate = "{+baseurl}/$batch"
	ri.Headers.TryAdd("Accept", "application/json")
	ri.SetStreamContentAndContentType(body, "application/json")
	ri.AddRequestOptions(noSDKRetry)
	raw, err := c.svc.GetAdapter().SendPrimitive(ctx, ri, "[]byte", batchErrors)
	if err != nil {
		return nil, err
	}
	b, _ := raw.([]byte)
	var out struct {
		Responses []batchAnswer `json:"responses"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("graph: unreadable $batch answer: %w", err)
	}
	answers := make(map[string]batchAnswer, len(out.Responses))
	for _, a := range out.Responses {
		answers[a.ID] = a
	}
	return answers, nil
}

// graphError is the error body of one batched answer.
type graphError struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			Code string `json:"code"`
		} `json:"innerError"`
		Details []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"details"`
	} `json:"error"`
}

func parseGraphError(body []byte) graphError {
	var e graphError
	_ = json.Unmarshal(body, &e)
	return e
}

// text is every code and message of e, for matching.
func (e graphError) text() string {
	parts := []string{e.Error.Code, e.Error.Message, e.Error.InnerError.Code}
	for _, d := range e.Error.Details {
		parts = append(parts, d.Code, d.Message)
	}
	return strings.ToLower(strings.Join(parts, " "))
}

// licenseReason names why Graph refused an assignLicense, from the wording
// of its message (or a code naming the failure).
func licenseReason(e graphError, status int) string {
	text := e.text()
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(text, s) {
				return true
			}
		}
		return false
	}
	switch {
	case has("does not have any available licenses", "countviolation", "licensequotaexceeded"):
		return licensing.ReasonCountViolation
	case has("mutually exclusive", "mutuallyexclusive"):
		return licensing.ReasonMutuallyExclusive
	case has("depends on the service plan", "dependencyviolation"):
		return licensing.ReasonDependency
	case has("prohibitedinusagelocation", "prohibited in usage location", "not available in the usage location"):
		return licensing.ReasonProhibitedLocation
	case has("usage location", "usagelocation"):
		return licensing.ReasonUsageLocation
	}
	return codeReason(e, status)
}

// notHeld reports whether Graph refused a removal because the user does not
// hold the license.
func notHeld(e graphError) bool {
	return strings.Contains(e.text(), "does not have a corresponding license")
}

// settleLicense turns the answer to one assignLicense into its result.
func settleLicense(op string, ch licensing.LicenseChange, user string, a batchAnswer) licensing.LicenseResult {
	sku := strings.ToLower(strings.TrimSpace(ch.SkuID))
	if ch.Remove && a.Status < 500 && notHeld(parseGraphError(a.Body)) {
		return licensing.LicenseResult{}
	}
	what := "assign " + sku + " to " + user
	if ch.Remove {
		what = "remove " + sku + " from " + user
	}
	return settleWrite(op, permLicenseWrite, what, user, a, licenseReason)
}

// settleUsageLocation turns the answer to one PATCH of usageLocation into
// its result.
func settleUsageLocation(op, user, loc string, a batchAnswer) licensing.LicenseResult {
	return settleWrite(op, permUserWrite, "set the usage location of "+user+" to "+loc, user, a, codeReason)
}

// settleWrite turns the final answer to a write into its result: 2xx done,
// 404 NotFound (UserNotFound), 5xx Ambiguous, any other status Invalid with
// the reason Graph's error body gives.
func settleWrite(op, perm, what, user string, a batchAnswer, reason func(graphError, int) string) licensing.LicenseResult {
	e := parseGraphError(a.Body)
	switch {
	case a.Status >= 200 && a.Status < 300:
		return licensing.LicenseResult{}
	case a.Status == http.StatusNotFound:
		return licensing.LicenseResult{Reason: licensing.ReasonUserNotFound,
			Err: licensing.Errorf(op, licensing.NotFound, "The user %s does not exist in the directory.", user)}
	case a.Status >= 500:
		return licensing.LicenseResult{Err: licensing.Errorf(op, licensing.Ambiguous,
			"%s did not answer whether it did %s (HTTP %d); it may or may not be done, and is not sent again.", graphService, what, a.Status)}
	}
	msg := fmt.Sprintf("%s refused to %s (HTTP %d %s: %s).", graphService, what, a.Status, e.Error.Code, e.Error.Message)
	if a.Status == http.StatusUnauthorized || a.Status == http.StatusForbidden {
		msg += " The app needs the " + perm + " application permission, with admin consent."
	}
	return licensing.LicenseResult{Reason: reason(e, a.Status), Err: licensing.Errorf(op, licensing.Invalid, "%s", msg)}
}

// codeReason is Graph's error code, or the status when the body has none.
func codeReason(e graphError, status int) string {
	if e.Error.Code != "" {
		return e.Error.Code
	}
	return fmt.Sprintf("HTTP %d", status)
}
