package licensing

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestUserFields(t *testing.T) {
	want := []string{"id", "userPrincipalName", "displayName", "mail", "department", "companyName",
		"officeLocation", "onPremisesExtensionAttributes", "usageLocation", "accountEnabled",
		"createdDateTime", "assignedLicenses", "licenseAssignmentStates"}
	got := UserFields()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("UserFields (-want +got):\n%s", diff)
	}
	got[0] = "changed"
	if UserFields()[0] != "id" {
		t.Errorf("UserFields shares its slice with callers")
	}
}

func TestMergeUser(t *testing.T) {
	created := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	old := DirectoryUser{ID: "u1", UserPrincipalName: "pat@doa.example.gov", DisplayName: "Pat", Mail: "pat@doa.example.gov",
		Department: "DOA", CompanyName: "State", OfficeLocation: "Capitol", UsageLocation: "US", AccountEnabled: true,
		CreatedDateTime: created, Licenses: []UserLicense{{SkuID: "sku-a", Direct: true}}}
	old.ExtensionAttributes[0] = "DOA"
	full := DirectoryUser{ID: "u1", UserPrincipalName: "pat.doe@det.example.gov", DisplayName: "Pat Doe", Mail: "pat.doe@det.example.gov",
		Department: "DET", CompanyName: "Enterprise", OfficeLocation: "Annex", UsageLocation: "CA", AccountEnabled: false,
		CreatedDateTime: created.AddDate(0, 1, 0), Licenses: []UserLicense{{SkuID: "sku-b", Groups: []string{"g1"}}}}
	full.ExtensionAttributes[0] = "DET"

	if diff := cmp.Diff(full, MergeUser(old, full)); diff != "" {
		t.Errorf("a whole user replaces the old one (-want +got):\n%s", diff)
	}

	// Every field but id carries its property; all of them, the whole user.
	for _, f := range UserFields()[1:] {
		if got := MergeUser(old, partial(full, f)); cmp.Equal(old, got) {
			t.Errorf("%s: the update changed nothing", f)
		}
	}
	if diff := cmp.Diff(full, MergeUser(old, partial(full, UserFields()...))); diff != "" {
		t.Errorf("every field (-want +got):\n%s", diff)
	}

	// Names match without case; unknown names are ignored.
	upd := DirectoryUser{ID: "u1", Partial: true, Fields: []string{"DEPARTMENT", "jobTitle"}, Department: "DET", DisplayName: "ignored"}
	want := old
	want.Department = "DET"
	if diff := cmp.Diff(want, MergeUser(old, upd)); diff != "" {
		t.Errorf("department only (-want +got):\n%s", diff)
	}

	// Two partial updates merge into one carrying the fields of both.
	first := DirectoryUser{ID: "u1", Partial: true, Fields: []string{"department"}, Department: "DET"}
	second := DirectoryUser{ID: "u1", Partial: true, Fields: []string{"assignedLicenses"}, Licenses: []UserLicense{{SkuID: "sku-b"}}}
	both := MergeUser(first, second)
	if !both.Partial || !slices.Equal(both.Fields, []string{"department", "assignedLicenses"}) {
		t.Fatalf("merged partials = %+v", both)
	}
	want = old
	want.Department, want.Licenses = "DET", []UserLicense{{SkuID: "sku-b"}}
	if diff := cmp.Diff(want, MergeUser(old, both)); diff != "" {
		t.Errorf("merged partials applied (-want +got):\n%s", diff)
	}
}

// partial returns u as a partial update carrying fields.
func partial(u DirectoryUser, fields ...string) DirectoryUser {
	u.Partial, u.Fields = true, fields
	return u
}
