package usage

import (
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Real tenants' names are far from even over 0-9a-z (first names cluster
// on a few letters, none start with a digit), so segments cut at fixed
// places hold very different numbers of users and the largest sets the
// read's wall time. Every snapshot therefore records where its users'
// names split into equal parts (Snapshot.SegmentEnds), from a uniform
// sample of them, and the next full read cuts its segments there.
const (
	// nameSampleSize is how many names the sample keeps: the parts it cuts
	// are equal to within about a percent of the users.
	nameSampleSize = 8192
	// segmentEndCount is how many ends a snapshot records: 65 parts, so
	// that any SNAPSHOT_SEGMENTS up to 64 finds its ends among them.
	segmentEndCount = 64
	// segmentEndLen bounds an end's length; an end is compared with names,
	// never matched, so a prefix serves.
	segmentEndLen = 32
)

// nameSample keeps a uniform sample of the names it is shown (reservoir
// sampling, with a fixed seed so that a merge run twice records the same
// ends).
type nameSample struct {
	seen  int
	names []string
	rnd   *rand.Rand
}

func newNameSample() *nameSample {
	return &nameSample{rnd: rand.New(rand.NewPCG(1, 2))}
}

func (s *nameSample) add(upn string) {
	s.seen++
	if len(s.names) < nameSampleSize {
		s.names = append(s.names, nameKey(upn))
		return
	}
	if i := s.rnd.IntN(s.seen); i < nameSampleSize {
		s.names[i] = nameKey(upn)
	}
}

// nameKey is a name as segments compare it (the directory compares
// without case).
func nameKey(upn string) string {
	k := strings.ToLower(upn)
	if len(k) > segmentEndLen {
		k = k[:segmentEndLen]
	}
	return k
}

// ends returns up to segmentEndCount strictly increasing names cutting the
// sample into equal parts; none for an empty sample.
func (s *nameSample) ends() []string {
	if len(s.names) < 2 {
		return nil
	}
	sorted := append([]string(nil), s.names...)
	sort.Strings(sorted)
	return cutEnds(sorted, segmentEndCount+1)
}

// cutEnds returns the names of sorted (ascending) that cut it into parts
// of about equal size, at most parts-1 of them, strictly increasing.
func cutEnds(sorted []string, parts int) []string {
	var out []string
	for i := 1; i < parts; i++ {
		e := sorted[i*len(sorted)/parts]
		if e == "" || (len(out) > 0 && e <= out[len(out)-1]) {
			continue
		}
		out = append(out, e)
	}
	return out
}

// segmentRangesFrom returns n ranges covering every name, cut at the ends
// a previous snapshot recorded (fewer ranges when they are too few to cut
// n parts), or spread over 0-9a-z when it recorded none.
func segmentRangesFrom(n int, ends []string) []licensing.UserSegment {
	if len(ends) == 0 || n < 2 {
		return segmentRanges(n)
	}
	cut := cutEnds(ends, min(n, len(ends)+1))
	out := make([]licensing.UserSegment, len(cut)+1)
	for i, e := range cut {
		out[i].To, out[i+1].From = e, e
	}
	return out
}
