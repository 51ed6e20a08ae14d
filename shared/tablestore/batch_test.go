package tablestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/azerr"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

func entity(t testing.TB, pk, rk string, extra map[string]any) []byte {
	t.Helper()
	m := map[string]any{"PartitionKey": pk, "RowKey": rk}
	for k, v := range extra {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func add(t testing.TB, pk, rk string) aztables.TransactionAction {
	return aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: entity(t, pk, rk, map[string]any{"V": "x"})}
}

// countRows counts the rows of table in partition pk.
func countRows(t *testing.T, table *aztables.Client, pk string) int {
	t.Helper()
	filter := "PartitionKey eq " + quote(pk)
	pager := table.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter})
	n := 0
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatalf("listing %s: %v", pk, err)
		}
		n += len(page.Entities)
	}
	return n
}

func TestTransactRefusesBadBatches(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	many := make([]aztables.TransactionAction, MaxBatch+1)
	for i := range many {
		many[i] = add(t, "P", fmt.Sprintf("r%03d", i))
	}
	tests := []struct {
		name    string
		actions []aztables.TransactionAction
		want    string // in the logged cause
	}{
		{"empty", nil, "empty transaction"},
		{"too many", many, "at most 100 actions, not 101"},
		{"mixed partitions", []aztables.TransactionAction{add(t, "P", "a"), add(t, "Q", "b")}, `partition "Q", not "P"`},
		{"same row twice", []aztables.TransactionAction{add(t, "P", "a"), add(t, "P", "a")}, `row "a" twice`},
		{"no keys", []aztables.TransactionAction{{ActionType: aztables.TransactionTypeAdd, Entity: []byte(`{"V":1}`)}}, "no PartitionKey or RowKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Transact(ctx, s.runs, "test.transact", "the rows", tt.actions)
			if got := licensing.ErrorCode(err); got != licensing.Internal {
				t.Errorf("Transact code = %q (%v), want internal", got, err)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Transact error = %v, want it to say %q", err, tt.want)
			}
			if strings.Contains(licensing.ErrorMessage(err), "tablestore") {
				t.Errorf("message %q shows internals", licensing.ErrorMessage(err))
			}
			if n := countRows(t, s.runs, "P"); n != 0 {
				t.Errorf("%d rows written by a refused transaction", n)
			}
		})
	}
	t.Run("exactly 100 is fine", func(t *testing.T) {
		if err := Transact(ctx, s.runs, "test.transact", "the rows", many[:MaxBatch]); err != nil {
			t.Fatalf("Transact(100): %v", err)
		}
		if n := countRows(t, s.runs, "P"); n != MaxBatch {
			t.Errorf("rows = %d, want %d", n, MaxBatch)
		}
	})
}

// TestErrorTranslation checks each status the service answers, for plain
// and for batch writes, against Azurite.
func TestErrorTranslation(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	tb := s.runs
	if _, err := tb.AddEntity(ctx, entity(t, "E", "exists", nil), nil); err != nil {
		t.Fatal(err)
	}
	got, err := tb.GetEntity(ctx, "E", "exists", nil)
	if err != nil {
		t.Fatal(err)
	}
	current := got.ETag
	if _, err := tb.UpdateEntity(ctx, entity(t, "E", "exists", map[string]any{"V": "2"}), &aztables.UpdateEntityOptions{UpdateMode: aztables.UpdateModeReplace, IfMatch: &current}); err != nil {
		t.Fatal(err)
	}
	old := current // now stale

	tests := []struct {
		name       string
		do         func() error
		wantCode   licensing.Code
		wantStatus int
	}{
		{"get missing", func() error { _, err := tb.GetEntity(ctx, "E", "missing", nil); return err }, licensing.NotFound, 404},
		{"add existing", func() error { _, err := tb.AddEntity(ctx, entity(t, "E", "exists", nil), nil); return err }, licensing.Conflict, 409},
		{"replace with stale If-Match", func() error {
			_, err := tb.UpdateEntity(ctx, entity(t, "E", "exists", nil), &aztables.UpdateEntityOptions{UpdateMode: aztables.UpdateModeReplace, IfMatch: &old})
			return err
		}, licensing.Stale, 412},
		{"replace missing", func() error {
			any := azcore.ETagAny
			_, err := tb.UpdateEntity(ctx, entity(t, "E", "missing", nil), &aztables.UpdateEntityOptions{UpdateMode: aztables.UpdateModeReplace, IfMatch: &any})
			return err
		}, licensing.NotFound, 404},
		{"batch: add existing", func() error {
			return Transact(ctx, tb, "test.op", "the row", []aztables.TransactionAction{add(t, "E", "new1"), add(t, "E", "exists")})
		}, licensing.Conflict, 409},
		{"batch: replace with stale If-Match", func() error {
			return Transact(ctx, tb, "test.op", "the row", []aztables.TransactionAction{add(t, "E", "new2"),
				{ActionType: aztables.TransactionTypeUpdateReplace, Entity: entity(t, "E", "exists", nil), IfMatch: &old}})
		}, licensing.Stale, 412},
		{"batch: replace missing", func() error {
			any := azcore.ETagAny
			return Transact(ctx, tb, "test.op", "the row", []aztables.TransactionAction{add(t, "E", "new3"),
				{ActionType: aztables.TransactionTypeUpdateReplace, Entity: entity(t, "E", "missing", nil), IfMatch: &any}})
		}, licensing.NotFound, 404},
		{"batch: delete missing", func() error {
			return Transact(ctx, tb, "test.op", "the row", []aztables.TransactionAction{{ActionType: aztables.TransactionTypeDelete, Entity: entity(t, "E", "missing", nil)}})
		}, licensing.NotFound, 404},
		{"table missing", func() error {
			_, err := s.svc.NewClient("nosuchtable"+randomSuffix()).GetEntity(ctx, "E", "x", nil)
			return err
		}, licensing.NotFound, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := azerr.Translate("test.op", "the row", tt.do())
			if diff := cmp.Diff(tt.wantCode, licensing.ErrorCode(err)); diff != "" {
				t.Errorf("code (-want +got):\n%s\nerror: %v", diff, err)
			}
			if diff := cmp.Diff(tt.wantStatus, azerr.StatusOf(err)); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
			var le *licensing.Error
			if !errors.As(err, &le) || le.Op != "test.op" {
				t.Errorf("error %v is not a *licensing.Error with Op test.op", err)
			}
			var re *azcore.ResponseError
			if !errors.As(err, &re) {
				t.Errorf("error %v does not keep the SDK error", err)
			}
			msg := licensing.ErrorMessage(err)
			for _, leak := range []string{"RESPONSE", "ERROR CODE", "127.0.0.1", "devstoreaccount1", "odata"} {
				if strings.Contains(msg, leak) {
					t.Errorf("message %q leaks %q", msg, leak)
				}
			}
		})
	}
	// The failed transactions wrote nothing.
	for _, rk := range []string{"new1", "new2", "new3"} {
		if _, err := tb.GetEntity(ctx, "E", rk, nil); azerr.Classify(err) != licensing.NotFound {
			t.Errorf("row %s written by a failed transaction (err %v)", rk, err)
		}
	}
}
