package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/provisioning"
)

// provisioningAPI serves GET /api/provisioning?agency= (the state of the
// delegated groups) and POST /api/provisioning/run?agency=&dryRun=true (a
// run on demand, admins only).
func (s *Server) provisioningAPI(ctx context.Context, r *Request) (*Response, error) {
	agency := strings.TrimSpace(r.Query["agency"])
	switch action := strings.ToLower(strings.TrimSpace(r.Params["action"])); {
	case action == "" && r.Method == http.MethodGet:
		states, err := s.provisioning.State(ctx, r.Caller, agency)
		if err != nil {
			return nil, err
		}
		if agency != "" && len(states) == 1 {
			return &Response{Status: http.StatusOK, Body: newProvisioningStateResponse(states[0])}, nil
		}
		list := mapList(states, newProvisioningStateResponse)
		return &Response{Status: http.StatusOK, Body: provisioningListResponse{Agencies: list, Count: len(list)}}, nil
	case action == "":
		return methodNotAllowed(r.Method, "GET"), nil
	case action == "run" && r.Method == http.MethodPost:
		dry, err := queryBool(r, "dryRun")
		if err != nil {
			return nil, err
		}
		res, err := s.provisioning.RunFor(ctx, r.Caller, provisioning.Options{Agency: agency, DryRun: dry, Trigger: "http"}, r.Log)
		if err != nil {
			return nil, err
		}
		return &Response{Status: http.StatusOK, Body: newProvisioningRunResponse(res)}, nil
	case action == "run":
		return methodNotAllowed(r.Method, "POST"), nil
	default:
		return nil, licensing.Errorf("handlers.provisioning", licensing.NotFound, "There is no /api/provisioning/%s; use GET /api/provisioning or POST /api/provisioning/run.", action)
	}
}

// provisionGroups is the hourly provisioning run: it sends one piece per
// agency to the work queue, which the Work function runs.
func (s *Server) provisionGroups(ctx context.Context, _ *TimerInfo, log *slog.Logger) error {
	_, err := s.provisioning.Start(ctx, provisioning.Options{Trigger: "timer"}, log)
	return err
}

type seatResponse struct {
	ID                string     `json:"id"`
	UserPrincipalName string     `json:"userPrincipalName"`
	Since             *time.Time `json:"since,omitempty"`
	WaitingSince      *time.Time `json:"waitingSince,omitempty"`
	Error             string     `json:"error,omitempty"`
}

type productSeatsResponse struct {
	Sku               string         `json:"sku"`
	SkuID             string         `json:"skuId"`
	Name              string         `json:"name"`
	GroupID           string         `json:"groupId"`
	Cap               int            `json:"cap"`
	Assigned          []seatResponse `json:"assigned"`
	LicensedElsewhere []seatResponse `json:"licensedElsewhere"`
	Waitlist          []seatResponse `json:"waitlist"`
	Errors            []seatResponse `json:"errors"`
	WouldFree         []seatResponse `json:"wouldFree"`
}

// provisioningStateResponse answers GET /api/provisioning?agency=.
type provisioningStateResponse struct {
	Agency   string                 `json:"agency"`
	AsOf     *time.Time             `json:"asOf"`
	Products []productSeatsResponse `json:"products"`
}

type provisioningListResponse struct {
	Agencies []provisioningStateResponse `json:"agencies"`
	Count    int                         `json:"count"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func newProvisioningStateResponse(st licensing.ProvisioningState) provisioningStateResponse {
	seats := func(list []licensing.SeatEntry, waiting bool) []seatResponse {
		out := make([]seatResponse, len(list))
		for i, e := range list {
			out[i] = seatResponse{ID: e.UserID, UserPrincipalName: e.UserPrincipalName, Error: e.Error}
			if waiting {
				out[i].WaitingSince = timePtr(e.Since)
			} else {
				out[i].Since = timePtr(e.Since)
			}
		}
		return out
	}
	out := provisioningStateResponse{Agency: st.Agency, AsOf: timePtr(st.AsOf), Products: []productSeatsResponse{}}
	for _, p := range st.Products {
		out.Products = append(out.Products, productSeatsResponse{Sku: p.PartNumber, SkuID: p.SkuID, Name: p.Name, GroupID: p.GroupID, Cap: p.Cap,
			Assigned: seats(p.Assigned, false), LicensedElsewhere: seats(p.LicensedElsewhere, false), Waitlist: seats(p.Waitlist, true),
			Errors: seats(p.Errors, false), WouldFree: seats(p.WouldFree, false)})
	}
	return out
}

type planLineResponse struct {
	Action            string `json:"action"`
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	Reason            string `json:"reason"`
	Outcome           string `json:"outcome,omitempty"`
}

type productRunResponse struct {
	Sku               string             `json:"sku"`
	SkuID             string             `json:"skuId"`
	GroupID           string             `json:"groupId"`
	Cap               int                `json:"cap"`
	Assigned          int                `json:"assigned"`
	LicensedElsewhere int                `json:"licensedElsewhere"`
	Waitlisted        int                `json:"waitlisted"`
	Added             int                `json:"added"`
	Removed           int                `json:"removed"`
	Errors            int                `json:"errors"`
	Problem           string             `json:"problem,omitempty"`
	Plan              []planLineResponse `json:"plan"`
}

type agencyRunResponse struct {
	Agency   string               `json:"agency"`
	Products []productRunResponse `json:"products"`
}

// provisioningRunResponse answers POST /api/provisioning/run.
type provisioningRunResponse struct {
	RunID        string              `json:"runId,omitempty"`
	DryRun       bool                `json:"dryRun"`
	AsOf         time.Time           `json:"asOf"`
	Agencies     []agencyRunResponse `json:"agencies"`
	WriteBatches int                 `json:"writeBatches"`
	Mailed       int                 `json:"mailed"`
	Notes        []string            `json:"notes"`
}

func newProvisioningRunResponse(r provisioning.Result) provisioningRunResponse {
	out := provisioningRunResponse{RunID: r.RunID, DryRun: r.DryRun, AsOf: r.AsOf, WriteBatches: r.Batches, Mailed: r.Mailed,
		Notes: append([]string{}, r.Notes...), Agencies: []agencyRunResponse{}}
	for _, a := range r.Agencies {
		ar := agencyRunResponse{Agency: a.Agency, Products: []productRunResponse{}}
		for _, p := range a.Products {
			pr := productRunResponse{Sku: p.PartNumber, SkuID: p.SkuID, GroupID: p.GroupID, Cap: p.Cap, Assigned: p.Assigned,
				LicensedElsewhere: p.Elsewhere, Waitlisted: p.Waiting, Added: p.Added, Removed: p.Removed, Errors: p.Errors,
				Problem: p.Problem, Plan: []planLineResponse{}}
			for _, l := range p.Plan {
				pr.Plan = append(pr.Plan, planLineResponse{Action: l.Kind, ID: l.UserID, UserPrincipalName: l.UserPrincipalName, Reason: l.Reason, Outcome: l.Outcome})
			}
			ar.Products = append(ar.Products, pr)
		}
		out.Agencies = append(out.Agencies, ar)
	}
	return out
}
