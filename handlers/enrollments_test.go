package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/devkit/azuritetest"
	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/devkit/storetest"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/tablestore"
)

const enrollmentJSON = `{
  "anniversary": "2027-03-01",
  "kind": "enterprise",
  "platformProducts": [
    {"name": "Office Professional Plus", "coveredBy": ["Office 365 E3"]},
    {"name": "Core CAL", "coveredBy": ["Microsoft 365 E3"], "bridge": "Core CAL Bridge for Office 365"}
  ],
  "lastReported": 12000,
  "reservations": [{"service": "Office 365 E3", "quantity": 250, "date": "2026-05-02"}],
  "transitions": [{"service": "Microsoft 365 E3", "quantity": 40, "date": "2026-09-15"}],
  "reductions": [{"product": "Core CAL", "quantity": 30, "date": "2027-03-01"}]
}`

// wantEnrollment is enrollmentJSON as stored for EA-1234567 by admin.
func wantEnrollment() enrollmentResponse {
	return enrollmentResponse{
		Number: "EA-1234567", Anniversary: licensing.NewDate(2027, 3, 1), Kind: licensing.EnrollmentEnterprise, LastReported: 12000,
		PlatformProducts: []platformProductResponse{
			{Name: "Office Professional Plus", CoveredBy: []string{"Office 365 E3"}},
			{Name: "Core CAL", CoveredBy: []string{"Microsoft 365 E3"}, Bridge: "Core CAL Bridge for Office 365"},
		},
		Reservations: []serviceChangeResponse{{Service: "Office 365 E3", Quantity: 250, Date: licensing.NewDate(2026, 5, 2)}},
		Transitions:  []serviceChangeResponse{{Service: "Microsoft 365 E3", Quantity: 40, Date: licensing.NewDate(2026, 9, 15)}},
		Reductions:   []reductionResponse{{Product: "Core CAL", Quantity: 30, Date: licensing.NewDate(2027, 3, 1)}},
		Updated:      testClock, UpdatedBy: admin,
	}
}

func putEnrollmentCall(number, body, caller string, headers map[string]string) call {
	return call{function: "Enrollments", method: "PUT", path: "enrollments/" + number, params: map[string]string{"number": number},
		body: body, caller: caller, headers: headers}
}

func getEnrollmentCall(number, caller string) call {
	c := call{function: "Enrollments", method: "GET", path: "enrollments", caller: caller}
	if number != "" {
		c.path, c.params = "enrollments/"+number, map[string]string{"number": number}
	}
	return c
}

// enrollmentHosts runs fn against a Server whose enrollments are kept in
// memory and against one whose enrollments are in Table Storage (Azurite).
// The other services keep their records in memory; DOA, with its delegate,
// is configured.
func enrollmentHosts(t *testing.T, fn func(t *testing.T, h *testHost)) {
	stores := map[string]func(t *testing.T) licensing.EnrollmentStore{
		"memstore": func(t *testing.T) licensing.EnrollmentStore { return nil },
		"tablestore": func(t *testing.T) licensing.EnrollmentStore {
			s := tablestore.New(azuritetest.TableService(t), tablestore.Options{TablePrefix: azuritetest.Name(t, "he")})
			if err := s.Init(context.Background()); err != nil {
				t.Fatalf("Init: %v", err)
			}
			return s
		},
	}
	for _, name := range []string{"memstore", "tablestore"} {
		t.Run(name, func(t *testing.T) {
			h := startHost(t, memstore.New(), hostOpts{enrollments: stores[name](t)})
			if r := putDOA(h, nil); r.status != http.StatusCreated {
				t.Fatalf("PUT DOA: %d %s", r.status, r.body)
			}
			fn(t, h)
		})
	}
}

// TestEnrollmentsLifecycle creates, reads, replaces and lists an
// enrollment through the host's envelopes, with the ETag guarding each
// replace.
func TestEnrollmentsLifecycle(t *testing.T) {
	enrollmentHosts(t, func(t *testing.T, h *testHost) {
		empty := h.do(getEnrollmentCall("", admin))
		if empty.status != 200 || !strings.Contains(empty.body, `"enrollments":[]`) || !strings.Contains(empty.body, `"count":0`) {
			t.Errorf("list before any: %d %s", empty.status, empty.body)
		}

		created := h.do(putEnrollmentCall("EA-1234567", enrollmentJSON, admin, nil))
		if created.hostStatus != 200 || created.status != http.StatusCreated {
			t.Fatalf("PUT new enrollment: host %d, status %d, body %s", created.hostStatus, created.status, created.body)
		}
		etag := created.headers["ETag"]
		if created.headers["Location"] != "/api/enrollments/EA-1234567" || etag == "" {
			t.Errorf("headers = %v", created.headers)
		}
		want := wantEnrollment()
		want.ETag = etag
		var got enrollmentResponse
		created.json(t, &got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("PUT answered (-want +got):\n%s", diff)
		}

		read := h.do(getEnrollmentCall("EA-1234567", admin))
		if read.status != 200 || read.headers["ETag"] != etag {
			t.Fatalf("GET: %d %v %s; want 200 with ETag %s", read.status, read.headers, read.body, etag)
		}
		if read.body != created.body {
			t.Errorf("GET answered\n%s\nPUT answered\n%s", read.body, created.body)
		}

		// What GET answered, edited and sent back with its ETag, replaces.
		edited := strings.Replace(read.body, `"lastReported":12000`, `"lastReported":12500`, 1)
		replaced := h.do(putEnrollmentCall("EA-1234567", edited, admin, map[string]string{"If-Match": etag}))
		if replaced.status != http.StatusOK || replaced.headers["ETag"] == "" || replaced.headers["ETag"] == etag || replaced.headers["Location"] != "" {
			t.Fatalf("PUT with the current If-Match: %d %v %s; want 200 with a new ETag", replaced.status, replaced.headers, replaced.body)
		}
		replaced.json(t, &got)
		if got.LastReported != 12500 || got.ETag != replaced.headers["ETag"] {
			t.Errorf("replaced enrollment = %+v", got)
		}

		stale := h.do(putEnrollmentCall("EA-1234567", enrollmentJSON, admin, map[string]string{"If-Match": etag}))
		if stale.status != http.StatusPreconditionFailed || !strings.Contains(stale.body, `"stale"`) {
			t.Errorf("PUT with a stale If-Match = %d %s, want 412", stale.status, stale.body)
		}
		exists := h.do(putEnrollmentCall("EA-1234567", enrollmentJSON, admin, map[string]string{"If-None-Match": "*"}))
		if exists.status != http.StatusPreconditionFailed {
			t.Errorf("PUT If-None-Match * on an existing one = %d %s, want 412", exists.status, exists.body)
		}
		if r := h.do(getEnrollmentCall("EA-1234567", admin)); r.headers["ETag"] != replaced.headers["ETag"] || !strings.Contains(r.body, `"lastReported":12500`) {
			t.Errorf("refused writes changed the enrollment: %v %s", r.headers, r.body)
		}

		if r := h.do(putEnrollmentCall("EA-7654321", enrollmentJSON, admin, map[string]string{"If-None-Match": "*"})); r.status != http.StatusCreated {
			t.Errorf("PUT If-None-Match * of a new one = %d %s, want 201", r.status, r.body)
		}
		list := h.do(getEnrollmentCall("", admin))
		var l enrollmentListResponse
		list.json(t, &l)
		if list.status != 200 || l.Count != 2 || len(l.Enrollments) != 2 || l.Enrollments[0].Number != "EA-1234567" ||
			l.Enrollments[0].ETag != replaced.headers["ETag"] || l.Enrollments[1].Number != "EA-7654321" {
			t.Errorf("list: %d %s", list.status, list.body)
		}
	})
}

// TestEnrollmentsCreateOnlyAtOnce sends two PUTs with If-None-Match: * for
// one new enrollment at the same moment: one creates it (201), the other
// is refused (412), and the stored enrollment is the winner's.
func TestEnrollmentsCreateOnlyAtOnce(t *testing.T) {
	enrollmentHosts(t, func(t *testing.T, h *testHost) {
		for _, number := range []string{"EA-1", "EA-2", "EA-3", "EA-4", "EA-5"} {
			var replies [2]reply
			var wg sync.WaitGroup
			for i := range replies {
				wg.Add(1)
				go func() {
					defer wg.Done()
					body := strings.Replace(enrollmentJSON, `"lastReported": 12000`, `"lastReported": 1200`+string(rune('0'+i)), 1)
					replies[i] = h.do(putEnrollmentCall(number, body, admin, map[string]string{"If-None-Match": "*"}))
				}()
			}
			wg.Wait()
			statuses := []int{replies[0].status, replies[1].status}
			winner := 0
			switch {
			case statuses[0] == 201 && statuses[1] == 412:
			case statuses[0] == 412 && statuses[1] == 201:
				winner = 1
			default:
				t.Fatalf("%s: statuses %v, want one 201 and one 412: %s | %s", number, statuses, replies[0].body, replies[1].body)
			}
			read := h.do(getEnrollmentCall(number, admin))
			if read.body != replies[winner].body || read.headers["ETag"] != replies[winner].headers["ETag"] {
				t.Errorf("%s: stored\n%s\nthe creator was answered\n%s", number, read.body, replies[winner].body)
			}
		}
	})
}

func TestEnrollmentsErrors(t *testing.T) {
	h := newTestHost(t, hostOpts{})
	if r := putDOA(h, nil); r.status != http.StatusCreated {
		t.Fatalf("PUT DOA: %d %s", r.status, r.body)
	}
	seeded := h.do(putEnrollmentCall("EA-1234567", enrollmentJSON, admin, nil))
	if seeded.status != http.StatusCreated {
		t.Fatalf("PUT EA-1234567: %d %s", seeded.status, seeded.body)
	}
	put := func(number, body string) call { return putEnrollmentCall(number, body, admin, nil) }
	withHeaders := func(c call, headers map[string]string) call { c.headers = headers; return c }
	const delegate = "pat.doe@doa.example.gov"
	tests := []errorCase{
		{"malformed JSON", put("EA-2", `{"kind": "enterprise",`), 400, "malformed", nil},
		{"not an object", put("EA-2", `[1, 2]`), 400, "malformed", nil},
		{"two documents", put("EA-2", `{} {}`), 400, "malformed", nil},
		{"no body", putEnrollmentCall("EA-2", "", admin, nil), 400, "malformed", nil},
		{"wrong content type", withHeaders(put("EA-2", enrollmentJSON), map[string]string{"Content-Type": "text/plain"}), 400, "malformed", nil},
		{"unknown field", put("EA-2", `{"anniversery": "2027-03-01"}`), 422, "invalid", []string{"anniversery"}},
		{"wrong type", put("EA-2", `{"lastReported": "12000"}`), 422, "invalid", []string{"lastReported"}},
		{"every problem at once", put("EA-2", `{"anniversary": "2027-03-01", "kind": "annual", "lastReported": -1,
			"platformProducts": [{"name": "Core CAL", "bridge": "Bridge"}, {"name": " core cal "}],
			"reservations": [{"service": "Office 365 E3", "quantity": 0, "date": "2025-01-01"}],
			"transitions": [{"service": "", "quantity": 5, "date": "2026-06-01"}],
			"reductions": [{"product": "Core CAL", "quantity": 1}]}`), 422, "invalid",
			[]string{"kind", "lastReported", "platformProducts[0].bridge", "platformProducts[1].name", "reservations[0].quantity", "reservations[0].date",
				"transitions[0].service", "reductions[0].date"}},
		{"dates that do not read, with other problems", put("EA-2", `{"anniversary": "2027-02-30", "kind": "enterprise",
			"platformProducts": [{"name": "Core CAL"}, {"name": ""}],
			"reservations": [{"service": "Office 365 E3", "quantity": 1, "date": "May 2"}],
			"reductions": [{"product": "Core CAL", "quantity": 1, "date": "2027-03-01T00:00:00Z"}]}`), 422, "invalid",
			[]string{"anniversary", "platformProducts[1].name", "reservations[0].date", "reductions[0].date"}},
		{"number in the body differs", put("EA-2", strings.Replace(enrollmentJSON, "{", `{"number": "EA-3",`, 1)), 422, "invalid", []string{"number"}},
		{"number in the path is not one", put("EA 2!", enrollmentJSON), 422, "invalid", []string{"number"}},
		{"put without number", call{function: "Enrollments", method: "PUT", path: "enrollments", body: enrollmentJSON, caller: admin}, 422, "invalid", nil},
		{"too large", put("EA-2", `{"kind": "`+strings.Repeat("x", maxEnrollmentBytes)+`"}`), 413, "too-large", nil},
		{"If-Match not an ETag", withHeaders(put("EA-1234567", enrollmentJSON), map[string]string{"If-Match": "yesterday's"}), 400, "malformed", nil},
		{"If-Match a list", withHeaders(put("EA-1234567", enrollmentJSON), map[string]string{"If-Match": `W/"1", W/"2"`}), 400, "malformed", nil},
		{"If-None-Match not star", withHeaders(put("EA-1234567", enrollmentJSON), map[string]string{"If-None-Match": `W/"1"`}), 400, "malformed", nil},
		{"both preconditions", withHeaders(put("EA-1234567", enrollmentJSON), map[string]string{"If-Match": "*", "If-None-Match": "*"}), 422, "invalid", nil},
		{"If-Match on a missing one", withHeaders(put("EA-2", enrollmentJSON), map[string]string{"If-Match": "*"}), 412, "stale", nil},
		{"get unknown", getEnrollmentCall("EA-0000000", admin), 404, "not-found", nil},
		{"get hostile number", getEnrollmentCall("' or 1 eq 1 or '", admin), 404, "not-found", nil},
		{"nobody puts", putEnrollmentCall("EA-2", enrollmentJSON, "", nil), 401, "unauthenticated", nil},
		{"nobody lists", getEnrollmentCall("", ""), 401, "unauthenticated", nil},
		{"nobody reads", getEnrollmentCall("EA-1234567", ""), 401, "unauthenticated", nil},
		{"a delegate puts", putEnrollmentCall("EA-2", enrollmentJSON, delegate, nil), 403, "forbidden", nil},
		{"a delegate replaces", putEnrollmentCall("EA-1234567", enrollmentJSON, delegate, nil), 403, "forbidden", nil},
		{"a delegate lists", getEnrollmentCall("", delegate), 403, "forbidden", nil},
		{"a delegate reads", getEnrollmentCall("EA-1234567", delegate), 403, "forbidden", nil},
		{"a stranger reads", getEnrollmentCall("EA-1234567", "someone@else.example.gov"), 403, "forbidden", nil},
		{"delete not served", call{function: "Enrollments", method: "DELETE", path: "enrollments/EA-1234567", params: map[string]string{"number": "EA-1234567"}, caller: admin}, 405, "method-not-allowed", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, h.do(tt.call), tt.wantStatus, tt.wantCode, tt.wantFields)
		})
	}
	// A date that does not read is named, with what was sent.
	r := h.do(put("EA-2", `{"anniversary": "2027-02-30", "kind": "enterprise", "platformProducts": [{"name": "Core CAL"}]}`))
	if !strings.Contains(r.body, `must be a date like 2027-03-01, not \"2027-02-30\"`) {
		t.Errorf("bad anniversary: %s", r.body)
	}
	// Nothing was written by any refused request.
	list, err := h.store.ListEnrollments(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ETag != seeded.headers["ETag"] {
		t.Errorf("store after refused requests = %+v", list)
	}
}

// TestLargestEnrollmentOverHTTP sends the largest enrollment Validate
// accepts, as a Go client encodes it (every < escaped as \u003c): the body
// limit lets it through and the store keeps it whole.
func TestLargestEnrollmentOverHTTP(t *testing.T) {
	h := newTestHost(t, hostOpts{})
	e := storetest.LargestEnrollment("<")
	body, err := json.Marshal(newEnrollmentResponse(e))
	if err != nil {
		t.Fatal(err)
	}
	r := h.do(putEnrollmentCall(e.Number, string(body), admin, nil))
	if r.status != http.StatusCreated {
		t.Fatalf("PUT of %d KiB: %d %.300s", len(body)>>10, r.status, r.body)
	}
	t.Logf("the largest enrollment takes %d KiB as JSON", len(body)>>10)
	stored, err := h.store.GetEnrollment(context.Background(), e.Number)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.PlatformProducts) != 50 || len(stored.Reductions) != 200 || stored.PlatformProducts[49].CoveredBy[19] != e.PlatformProducts[49].CoveredBy[19] {
		t.Errorf("stored enrollment lost parts of what was sent")
	}
}
