package handlers

import (
	"strings"
	"testing"
)

// TestProvisioningAPI sends the host's envelopes to the Provisioning
// function: a delegate reads their own agency and is refused another's, the
// run on demand is for admins, and a dry run answers the plan.
func TestProvisioningAPI(t *testing.T) {
	h := newTestHost(t, hostOpts{})
	if r := putDOA(h, nil); r.status != 201 {
		t.Fatalf("put DOA: %d %s", r.status, r.body)
	}
	det := h.do(call{function: "Agencies", method: "PUT", path: "agencies/det", params: map[string]string{"id": "det"}, caller: admin,
		body: `{"name": "Technology", "contacts": ["x@det.example.gov"], "delegates": ["lee@det.example.gov"], "attribution": {"attribute": "upnDomain", "values": ["det.example.gov"]}}`})
	if det.status != 201 {
		t.Fatalf("put DET: %d %s", det.status, det.body)
	}
	get := func(caller, agency string) reply {
		return h.do(call{function: "Provisioning", method: "GET", path: "provisioning", query: map[string]string{"agency": agency}, caller: caller})
	}
	if r := get("pat.doe@doa.example.gov", "DOA"); r.status != 200 || !strings.Contains(r.body, `"agency":"DOA"`) || !strings.Contains(r.body, `"sku":"VISIOCLIENT"`) || !strings.Contains(r.body, `"waitlist":[]`) {
		t.Errorf("delegate's own agency: %d %s", r.status, r.body)
	}
	if r := get("lee@det.example.gov", "DOA"); r.status != 403 || !strings.Contains(r.body, "only your own agency") {
		t.Errorf("another agency's delegate: %d %s; want 403", r.status, r.body)
	}
	if r := get(admin, ""); r.status != 200 || !strings.Contains(r.body, `"count":1`) {
		t.Errorf("admin, all agencies: %d %s", r.status, r.body)
	}
	if r := get("", "DOA"); r.status != 401 {
		t.Errorf("nobody: %d; want 401", r.status)
	}

	run := func(caller, method string, query map[string]string) reply {
		return h.do(call{function: "Provisioning", method: method, path: "provisioning/run", params: map[string]string{"action": "run"}, query: query, caller: caller})
	}
	if r := run("pat.doe@doa.example.gov", "POST", map[string]string{"dryRun": "true"}); r.status != 403 {
		t.Errorf("a delegate's run: %d; want 403", r.status)
	}
	if r := run(admin, "GET", nil); r.status != 405 {
		t.Errorf("GET of the run: %d; want 405", r.status)
	}
	if r := run(admin, "POST", map[string]string{"dryRun": "maybe"}); r.status != 422 || !strings.Contains(r.body, "dryRun") {
		t.Errorf("bad dryRun: %d %s; want 422 naming dryRun", r.status, r.body)
	}
	r := run(admin, "POST", map[string]string{"dryRun": "true", "agency": "doa"})
	if r.status != 200 || !strings.Contains(r.body, `"dryRun":true`) || !strings.Contains(r.body, `"problem":"no group"`) {
		t.Errorf("admin's dry run: %d %s", r.status, r.body)
	}
	if r := h.do(call{function: "Provisioning", method: "POST", path: "provisioning/start", params: map[string]string{"action": "start"}, caller: admin}); r.status != 404 {
		t.Errorf("unknown action: %d; want 404", r.status)
	}
}
