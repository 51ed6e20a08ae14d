package licensing

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Object ids of the tests' users.
const (
	adminOID    = "0f1e2d3c-0000-4000-8000-000000000001"
	delegateOID = "0f1e2d3c-0000-4000-8000-000000000002"
	otherOID    = "0f1e2d3c-0000-4000-8000-000000000009"
)

// TestAuthorizeByNameOrObjectID: an entry of ADMINS or of an agency's
// delegates that is an object id matches the caller's object id only; one
// that is a user principal name matches the caller's name only.
func TestAuthorizeByNameOrObjectID(t *testing.T) {
	store := memAgencies{
		"DOA": {ID: "DOA", Delegates: []string{"pat@doa.example.gov", delegateOID}},
		"DET": {ID: "DET", Delegates: []string{delegateOID}},
	}
	auth := NewAuthorizer(store, []string{"admin@it.example.gov", " " + adminOID + " "}, false)
	tests := []struct {
		name   string
		caller *Principal
		want   Access
	}{
		// Administrators.
		{"admin by name only", &Principal{Name: "Admin@IT.example.gov"}, Access{Who: "Admin@IT.example.gov", Admin: true}},
		{"admin by object id only", &Principal{ObjectID: adminOID}, Access{Who: adminOID, Admin: true}},
		{"admin by object id, upper case", &Principal{ObjectID: "0F1E2D3C-0000-4000-8000-000000000001"}, Access{Who: "0F1E2D3C-0000-4000-8000-000000000001", Admin: true}},
		{"admin by object id, with a name", &Principal{Name: "someone@it.example.gov", ObjectID: adminOID}, Access{Who: "someone@it.example.gov", Admin: true}},
		{"admin by name, with another object id", &Principal{Name: "admin@it.example.gov", ObjectID: otherOID}, Access{Who: "admin@it.example.gov", Admin: true}},
		{"listed object id sent as the name", &Principal{Name: adminOID}, Access{Who: adminOID}},
		{"listed name sent as the object id", &Principal{ObjectID: "admin@it.example.gov"}, Access{Who: "admin@it.example.gov"}},
		{"another object id, no name", &Principal{ObjectID: otherOID}, Access{Who: otherOID}},
		// Delegates.
		{"delegate by name only", &Principal{Name: "PAT@doa.example.gov"}, Access{Who: "PAT@doa.example.gov", Agencies: []string{"DOA"}}},
		{"delegate by object id only", &Principal{ObjectID: delegateOID}, Access{Who: delegateOID, Agencies: []string{"DET", "DOA"}}},
		{"delegate by name and by object id", &Principal{Name: "pat@doa.example.gov", ObjectID: delegateOID}, Access{Who: "pat@doa.example.gov", Agencies: []string{"DET", "DOA"}}},
		{"delegate's object id sent as the name", &Principal{Name: delegateOID}, Access{Who: delegateOID}},
		{"delegate's name sent as the object id", &Principal{Name: "lee@det.example.gov", ObjectID: "pat@doa.example.gov"}, Access{Who: "lee@det.example.gov"}},
		{"delegate's name with another object id", &Principal{Name: "pat@doa.example.gov", ObjectID: otherOID}, Access{Who: "pat@doa.example.gov", Agencies: []string{"DOA"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := auth.Authorize(context.Background(), "test", tt.caller)
			if err != nil {
				t.Fatal(err)
			}
			sortStrings(got.Agencies)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("access (-want +got):\n%s", diff)
			}
			acc, err := auth.RequireAdmin(context.Background(), "test", tt.caller)
			if tt.want.Admin != (err == nil) || (err == nil && acc.Who != tt.want.Who) {
				t.Errorf("RequireAdmin = %+v, %v; want admin %v as %q", acc, err, tt.want.Admin, tt.want.Who)
			}
			if err != nil && ErrorCode(err) != Forbidden {
				t.Errorf("RequireAdmin of a non-admin: code %q, want forbidden", ErrorCode(err))
			}
		})
	}
}

func TestDelegatesAreNamesOrObjectIDs(t *testing.T) {
	tests := []struct {
		name      string
		delegates []string
		want      []string
		fields    []string
	}{
		{"names and object ids, normalized", []string{" Pat.Doe@DOA.example.gov", "6F1C0F55-1B1B-4C4C-9D9D-00000000000A", "6f1c0f55-1b1b-4c4c-9d9d-00000000000a"},
			[]string{"pat.doe@doa.example.gov", "6f1c0f55-1b1b-4c4c-9d9d-00000000000a"}, nil},
		{"guest user principal name", []string{"pat_gmail.com#EXT#@tenant.onmicrosoft.com"}, []string{"pat_gmail.com#ext#@tenant.onmicrosoft.com"}, nil},
		{"neither", []string{"pat.doe", "6f1c0f55-1b1b-4c4c-9d9d", "{6f1c0f55-1b1b-4c4c-9d9d-00000000000a}"}, nil,
			[]string{"delegates[0]", "delegates[1]", "delegates[2]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := validAgency()
			a.Delegates = tt.delegates
			err := a.Validate()
			var fields []string
			for _, f := range ErrorFields(err) {
				fields = append(fields, f.Field)
			}
			if diff := cmp.Diff(tt.fields, fields); diff != "" {
				t.Fatalf("fields (-want +got):\n%s\nerror: %v", diff, err)
			}
			if tt.fields == nil {
				if diff := cmp.Diff(tt.want, a.Delegates); diff != "" {
					t.Errorf("delegates (-want +got):\n%s", diff)
				}
			}
		})
	}
}
