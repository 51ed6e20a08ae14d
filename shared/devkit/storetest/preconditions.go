package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// storeCase is one conformance test of a store of type S.
type storeCase[S any] struct {
	name string
	run  func(t *testing.T, ctx context.Context, s S)
}

// versioned describes, for the precondition cases, a store of S keeping
// records of type T by key, each written whole with an ETag.
type versioned[S, T any] struct {
	// what names a record in test names ("agency").
	what string
	// record returns version n of the record key.
	record func(key string, n int) T
	// main is the key of the record the precondition cases write; the
	// listing case writes keys, in this order.
	main string
	keys []string
	// replacement is written over version 1 of main without
	// precondition: it differs from version 1 in lists as well.
	replacement T
	key         func(T) string
	etag        func(T) string
	// opts compare records without their ETag.
	opts cmp.Options
	// put, get and list are the store's methods (method expressions).
	put  func(s S, ctx context.Context, v T, pre licensing.Precondition) (T, bool, error)
	get  func(s S, ctx context.Context, key string) (T, error)
	list func(s S, ctx context.Context) ([]T, error)
}

// mustPut writes rec under pre, failing the test on an error.
func (v versioned[S, T]) mustPut(t *testing.T, ctx context.Context, s S, rec T, pre licensing.Precondition) (T, bool) {
	t.Helper()
	stored, created, err := v.put(s, ctx, rec, pre)
	if err != nil {
		t.Fatalf("put %s %s (%s): %v", v.what, v.key(rec), describe(pre), err)
	}
	return stored, created
}

// mustGet reads record key, failing the test on an error.
func (v versioned[S, T]) mustGet(t *testing.T, ctx context.Context, s S, key string) T {
	t.Helper()
	got, err := v.get(s, ctx, key)
	if err != nil {
		t.Fatalf("get %s %s: %v", v.what, key, err)
	}
	return got
}

// preconditionCases are the conformance tests of reading, listing and
// writing records under licensing.Precondition: a create says so, a
// replace gives a new ETag, If-None-Match creates only, If-Match replaces
// only the version it names, a refused write changes nothing, and the list
// is ordered by key with the ETags a read gives.
func preconditionCases[S, T any](v versioned[S, T]) []storeCase[S] {
	put := v.mustPut
	version := func(n int) T { return v.record(v.main, n) }
	// refused writes rec under pre, wanting code, then checks that the
	// stored record is still want, ETag included.
	refused := func(t *testing.T, ctx context.Context, s S, rec T, pre licensing.Precondition, code licensing.Code, want *T) {
		t.Helper()
		_, _, err := v.put(s, ctx, rec, pre)
		wantCode(t, "put "+v.what+" with "+describe(pre), err, code)
		got, err := v.get(s, ctx, v.key(rec))
		switch {
		case want == nil:
			wantCode(t, "get "+v.what+" after a refused create", err, licensing.NotFound)
		case err != nil:
			t.Fatalf("get %s: %v", v.what, err)
		default:
			if diff := cmp.Diff(*want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("stored %s changed by a refused write (-want +got):\n%s", v.what, diff)
			}
		}
	}
	// matches checks that the stored record is want, under v.opts.
	matches := func(t *testing.T, ctx context.Context, s S, want T) T {
		t.Helper()
		got := v.mustGet(t, ctx, s, v.key(want))
		if diff := cmp.Diff(want, got, v.opts); diff != "" {
			t.Errorf("stored %s (-want +got):\n%s", v.what, diff)
		}
		return got
	}
	newETag := func(t *testing.T, what string, created, wantCreated bool, before, after T) {
		t.Helper()
		if created != wantCreated || v.etag(after) == "" || v.etag(after) == v.etag(before) {
			t.Errorf("%s: created = %v, ETag %q (before %q); want created %v and a new ETag", what, created, v.etag(after), v.etag(before), wantCreated)
		}
	}
	var none T
	return []storeCase[S]{
		{"get missing is not found", func(t *testing.T, ctx context.Context, s S) {
			_, err := v.get(s, ctx, "NOPE")
			wantCode(t, "get "+v.what, err, licensing.NotFound)
		}},
		{"create then get", func(t *testing.T, ctx context.Context, s S) {
			stored, created := put(t, ctx, s, version(1), licensing.Precondition{})
			newETag(t, "create", created, true, none, stored)
			if diff := cmp.Diff(version(1), stored, v.opts); diff != "" {
				t.Errorf("put returned (-want +got):\n%s", diff)
			}
			if got := matches(t, ctx, s, version(1)); v.etag(got) != v.etag(stored) {
				t.Errorf("get ETag = %q, put returned %q", v.etag(got), v.etag(stored))
			}
		}},
		{"replace without precondition", func(t *testing.T, ctx context.Context, s S) {
			first, _ := put(t, ctx, s, version(1), licensing.Precondition{})
			second, created := put(t, ctx, s, v.replacement, licensing.Precondition{})
			newETag(t, "replace", created, false, first, second)
			matches(t, ctx, s, v.replacement)
		}},
		{"create only on missing creates", func(t *testing.T, ctx context.Context, s S) {
			stored, created := put(t, ctx, s, version(1), licensing.Precondition{IfNoneMatch: true})
			newETag(t, "create only", created, true, none, stored)
		}},
		{"create only on existing is stale and changes nothing", func(t *testing.T, ctx context.Context, s S) {
			first, _ := put(t, ctx, s, version(1), licensing.Precondition{})
			refused(t, ctx, s, version(2), licensing.Precondition{IfNoneMatch: true}, licensing.Stale, &first)
		}},
		{"If-Match with the current ETag replaces", func(t *testing.T, ctx context.Context, s S) {
			first, _ := put(t, ctx, s, version(1), licensing.Precondition{})
			second, created := put(t, ctx, s, version(2), licensing.Precondition{IfMatch: v.etag(first)})
			newETag(t, "If-Match replace", created, false, first, second)
			if got := matches(t, ctx, s, version(2)); v.etag(got) != v.etag(second) {
				t.Errorf("get ETag = %q, put returned %q", v.etag(got), v.etag(second))
			}
		}},
		{"If-Match with an old ETag is stale and changes nothing", func(t *testing.T, ctx context.Context, s S) {
			first, _ := put(t, ctx, s, version(1), licensing.Precondition{})
			second, _ := put(t, ctx, s, version(2), licensing.Precondition{})
			refused(t, ctx, s, version(3), licensing.Precondition{IfMatch: v.etag(first)}, licensing.Stale, &second)
		}},
		{"If-Match with an ETag no version has is stale and changes nothing", func(t *testing.T, ctx context.Context, s S) {
			stored, _ := put(t, ctx, s, version(1), licensing.Precondition{})
			// A strong tag, a weak one of another store's form, a well-formed
			// time that was never written, and one with a comma inside.
			for _, etag := range []string{`"abc"`, `W/"42"`, `W/"datetime'2000-01-01T00%3A00%3A00.0000000Z'"`, `"a,b"`} {
				refused(t, ctx, s, version(2), licensing.Precondition{IfMatch: etag}, licensing.Stale, &stored)
			}
		}},
		{"If-Match on a missing " + v.what + " is stale and creates nothing", func(t *testing.T, ctx context.Context, s S) {
			for _, etag := range []string{"*", `W/"datetime'2026-01-01T00%3A00%3A00.0000000Z'"`} {
				refused(t, ctx, s, version(1), licensing.Precondition{IfMatch: etag}, licensing.Stale, nil)
			}
		}},
		{"If-Match star on an existing " + v.what + " replaces", func(t *testing.T, ctx context.Context, s S) {
			first, _ := put(t, ctx, s, version(1), licensing.Precondition{})
			second, created := put(t, ctx, s, version(2), licensing.Precondition{IfMatch: "*"})
			newETag(t, "If-Match * replace", created, false, first, second)
			matches(t, ctx, s, version(2))
		}},
		{"both preconditions are invalid", func(t *testing.T, ctx context.Context, s S) {
			refused(t, ctx, s, version(1), licensing.Precondition{IfMatch: "*", IfNoneMatch: true}, licensing.Invalid, nil)
		}},
		{"list is ordered by key", func(t *testing.T, ctx context.Context, s S) {
			if got, err := v.list(s, ctx); err != nil || len(got) != 0 {
				t.Fatalf("list on an empty store = %d %ss, %v; want none", len(got), v.what, err)
			}
			var want []T
			for i, k := range v.keys {
				put(t, ctx, s, v.record(k, i), licensing.Precondition{})
				want = append(want, v.record(k, i))
			}
			slices.SortFunc(want, func(a, b T) int { return strings.Compare(v.key(a), v.key(b)) })
			got, err := v.list(s, ctx)
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			if diff := cmp.Diff(want, got, v.opts); diff != "" {
				t.Errorf("list (-want +got):\n%s", diff)
			}
			for _, r := range got {
				if e := v.etag(v.mustGet(t, ctx, s, v.key(r))); v.etag(r) != e {
					t.Errorf("list gives %s %s the ETag %q, get %q", v.what, v.key(r), v.etag(r), e)
				}
			}
		}},
	}
}

// runCases runs each case in parallel on a store of its own.
func runCases[S any](t *testing.T, cases []storeCase[S], newStore func(t *testing.T) S) {
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			tt.run(t, ctx, newStore(t))
		})
	}
}

func describe(pre licensing.Precondition) string {
	switch {
	case pre.IfMatch != "" && pre.IfNoneMatch:
		return "If-Match " + pre.IfMatch + " and If-None-Match *"
	case pre.IfMatch != "":
		return "If-Match " + pre.IfMatch
	case pre.IfNoneMatch:
		return "If-None-Match *"
	}
	return "no precondition"
}
