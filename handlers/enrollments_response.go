package handlers

import (
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// enrollmentResponse is an Enterprise Agreement enrollment, with the keys
// PUT /api/enrollments/{number} takes.
type enrollmentResponse struct {
	Number           string                    `json:"number"`
	Anniversary      licensing.Date            `json:"anniversary"`
	Kind             string                    `json:"kind"`
	PlatformProducts []platformProductResponse `json:"platformProducts"`
	LastReported     int                       `json:"lastReported"`
	Reservations     []serviceChangeResponse   `json:"reservations"`
	Transitions      []serviceChangeResponse   `json:"transitions"`
	Reductions       []reductionResponse       `json:"reductions"`
	Updated          time.Time                 `json:"updated"`
	UpdatedBy        string                    `json:"updatedBy"`
	// ETag is the version to send back in If-Match.
	ETag string `json:"etag,omitempty"`
}

type platformProductResponse struct {
	Name      string   `json:"name"`
	CoveredBy []string `json:"coveredBy,omitempty"`
	Bridge    string   `json:"bridge,omitempty"`
}

type serviceChangeResponse struct {
	Service  string         `json:"service"`
	Quantity int            `json:"quantity"`
	Date     licensing.Date `json:"date"`
}

type reductionResponse struct {
	Product  string         `json:"product"`
	Quantity int            `json:"quantity"`
	Date     licensing.Date `json:"date"`
}

func newEnrollmentResponse(e licensing.Enrollment) enrollmentResponse {
	change := func(c licensing.ServiceChange) serviceChangeResponse {
		return serviceChangeResponse{Service: c.Service, Quantity: c.Quantity, Date: c.Date}
	}
	return enrollmentResponse{
		Number: e.Number, Anniversary: e.Anniversary, Kind: e.Kind, LastReported: e.LastReported,
		PlatformProducts: mapList(e.PlatformProducts, func(p licensing.PlatformProduct) platformProductResponse {
			return platformProductResponse{Name: p.Name, CoveredBy: p.CoveredBy, Bridge: p.Bridge}
		}),
		Reservations: mapList(e.Reservations, change),
		Transitions:  mapList(e.Transitions, change),
		Reductions: mapList(e.Reductions, func(r licensing.Reduction) reductionResponse {
			return reductionResponse{Product: r.Product, Quantity: r.Quantity, Date: r.Date}
		}),
		Updated: e.Updated, UpdatedBy: e.UpdatedBy, ETag: e.ETag,
	}
}

// enrollmentListResponse answers GET /api/enrollments.
type enrollmentListResponse struct {
	Enrollments []enrollmentResponse `json:"enrollments"`
	Count       int                  `json:"count"`
}
