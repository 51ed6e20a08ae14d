package memstore

import (
	"context"
	"slices"
	"sort"
	"strconv"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

var _ licensing.EnrollmentStore = (*Store)(nil)

// GetEnrollment returns the enrollment number, or NotFound.
func (s *Store) GetEnrollment(ctx context.Context, number string) (licensing.Enrollment, error) {
	const op = "memstore.getEnrollment"
	if err := ctx.Err(); err != nil {
		return licensing.Enrollment{}, unavailable(op, err)
	}
	if badKey(number) {
		return licensing.Enrollment{}, badEnrollmentNumber(op)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.enrollments[number]
	if !ok {
		return licensing.Enrollment{}, licensing.Errorf(op, licensing.NotFound, "Enrollment %s does not exist.", number)
	}
	return copyEnrollment(e), nil
}

// ListEnrollments returns every enrollment ordered by number.
func (s *Store) ListEnrollments(ctx context.Context) ([]licensing.Enrollment, error) {
	const op = "memstore.listEnrollments"
	if err := ctx.Err(); err != nil {
		return nil, unavailable(op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []licensing.Enrollment
	for _, e := range s.enrollments {
		out = append(out, copyEnrollment(e))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out, nil
}

// PutEnrollment creates or replaces e under pre (see
// licensing.EnrollmentStore): IfNoneMatch on an existing enrollment, and an
// IfMatch that does not match the stored ETag or finds no enrollment, are
// Stale. Times are kept as Table Storage keeps them.
func (s *Store) PutEnrollment(ctx context.Context, e licensing.Enrollment, pre licensing.Precondition) (licensing.Enrollment, bool, error) {
	const op = "memstore.putEnrollment"
	if err := ctx.Err(); err != nil {
		return licensing.Enrollment{}, false, unavailable(op, err)
	}
	if badKey(e.Number) {
		return licensing.Enrollment{}, false, badEnrollmentNumber(op)
	}
	if pre.IfNoneMatch && pre.IfMatch != "" {
		return licensing.Enrollment{}, false, licensing.Errorf(op, licensing.Invalid, "If-Match and If-None-Match cannot be used together.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.enrollments == nil {
		s.enrollments = map[string]licensing.Enrollment{}
	}
	cur, exists := s.enrollments[e.Number]
	switch {
	case pre.IfNoneMatch && exists:
		return licensing.Enrollment{}, false, licensing.Errorf(op, licensing.Stale, "Enrollment %s exists already.", e.Number)
	case pre.IfMatch != "" && !exists:
		return licensing.Enrollment{}, false, licensing.Errorf(op, licensing.Stale, "Enrollment %s does not exist.", e.Number)
	case pre.IfMatch != "" && pre.IfMatch != "*" && pre.IfMatch != cur.ETag:
		return licensing.Enrollment{}, false, licensing.Errorf(op, licensing.Stale, "Enrollment %s was changed by someone else in the meantime; read it again and retry.", e.Number)
	}
	s.version++
	e = copyEnrollment(e)
	e.Updated = storedTime(e.Updated)
	e.ETag = `W/"` + strconv.FormatUint(s.version, 10) + `"`
	s.enrollments[e.Number] = e
	return copyEnrollment(e), !exists, nil
}

func badEnrollmentNumber(op string) error {
	return licensing.Errorf(op, licensing.Invalid, "The enrollment number must be 1 to 1024 characters without '/', '\\', '#', '?' or control characters.")
}

// copyEnrollment returns e with lists of its own. A nil list stays nil and
// an empty one empty, as Table Storage keeps them.
func copyEnrollment(e licensing.Enrollment) licensing.Enrollment {
	e.PlatformProducts = slices.Clone(e.PlatformProducts)
	for i, p := range e.PlatformProducts {
		e.PlatformProducts[i].CoveredBy = slices.Clone(p.CoveredBy)
	}
	e.Reservations = slices.Clone(e.Reservations)
	e.Transitions = slices.Clone(e.Transitions)
	e.Reductions = slices.Clone(e.Reductions)
	return e
}
