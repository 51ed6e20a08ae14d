package graphfake

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Endpoints of license assignment. Inside a $batch each sub-request is
// counted, recorded (Request.Batch) and matched against faults under its own
// endpoint, besides the $batch request that carried it.
const (
	EndpointBatch         = "$batch"
	EndpointAssignLicense = "users/assignLicense"
	EndpointUser          = "users/item"
)

// MaxBatchRequests is how many sub-requests one $batch may hold (Graph: 20).
const MaxBatchRequests = 20

// Messages Graph answers assignLicense with, in its own wording.
const (
	msgNoUsageLocation = "License assignment cannot be done for user with invalid usage location."
	msgNotHeld         = "User does not have a corresponding license."
	msgInherited       = "User license is inherited from a group membership and it cannot be removed directly from the user."
)

// Assignment is one assignLicense the fake applied (answered 200).
type Assignment struct {
	// UserID is the user's id, lower-cased.
	UserID string
	// Add and Remove are the SKU ids of the request, lower-cased.
	Add    []string
	Remove []string
	// Batch is set when the request came inside a $batch.
	Batch bool
}

// licenseState records the assignments applied.
type licenseState struct {
	mu      sync.Mutex
	applied []Assignment
}

// Assignments returns every assignLicense applied so far, oldest first.
func (s *Server) Assignments() []Assignment {
	s.licenses.mu.Lock()
	defer s.licenses.mu.Unlock()
	return append([]Assignment(nil), s.licenses.applied...)
}

// SetMutuallyExclusive makes skuA and skuB impossible to hold together: an
// assignLicense adding one to a user who holds (or is given) the other is
// refused, as Graph refuses conflicting service plans.
func (t *Tenant) SetMutuallyExclusive(skuA, skuB string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a, b := strings.ToLower(skuA), strings.ToLower(skuB)
	if t.exclusive == nil {
		t.exclusive = map[[2]string]bool{}
	}
	t.exclusive[[2]string{a, b}] = true
	t.exclusive[[2]string{b, a}] = true
}

// licenseRoute recognises $batch, users/{id} and users/{id}/assignLicense:
// parts is the path under /v1.0/ split on "/".
func licenseRoute(parts []string) (routed, bool) {
	switch {
	case len(parts) == 1 && parts[0] == "$batch":
		return routed{endpoint: EndpointBatch}, true
	case len(parts) == 2 && parts[0] == "users" && parts[1] != "":
		return routed{endpoint: EndpointUser, user: strings.ToLower(parts[1])}, true
	case len(parts) == 3 && parts[0] == "users" && parts[1] != "" &&
		(parts[2] == "assignLicense" || parts[2] == "microsoft.graph.assignLicense"):
		return routed{endpoint: EndpointAssignLicense, user: strings.ToLower(parts[1])}, true
	}
	return routed{}, false
}

func isLicenseEndpoint(e string) bool {
	return e == EndpointBatch || e == EndpointAssignLicense || e == EndpointUser
}

// reply is the answer a fault gives.
func (f Fault) reply() reply {
	rep := errorReply(f.Status, f.Code, f.Message)
	if f.RetryAfter != "" {
		rep.header = http.Header{"Retry-After": {f.RetryAfter}}
	}
	return rep
}

// serveLicense serves $batch, assignLicense and users/{id}. body is the
// request body, gunzipped.
func (s *Server) serveLicense(method string, rt routed, q url.Values, body []byte, base string) reply {
	switch {
	case rt.endpoint == EndpointBatch && method == http.MethodPost:
		return s.batch(body, base)
	case rt.endpoint == EndpointAssignLicense && method == http.MethodPost:
		return s.assignLicense(rt.user, body, false)
	case rt.endpoint == EndpointUser && method == http.MethodGet:
		return s.getUser(rt.user, q)
	case rt.endpoint == EndpointUser && method == http.MethodPatch:
		return s.patchUser(rt.user, body)
	}
	return errorReply(http.StatusMethodNotAllowed, "Request_BadRequest", "The fake does not serve "+method+" on this path.")
}

// batchStep is one sub-request of a $batch.
type batchStep struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	DependsOn []string          `json:"dependsOn"`
}

// batch serves POST /$batch: every sub-request is served by the handler
// the direct request uses, and the answers are collected. A malformed batch
// is refused whole, with nothing served. The answers come in the reverse
// order of the requests: Graph does not promise any order.
func (s *Server) batch(body []byte, base string) reply {
	var in struct {
		Requests []batchStep `json:"requests"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return errorReply(http.StatusBadRequest, "BadRequest", "Invalid batch payload format.")
	}
	if len(in.Requests) == 0 {
		return errorReply(http.StatusBadRequest, "BadRequest", "The batch holds no requests.")
	}
	if len(in.Requests) > MaxBatchRequests {
		return errorReply(http.StatusBadRequest, "BadRequest",
			"The batch holds "+strconv.Itoa(len(in.Requests))+" requests; the limit is "+strconv.Itoa(MaxBatchRequests)+".")
	}
	seen := map[string]bool{}
	for _, r := range in.Requests {
		if msg := checkStep(r, seen); msg != "" {
			return errorReply(http.StatusBadRequest, "BadRequest", msg)
		}
	}
	type answer struct {
		ID      string            `json:"id"`
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body,omitempty"`
	}
	out := struct {
		Responses []answer `json:"responses"`
	}{}
	for i := len(in.Requests) - 1; i >= 0; i-- {
		r := in.Requests[i]
		rep := s.serveStep(r, base)
		a := answer{ID: r.ID, Status: rep.status, Headers: map[string]string{}}
		for k, v := range rep.header {
			a.Headers[k] = strings.Join(v, ", ")
		}
		if len(rep.body) > 0 {
			a.Headers["Content-Type"] = "application/json"
			a.Body = rep.body
		}
		out.Responses = append(out.Responses, a)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return errorReply(http.StatusInternalServerError, "generalException", "The batch answer could not be written.")
	}
	return okReply(b)
}

// checkStep returns why r cannot be part of a batch, "" when it can.
func checkStep(r batchStep, seen map[string]bool) string {
	switch {
	case r.ID == "":
		return "Every request in a batch needs an id."
	case seen[r.ID]:
		return "The id " + r.ID + " is used by two requests of the batch."
	case r.Method == "" || r.URL == "":
		return "The request " + r.ID + " needs a method and a url."
	case strings.Contains(r.URL, "://"):
		return "The request " + r.ID + " has an absolute url; batch urls are relative to the version."
	case len(r.DependsOn) > 0:
		return "The fake does not serve dependsOn."
	}
	seen[r.ID] = true
	if len(stepBody(r)) > 0 {
		for k := range r.Headers {
			if strings.EqualFold(k, "Content-Type") {
				return ""
			}
		}
		return "Content-Type header must be specified for the request " + r.ID + ", which has a body."
	}
	return ""
}

func stepBody(r batchStep) []byte {
	if len(r.Body) == 0 || string(r.Body) == "null" {
		return nil
	}
	return r.Body
}

// serveStep serves one sub-request of a $batch, with the faults of its
// endpoint, and counts and records it.
func (s *Server) serveStep(r batchStep, base string) reply {
	u, err := url.Parse(r.URL)
	if err != nil {
		return errorReply(http.StatusBadRequest, "BadRequest", "The url of request "+r.ID+" is not a URL.")
	}
	path := "/v1.0/" + strings.TrimPrefix(u.Path, "/")
	rt := route(path)
	body := stepBody(r)
	rec := Request{Endpoint: rt.endpoint, Method: strings.ToUpper(r.Method), Path: path, Query: u.Query(),
		Body: body, Size: len(body), Batch: true}
	f, faulty := s.takeFault(rt.endpoint)
	var rep reply
	switch {
	case faulty && !f.After:
		rep = f.reply()
	case rt.endpoint == EndpointAssignLicense && rec.Method == http.MethodPost:
		rep = s.assignLicense(rt.user, body, true)
	case rt.endpoint == EndpointUser:
		rep = s.serveLicense(rec.Method, rt, rec.Query, body, base)
	default:
		rep = errorReply(http.StatusBadRequest, "Request_BadRequest", "The fake serves only assignLicense and users/{id} inside $batch.")
	}
	if faulty && f.After {
		rep = f.reply()
	}
	rec.Status = rep.status
	s.record(rec)
	return rep
}

// assignBody is the JSON of assignLicense.
type assignBody struct {
	AddLicenses *[]struct {
		SkuID         string   `json:"skuId"`
		DisabledPlans []string `json:"disabledPlans"`
	} `json:"addLicenses"`
	RemoveLicenses *[]string `json:"removeLicenses"`
}

// assignLicense serves POST /users/{id}/assignLicense: both lists are
// required; each added SKU needs a usage location on the user, a subscribed
// SKU with a free unit (unless the user holds it already) and no mutually
// exclusive SKU; each removed SKU must be assigned to the user directly.
// Either everything is applied or nothing.
func (s *Server) assignLicense(user string, body []byte, batched bool) reply {
	var in assignBody
	if err := json.Unmarshal(body, &in); err != nil {
		return errorReply(http.StatusBadRequest, "Request_BadRequest", "The request body is not an assignLicense payload.")
	}
	var missing []string
	if in.AddLicenses == nil {
		missing = append(missing, "addLicenses")
	}
	if in.RemoveLicenses == nil {
		missing = append(missing, "removeLicenses")
	}
	if len(missing) > 0 {
		return errorReply(http.StatusBadRequest, "Request_BadRequest",
			"One or more parameters of the operation 'assignLicense' are missing from the request payload. The missing parameters are: "+strings.Join(missing, ", ")+".")
	}
	var add, remove []string
	for _, a := range *in.AddLicenses {
		add = append(add, strings.ToLower(a.SkuID))
	}
	for _, r := range *in.RemoveLicenses {
		remove = append(remove, strings.ToLower(r))
	}
	for _, sku := range append(append([]string(nil), add...), remove...) {
		if !licensing.IsGUID(sku) {
			return errorReply(http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property 'skuId': '"+sku+"'.")
		}
	}
	u, rep := s.tenant.assign(user, add, remove)
	if rep != nil {
		return *rep
	}
	s.licenses.mu.Lock()
	s.licenses.applied = append(s.licenses.applied, Assignment{UserID: u.ID, Add: add, Remove: remove, Batch: batched})
	s.licenses.mu.Unlock()
	sel, _ := parseSelect(url.Values{})
	var w jsonWriter
	writeUser(&w, u, sel, false)
	return okReply(w.buf)
}

// assign applies an assignLicense to the user with id, or returns the
// refusal.
func (t *Tenant) assign(id string, add, remove []string) (User, *reply) {
	t.mu.Lock()
	defer t.mu.Unlock()
	u, rep := t.liveUser(id)
	if rep != nil {
		return User{}, rep
	}
	refuse := func(msg string) (User, *reply) {
		r := errorReply(http.StatusBadRequest, "Request_BadRequest", msg)
		return User{}, &r
	}
	kept := u.Licenses[:0:0]
	for _, l := range u.Licenses {
		if l.AssignedByGroup == "" && contains(remove, strings.ToLower(l.SkuID)) {
			continue
		}
		kept = append(kept, l)
	}
	for _, sku := range remove {
		if held(u.Licenses, sku, true) {
			continue
		}
		if held(u.Licenses, sku, false) {
			return refuse(msgInherited)
		}
		return refuse(msgNotHeld)
	}
	if len(add) > 0 && u.UsageLocation == "" {
		return refuse(msgNoUsageLocation)
	}
	consumed := t.consumedLocked()
	holding := activeSkus(User{Licenses: kept})
	for _, sku := range add {
		for _, other := range append(append([]string(nil), holding...), add...) {
			if t.exclusive[[2]string{sku, other}] {
				return refuse("License assignment failed because service plans " + sku + "," + other + " are mutually exclusive.")
			}
		}
		k, ok := t.sku(sku)
		switch {
		case !ok:
			return refuse("License " + sku + " does not correspond to a valid company License.")
		case contains(holding, sku):
		case k.Enabled-consumed[sku] <= 0:
			return refuse("Subscription with SKU " + sku + " does not have any available licenses.")
		}
	}
	for _, sku := range add {
		if !held(kept, sku, true) {
			kept = append(kept, LicenseState{SkuID: sku})
		}
	}
	before := activeSkus(u)
	u.Licenses = kept
	t.putLocked(u)
	t.carryConsumed(consumed, before, activeSkus(u))
	return cloneUser(u), nil
}

// carryConsumed keeps the consumed-units count valid across one user's
// change from the SKUs before to those after, so that an assignment does
// not recount every user of the tenant; consumed is the count before the
// change. The count is copied, not changed in place: Skus hands it out.
// t.mu must be held for writing.
func (t *Tenant) carryConsumed(consumed map[string]int, before, after []string) {
	next := maps.Clone(consumed)
	for _, sku := range before {
		next[sku]--
	}
	for _, sku := range after {
		next[sku]++
	}
	t.consumed, t.consumedVersion, t.consumedValid = next, t.seq, true
}

// liveUser returns the user with id; t.mu must be held.
func (t *Tenant) liveUser(id string) (User, *reply) {
	id = strings.ToLower(id)
	if slot, ok := t.slotOf(id); ok {
		if u, live := t.userAt(slot); live {
			return cloneUser(u), nil
		}
	}
	r := userNotFound(id)
	return User{}, &r
}

// userNotFound is Graph's answer for a user that does not exist.
func userNotFound(id string) reply {
	return errorReply(http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '"+strings.ToLower(id)+"' does not exist or one of its queried reference-property objects are not present.")
}

// sku returns the subscribed SKU with id; t.mu must be held.
func (t *Tenant) sku(id string) (Sku, bool) {
	for _, k := range t.skus {
		if k.SkuID == id {
			return k, true
		}
	}
	return Sku{}, false
}

// held reports whether ls assign sku, directly only when direct is set.
func held(ls []LicenseState, sku string, direct bool) bool {
	for _, l := range ls {
		if strings.EqualFold(l.SkuID, sku) && (!direct || l.AssignedByGroup == "") {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// getUser serves GET /users/{id} with $select.
func (s *Server) getUser(id string, q url.Values) reply {
	sel, bad := parseSelect(q)
	if bad != "" {
		return unknownProperty(bad)
	}
	if sel["signInActivity"] {
		return errorReply(http.StatusBadRequest, "Request_BadRequest", "The fake does not serve signInActivity on a single user.")
	}
	t := s.tenant
	t.mu.RLock()
	defer t.mu.RUnlock()
	u, rep := t.liveUser(id)
	if rep != nil {
		return *rep
	}
	var w jsonWriter
	writeUser(&w, u, sel, false)
	return okReply(w.buf)
}

// patchUser serves PATCH /users/{id}. Only usageLocation can be changed: a
// two-letter country code, or null to clear it. It answers 204.
func (s *Server) patchUser(id string, body []byte) reply {
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil || len(in) == 0 {
		return errorReply(http.StatusBadRequest, "Request_BadRequest", "The request body is not a user object with properties to update.")
	}
	location := ""
	for k, v := range in {
		if k != "usageLocation" {
			return errorReply(http.StatusBadRequest, "Request_BadRequest", "The fake updates usageLocation only, not '"+k+"'.")
		}
		if string(v) != "null" && (json.Unmarshal(v, &location) != nil || !isCountryCode(location)) {
			return errorReply(http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property 'usageLocation' of resource 'User'.")
		}
	}
	if !s.tenant.UpdateUser(id, func(u *User) { u.UsageLocation = strings.ToUpper(location) }) {
		return userNotFound(id)
	}
	return reply{status: http.StatusNoContent}
}

func isCountryCode(s string) bool {
	if len(s) != 2 {
		return false
	}
	for i := 0; i < 2; i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
