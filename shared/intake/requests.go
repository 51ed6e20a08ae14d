package intake

import (
	"context"
	"strings"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// getRequest reads a request by id; an id that cannot be one is NotFound.
func (s *Service) getRequest(ctx context.Context, op, id string) (licensing.ServiceRequest, error) {
	id = strings.TrimSpace(id)
	if licensing.RequestIDAgency(id) == "" {
		return licensing.ServiceRequest{}, licensing.Errorf(op, licensing.NotFound, "There is no service request %q.", licensing.Truncate(id))
	}
	return s.cfg.Requests.GetRequest(ctx, id)
}

// canSee reports whether acc may see or act on sr: admins, the agency's
// delegates, and the requester.
func canSee(acc licensing.Access, caller *licensing.Principal, sr licensing.ServiceRequest) bool {
	return acc.CanActFor(sr.Agency) || (caller != nil && strings.EqualFold(caller.Name, sr.Requester.Email))
}

// GetRequest returns a service request with its history, for admins, the
// agency's delegates and its requester.
func (s *Service) GetRequest(ctx context.Context, caller *licensing.Principal, id string) (licensing.ServiceRequest, error) {
	const op = "requests.get"
	acc, err := s.cfg.Auth.Authorize(ctx, op, caller)
	if err != nil {
		return licensing.ServiceRequest{}, err
	}
	sr, err := s.getRequest(ctx, op, id)
	if err != nil {
		return licensing.ServiceRequest{}, err
	}
	if !canSee(acc, caller, sr) {
		// Said as not found, so ids of other agencies' requests leak nothing.
		return licensing.ServiceRequest{}, licensing.Errorf(op, licensing.NotFound, "There is no service request %q.", licensing.Truncate(id))
	}
	return sr, nil
}

// ListRequests lists service requests: every one for admins, their
// agencies' for delegates.
func (s *Service) ListRequests(ctx context.Context, caller *licensing.Principal, f licensing.RequestFilter) ([]licensing.ServiceRequest, error) {
	const op = "requests.list"
	acc, err := s.cfg.Auth.Authorize(ctx, op, caller)
	if err != nil {
		return nil, err
	}
	f.Agency = licensing.NormalizeAgencyID(f.Agency)
	f.Status = strings.TrimSpace(f.Status)
	if f.Status != "" && !knownStatus(f.Status) {
		return nil, &licensing.Error{Op: op, Code: licensing.Invalid, Message: "The listing has 1 problem; see fields.",
			Fields: []licensing.FieldError{{Field: "status", Message: "must be one of receiving, submitted, needs-information, validated, recorded, awaiting-activation, activated, closed, failed"}}}
	}
	if f.Agency != "" && !acc.CanActFor(f.Agency) {
		return nil, licensing.Errorf(op, licensing.Forbidden, "You may list only your own agency's service requests.")
	}
	if acc.Admin || f.Agency != "" {
		return s.cfg.Requests.ListRequests(ctx, f)
	}
	var out []licensing.ServiceRequest
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
	case licensing.StatusReceiving, licensing.StatusSubmitted, licensing.StatusNeedsInformation, licensing.StatusValidated, licensing.StatusRecorded,
		licensing.StatusAwaitingActivation, licensing.StatusActivated, licensing.StatusClosed, licensing.StatusFailed:
		return true
	}
	return false
}

// CompleteRequest adds what an incomplete request was missing: documents,
// and the PO number or the lines when they were left out. When nothing is
// missing any more the request is submitted and its first step returned;
// otherwise the requester is told again what is still missing.
//
// A workflow step that changes the request meanwhile (the notify step
// recording the mail it sent) makes the update Stale: the addition is then
// made again on the request as it is now, up to completeAttempts times; the
// documents keep their names, so nothing is stored twice.
func (s *Service) CompleteRequest(ctx context.Context, caller *licensing.Principal, id string, in IntakeRequest) (IntakeResult, error) {
	const op = "requests.complete"
	acc, err := s.cfg.Auth.Authorize(ctx, op, caller)
	if err != nil {
		return IntakeResult{}, err
	}
	for attempt := 1; ; attempt++ {
		res, err := s.completeRequest(ctx, op, acc, caller, id, in)
		if licensing.ErrorCode(err) != licensing.Stale || attempt == completeAttempts {
			return res, err
		}
	}
}

// completeAttempts bounds how often CompleteRequest makes an addition again
// after a concurrent change of the request.
const completeAttempts = 3

// completeRequest makes the addition of CompleteRequest once.
func (s *Service) completeRequest(ctx context.Context, op string, acc licensing.Access, caller *licensing.Principal, id string, in IntakeRequest) (IntakeResult, error) {
	sr, err := s.getRequest(ctx, op, id)
	if err != nil {
		return IntakeResult{}, err
	}
	if !canSee(acc, caller, sr) {
		return IntakeResult{}, licensing.Errorf(op, licensing.NotFound, "There is no service request %q.", licensing.Truncate(id))
	}
	if sr.Status != licensing.StatusNeedsInformation {
		return IntakeResult{}, licensing.Errorf(op, licensing.Conflict, "Service request %s is %s; documents can be added only while it needs information.", sr.ID, sr.Status)
	}
	var fe licensing.FieldErrors
	if po := strings.TrimSpace(in.PONumber); po != "" {
		switch {
		case sr.PONumber != "" && !strings.EqualFold(po, sr.PONumber):
			fe.Add("poNumber", "the request already has PO number %s", sr.PONumber)
		case !licensing.ValidPONumber(po):
			fe.Add("poNumber", "must be 1 to 40 letters, digits, '.', '-', '_' or '/'")
		default:
			sr.PONumber = po
		}
	}
	if len(in.Lines) > 0 {
		if len(sr.Lines) > 0 {
			fe.Add("lines", "the request already lists its products")
		} else if err := s.validateLines(ctx, &sr, in.Lines, &fe); err != nil {
			return IntakeResult{}, err
		}
	}
	docs := validateDocuments(in.Documents, &fe)
	if len(in.Documents) == 0 && in.PONumber == "" && len(in.Lines) == 0 {
		fe.Add("documents", "send at least one document, or the PO number or lines that were missing")
	}
	if err := fe.Err(op, "The addition"); err != nil {
		return IntakeResult{}, err
	}
	if err := s.poInLedger(ctx, op, sr.Agency, sr.PONumber); err != nil {
		return IntakeResult{}, err
	}
	// The documents are written before the request that refers to them:
	// when the update fails, a retry writes the same names again, and what
	// no request refers to is removed by SweepOrphans.
	if err := s.writeDocuments(ctx, s.addDocuments(&sr, docs), docs); err != nil {
		return IntakeResult{}, err
	}
	sr.Missing = sr.StillMissing()
	if len(sr.Missing) == 0 {
		sr.Move(s.now(), licensing.StatusSubmitted, acc.Who, "missing information added")
	} else {
		sr.Move(s.now(), licensing.StatusNeedsInformation, acc.Who, "still missing "+strings.Join(sr.Missing, ", "))
	}
	stored, err := s.cfg.Requests.UpdateRequest(ctx, sr)
	if err != nil {
		return IntakeResult{}, err
	}
	next, err := s.queueNext(ctx, stored)
	return IntakeResult{Request: stored, Next: next, Message: intakeMessage(stored, s.cfg.Workflow.AppURL)}, err
}
