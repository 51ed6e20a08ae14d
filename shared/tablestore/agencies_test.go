package tablestore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/shared-tenant/licensetrack/shared/devkit/storetest"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/storageaccount"
)

func TestAgencyHistory(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	v1, v2, v3 := storetest.Agency("DOA", 1), storetest.Agency("DOA", 2), storetest.Agency("DOA", 3)
	v2.UpdatedBy = "second@example.gov"
	first, _, err := s.PutAgency(ctx, v1, licensing.Precondition{IfNoneMatch: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutAgency(ctx, v2, licensing.Precondition{IfMatch: first.ETag}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutAgency(ctx, v3, licensing.Precondition{}); err != nil {
		t.Fatal(err)
	}
	// Refused writes leave no trace.
	if _, _, err := s.PutAgency(ctx, storetest.Agency("DOA", 4), licensing.Precondition{IfMatch: first.ETag}); licensing.ErrorCode(err) != licensing.Stale {
		t.Fatalf("stale write: %v", err)
	}
	if _, _, err := s.PutAgency(ctx, storetest.Agency("DOA", 5), licensing.Precondition{IfNoneMatch: true}); licensing.ErrorCode(err) != licensing.Stale {
		t.Fatalf("create-only write on existing: %v", err)
	}
	// Another agency's trail is its own.
	if _, _, err := s.PutAgency(ctx, storetest.Agency("DOB", 1), licensing.Precondition{}); err != nil {
		t.Fatal(err)
	}

	all := []AgencyChange{
		{Agency: v3, Action: ActionReplaced, Who: v3.UpdatedBy, When: v3.Updated},
		{Agency: v2, Action: ActionReplaced, Who: v2.UpdatedBy, When: v2.Updated},
		{Agency: v1, Action: ActionCreated, Who: v1.UpdatedBy, When: v1.Updated},
	}
	tests := []struct {
		name  string
		id    string
		limit int
		want  []AgencyChange
	}{
		{"all, newest first", "DOA", 0, all},
		{"limited", "DOA", 2, all[:2]},
		{"other agency", "DOB", 0, []AgencyChange{{Agency: storetest.Agency("DOB", 1), Action: ActionCreated, Who: "admin@example.gov", When: storetest.Agency("DOB", 1).Updated}}},
		{"never written", "NONE", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.AgencyHistory(ctx, tt.id, tt.limit)
			if err != nil {
				t.Fatalf("AgencyHistory: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(licensing.Agency{}, "ETag")); diff != "" {
				t.Errorf("AgencyHistory (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConcurrentPuts races writers without preconditions on one agency:
// each write either lands, with its audit row, or is refused as Stale;
// exactly one creates.
func TestConcurrentPuts(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	const writers = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, landed, staled := 0, 0, 0
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, c, err := s.PutAgency(ctx, storetest.Agency("RACE", i), licensing.Precondition{})
			mu.Lock()
			defer mu.Unlock()
			switch licensing.ErrorCode(err) {
			case "":
				landed++
				if c {
					created++
				}
			case licensing.Stale:
				staled++
			default:
				t.Errorf("writer %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if created != 1 {
		t.Errorf("%d writes created the agency, want 1", created)
	}
	if landed+staled != writers || landed == 0 {
		t.Errorf("landed %d, stale %d, of %d writers", landed, staled, writers)
	}
	h, err := s.AgencyHistory(ctx, "RACE", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != landed {
		t.Errorf("history has %d rows for %d writes that landed", len(h), landed)
	}
}

// TestLargeAgency stores an agency whose lists are longer than one table
// property holds.
func TestLargeAgency(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a := storetest.Agency("BIG", 1)
	a.Delegates = nil
	for i := 0; i < 200; i++ {
		a.Delegates = append(a.Delegates, fmt.Sprintf("%s.%03d@big.example.gov", strings.Repeat("d", 200), i))
	}
	a.Attribution.Values = nil
	for i := 0; i < 200; i++ {
		a.Attribution.Values = append(a.Attribution.Values, fmt.Sprintf("%03d %s", i, strings.Repeat("é🚀", 80)))
	}
	if _, _, err := s.PutAgency(ctx, a, licensing.Precondition{}); err != nil {
		t.Fatalf("PutAgency: %v", err)
	}
	got, err := s.GetAgency(ctx, "BIG")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, got, cmpopts.IgnoreFields(licensing.Agency{}, "ETag")); diff != "" {
		t.Errorf("GetAgency (-want +got):\n%s", diff)
	}
	h, err := s.AgencyHistory(ctx, "BIG", 1)
	if err != nil || len(h) != 1 {
		t.Fatalf("AgencyHistory = %d rows, %v", len(h), err)
	}
	if diff := cmp.Diff(a, h[0].Agency, cmpopts.IgnoreFields(licensing.Agency{}, "ETag")); diff != "" {
		t.Errorf("history row (-want +got):\n%s", diff)
	}
}

func TestSetLongSplitsOnRunes(t *testing.T) {
	tests := []struct {
		name       string
		s          string
		wantChunks int
	}{
		{"empty", "", 1},
		{"short", "abc", 1},
		{"exactly one chunk", strings.Repeat("a", maxChunk), 1},
		{"one over", strings.Repeat("a", maxChunk+1), 2},
		{"surrogate pairs straddling", strings.Repeat("🚀", maxChunk/2+1), 2},
		{"three chunks", strings.Repeat("é", 2*maxChunk+5), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			props := map[string]any{}
			setLong(props, "P", tt.s)
			if diff := cmp.Diff(tt.wantChunks, len(props)); diff != "" {
				t.Errorf("chunks (-want +got):\n%s", diff)
			}
			for k, v := range props {
				units := 0
				for _, r := range v.(string) {
					units++
					if r >= 0x10000 {
						units++
					}
				}
				if units > maxChunk {
					t.Errorf("property %s holds %d UTF-16 units", k, units)
				}
			}
			if got := getLong(props, "P"); got != tt.s {
				t.Errorf("getLong did not give back the string (len %d, want %d)", len(got), len(tt.s))
			}
		})
	}
}

func TestInvalidKeys(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	tests := []struct {
		name string
		do   func() error
	}{
		{"get with slash", func() error { _, err := s.GetAgency(ctx, "A/B"); return err }},
		{"get empty", func() error { _, err := s.GetAgency(ctx, ""); return err }},
		{"put with hash", func() error {
			_, _, err := s.PutAgency(ctx, storetest.Agency("A#B", 1), licensing.Precondition{})
			return err
		}},
		{"history with question mark", func() error { _, err := s.AgencyHistory(ctx, "A?B", 0); return err }},
		{"put as the claims partition", func() error {
			_, _, err := s.PutAgency(ctx, storetest.Agency(claimsPartition, 1), licensing.Precondition{})
			return err
		}},
		{"run id with control character", func() error { return s.PutRun(ctx, storetest.Run("r\x01", "F", 0)) }},
		{"run id with backslash", func() error { return s.PutRun(ctx, storetest.Run(`r\1`, "F", 0)) }},
		{"run without start", func() error { return s.PutRun(ctx, licensing.Run{ID: "r1"}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := licensing.ErrorCode(tt.do()); got != licensing.Invalid {
				t.Errorf("code = %q, want invalid", got)
			}
		})
	}
}

func TestUnavailable(t *testing.T) {
	newStore(t) // skips without Azurite, like the rest
	// Nothing listens on port 1; the SDK retries until the deadline.
	acct, err := storageaccount.Parse("AccountName=devstoreaccount1;AccountKey=" +
		"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:1/devstoreaccount1")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := acct.TableService()
	if err != nil {
		t.Fatal(err)
	}
	s := New(svc, Options{TablePrefix: "down"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err = s.GetAgency(ctx, "DOA")
	if got := licensing.ErrorCode(err); got != licensing.Unavailable {
		t.Errorf("GetAgency with storage down: code %q (%v), want unavailable", got, err)
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("GetAgency took %v; the 2 s deadline was not respected", elapsed)
	}
	if msg := licensing.ErrorMessage(err); strings.Contains(msg, "127.0.0.1") || strings.Contains(msg, "refused") {
		t.Errorf("message %q shows internals", msg)
	}
}

func TestInitIsIdempotent(t *testing.T) {
	s := newStore(t)
	for i := 0; i < 2; i++ {
		if err := s.Init(context.Background()); err != nil {
			t.Fatalf("Init again: %v", err)
		}
	}
	bad := New(s.svc, Options{TablePrefix: "9-bad"})
	if got := licensing.ErrorCode(bad.Init(context.Background())); got != licensing.Internal {
		t.Errorf("Init with a bad prefix: code %q, want internal", got)
	}
}
