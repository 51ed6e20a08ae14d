package demotenant

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
)

func TestDeterministic(t *testing.T) {
	tests := []struct {
		name  string
		seed  uint64
		users int
	}{
		{"handful", 1, 7},
		{"ten thousand", 42, 10000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := New(Options{Seed: tt.seed, Users: tt.users}), New(Options{Seed: tt.seed, Users: tt.users})
			sa, sb := a.Fill(graphfake.NewTenant()), b.Fill(graphfake.NewTenant())
			if diff := cmp.Diff(sa, sb); diff != "" {
				t.Errorf("stats differ between runs (-first +second):\n%s", diff)
			}
			if diff := cmp.Diff(a.Agencies(), b.Agencies()); diff != "" {
				t.Errorf("agencies differ between runs (-first +second):\n%s", diff)
			}
			for i := 0; i < tt.users; i += max(1, tt.users/500) {
				if diff := cmp.Diff(a.User(i), b.User(i)); diff != "" {
					t.Fatalf("user %d differs between runs (-first +second):\n%s", i, diff)
				}
				// Asking again, out of order, gives the same user.
				if diff := cmp.Diff(a.User(i), a.User(i)); diff != "" {
					t.Fatalf("user %d differs on a second call:\n%s", i, diff)
				}
			}
			other := New(Options{Seed: tt.seed + 1, Users: tt.users})
			if a.User(0).ID == other.User(0).ID || cmp.Equal(a.User(0), other.User(0)) {
				t.Errorf("seeds %d and %d give the same first user", tt.seed, tt.seed+1)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	g := New(Options{Seed: 3, Users: 1000})
	for _, i := range []int{0, 1, 999} {
		id := g.UserID(i)
		if got, ok := g.Lookup(strings.ToUpper(id)); !ok || got != i {
			t.Errorf("Lookup(%s) = %d, %v; want %d", id, got, ok, i)
		}
	}
	for _, id := range []string{New(Options{Seed: 3, Users: 2000}).UserID(1500), New(Options{Seed: 4, Users: 1000}).UserID(1), "not-an-id", ""} {
		if i, ok := g.Lookup(id); ok {
			t.Errorf("Lookup(%q) = %d, want not found", id, i)
		}
	}
}

func TestMessiness(t *testing.T) {
	g := New(Options{Seed: 7, Users: 20000})
	st := g.Fill(graphfake.NewTenant())
	checks := []struct {
		name     string
		got      int
		min, max int
	}{
		{"unattributed", st.Unattributed, 200, 700},
		{"conflicts", st.Conflicts, 40, 200},
		{"disabled still licensed", st.DisabledLicensed, 300, 900},
		{"never signed in", st.NeverSignedIn, 1500, 2500},
		{"no usage location", st.NoUsageLocation, 200, 700},
		{"count violations", st.CountViolations, 1, 100},
	}
	for _, c := range checks {
		if c.got < c.min || c.got > c.max {
			t.Errorf("%s: %d, want %d to %d", c.name, c.got, c.min, c.max)
		}
	}
	var over bool
	for _, a := range g.Agencies() {
		cfg := a.Licensing()
		if err := cfg.Validate(); err != nil {
			t.Errorf("agency %s is not a valid configuration: %v", a.ID, err)
		}
		for _, p := range a.Purchases {
			used := a.Used[p.SKU.ID]
			if a.ID == OverAgency && p.SKU == O365E3 {
				over = used > p.Quantity
			} else if used > p.Quantity {
				t.Errorf("%s uses %d %s but bought %d", a.ID, used, p.SKU.PartNumber, p.Quantity)
			}
		}
	}
	if !over {
		t.Errorf("%s does not use more Office 365 E3 than it bought", OverAgency)
	}
	if n := len(g.Agencies()); n < 24 {
		t.Errorf("%d agencies, want a few dozen", n)
	}
}

func TestCompanyNameVariants(t *testing.T) {
	g := New(Options{Seed: 11, Users: 5000})
	spellings := map[string]map[string]bool{}
	for i := 0; i < g.Len(); i++ {
		u := g.User(i)
		key := strings.ToLower(strings.Join(strings.Fields(u.CompanyName), " "))
		if spellings[key] == nil {
			spellings[key] = map[string]bool{}
		}
		spellings[key][u.CompanyName] = true
	}
	if n := len(spellings["department of transportation"]); n < 3 {
		t.Errorf("%d spellings of Department of Transportation, want several differing in case and spaces", n)
	}
}

func TestSKUs(t *testing.T) {
	want := map[string]string{
		"ENTERPRISEPACK":      "6fd2c87f-b296-42f0-b197-1e91e994b900",
		"ENTERPRISEPREMIUM":   "c7df2760-2c81-4ef7-b578-5b5392b571df",
		"SPE_E3":              "05e9a617-0261-4cee-bb44-138d3ef5d965",
		"VISIOCLIENT":         "c5928f49-12ba-48f7-ada3-0d743a3601d5",
		"PROJECTPROFESSIONAL": "53818b1b-4a27-454b-8896-0dba576410e6",
		"POWER_BI_PRO":        "f8a1db68-be16-40ed-86d5-cb42ce701560",
	}
	got := map[string]string{}
	for _, s := range SKUs() {
		got[s.PartNumber] = s.ID
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SKUs (-want +got):\n%s", diff)
	}
}
