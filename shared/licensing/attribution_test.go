package licensing

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAttribute(t *testing.T) {
	agencies := []Agency{
		{ID: "DOA", Attribution: AttributionRule{Attribute: AttrDepartment, Values: []string{"Department of Administration", "DOA"}}},
		{ID: "DET", Attribution: AttributionRule{Attribute: AttrUPNDomain, Values: []string{"det.example.gov"}}},
		{ID: "DHS", Attribution: AttributionRule{Attribute: AttrCompanyName, Values: []string{"Health Services"}}},
		{ID: "DNR", Attribution: AttributionRule{Attribute: "extensionAttribute7", Values: []string{"dnr"}}},
		{ID: "DOT", Attribution: AttributionRule{Attribute: AttrGroup, GroupID: "AAAAAAAA-0000-0000-0000-000000000001"}},
		{ID: "DPI", Attribution: AttributionRule{Attribute: AttrOfficeLocation, Values: []string{"GEF 3"}}},
		// Two agencies claiming the same department value: a conflict.
		{ID: "DCF", Attribution: AttributionRule{Attribute: AttrDepartment, Values: []string{"Shared Services"}}},
		{ID: "DWD", Attribution: AttributionRule{Attribute: AttrDepartment, Values: []string{"shared services"}}},
	}
	at := NewAttributor(agencies)
	if diff := cmp.Diff([]string{"aaaaaaaa-0000-0000-0000-000000000001"}, at.Groups()); diff != "" {
		t.Errorf("Groups (-want +got):\n%s", diff)
	}
	at.SetMembers("aaaaaaaa-0000-0000-0000-000000000001", []string{"U-GROUP", "u-both"})

	ext := func(n int, v string) [15]string { var e [15]string; e[n-1] = v; return e }
	tests := []struct {
		name string
		user DirectoryUser
		want Attribution
	}{
		{"exact department", DirectoryUser{Department: "Department of Administration"}, Attribution{Agency: "DOA", Matched: "department = Department of Administration"}},
		{"case and spaces", DirectoryUser{Department: "  department OF\u00a0 administration "}, Attribution{Agency: "DOA", Matched: "department = department OF\u00a0 administration"}},
		{"second value", DirectoryUser{Department: "doa"}, Attribution{Agency: "DOA", Matched: "department = doa"}},
		{"upn domain any case", DirectoryUser{UserPrincipalName: "Lee.Chan@DET.example.gov"}, Attribution{Agency: "DET", Matched: "upnDomain = DET.example.gov"}},
		{"subdomain is not the domain", DirectoryUser{UserPrincipalName: "x@sub.det.example.gov"}, Attribution{Agency: Unattributed}},
		{"company", DirectoryUser{CompanyName: "HEALTH SERVICES"}, Attribution{Agency: "DHS", Matched: "companyName = HEALTH SERVICES"}},
		{"extension attribute", DirectoryUser{ExtensionAttributes: ext(7, "DNR")}, Attribution{Agency: "DNR", Matched: "extensionAttribute7 = DNR"}},
		{"other extension attribute ignored", DirectoryUser{ExtensionAttributes: ext(6, "DNR")}, Attribution{Agency: Unattributed}},
		{"office", DirectoryUser{OfficeLocation: "gef 3"}, Attribution{Agency: "DPI", Matched: "officeLocation = gef 3"}},
		{"group member", DirectoryUser{ID: "u-group"}, Attribution{Agency: "DOT", Matched: "member of group aaaaaaaa-0000-0000-0000-000000000001"}},
		{"no attributes", DirectoryUser{ID: "u-none", UserPrincipalName: "guest#EXT#@tenant.onmicrosoft.com"}, Attribution{Agency: Unattributed}},
		{"partial value is no match", DirectoryUser{Department: "Administration"}, Attribution{Agency: Unattributed}},
		{"two rules on one value", DirectoryUser{Department: "Shared Services"}, Attribution{Agency: Conflicted, Candidates: []string{"DCF", "DWD"},
			Matched: "DCF: department = Shared Services; DWD: department = Shared Services"}},
		{"two attributes, two agencies", DirectoryUser{ID: "U-BOTH", Department: "DOA"}, Attribution{Agency: Conflicted, Candidates: []string{"DOA", "DOT"},
			Matched: "DOA: department = DOA; DOT: member of group aaaaaaaa-0000-0000-0000-000000000001"}},
		{"domain of one, department of another", DirectoryUser{Department: "DOA", UserPrincipalName: "a@det.example.gov"}, Attribution{Agency: Conflicted, Candidates: []string{"DET", "DOA"},
			Matched: "DET: upnDomain = det.example.gov; DOA: department = DOA"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, at.Attribute(tt.user)); diff != "" {
				t.Errorf("Attribute (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFoldValue(t *testing.T) {
	tests := map[string]string{
		"":                   "",
		"  DOA ":             "doa",
		"Dept\tof\n\nAdmin":  "dept of admin",
		"Straße":             "straße",
		"ÉCOLE":              "école",
		"a\u00a0\u2003b":     "a b",
		"=cmd|' /C calc'!A0": "=cmd|' /c calc'!a0",
	}
	for in, want := range tests {
		if got := FoldValue(in); got != want {
			t.Errorf("FoldValue(%q) = %q, want %q", in, got, want)
		}
	}
}
