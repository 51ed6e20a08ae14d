package handlers

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"
)

// internalKeys are JSON keys of the domain's service request that are its
// own bookkeeping or storage details, never part of an answer.
var internalKeys = []string{"fingerprint", "notified", "baseline", "verifySeq", "verifyUntil", "blob", "sha256"}

// jsonKeys returns every object key anywhere in the JSON document body.
func jsonKeys(t *testing.T, body string) map[string]bool {
	t.Helper()
	var doc any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, body)
	}
	keys := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				keys[k] = true
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(doc)
	return keys
}

func TestServiceRequestAnswersHideInternals(t *testing.T) {
	srv, store := intakeServer(t, 0)
	const delegate = "pat@doa.example.gov"
	posted := postIntake(t, srv, "PurchaseOrders", "purchase-orders", nil, "application/json", poJSON(nil), delegate)
	if posted.status != 201 {
		t.Fatalf("status %d: %s", posted.status, posted.body)
	}
	var created intakeBody
	json.Unmarshal([]byte(posted.body), &created)

	// Give the stored request every piece of bookkeeping the workflow
	// writes later on, so that each would show if it leaked.
	ctx := context.Background()
	sr, err := store.GetRequest(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	until := testClock.Add(48 * time.Hour)
	sr.Notified, sr.Baseline, sr.VerifySeq, sr.VerifyUntil = []string{"needs-information"}, map[string]int{"VISIOCLIENT": 10}, 2, &until
	if sr, err = store.UpdateRequest(ctx, sr); err != nil {
		t.Fatal(err)
	}
	if sr.Fingerprint == "" || len(sr.Documents) == 0 || sr.Documents[0].Blob == "" || sr.Documents[0].SHA256 == "" {
		t.Fatalf("the stored request lacks the internal fields this test looks for: %+v", sr)
	}
	secrets := []string{sr.Fingerprint, sr.Documents[0].Blob, sr.Documents[0].SHA256}

	answers := map[string]hostReply{
		"POST purchase-orders":    posted,
		"GET service-requests/id": getFrom(t, srv, "ServiceRequests", "service-requests/"+sr.ID, map[string]string{"id": sr.ID}, nil, delegate),
		"GET service-requests":    getFrom(t, srv, "ServiceRequests", "service-requests", nil, nil, delegate),
	}
	for name, r := range answers {
		if r.status != 200 && r.status != 201 {
			t.Fatalf("%s: status %d: %s", name, r.status, r.body)
		}
		keys := jsonKeys(t, r.body)
		var leaked []string
		for _, k := range internalKeys {
			if keys[k] {
				leaked = append(leaked, k)
			}
		}
		sort.Strings(leaked)
		if len(leaked) > 0 {
			t.Errorf("%s answers the internal keys %v:\n%s", name, leaked, r.body)
		}
		for _, s := range secrets {
			if strings.Contains(r.body, s) {
				t.Errorf("%s answers the internal value %q:\n%s", name, s, r.body)
			}
		}
		for _, k := range []string{"id", "status", "documents", "kind", "fileName", "contentType", "size", "added", "history", "requester", "lines"} {
			if !keys[k] {
				t.Errorf("%s lacks the public key %q:\n%s", name, k, r.body)
			}
		}
	}
}
