package licensing

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAttributionClaims(t *testing.T) {
	tests := []struct {
		name string
		rule AttributionRule
		want []AttributionClaim
	}{
		{"values fold, the first spelling stays", AttributionRule{Attribute: AttrDepartment, Values: []string{"Dept  of Admin", "Finance", "dept of admin"}},
			[]AttributionClaim{
				{Key: "department\x1fdept of admin", Attribute: AttrDepartment, Value: "Dept  of Admin", Field: "attribution.values[0]"},
				{Key: "department\x1ffinance", Attribute: AttrDepartment, Value: "Finance", Field: "attribution.values[1]"},
			}},
		{"group", AttributionRule{Attribute: AttrGroup, GroupID: " 6F1C0F55-1B1B-4C4C-9D9D-000000000001 "},
			[]AttributionClaim{{Key: "group\x1f6f1c0f55-1b1b-4c4c-9d9d-000000000001", Attribute: AttrGroup, Value: " 6F1C0F55-1B1B-4C4C-9D9D-000000000001 ", Field: "attribution.groupId"}}},
		{"no attribute", AttributionRule{Values: []string{"x"}}, nil},
		{"group without a group", AttributionRule{Attribute: AttrGroup}, nil},
		{"blank values", AttributionRule{Attribute: AttrCompanyName, Values: []string{" ", ""}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.rule.Claims()); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAttributionTaken(t *testing.T) {
	c := AttributionClaim{Key: "department\x1fadministration", Attribute: AttrDepartment, Value: "Administration", Field: "attribution.values[1]"}
	for _, pending := range []bool{false, true} {
		err := AttributionTaken("test", c, "DOA", pending)
		if err.Code != Conflict || PolicyOf(err).HTTPStatus != 409 {
			t.Errorf("pending %v: code %q, status %d; want conflict, 409", pending, err.Code, PolicyOf(err).HTTPStatus)
		}
		want := []FieldError{{Field: "attribution.values[1]", Message: `"Administration" is already claimed by agency DOA; users with it would count as conflicts`}}
		if pending {
			want[0].Message = "is being claimed by agency DOA in a change that has not finished; try again in a few minutes"
		}
		if diff := cmp.Diff(want, err.Fields); diff != "" {
			t.Errorf("pending %v: fields (-want +got):\n%s", pending, diff)
		}
	}
}
