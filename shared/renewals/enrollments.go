package renewals

import (
	"context"
	"strings"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// GetEnrollment returns one enrollment. Admins only.
func (s *Service) GetEnrollment(ctx context.Context, caller *licensing.Principal, number string) (licensing.Enrollment, error) {
	const op = "enrollments.get"
	if _, err := s.cfg.Auth.RequireAdmin(ctx, op, caller); err != nil {
		return licensing.Enrollment{}, err
	}
	number = strings.TrimSpace(number)
	if !licensing.ValidEnrollmentNumber(number) {
		return licensing.Enrollment{}, licensing.Errorf(op, licensing.NotFound, "There is no enrollment %q.", licensing.Truncate(number))
	}
	return s.cfg.Enrollments.GetEnrollment(ctx, number)
}

// ListEnrollments returns every enrollment. Admins only.
func (s *Service) ListEnrollments(ctx context.Context, caller *licensing.Principal) ([]licensing.Enrollment, error) {
	if _, err := s.cfg.Auth.RequireAdmin(ctx, "enrollments.list", caller); err != nil {
		return nil, err
	}
	return s.cfg.Enrollments.ListEnrollments(ctx)
}

// PutEnrollment creates or replaces the enrollment number from e, after
// checking every field. The number in the path wins; a different one in the
// body is an error rather than a rename. pre carries If-Match or
// If-None-Match. Admins only.
func (s *Service) PutEnrollment(ctx context.Context, caller *licensing.Principal, number string, e licensing.Enrollment, pre licensing.Precondition) (licensing.Enrollment, bool, error) {
	const op = "enrollments.put"
	acc, err := s.cfg.Auth.RequireAdmin(ctx, op, caller)
	if err != nil {
		return licensing.Enrollment{}, false, err
	}
	number = strings.TrimSpace(number)
	if e.Number != "" && e.Number != number {
		return licensing.Enrollment{}, false, &licensing.Error{Op: op, Code: licensing.Invalid, Message: "The enrollment has 1 problem; see fields.",
			Fields: []licensing.FieldError{{Field: "number", Message: "must match the number in the URL (" + licensing.Truncate(number) + ") or be left out"}}}
	}
	e.Number = number
	if err := e.Validate(); err != nil {
		err.(*licensing.Error).Op = op
		return licensing.Enrollment{}, false, err
	}
	e.Updated, e.UpdatedBy, e.ETag = s.cfg.Now().UTC(), acc.Who, ""
	return s.cfg.Enrollments.PutEnrollment(ctx, e, pre)
}
