package handlers

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// clientPrincipalHeader returns X-MS-CLIENT-PRINCIPAL as App Service
// authentication sends it: base64 JSON of the token's claims, here the
// object id under oid claim type and, when name is set, the name.
func clientPrincipalHeader(oidType, oid, name string) string {
	claims := []map[string]string{{"typ": oidType, "val": oid}}
	if name != "" {
		claims = append(claims, map[string]string{"typ": "preferred_username", "val": name})
	}
	raw, _ := json.Marshal(map[string]any{"auth_typ": "aad", "name_typ": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
		"role_typ": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role", "claims": claims})
	return base64.StdEncoding.EncodeToString(raw)
}

// TestDelegateByObjectID: an agency's delegate listed by object id acts for
// the agency when App Service authentication reports that object id (in
// X-MS-CLIENT-PRINCIPAL-ID or the client principal's claims), and not when
// only a name header carries it; one listed by name matches the name only.
func TestDelegateByObjectID(t *testing.T) {
	const oid = "6f1c0f55-1b1b-4c4c-9d9d-0000000000d1"
	h := newTestHost(t, hostOpts{})
	body := strings.Replace(doaJSON, `"delegates": ["Pat.Doe@doa.example.gov"]`, `"delegates": ["Pat.Doe@doa.example.gov", "`+strings.ToUpper(oid)+`"]`, 1)
	if r := h.do(call{function: "Agencies", method: "PUT", path: "agencies/doa", params: map[string]string{"id": "doa"}, body: body, caller: admin}); r.status != http.StatusCreated {
		t.Fatalf("PUT DOA: %d %s", r.status, r.body)
	}
	tests := []struct {
		name    string
		headers map[string]string
		want    int
	}{
		{"object id header", map[string]string{"X-MS-CLIENT-PRINCIPAL-ID": oid}, 200},
		{"object id claim", map[string]string{"X-MS-CLIENT-PRINCIPAL": clientPrincipalHeader("http://schemas.microsoft.com/identity/claims/objectidentifier", oid, "")}, 200},
		{"oid claim with another name", map[string]string{"X-MS-CLIENT-PRINCIPAL": clientPrincipalHeader("oid", oid, "lee@det.example.gov")}, 200},
		{"name and object id headers", map[string]string{"X-MS-CLIENT-PRINCIPAL-NAME": "pat.doe@doa.example.gov", "X-MS-CLIENT-PRINCIPAL-ID": oid}, 200},
		{"name header only", map[string]string{"X-MS-CLIENT-PRINCIPAL-NAME": "Pat.Doe@doa.example.gov"}, 200},
		{"name with another object id", map[string]string{"X-MS-CLIENT-PRINCIPAL-NAME": "pat.doe@doa.example.gov", "X-MS-CLIENT-PRINCIPAL-ID": "6f1c0f55-1b1b-4c4c-9d9d-0000000000ff"}, 200},
		{"the object id as a name", map[string]string{"X-MS-CLIENT-PRINCIPAL-NAME": oid}, 403},
		{"the name as an object id", map[string]string{"X-MS-CLIENT-PRINCIPAL-NAME": "lee@det.example.gov", "X-MS-CLIENT-PRINCIPAL-ID": "pat.doe@doa.example.gov"}, 403},
		{"another object id", map[string]string{"X-MS-CLIENT-PRINCIPAL-ID": "6f1c0f55-1b1b-4c4c-9d9d-0000000000ff"}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(call{function: "ServiceRequests", method: "GET", path: "service-requests", query: map[string]string{"agency": "DOA"}, headers: tt.headers})
			if r.status != tt.want {
				t.Errorf("GET service-requests?agency=DOA = %d, want %d: %s", r.status, tt.want, r.body)
			}
		})
	}
	// The invocation log names a caller known by object id only.
	r := h.do(call{function: "ServiceRequests", method: "GET", path: "service-requests", query: map[string]string{"agency": "DOA"},
		headers: map[string]string{"X-MS-CLIENT-PRINCIPAL-ID": oid}})
	if logs := strings.Join(r.logs, "\n"); !strings.Contains(logs, "caller="+oid) {
		t.Errorf("the invocation log does not name the caller %s:\n%s", oid, logs)
	}
}

// listBarrier is an agency store whose first n listings wait for each
// other: n writes that list the agencies before writing all read the same
// list, as when they arrive at once.
type listBarrier struct {
	*memstore.Store
	mu      sync.Mutex
	waiting int
	release chan struct{}
}

func newListBarrier(store *memstore.Store, n int) *listBarrier {
	return &listBarrier{Store: store, waiting: n, release: make(chan struct{})}
}

func (b *listBarrier) ListAgencies(ctx context.Context) ([]licensing.Agency, error) {
	list, err := b.Store.ListAgencies(ctx)
	b.mu.Lock()
	b.waiting--
	if b.waiting == 0 {
		close(b.release)
	}
	b.mu.Unlock()
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	return list, err
}

// TestConcurrentCreatesClaimingOneValue: ten PUTs of new agencies that
// claim the same department value arrive at once: one agency is created,
// the nine others are refused with 409 naming it, and are not stored.
func TestConcurrentCreatesClaimingOneValue(t *testing.T) {
	const n = 10
	store := memstore.New()
	h := startHost(t, store, hostOpts{agencies: newListBarrier(store, n), now: tickingClock()})
	replies := make([]reply, n)
	var wg sync.WaitGroup
	for i := range n {
		id := fmt.Sprintf("A%02d", i)
		body := fmt.Sprintf(`{"name": "Agency %d", "contacts": ["it@a%02d.example.gov"], "attribution": {"attribute": "department", "values": ["Own %d", "Administration"]}}`, i, i, i)
		wg.Go(func() {
			replies[i] = h.do(call{function: "Agencies", method: "PUT", path: "agencies/" + id, params: map[string]string{"id": id}, body: body, caller: admin})
		})
	}
	wg.Wait()
	list, err := store.ListAgencies(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("%d agencies stored, want 1", len(list))
	}
	winner := list[0].ID
	for i, r := range replies {
		id := fmt.Sprintf("A%02d", i)
		if id == winner {
			if r.status != http.StatusCreated {
				t.Errorf("PUT %s (stored) = %d: %s", id, r.status, r.body)
			}
			continue
		}
		var e errorBody
		r.json(t, &e)
		if r.status != http.StatusConflict || e.Error.Code != licensing.Conflict || !strings.Contains(e.Error.Message, "agency "+winner) ||
			len(e.Error.Fields) != 1 || e.Error.Fields[0].Field != "attribution.values[1]" {
			t.Errorf("PUT %s = %d %s, want 409 naming agency %s on attribution.values[1]", id, r.status, r.body, winner)
		}
	}
}
