package graphfake

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// userProperties are the user properties the fake can serve, in the order
// it writes them: those the app reads (licensing.UserFields), the others
// Graph returns for a user without $select, and signInActivity.
var userProperties = append(licensing.UserFields(),
	"givenName", "surname", "jobTitle", "businessPhones", "mobilePhone", "preferredLanguage", "signInActivity")

// defaultUserProperties are what Graph v1.0 returns for a user without
// $select.
var defaultUserProperties = []string{
	"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
	"officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id",
}

// selection is a parsed $select of user properties.
type selection map[string]bool

// parseSelect parses $select. It returns the name of the first unknown
// property when there is one.
func parseSelect(q url.Values) (selection, string) {
	raw := q.Get("$select")
	sel := selection{}
	if strings.TrimSpace(raw) == "" {
		for _, p := range defaultUserProperties {
			sel[p] = true
		}
		return sel, ""
	}
	for _, p := range strings.Split(raw, ",") {
		p = strings.TrimSpace(p)
		found := false
		for _, known := range userProperties {
			if strings.EqualFold(p, known) {
				sel[known] = true
				found = true
				break
			}
		}
		if !found {
			return nil, p
		}
	}
	sel["id"] = true
	return sel, ""
}

func (sel selection) String() string {
	var out []string
	for _, p := range userProperties {
		if sel[p] {
			out = append(out, p)
		}
	}
	return strings.Join(out, ",")
}

func unknownProperty(p string) reply {
	return errorReply(http.StatusBadRequest, "Request_BadRequest",
		"Could not find a property named '"+p+"' on type 'microsoft.graph.user'.")
}

// parseTop reads $top: def when absent, an error reply when not a whole
// number from 1 to max.
func parseTop(q url.Values, def, max int) (int, *reply) {
	raw := q.Get("$top")
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > max {
		rep := errorReply(http.StatusBadRequest, "Request_BadRequest",
			"Invalid page size specified: '"+raw+"'. Must be between 1 and "+strconv.Itoa(max)+" inclusive.")
		return 0, &rep
	}
	return n, nil
}

// token is the content of the fake's skip and delta tokens. Graph's tokens
// are opaque; these are base64 JSON so that a garbled one is detected.
type token struct {
	Kind   string `json:"k"`           // "list", "range", "delta", "skip"
	Key    string `json:"p,omitempty"` // range: the last principal name served
	Epoch  uint64 `json:"e,omitempty"` // delta and skip
	Since  int64  `json:"s,omitempty"` // skip: -1 for an initial round
	Upto   uint64 `json:"u,omitempty"` // delta: state; skip: round's end
	Offset int    `json:"o,omitempty"`
	Select string `json:"x,omitempty"`
}

func (t token) encode() string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s, kind string) (token, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return token{}, false
	}
	var t token
	if json.Unmarshal(b, &t) != nil || t.Kind != kind {
		return token{}, false
	}
	return t, true
}

// listUsers serves GET /users.
func (s *Server) listUsers(base string, q url.Values) reply {
	sel, bad := parseSelect(q)
	if bad != "" {
		return unknownProperty(bad)
	}
	max := MaxTop
	if sel["signInActivity"] {
		max = MaxTopWithSignIn
	}
	top, errRep := parseTop(q, DefaultTop, max)
	if errRep != nil {
		return *errRep
	}
	filter, errRep := parseFilter(q.Get("$filter"))
	if errRep != nil {
		return *errRep
	}
	kind := "list"
	if filter.active() {
		kind = "range"
	}
	start, errRep := pageToken(q, kind)
	if errRep != nil {
		return *errRep
	}
	t := s.tenant
	t.mu.RLock()
	defer t.mu.RUnlock()
	if sel["signInActivity"] && t.signInForbidden {
		return errorReply(http.StatusForbidden, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
			"Neither tenant is B2C or tenant doesn't have premium license")
	}
	var w jsonWriter
	w.buf = make([]byte, 0, top*900)
	w.open('{')
	w.key("@odata.context")
	w.str(base + "/$metadata#users(" + sel.String() + ")")
	var page []User
	var nextTok *token
	if filter.active() {
		// A filtered read follows the principal-name order (see index.go).
		var from *upnPos
		if start.Kind == "range" {
			from = &upnPos{key: start.Key, slot: start.Offset}
		}
		var last *upnPos
		page, last = t.usersAfter(filter, from, top)
		if last != nil {
			nextTok = &token{Kind: "range", Key: last.key, Offset: last.slot}
		}
	} else {
		total := t.baseLen + t.extra
		slot := start.Offset
		for ; slot < total && len(page) < top; slot++ {
			if u, live := t.userAt(slot); live {
				page = append(page, u)
			}
		}
		for slot < total {
			if _, live := t.userAt(slot); live {
				break
			}
			slot++
		}
		if slot < total {
			nextTok = &token{Kind: "list", Offset: slot}
		}
	}
	if nextTok != nil {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("$skiptoken", nextTok.encode())
		w.key("@odata.nextLink")
		w.str(base + "/users?" + encodeQuery(next))
	}
	w.key("value")
	w.open('[')
	for _, u := range page {
		w.elem()
		writeUser(&w, u, sel, false)
	}
	w.close(']')
	w.close('}')
	return okReply(w.buf)
}

// encodeQuery encodes q with $-names left readable, as Graph's links are.
func encodeQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range q[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(strings.ReplaceAll(url.QueryEscape(k), "%24", "$"))
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(v))
		}
	}
	return b.String()
}

// writeUser writes u with the selected properties. typed adds @odata.type,
// as Graph does in collections of directory objects.
func writeUser(w *jsonWriter, u User, sel selection, typed bool) {
	w.open('{')
	if typed {
		w.key("@odata.type")
		w.str(kindUser)
	}
	for _, p := range userProperties {
		if !sel[p] {
			continue
		}
		w.key(p)
		switch p {
		case "id":
			w.str(u.ID)
		case "userPrincipalName":
			w.strOrNull(u.UserPrincipalName)
		case "displayName":
			w.strOrNull(u.DisplayName)
		case "mail":
			w.strOrNull(u.Mail)
		case "department":
			w.strOrNull(u.Department)
		case "companyName":
			w.strOrNull(u.CompanyName)
		case "officeLocation":
			w.strOrNull(u.OfficeLocation)
		case "usageLocation":
			w.strOrNull(u.UsageLocation)
		case "accountEnabled":
			w.boolean(u.AccountEnabled)
		case "createdDateTime":
			w.date(u.Created)
		case "businessPhones":
			w.raw("[]")
		case "onPremisesExtensionAttributes":
			w.open('{')
			for i, v := range u.ExtensionAttributes {
				w.key("extensionAttribute" + strconv.Itoa(i+1))
				w.strOrNull(v)
			}
			w.close('}')
		case "assignedLicenses":
			w.open('[')
			for _, sku := range activeSkus(u) {
				w.elem()
				w.raw(`{"disabledPlans":[],"skuId":`)
				w.str(sku)
				w.raw("}")
			}
			w.close(']')
		case "licenseAssignmentStates":
			w.open('[')
			for _, l := range u.Licenses {
				w.elem()
				w.raw(`{"assignedByGroup":`)
				w.strOrNull(strings.ToLower(l.AssignedByGroup))
				w.raw(`,"disabledPlans":[],"error":`)
				if l.Error == "" {
					w.raw(`"None","lastUpdatedDateTime":null,"skuId":`)
				} else {
					w.str(l.Error)
					w.raw(`,"lastUpdatedDateTime":null,"skuId":`)
				}
				w.str(strings.ToLower(l.SkuID))
				if l.Error == "" {
					w.raw(`,"state":"Active"}`)
				} else {
					w.raw(`,"state":"Error"}`)
				}
			}
			w.close(']')
		case "signInActivity":
			if u.LastSignIn == nil && u.LastNonInteractiveSignIn == nil {
				w.raw("null")
				continue
			}
			w.open('{')
			w.key("lastSignInDateTime")
			w.datePtr(u.LastSignIn)
			w.key("lastSignInRequestId")
			w.raw("null")
			w.key("lastNonInteractiveSignInDateTime")
			w.datePtr(u.LastNonInteractiveSignIn)
			w.key("lastNonInteractiveSignInRequestId")
			w.raw("null")
			w.close('}')
		default:
			w.raw("null")
		}
	}
	w.close('}')
}

// delta serves GET /users/delta.
func (s *Server) delta(base string, q url.Values) reply {
	t := s.tenant
	t.mu.RLock()
	defer t.mu.RUnlock()
	gone := errorReply(http.StatusGone, "SyncStateNotFound",
		"The sync state generation is not found or has expired; start a new round of change tracking.")
	var (
		since   int64 = -1
		upto          = t.seq
		offset  int
		selText = q.Get("$select")
	)
	switch {
	case q.Get("$deltatoken") == "latest" || q.Get("$deltaToken") == "latest":
		sel, bad := parseSelect(q)
		if bad != "" {
			return unknownProperty(bad)
		}
		return s.deltaPage(base, sel, nil, token{Kind: "delta", Epoch: t.epoch, Upto: t.seq, Select: selText})
	case q.Get("$deltatoken") != "":
		tok, ok := decodeToken(q.Get("$deltatoken"), "delta")
		if !ok || tok.Epoch != t.epoch || tok.Upto > t.seq {
			return gone
		}
		since, selText = int64(tok.Upto), tok.Select
	case q.Get("$skiptoken") != "":
		tok, ok := decodeToken(q.Get("$skiptoken"), "skip")
		if !ok || tok.Epoch != t.epoch {
			return gone
		}
		since, upto, offset, selText = tok.Since, tok.Upto, tok.Offset, tok.Select
	default:
		if q.Get("$top") != "" {
			return errorReply(http.StatusBadRequest, "Request_UnsupportedQuery", "$top is not supported with delta queries on users.")
		}
	}
	sel, bad := parseSelect(url.Values{"$select": {selText}})
	if bad != "" {
		return unknownProperty(bad)
	}
	if sel["signInActivity"] {
		return errorReply(http.StatusBadRequest, "Request_UnsupportedQuery",
			"Property 'signInActivity' is not supported with delta queries.")
	}
	size := s.DeltaPageSize
	if size <= 0 {
		size = DefaultDeltaPageSize
	}
	var slots []int
	if since < 0 {
		total := t.baseLen + t.extra
		for slot := offset; slot < total && len(slots) < size; slot++ {
			if _, live := t.userAt(slot); live {
				slots = append(slots, slot)
			}
		}
		end := offset
		if len(slots) > 0 {
			end = slots[len(slots)-1] + 1
		}
		more := false
		for slot := end; slot < total; slot++ {
			if _, live := t.userAt(slot); live {
				more = true
				break
			}
		}
		var next *token
		if more {
			next = &token{Kind: "skip", Epoch: t.epoch, Since: -1, Upto: upto, Offset: end, Select: selText}
		}
		return s.deltaPage(base, sel, slots, s.deltaNext(next, t.epoch, upto, selText))
	}
	changed := t.changedSince(uint64(since), upto)
	end := min(offset+size, len(changed))
	slots = changed[offset:end]
	var next *token
	if end < len(changed) {
		next = &token{Kind: "skip", Epoch: t.epoch, Since: since, Upto: upto, Offset: end, Select: selText}
	}
	return s.deltaPage(base, sel, slots, s.deltaNext(next, t.epoch, upto, selText))
}

// deltaNext returns next when there is another page, else the round's final
// delta token.
func (s *Server) deltaNext(next *token, epoch, upto uint64, sel string) token {
	if next != nil {
		return *next
	}
	return token{Kind: "delta", Epoch: epoch, Upto: upto, Select: sel}
}

// changedSince lists the slots changed after since up to upto, each once, in
// the order of their last change. t.mu must be held.
func (t *Tenant) changedSince(since, upto uint64) []int {
	i := sort.Search(len(t.log), func(i int) bool { return t.log[i].seq > since })
	last := map[int]int{}
	var order []int
	for ; i < len(t.log) && t.log[i].seq <= upto; i++ {
		slot := t.log[i].slot
		if _, ok := last[slot]; !ok {
			order = append(order, slot)
		}
		last[slot] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return last[order[a]] < last[order[b]] })
	return order
}

// deltaPage writes one delta page: the users in slots (removed ones as
// @removed) and a nextLink or deltaLink from link.
func (s *Server) deltaPage(base string, sel selection, slots []int, link token) reply {
	t := s.tenant
	var w jsonWriter
	w.open('{')
	w.key("@odata.context")
	w.str(base + "/$metadata#users(" + sel.String() + ")")
	if link.Kind == "skip" {
		w.key("@odata.nextLink")
		w.str(base + "/users/delta()?$skiptoken=" + link.encode())
	} else {
		w.key("@odata.deltaLink")
		w.str(base + "/users/delta()?$deltatoken=" + link.encode())
	}
	w.key("value")
	w.open('[')
	for _, slot := range slots {
		w.elem()
		if st := t.states[slot]; st != nil && st.kind == slotRemoved {
			reason := "changed"
			if st.permanent {
				reason = "deleted"
			}
			w.open('{')
			w.key("id")
			w.str(st.user.ID)
			w.key("@removed")
			w.open('{')
			w.key("reason")
			w.str(reason)
			w.close('}')
			w.close('}')
			continue
		}
		u, _ := t.userAt(slot)
		writeUser(&w, u, sel, false)
	}
	w.close(']')
	w.close('}')
	return okReply(w.buf)
}

// subscribedSkus serves GET /subscribedSkus.
func (s *Server) subscribedSkus(base string, _ url.Values) reply {
	skus, consumed := s.tenant.Skus()
	s.tenant.mu.RLock()
	tenantID := s.tenant.tenantID
	s.tenant.mu.RUnlock()
	var w jsonWriter
	w.open('{')
	w.key("@odata.context")
	w.str(base + "/$metadata#subscribedSkus")
	w.key("value")
	w.open('[')
	for _, k := range skus {
		w.elem()
		w.open('{')
		w.key("accountId")
		w.str(tenantID)
		w.key("appliesTo")
		w.str("User")
		w.key("capabilityStatus")
		w.str(orDefault(k.CapabilityStatus, "Enabled"))
		w.key("consumedUnits")
		w.integer(consumed[k.SkuID])
		w.key("id")
		w.str(tenantID + "_" + k.SkuID)
		w.key("skuId")
		w.str(k.SkuID)
		w.key("skuPartNumber")
		w.str(k.PartNumber)
		w.key("prepaidUnits")
		w.open('{')
		w.key("enabled")
		w.integer(k.Enabled)
		w.key("suspended")
		w.integer(k.Suspended)
		w.key("warning")
		w.integer(k.Warning)
		w.key("lockedOut")
		w.integer(k.LockedOut)
		w.close('}')
		w.key("servicePlans")
		w.raw("[]")
		w.close('}')
	}
	w.close(']')
	w.close('}')
	return okReply(w.buf)
}

// subscriptions serves GET /directory/subscriptions.
func (s *Server) subscriptions(base string, _ url.Values) reply {
	t := s.tenant
	t.mu.RLock()
	subs := append([]Subscription(nil), t.subs...)
	tenantID := t.tenantID
	t.mu.RUnlock()
	var w jsonWriter
	w.open('{')
	w.key("@odata.context")
	w.str(base + "/$metadata#directory/subscriptions")
	w.key("value")
	w.open('[')
	for _, sub := range subs {
		w.elem()
		w.open('{')
		w.key("id")
		w.str(sub.ID)
		w.key("commerceSubscriptionId")
		w.strOrNull(sub.CommerceSubscriptionID)
		w.key("createdDateTime")
		w.date(sub.Created)
		w.key("isTrial")
		w.boolean(sub.IsTrial)
		w.key("nextLifecycleDateTime")
		w.datePtr(sub.NextLifecycle)
		w.key("ownerId")
		w.str(tenantID)
		w.key("ownerTenantId")
		w.str(tenantID)
		w.key("ownerType")
		w.str("Company")
		w.key("skuId")
		w.str(strings.ToLower(sub.SkuID))
		w.key("skuPartNumber")
		w.str(sub.PartNumber)
		w.key("status")
		w.str(orDefault(sub.Status, "Enabled"))
		w.key("totalLicenses")
		w.integer(sub.TotalLicenses)
		w.key("serviceStatus")
		w.raw("[]")
		w.close('}')
	}
	w.close(']')
	w.close('}')
	return okReply(w.buf)
}

// transitiveMembers serves GET /groups/{id}/transitiveMembers and its
// graph.user cast.
func (s *Server) transitiveMembers(base, group string, usersOnly bool, q url.Values) reply {
	sel, bad := parseSelect(q)
	if bad != "" {
		if usersOnly {
			return unknownProperty(bad)
		}
		sel = selection{"id": true, "displayName": true}
	}
	if sel["signInActivity"] {
		return errorReply(http.StatusBadRequest, "Request_UnsupportedQuery", "signInActivity is not supported on group members.")
	}
	top, errRep := parseTop(q, DefaultTop, MaxTop)
	if errRep != nil {
		return *errRep
	}
	start, errRep := pageStart(q)
	if errRep != nil {
		return *errRep
	}
	t := s.tenant
	t.mu.Lock()
	defer t.mu.Unlock()
	all, ok := t.transitiveMembers(group)
	if !ok {
		return errorReply(http.StatusNotFound, "Request_ResourceNotFound",
			"Resource '"+group+"' does not exist or one of its queried reference-property objects are not present.")
	}
	var refs []memberRef
	if usersOnly {
		for _, m := range all {
			if m.kind == kindUser {
				refs = append(refs, m)
			}
		}
	} else {
		refs = all
	}
	end := min(start+top, len(refs))
	if start > end {
		start = end
	}
	var w jsonWriter
	w.open('{')
	w.key("@odata.context")
	if usersOnly {
		w.str(base + "/$metadata#users")
	} else {
		w.str(base + "/$metadata#directoryObjects")
	}
	if end < len(refs) {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("$skiptoken", token{Kind: "list", Offset: end}.encode())
		path := "/groups/" + group + "/transitiveMembers"
		if usersOnly {
			path += "/microsoft.graph.user"
		}
		w.key("@odata.nextLink")
		w.str(base + path + "?" + encodeQuery(next))
	}
	w.key("value")
	w.open('[')
	for _, m := range refs[start:end] {
		w.elem()
		switch m.kind {
		case kindUser:
			u, _ := t.userAt(m.slot)
			writeUser(&w, u, sel, true)
		case kindGroup:
			w.open('{')
			w.key("@odata.type")
			w.str(kindGroup)
			w.key("id")
			w.str(m.id)
			w.key("displayName")
			w.strOrNull(t.groups[m.id].DisplayName)
			w.close('}')
		default:
			w.open('{')
			w.key("@odata.type")
			w.str(m.kind)
			w.key("id")
			w.str(m.id)
			w.key("displayName")
			w.strOrNull(t.devices[m.id].DisplayName)
			w.close('}')
		}
	}
	w.close(']')
	w.close('}')
	return okReply(w.buf)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// pageStart reads the offset a list page's $skiptoken carries (0 without
// one); an unreadable token is answered as Graph answers an expired one.
func pageStart(q url.Values) (int, *reply) {
	tok, r := pageToken(q, "list")
	return tok.Offset, r
}

// pageToken reads a list page's $skiptoken of kind (the zero token without
// one); an unreadable token is answered as Graph answers an expired one.
func pageToken(q url.Values, kind string) (token, *reply) {
	raw := q.Get("$skiptoken")
	if raw == "" {
		return token{}, nil
	}
	tok, ok := decodeToken(raw, kind)
	if !ok {
		r := errorReply(http.StatusBadRequest, "Directory_ExpiredPageToken", "The specified page token value has expired and can no longer be included in your request.")
		return token{}, &r
	}
	return tok, nil
}
