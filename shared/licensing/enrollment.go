package licensing

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Enrollment kinds.
const (
	// EnrollmentEnterprise is trued up once a year: the order is the growth
	// since the last reported count.
	EnrollmentEnterprise = "enterprise"
	// EnrollmentSubscription places an annual order of totals instead.
	EnrollmentSubscription = "subscription"
)

// Enrollment is an Enterprise Agreement enrollment as central IT records it
// for its yearly true-up: the anniversary the order is due before, the
// platform products counted per qualified user, the count last reported, and
// what happened to online services during the year.
type Enrollment struct {
	// Number is the enrollment number (EA-1234567).
	Number string `json:"number"`
	// Anniversary is the next anniversary of the enrollment: the true-up
	// order is due between 60 and 30 days before it.
	Anniversary Date   `json:"anniversary"`
	Kind        string `json:"kind"`
	// PlatformProducts are licensed per qualified user or device (Office
	// Professional Plus, Core CAL, Windows OS Upgrade).
	PlatformProducts []PlatformProduct `json:"platformProducts"`
	// LastReported is the qualified count of the last true-up (or annual
	// order).
	LastReported int `json:"lastReported"`
	// Reservations are online-service licenses reserved during the year and
	// not yet reconciled.
	Reservations []ServiceChange `json:"reservations"`
	// Transitions are users moved during the year from platform products to
	// an online service.
	Transitions []ServiceChange `json:"transitions"`
	// Reductions lower a product's count from the anniversary on, where the
	// product allows it.
	Reductions []Reduction `json:"reductions"`
	Updated    time.Time   `json:"updated"`
	UpdatedBy  string      `json:"updatedBy"`
	// ETag is the stored version (output only; writes take If-Match).
	ETag string `json:"etag,omitempty"`
}

// PlatformProduct is a product of the enrollment's platform: counted per
// qualified user, possibly covered by online services.
type PlatformProduct struct {
	Name string `json:"name"`
	// CoveredBy names the online services whose users need no license of
	// this product (Office 365 E3 covers Office Professional Plus).
	CoveredBy []string `json:"coveredBy,omitempty"`
	// Bridge is the license that keeps the rest of this product's coverage
	// for users of a covering service (Core CAL Bridge for Core CAL).
	Bridge string `json:"bridge,omitempty"`
}

// ServiceChange is a reservation or a transition: quantity licenses of an
// online service from date.
type ServiceChange struct {
	Service  string `json:"service"`
	Quantity int    `json:"quantity"`
	Date     Date   `json:"date"`
}

// Reduction lowers a product's licensed quantity from the anniversary.
type Reduction struct {
	Product  string `json:"product"`
	Quantity int    `json:"quantity"`
	Date     Date   `json:"date"`
}

// Limits of an enrollment, generous for real use and small enough for one
// table entity.
const (
	maxPlatformProducts = 50
	maxCoveredBy        = 20
	maxServiceChanges   = 200
	maxProductNameLen   = 100
	// MaxQualifiedCount bounds lastReported and a given current count.
	MaxQualifiedCount = 10_000_000
)

var enrollmentNumberPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$`)

// ValidEnrollmentNumber reports whether s is shaped like an enrollment
// number: letters, digits and . _ -, starting with a letter or digit, at most
// 40.
func ValidEnrollmentNumber(s string) bool { return enrollmentNumberPattern.MatchString(s) }

// LastAnniversary is the anniversary before e.Anniversary: the start of the
// year the next true-up accounts for.
func (e Enrollment) LastAnniversary() Date { return e.Anniversary.AddYears(-1) }

// Validate checks every field and reports each problem under its JSON path
// as an Invalid error; nil when the enrollment is sound.
func (e Enrollment) Validate() error {
	var fe FieldErrors
	if !ValidEnrollmentNumber(e.Number) {
		fe.Add("number", "must be the enrollment number: letters, digits, '.', '_' or '-', at most 40 (EA-1234567)")
	}
	if e.Anniversary.IsZero() {
		fe.Add("anniversary", "is required: the next anniversary of the enrollment, like 2027-03-01")
	}
	if e.Kind != EnrollmentEnterprise && e.Kind != EnrollmentSubscription {
		fe.Add("kind", "must be %q (a true-up of increments) or %q (an annual order of totals)", EnrollmentEnterprise, EnrollmentSubscription)
	}
	if e.LastReported < 0 || e.LastReported > MaxQualifiedCount {
		fe.Add("lastReported", "must be between 0 and %d: the qualified count of the last true-up", MaxQualifiedCount)
	}
	products := map[string]bool{}
	switch n := len(e.PlatformProducts); {
	case n == 0:
		fe.Add("platformProducts", "must list at least one product of the platform (Office Professional Plus, Core CAL, ...)")
	case n > maxPlatformProducts:
		fe.Add("platformProducts", "holds %d products; at most %d", n, maxPlatformProducts)
	}
	for i, p := range e.PlatformProducts {
		at := fmt.Sprintf("platformProducts[%d]", i)
		key := strings.ToLower(strings.TrimSpace(p.Name))
		switch {
		case !validProductName(p.Name):
			fe.Add(at+".name", "must be a product name of %s", productNameRule)
		case products[key]:
			fe.Add(at+".name", "%q is listed twice", Truncate(p.Name))
		}
		products[key] = true
		if len(p.CoveredBy) > maxCoveredBy {
			fe.Add(at+".coveredBy", "holds %d services; at most %d", len(p.CoveredBy), maxCoveredBy)
		}
		for j, s := range p.CoveredBy {
			if !validProductName(s) {
				fe.Add(fmt.Sprintf("%s.coveredBy[%d]", at, j), "must be an online service name of %s", productNameRule)
			}
		}
		if p.Bridge != "" && !validProductName(p.Bridge) {
			fe.Add(at+".bridge", "must be a product name of %s, or left out", productNameRule)
		}
		if p.Bridge != "" && len(p.CoveredBy) == 0 {
			fe.Add(at+".bridge", "needs coveredBy: a bridge is ordered for the users of a covering service")
		}
	}
	// Reservations and transitions of the year being trued up: from the last
	// anniversary (earlier ones were reconciled then) to before the next.
	from, to := e.LastAnniversary(), e.Anniversary
	changes := func(field string, list []ServiceChange) {
		if len(list) > maxServiceChanges {
			fe.Add(field, "holds %d entries; at most %d", len(list), maxServiceChanges)
		}
		for i, c := range list {
			at := fmt.Sprintf("%s[%d]", field, i)
			if !validProductName(c.Service) {
				fe.Add(at+".service", "must name the online service (Office 365 E3): %s", productNameRule)
			}
			if c.Quantity < 1 || c.Quantity > MaxQuantity {
				fe.Add(at+".quantity", "must be between 1 and %d", MaxQuantity)
			}
			switch {
			case c.Date.IsZero():
				fe.Add(at+".date", "is required, like 2026-05-02")
			case e.Anniversary.IsZero():
			case c.Date.Before(from):
				fe.Add(at+".date", "is before %s, the last anniversary: it was reconciled at that anniversary; list only the year being trued up, from %s to before %s", from, from, to)
			case !c.Date.Before(to):
				fe.Add(at+".date", "is on or after %s, the anniversary: it belongs to the next anniversary's true-up; list only the year being trued up, from %s to before %s", to, from, to)
			}
		}
	}
	changes("reservations", e.Reservations)
	changes("transitions", e.Transitions)
	if len(e.Reductions) > maxServiceChanges {
		fe.Add("reductions", "holds %d entries; at most %d", len(e.Reductions), maxServiceChanges)
	}
	for i, r := range e.Reductions {
		at := fmt.Sprintf("reductions[%d]", i)
		if !validProductName(r.Product) {
			fe.Add(at+".product", "must name the product reduced: %s", productNameRule)
		}
		if r.Quantity < 1 || r.Quantity > MaxQuantity {
			fe.Add(at+".quantity", "must be between 1 and %d", MaxQuantity)
		}
		if r.Date.IsZero() {
			fe.Add(at+".date", "is required, like 2026-05-02")
		}
	}
	return fe.Err("enrollments.validate", "The enrollment")
}

// productNameRule says what validProductName accepts.
var productNameRule = fmt.Sprintf("1 to %d characters, without control or invisible formatting characters (U+200B, U+202E, ...)", maxProductNameLen)

// validProductName reports whether s can name a product or service in
// worksheets and mails: 1 to maxProductNameLen characters once trimmed,
// none of them invisible (see HasInvisible), so that what a reader sees is
// what is stored.
func validProductName(s string) bool {
	s = strings.TrimSpace(s)
	return s != "" && utf8.RuneCountInString(s) <= maxProductNameLen && !HasInvisible(s)
}

// EnrollmentStore keeps Enterprise Agreement enrollments.
type EnrollmentStore interface {
	// GetEnrollment returns the enrollment number, or NotFound.
	GetEnrollment(ctx context.Context, number string) (Enrollment, error)
	// ListEnrollments returns every enrollment ordered by number.
	ListEnrollments(ctx context.Context) ([]Enrollment, error)
	// PutEnrollment creates or replaces e, returning it with its new ETag
	// and whether it was created. A failed precondition is Stale, as is a
	// create-only write that finds one.
	PutEnrollment(ctx context.Context, e Enrollment, pre Precondition) (stored Enrollment, created bool, err error)
}
