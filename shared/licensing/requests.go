package licensing

import (
	"context"
	"strings"
)

// getRequest reads a request by id; an id that cannot be one is NotFound.
func (s *Service) getRequest(ctx context.Context, op, id string) (ServiceRequest, error) {
	id = strings.TrimSpace(id)
	if RequestIDAgency(id) == "" {
		return ServiceRequest{}, Errorf(op, NotFound, "There is no service request %q.", truncate(id))
	}
	return s.cfg.Requests.GetRequest(ctx, id)
}

// canSee reports whether acc may see or act on sr: admins, the agency's
// delegates, and the requester.
func canSee(acc Access, caller *Principal, sr ServiceRequest) bool {
	return acc.CanActFor(sr.Agency) || (caller != nil && strings.EqualFold(caller.Name, sr.Requester.Email))
}

// GetRequest returns a service request with its history, for admins, the
// agency's delegates and its requester.
func (s *Service) GetRequest(ctx context.Context, caller *Principal, id string) (ServiceRequest, error) {
	const op = "requests.get"
	acc, err := s.Authorize(ctx, op, caller)
	if err != nil {
		return ServiceRequest{}, err
	}
	sr, err := s.getRequest(ctx, op, id)
	if err != nil {
		return ServiceRequest{}, err
	}
	if !canSee(acc, caller, sr) {
		// Said as not found, so ids of other agencies' requests leak nothing.
		return ServiceRequest{}, Errorf(op, NotFound, "There is no service request %q.", truncate(id))
	}
	return sr, nil
}

// ListRequests lists service requests: every one for admins, their
// agencies' for delegates.
func (s *Service) ListRequests(ctx context.Context, caller *Principal, f RequestFilter) ([]ServiceRequest, error) {
	const op = "requests.list"
	acc, err := s.Authorize(ctx, op, caller)
	if err != nil {
		return nil, err
	}
	f.Agency = NormalizeAgencyID(f.Agency)
	f.Status = strings.TrimSpace(f.Status)
	if f.Status != "" && !knownStatus(f.Status) {
		return nil, &Error{Op: op, Code: Invalid, Message: "The listing has 1 problem; see fields.",
			Fields: []FieldError{{Field: "status", Message: "must be one of submitted, needs-information, validated, recorded, awaiting-activation, activated, closed, failed"}}}
	}
	if f.Agency != "" && !acc.CanActFor(f.Agency) {
		return nil, Errorf(op, Forbidden, "You may list only your own agency's service requests.")
	}
	if acc.Admin || f.Agency != "" {
		return s.cfg.Requests.ListRequests(ctx, f)
	}
	var out []ServiceRequest
	for _, a := range acc.Agencies {
		f.Agency = a
		list, err := s.cfg.Requests.ListRequests(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
	}
	return out, nil
}

func knownStatus(st string) bool {
	switch st {
	case StatusSubmitted, StatusNeedsInformation, StatusValidated, StatusRecorded, StatusAwaitingActivation,
		StatusActivated, StatusClosed, StatusFailed:
		return true
	}
	return false
}

// CompleteRequest adds what an incomplete request was missing: documents,
// and the PO number or the lines when they were left out. When nothing is
// missing any more the request is submitted and its first step returned;
// otherwise the requester is told again what is still missing.
func (s *Service) CompleteRequest(ctx context.Context, caller *Principal, id string, in IntakeRequest) (IntakeResult, error) {
	const op = "requests.complete"
	acc, err := s.Authorize(ctx, op, caller)
	if err != nil {
		return IntakeResult{}, err
	}
	sr, err := s.getRequest(ctx, op, id)
	if err != nil {
		return IntakeResult{}, err
	}
	if !canSee(acc, caller, sr) {
		return IntakeResult{}, Errorf(op, NotFound, "There is no service request %q.", truncate(id))
	}
	if sr.Status != StatusNeedsInformation {
		return IntakeResult{}, Errorf(op, Conflict, "Service request %s is %s; documents can be added only while it needs information.", sr.ID, sr.Status)
	}
	var fe fieldErrors
	if po := strings.TrimSpace(in.PONumber); po != "" {
		switch {
		case sr.PONumber != "" && !strings.EqualFold(po, sr.PONumber):
			fe.add("poNumber", "the request already has PO number %s", sr.PONumber)
		case !poPattern.MatchString(po):
			fe.add("poNumber", "must be 1 to 40 letters, digits, '.', '-', '_' or '/'")
		default:
			sr.PONumber = po
		}
	}
	if len(in.Lines) > 0 {
		if len(sr.Lines) > 0 {
			fe.add("lines", "the request already lists its products")
		} else if err := s.validateLines(ctx, &sr, in.Lines, &fe); err != nil {
			return IntakeResult{}, err
		}
	}
	docs := validateDocuments(in.Documents, &fe)
	if len(in.Documents) == 0 && in.PONumber == "" && len(in.Lines) == 0 {
		fe.add("documents", "send at least one document, or the PO number or lines that were missing")
	}
	if err := fe.err(op, "The addition"); err != nil {
		return IntakeResult{}, err
	}
	if err := s.storeDocuments(ctx, &sr, docs); err != nil {
		return IntakeResult{}, err
	}
	sr.Missing = sr.missing()
	if len(sr.Missing) == 0 {
		sr.move(s.now(), StatusSubmitted, acc.Who, "missing information added")
	} else {
		sr.move(s.now(), StatusNeedsInformation, acc.Who, "still missing "+strings.Join(sr.Missing, ", "))
	}
	stored, err := s.cfg.Requests.UpdateRequest(ctx, sr)
	if err != nil {
		return IntakeResult{}, err
	}
	return IntakeResult{Request: stored, Next: resumeSteps(stored), Message: intakeMessage(stored, s.cfg.Workflow.AppURL)}, nil
}
