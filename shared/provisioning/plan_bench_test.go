package provisioning

import (
	"fmt"
	"testing"
)

// manyAgencies returns the input of one group of 150 members in a run
// where 200 agencies hold 150 grants each of the SKU, and the group's
// first 10 grants are of members who left.
func manyAgencies() groupInput {
	in := input(150)
	for a := range 200 {
		agency := fmt.Sprintf("AG%03d", a)
		for i := range 150 {
			id := fmt.Sprintf("%s-u%03d", agency, i)
			g := grant(id, t0)
			g.Agency = agency
			in.grants[id] = g
			if agency == "AG000" && i >= 10 {
				in.members = append(in.members, member(id, true))
			}
		}
	}
	in.agency = "AG000"
	return in
}

// TestPlanWithGrantsByAgency: a group planned with the grants grouped by
// agency (as a run does) removes the same leavers, and only its agency's,
// as one that groups them itself.
func TestPlanWithGrantsByAgency(t *testing.T) {
	in := manyAgencies()
	free := 1000
	in.free = &free
	plain := lines(plan(in))
	in.byAgency = grantsByAgency(in.grants)
	free = 1000
	if got := lines(plan(in)); got != plain {
		t.Errorf("with grants by agency: %s\nwithout: %s", got, plain)
	}
	var removed int
	for _, a := range plan(in).actions {
		if a.Kind == Remove {
			removed++
		}
	}
	if removed != 10 {
		t.Errorf("%d removals; want the 10 AG000 members who left", removed)
	}
}

// BenchmarkPlanOneOfManyAgencies plans one agency's group while the SKU
// has 30,000 grants of 200 agencies, as a run plans each of its groups.
func BenchmarkPlanOneOfManyAgencies(b *testing.B) {
	in := manyAgencies()
	in.byAgency = grantsByAgency(in.grants)
	for b.Loop() {
		free := 1000
		in.free = &free
		plan(in)
	}
}
