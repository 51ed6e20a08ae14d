package funchost

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRouteMatch(t *testing.T) {
	tests := []struct {
		template, path string
		want           map[string]string // nil: no match
	}{
		{"agencies/{id?}", "agencies", map[string]string{}},
		{"agencies/{id?}", "agencies/", map[string]string{}},
		{"agencies/{id?}", "agencies/42", map[string]string{"id": "42"}},
		{"agencies/{id?}", "Agencies/DOJ", map[string]string{"id": "DOJ"}},
		{"agencies/{id?}", "agencies/42/x", nil},
		{"agencies/{id?}", "agency", nil},
		{"service-requests/{id?}/{action?}", "service-requests", map[string]string{}},
		{"service-requests/{id?}/{action?}", "service-requests/SR-1", map[string]string{"id": "SR-1"}},
		{"service-requests/{id?}/{action?}", "service-requests/SR-1/confirm", map[string]string{"id": "SR-1", "action": "confirm"}},
		{"service-requests/{id?}/{action?}", "service-requests/SR%201/confirm", map[string]string{"id": "SR 1", "action": "confirm"}},
		{"service-requests/{id?}/{action?}", "service-requests/a/b/c", nil},
		{"reports/licenses", "reports/licenses", map[string]string{}},
		{"reports/licenses", "REPORTS/Licenses", map[string]string{}},
		{"reports/licenses", "reports", nil},
		{"items/{id:int}", "items/12", map[string]string{"id": "12"}},
		{"items/{id:int}", "items/-3", map[string]string{"id": "-3"}},
		{"items/{id:int}", "items/abc", nil},
		{"items/{id:int}", "items/99999999999", nil},
		{"items/{id:int?}", "items", map[string]string{}},
		{"items/{id:long:min(10)}", "items/9", nil},
		{"items/{id:long:min(10)}", "items/10", map[string]string{"id": "10"}},
		{"items/{id:range(1,3)}", "items/4", nil},
		{"items/{id:guid}", "items/6f1c2b7e-1d2a-4c3b-9e8f-0a1b2c3d4e5f", map[string]string{"id": "6f1c2b7e-1d2a-4c3b-9e8f-0a1b2c3d4e5f"}},
		{"items/{id:guid}", "items/nope", nil},
		{"items/{code:regex(^[a-z]{{2}}\\d+$)}", "items/ab12", map[string]string{"code": "ab12"}},
		{"items/{code:length(2)}", "items/abc", nil},
		{"purchases/{action=list}", "purchases", map[string]string{"action": "list"}},
		{"purchases/{action=list}", "purchases/import", map[string]string{"action": "import"}},
		{"files/{*path}", "files/a/b/c.txt", map[string]string{"path": "a/b/c.txt"}},
		{"files/{*path}", "files", map[string]string{}},
		{"", "", map[string]string{}},
		{"", "x", nil},
		{"/runs", "runs", map[string]string{}},
	}
	for _, tt := range tests {
		r, err := ParseRoute(tt.template)
		if err != nil {
			t.Errorf("ParseRoute(%q): %v", tt.template, err)
			continue
		}
		got, ok := r.Match(tt.path)
		if tt.want == nil {
			if ok {
				t.Errorf("%q.Match(%q) = %v, want no match", tt.template, tt.path, got)
			}
			continue
		}
		if !ok {
			t.Errorf("%q.Match(%q): no match, want %v", tt.template, tt.path, tt.want)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%q.Match(%q) values (-want +got):\n%s", tt.template, tt.path, diff)
		}
	}
}

func TestParseRouteErrors(t *testing.T) {
	tests := []struct{ template, want string }{
		{"a//b", "empty segment"},
		{"a/{id?}/b", "literal segment \"b\" follows an optional parameter"},
		{"a/{id?}/{name}", "required parameter \"name\" follows"},
		{"a/{id}/{id}", "appears twice"},
		{"a/{*rest}/b", "catch-all"},
		{"a/{id:nosuch}", "unknown constraint"},
		{"a/{id:min(x)}", "not a number"},
		{"a/{9id}", "not valid"},
		{"a/x{id}", "complex segments"},
		{"a/{id", "complex segments"},
		{"a/{id:regex(()}", "regex"},
	}
	for _, tt := range tests {
		_, err := ParseRoute(tt.template)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseRoute(%q) = %v, want an error containing %q", tt.template, err, tt.want)
		}
	}
}
