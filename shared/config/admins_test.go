package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAdminsEntries: each ADMINS entry is a user principal name or an
// object id; anything else stops start-up with a message naming it.
func TestAdminsEntries(t *testing.T) {
	tests := []struct {
		name    string
		admins  string
		want    []string
		problem string
	}{
		{"user principal names and object ids", " Pat.Doe@IT.example.gov,0F1E2D3C-AAAA-BBBB-CCCC-000000000001 ,, lee@it.example.gov",
			[]string{"pat.doe@it.example.gov", "0f1e2d3c-aaaa-bbbb-cccc-000000000001", "lee@it.example.gov"}, ""},
		{"guest user principal name", "pat_gmail.com#EXT#@tenant.onmicrosoft.com", []string{"pat_gmail.com#ext#@tenant.onmicrosoft.com"}, ""},
		{"bare name", "admin", nil, `ADMINS: "admin" is neither a user principal name`},
		{"display name", "Pat Doe <pat@it.example.gov>", nil, `ADMINS: "Pat Doe <pat@it.example.gov>" is neither`},
		{"object id cut short", "0f1e2d3c-aaaa-bbbb-cccc-00000000000", nil, `ADMINS: "0f1e2d3c-aaaa-bbbb-cccc-00000000000" is neither`},
		{"object id in braces", "{0f1e2d3c-aaaa-bbbb-cccc-000000000001}", nil, `ADMINS: "{0f1e2d3c-aaaa-bbbb-cccc-000000000001}" is neither`},
		{"semicolons", "a@it.example.gov;b@it.example.gov", nil, `ADMINS: "a@it.example.gov;b@it.example.gov" is neither`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(env(map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true", "ADMINS": tt.admins,
				"MAIL_MODE": "outbox", "CENTRAL_IT_EMAIL": "it@central.example.gov"}))
			if tt.problem == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if diff := cmp.Diff(tt.want, cfg.Admins); diff != "" {
					t.Errorf("admins (-want +got):\n%s", diff)
				}
				return
			}
			cerr, ok := err.(*Error)
			if !ok || len(cerr.Problems) != 1 || !strings.Contains(cerr.Problems[0], tt.problem) {
				t.Errorf("Load error = %v, want one problem containing %q", err, tt.problem)
			}
		})
	}
}
