package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// serviceRequests serves:
//
//	GET  /api/service-requests?agency=&status=
//	GET  /api/service-requests/{id}
//	POST /api/service-requests/{id}/documents   (JSON like the intake, or a multipart form)
//	POST /api/service-requests/{id}/activation  (admins: {"note": "..."} optional)
func (s *Server) serviceRequests(ctx context.Context, r *Request) (*Response, error) {
	id := strings.TrimSpace(r.Params["id"])
	action := strings.TrimSpace(r.Params["action"])
	switch {
	case r.Method == http.MethodGet && id == "":
		list, err := s.intake.ListRequests(ctx, r.Caller, licensing.RequestFilter{Agency: r.Query["agency"], Status: r.Query["status"]})
		if err != nil {
			return nil, err
		}
		if list == nil {
			list = []licensing.ServiceRequest{}
		}
		return &Response{Status: http.StatusOK, Body: serviceRequestListResponse{ServiceRequests: mapList(list, newServiceRequestResponse), Count: len(list)}}, nil
	case r.Method == http.MethodGet && action == "":
		sr, err := s.intake.GetRequest(ctx, r.Caller, id)
		if err != nil {
			return nil, err
		}
		return &Response{Status: http.StatusOK, Body: newServiceRequestResponse(sr)}, nil
	case r.Method == http.MethodPost && action == "documents":
		in, err := s.decodeIntake(r)
		if err != nil {
			return nil, err
		}
		res, err := s.intake.CompleteRequest(ctx, r.Caller, id, in)
		if err != nil {
			return nil, err
		}
		return intakeResponse(r, res), nil
	case r.Method == http.MethodPost && action == "activation":
		var body confirmation
		if r.HasBody && len(strings.TrimSpace(string(r.Body))) > 0 {
			b, err := decodeJSON[confirmation](r, "confirmation", 16<<10)
			if err != nil {
				return nil, err
			}
			body = b
		}
		sr, next, err := s.intake.ConfirmActivation(ctx, r.Caller, id, body.Note)
		if err != nil {
			return nil, err
		}
		r.Log.Info("activation confirmed", "sr", sr.ID, "status", sr.Status)
		r.Log.Info("steps queued", "sr", sr.ID, "queued", licensing.StepNames(next))
		return &Response{Status: http.StatusOK, Body: newServiceRequestResponse(sr)}, nil
	case r.Method == http.MethodPost:
		return nil, licensing.Errorf("handlers.serviceRequests", licensing.NotFound, "Use POST /api/service-requests/{id}/documents or /activation.")
	}
	return methodNotAllowed(r.Method, "GET, POST"), nil
}

// confirmation is the optional body of an admin's activation confirmation.
type confirmation struct {
	Note string `json:"note"`
}

// activationStep runs one message of the activation-steps queue.
func (s *Server) activationStep(ctx context.Context, msg *QueueMessage, log *slog.Logger) (map[string]any, error) {
	var st licensing.Step
	if err := json.Unmarshal([]byte(msg.Text), &st); err != nil || st.SR == "" || st.Step == "" {
		// Retried, and so kept in the poison queue where the sweep reports it.
		return nil, licensing.Wrap("handlers.activationStep", licensing.Internal, "The message is not a workflow step.", err)
	}
	// The step queues what follows itself, once; nothing goes through the
	// output binding.
	return nil, s.intake.RunStep(ctx, st, log)
}

// activationSweep marks the requests whose messages the host gave up on as
// failed and tells central IT, then removes what failed submissions left,
// and deletes the ad-hoc workbooks whose download links have expired (each
// removal is logged by the sweep).
func (s *Server) activationSweep(ctx context.Context, t *TimerInfo, log *slog.Logger) error {
	var werr error
	if s.usage != nil {
		_, werr = s.usage.SweepWorkbooks(ctx, log)
	}
	n, err := s.intake.SweepPoisoned(ctx, log)
	if n > 0 || err != nil {
		log.Info("poisoned activation messages handled", "count", n)
	}
	if err != nil {
		return errors.Join(err, werr)
	}
	_, err = s.intake.SweepOrphans(ctx, log)
	return errors.Join(err, werr)
}
