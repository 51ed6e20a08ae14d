package usage

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// inSegment reports whether name lies in r as the directory compares.
func inSegment(r licensing.UserSegment, name string) bool {
	k := strings.ToLower(name)
	return (r.From == "" || k >= r.From) && (r.To == "" || k <= r.To)
}

// TestSegmentEndsBalanceSkewedNames: names clustered on a few first
// letters, as a real tenant's are, fall in fixed segments very unevenly;
// cut at the ends the previous snapshot recorded, 16 segments hold about
// a sixteenth each, and still cover every name.
func TestSegmentEndsBalanceSkewedNames(t *testing.T) {
	firsts := []string{"james", "jane", "john", "joseph", "maria", "mary", "michael", "sarah", "david", "susan"}
	r := rand.New(rand.NewPCG(7, 7))
	names := make([]string, 100000)
	sample := newNameSample()
	for i := range names {
		names[i] = fmt.Sprintf("%s.x%d@agency.example.gov", firsts[r.IntN(len(firsts))], r.IntN(1e6))
		sample.add(names[i])
	}
	ends := sample.ends()
	if !sort.StringsAreSorted(ends) || len(ends) < 32 {
		t.Fatalf("ends %d, sorted %v", len(ends), sort.StringsAreSorted(ends))
	}
	largest := func(ranges []licensing.UserSegment) int {
		most := 0
		for _, rg := range ranges {
			n := 0
			for _, name := range names {
				if inSegment(rg, name) {
					n++
				}
			}
			most = max(most, n)
		}
		return most
	}
	for _, name := range names {
		covered := false
		for _, rg := range segmentRangesFrom(16, ends) {
			covered = covered || inSegment(rg, name)
		}
		if !covered {
			t.Fatalf("%s is in no segment", name)
		}
	}
	fixed, balanced := largest(segmentRanges(16)), largest(segmentRangesFrom(16, ends))
	t.Logf("largest of 16 segments: %d users cut at fixed places, %d cut at the recorded ends", fixed, balanced)
	if balanced > len(names)/16*5/4 {
		t.Errorf("the largest balanced segment holds %d of %d users, want about %d", balanced, len(names), len(names)/16)
	}
	if fixed <= balanced*2 {
		t.Errorf("fixed segments' largest %d: the names are not skewed enough to show anything", fixed)
	}
	if got := segmentRangesFrom(16, nil); len(got) != 16 || got[0].From != "" || got[15].To != "" {
		t.Errorf("without ends: %+v", got)
	}
	if got := segmentRangesFrom(16, []string{"m"}); len(got) != 2 || got[0].To != "m" || got[1].From != "m" {
		t.Errorf("one end: %+v", got)
	}
}
