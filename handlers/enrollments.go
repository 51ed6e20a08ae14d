package handlers

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// maxEnrollmentBytes bounds an enrollment document: above the largest one
// Validate accepts, even with every character of its names escaped.
const maxEnrollmentBytes = 4 << 20

// enrollments serves GET /api/enrollments, GET /api/enrollments/{number}
// and PUT /api/enrollments/{number}.
func (s *Server) enrollments(ctx context.Context, r *Request) (*Response, error) {
	return resource[licensing.Enrollment]{
		what: "enrollment", keyName: "enrollment number", path: "enrollments", param: "number",
		list: s.renewals.ListEnrollments, get: s.renewals.GetEnrollment, put: s.renewals.PutEnrollment,
		decode: func(r *Request, number string) (licensing.Enrollment, error) {
			in, err := decodeJSON[enrollmentRequest](r, "enrollment", maxEnrollmentBytes)
			if err != nil {
				return licensing.Enrollment{}, err
			}
			return in.enrollment(number)
		},
		key:  func(e licensing.Enrollment) string { return e.Number },
		etag: func(e licensing.Enrollment) string { return e.ETag },
		one:  func(e licensing.Enrollment) any { return newEnrollmentResponse(e) },
		many: func(list []licensing.Enrollment) any {
			return enrollmentListResponse{Enrollments: mapList(list, newEnrollmentResponse), Count: len(list)}
		},
	}.serve(ctx, r)
}

// enrollmentRequest is the body of PUT /api/enrollments/{number}: the
// fields of an enrollment as GET answers them, dates as text so that a bad
// one is reported under its field. updated, updatedBy and etag are
// accepted, so that what GET answered can be sent back edited, and ignored:
// the server sets the first two, and the version to replace goes in
// If-Match.
type enrollmentRequest struct {
	Number           string                   `json:"number"`
	Anniversary      string                   `json:"anniversary"`
	Kind             string                   `json:"kind"`
	PlatformProducts []platformProductRequest `json:"platformProducts"`
	LastReported     int                      `json:"lastReported"`
	Reservations     []serviceChangeRequest   `json:"reservations"`
	Transitions      []serviceChangeRequest   `json:"transitions"`
	Reductions       []reductionRequest       `json:"reductions"`
	Updated          any                      `json:"updated"`
	UpdatedBy        any                      `json:"updatedBy"`
	ETag             any                      `json:"etag"`
}

type platformProductRequest struct {
	Name      string   `json:"name"`
	CoveredBy []string `json:"coveredBy"`
	Bridge    string   `json:"bridge"`
}

type serviceChangeRequest struct {
	Service  string `json:"service"`
	Quantity int    `json:"quantity"`
	Date     string `json:"date"`
}

type reductionRequest struct {
	Product  string `json:"product"`
	Quantity int    `json:"quantity"`
	Date     string `json:"date"`
}

// enrollment returns the enrollment in, for the number in the URL. A date
// that does not read is Invalid, reported under its field together with
// every other problem of the enrollment.
func (in enrollmentRequest) enrollment(number string) (licensing.Enrollment, error) {
	bad := map[string]string{}
	day := func(field, s string) licensing.Date {
		if strings.TrimSpace(s) == "" {
			return licensing.Date{}
		}
		d, err := licensing.ParseDate(strings.TrimSpace(s))
		if err != nil {
			bad[field] = fmt.Sprintf("must be a date like 2027-03-01, not %q", licensing.Truncate(s))
		}
		return d
	}
	e := licensing.Enrollment{Number: in.Number, Anniversary: day("anniversary", in.Anniversary), Kind: in.Kind, LastReported: in.LastReported}
	e.PlatformProducts = mapList(in.PlatformProducts, func(p platformProductRequest) licensing.PlatformProduct {
		return licensing.PlatformProduct{Name: p.Name, CoveredBy: p.CoveredBy, Bridge: p.Bridge}
	})
	changes := func(field string, list []serviceChangeRequest) []licensing.ServiceChange {
		var out []licensing.ServiceChange
		for i, c := range list {
			out = append(out, licensing.ServiceChange{Service: c.Service, Quantity: c.Quantity, Date: day(fmt.Sprintf("%s[%d].date", field, i), c.Date)})
		}
		return out
	}
	e.Reservations, e.Transitions = changes("reservations", in.Reservations), changes("transitions", in.Transitions)
	for i, r := range in.Reductions {
		e.Reductions = append(e.Reductions, licensing.Reduction{Product: r.Product, Quantity: r.Quantity, Date: day(fmt.Sprintf("reductions[%d].date", i), r.Date)})
	}
	if len(bad) == 0 {
		return e, nil
	}
	// A date that does not read is left out, which Validate reports as
	// missing under the same field: that entry says what was wrong instead.
	check := e
	if check.Number == "" {
		check.Number = number
	}
	err := check.Validate()
	fields := licensing.ErrorFields(err)
	for i, f := range fields {
		if msg, ok := bad[f.Field]; ok {
			fields[i].Message = msg
			delete(bad, f.Field)
		}
	}
	for _, f := range slices.Sorted(maps.Keys(bad)) {
		fields = append(fields, licensing.FieldError{Field: f, Message: bad[f]})
	}
	return licensing.Enrollment{}, &licensing.Error{Op: "enrollments.decode", Code: licensing.Invalid,
		Message: "The enrollment has " + licensing.Plural(len(fields), "problem") + "; see fields.", Fields: fields}
}
