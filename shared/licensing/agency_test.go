package licensing

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func validAgency() Agency {
	return Agency{
		ID:          " doa ",
		Name:        " Department of Administration ",
		Contacts:    []string{"Licensing@DOA.example.gov", "licensing@doa.example.gov", " "},
		Delegates:   []string{"Pat.Doe@doa.example.gov"},
		Attribution: AttributionRule{Attribute: AttrUPNDomain, Values: []string{"@DOA.example.gov", "doa.example.gov", "admin.example.gov"}},
		DelegatedGroups: []DelegatedGroup{
			{Product: "VISIOCLIENT", GroupID: "6F1C0F55-1B1B-4C4C-9D9D-000000000001"},
			{Product: "C5928F49-12BA-48F7-ADA3-0D743A3601D5", GroupID: "6f1c0f55-1b1b-4c4c-9d9d-000000000002"},
		},
	}
}

func TestAgencyNormalizes(t *testing.T) {
	a := validAgency()
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	want := Agency{
		ID:          "DOA",
		Name:        "Department of Administration",
		Contacts:    []string{"licensing@doa.example.gov"},
		Delegates:   []string{"pat.doe@doa.example.gov"},
		Attribution: AttributionRule{Attribute: AttrUPNDomain, Values: []string{"doa.example.gov", "admin.example.gov"}},
		DelegatedGroups: []DelegatedGroup{
			{Product: "VISIOCLIENT", GroupID: "6f1c0f55-1b1b-4c4c-9d9d-000000000001"},
			{Product: "c5928f49-12ba-48f7-ada3-0d743a3601d5", GroupID: "6f1c0f55-1b1b-4c4c-9d9d-000000000002"},
		},
	}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("normalized agency (-want +got):\n%s", diff)
	}
}

func TestAgencyValidation(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(a *Agency)
		fields []string
	}{
		{"valid", func(a *Agency) {}, nil},
		{"every extension attribute", func(a *Agency) {
			a.Attribution = AttributionRule{Attribute: "extensionAttribute15", Values: []string{"DOA"}}
		}, nil},
		{"group rule", func(a *Agency) {
			a.Attribution = AttributionRule{Attribute: AttrGroup, GroupID: "6f1c0f55-1b1b-4c4c-9d9d-00000000000a"}
		}, nil},
		{"id too long", func(a *Agency) { a.ID = strings.Repeat("A", 33) }, []string{"id"}},
		{"id with slash", func(a *Agency) { a.ID = "DO/A" }, []string{"id"}},
		{"id with quote", func(a *Agency) { a.ID = "DO'A" }, []string{"id"}},
		{"id empty", func(a *Agency) { a.ID = "" }, []string{"id"}},
		{"name too long", func(a *Agency) { a.Name = strings.Repeat("n", 201) }, []string{"name"}},
		{"name with newline", func(a *Agency) { a.Name = "Dept\nof Admin" }, []string{"name"}},
		{"script in a contact", func(a *Agency) { a.Contacts = []string{"<script>alert(1)</script>@x.gov"} }, []string{"contacts[0]"}},
		{"display-name address", func(a *Agency) { a.Contacts = []string{"Pat <pat@doa.example.gov>"} }, []string{"contacts[0]"}},
		{"too many contacts", func(a *Agency) {
			a.Contacts = nil
			for i := 0; i < 51; i++ {
				a.Contacts = append(a.Contacts, strings.Repeat("a", i+1)+"@doa.example.gov")
			}
		}, []string{"contacts"}},
		{"extension attribute 16", func(a *Agency) {
			a.Attribution = AttributionRule{Attribute: "extensionAttribute16", Values: []string{"x"}}
		}, []string{"attribution.attribute"}},
		{"attribute case matters", func(a *Agency) { a.Attribution = AttributionRule{Attribute: "Department", Values: []string{"x"}} }, []string{"attribution.attribute"}},
		{"no values", func(a *Agency) { a.Attribution = AttributionRule{Attribute: AttrDepartment, Values: []string{" ", ""}} }, []string{"attribution.values"}},
		{"group id on attribute rule", func(a *Agency) {
			a.Attribution = AttributionRule{Attribute: AttrDepartment, Values: []string{"x"}, GroupID: "6f1c0f55-1b1b-4c4c-9d9d-00000000000a"}
		}, []string{"attribution.groupId"}},
		{"value too long", func(a *Agency) {
			a.Attribution = AttributionRule{Attribute: AttrDepartment, Values: []string{strings.Repeat("v", 257)}}
		}, []string{"attribution.values[0]"}},
		{"duplicate product", func(a *Agency) {
			a.DelegatedGroups = append(a.DelegatedGroups, DelegatedGroup{Product: "visioclient", GroupID: "6f1c0f55-1b1b-4c4c-9d9d-000000000003"})
		}, []string{"delegatedGroups[2].product"}},
		{"formula as product", func(a *Agency) {
			a.DelegatedGroups = []DelegatedGroup{{Product: "=HYPERLINK(\"x\")", GroupID: "6f1c0f55-1b1b-4c4c-9d9d-000000000003"}}
		}, []string{"delegatedGroups[0].product"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := validAgency()
			tt.edit(&a)
			err := a.Validate()
			var got []string
			for _, f := range ErrorFields(err) {
				got = append(got, f.Field)
			}
			if diff := cmp.Diff(tt.fields, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s\nerror: %v", diff, err)
			}
			if tt.fields != nil && ErrorCode(err) != Invalid {
				t.Errorf("code = %q, want invalid", ErrorCode(err))
			}
		})
	}
}

// memAgencies is the smallest AgencyStore for the service's own tests.
type memAgencies map[string]Agency

func (m memAgencies) GetAgency(_ context.Context, id string) (Agency, error) {
	a, ok := m[id]
	if !ok {
		return Agency{}, Errorf("get", NotFound, "no %s", id)
	}
	return a, nil
}
func (m memAgencies) ListAgencies(context.Context) ([]Agency, error) {
	var out []Agency
	for _, a := range m {
		out = append(out, a)
	}
	return out, nil
}
func (m memAgencies) PutAgency(_ context.Context, a Agency, _ Precondition) (Agency, bool, error) {
	_, exists := m[a.ID]
	m[a.ID] = a
	return a, !exists, nil
}

func TestAuthorize(t *testing.T) {
	store := memAgencies{
		"DOA": {ID: "DOA", Delegates: []string{"pat@doa.example.gov"}},
		"DET": {ID: "DET", Delegates: []string{"pat@doa.example.gov", "lee@det.example.gov"}},
	}
	svc := NewAuthorizer(store, []string{" Admin@IT.example.gov ", "0F1E2D3C-0000-0000-0000-000000000001"}, false)
	tests := []struct {
		name     string
		caller   *Principal
		wantCode Code
		want     Access
	}{
		{"nobody", nil, Unauthenticated, Access{}},
		{"empty principal", &Principal{}, Unauthenticated, Access{}},
		{"admin by name, any case", &Principal{Name: "admin@it.EXAMPLE.gov"}, "", Access{Who: "admin@it.EXAMPLE.gov", Admin: true}},
		{"admin by object id", &Principal{Name: "x@y.gov", ObjectID: "0f1e2d3c-0000-0000-0000-000000000001"}, "", Access{Who: "x@y.gov", Admin: true}},
		{"delegate of two", &Principal{Name: "Pat@DOA.example.gov"}, "", Access{Who: "Pat@DOA.example.gov", Agencies: []string{"DET", "DOA"}}},
		{"stranger", &Principal{Name: "x@y.gov"}, "", Access{Who: "x@y.gov"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := svc.Authorize(context.Background(), "test", tt.caller)
			if ErrorCode(err) != tt.wantCode {
				t.Fatalf("error = %v, want code %q", err, tt.wantCode)
			}
			sortStrings(got.Agencies)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("access (-want +got):\n%s", diff)
			}
		})
	}
	if !(Access{Agencies: []string{"DOA"}}).CanActFor(" doa") || (Access{Agencies: []string{"DOA"}}).CanActFor("DET") {
		t.Error("CanActFor")
	}
}

func sortStrings(s []string) { sort.Strings(s) }
