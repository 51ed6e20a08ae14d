package intake

import (
	"context"
	"fmt"
	"strings"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// receiveAttempts bounds how often receive starts over when the request it
// was finishing was removed meanwhile (by the sweep of abandoned
// submissions).
const receiveAttempts = 3

// receive turns a validated submission into a stored request, in an order
// that leaves nothing behind a rejected or duplicate submission and lets a
// retry finish a failed one:
//
//  1. Claim. The agency's request for the PO number (without one: for the
//     content's fingerprint) is looked up, and when there is none it is
//     created, insert-only, in status receiving, with the documents it
//     will hold listed under their names. Only one of any number of
//     simultaneous submissions creates it; the others find it.
//  2. A request with other content is a Conflict; one that got past
//     receiving is the same submission again (200, nothing queued).
//  3. Store. The documents are written under names derived from the
//     request id, the kind and the SHA-256 of the content, so writing them
//     again (a retry, a simultaneous duplicate) overwrites the same files.
//  4. Finish. The request moves from receiving to submitted (or
//     needs-information) by an update conditional on the version read in
//     step 1: of simultaneous identical submissions, the one whose update
//     lands answers Created with the first step to queue; the others find
//     it finished and queue nothing.
//
// A storage failure in step 3 or 4 is returned (Unavailable: the client
// retries) and leaves the request receiving: the retry, with the same
// content, goes through steps 3 and 4 again and finishes it. A request
// nobody finishes is removed with its documents by SweepOrphans after an
// hour.
func (s *Service) receive(ctx context.Context, op, who string, sr licensing.ServiceRequest, docs []pendingDocument) (IntakeResult, error) {
	for attempt := 1; ; attempt++ {
		claim, err := s.claim(ctx, who, sr, docs)
		if err != nil {
			return IntakeResult{}, err
		}
		if claim.Fingerprint != sr.Fingerprint || claim.Status != licensing.StatusReceiving {
			return s.sameSubmission(ctx, op, claim, sr.Fingerprint)
		}
		if err := s.writeDocuments(ctx, claim.Documents, docs); err != nil {
			return IntakeResult{}, err
		}
		stored, err := s.finishReceiving(ctx, who, claim)
		if err == nil {
			next, err := s.queueNextWaiting(ctx, stored)
			return IntakeResult{Request: stored, Created: true, Next: next, Message: intakeMessage(stored, s.cfg.Workflow.AppURL)}, err
		}
		if licensing.ErrorCode(err) != licensing.Stale {
			return IntakeResult{}, err
		}
		// Another identical submission finished it first, or the sweep
		// removed it.
		current, err := s.cfg.Requests.GetRequest(ctx, claim.ID)
		switch {
		case err == nil && current.Status != licensing.StatusReceiving:
			return s.sameSubmission(ctx, op, current, sr.Fingerprint)
		case err != nil && licensing.ErrorCode(err) != licensing.NotFound:
			return IntakeResult{}, err
		case attempt == receiveAttempts:
			return IntakeResult{}, licensing.Errorf(op, licensing.Unavailable, "The purchase order could not be stored because service request %s changed while it was received; send it again.", claim.ID)
		}
	}
}

// claim returns the agency's request for sr's PO number (without one: for
// its fingerprint), creating it in status receiving when there is none.
func (s *Service) claim(ctx context.Context, who string, sr licensing.ServiceRequest, docs []pendingDocument) (licensing.ServiceRequest, error) {
	var existing licensing.ServiceRequest
	var err error
	if sr.PONumber != "" {
		existing, err = s.cfg.Requests.RequestByPO(ctx, sr.Agency, sr.PONumber)
	} else {
		existing, err = s.cfg.Requests.RequestByFingerprint(ctx, sr.Agency, sr.Fingerprint)
	}
	if licensing.ErrorCode(err) != licensing.NotFound {
		return existing, err
	}
	now := s.now().UTC()
	sr.ID = sr.Agency + "-" + s.newID()[:2*requestIDBytes]
	sr.Created, sr.Updated, sr.CreatedBy = now, now, who
	sr.Status = licensing.StatusReceiving
	s.addDocuments(&sr, docs)
	stored, err := s.cfg.Requests.CreateRequest(ctx, sr)
	if licensing.ErrorCode(err) == licensing.Conflict {
		// A simultaneous submission claimed it first.
		return stored, nil
	}
	return stored, err
}

// finishReceiving moves a receiving request on: submitted when complete,
// needs-information otherwise.
func (s *Service) finishReceiving(ctx context.Context, who string, sr licensing.ServiceRequest) (licensing.ServiceRequest, error) {
	sr.Missing = sr.StillMissing()
	status, why := licensing.StatusSubmitted, "complete submission"
	if len(sr.Missing) > 0 {
		status, why = licensing.StatusNeedsInformation, "missing "+strings.Join(sr.Missing, ", ")
	}
	sr.Move(s.now(), status, who, why)
	return s.cfg.Requests.UpdateRequest(ctx, sr)
}

// documentBlob is where a document of a request is kept: named by the
// request, the kind and the content, so the same document of the same
// request always has the same name.
func documentBlob(sr licensing.ServiceRequest, d licensing.Document) string {
	return fmt.Sprintf("%s%s/%s/%s-%s%s", documentsPrefix, sr.Agency, sr.ID, d.Kind, d.SHA256[:16], extensionOf(d.ContentType))
}

// documentsPrefix starts the name of every stored document.
const documentsPrefix = "documents/"

// addDocuments adds to sr, under their names (documentBlob), the documents
// it does not hold yet (same kind and content), and returns those it added.
// Nothing is written.
func (s *Service) addDocuments(sr *licensing.ServiceRequest, docs []pendingDocument) []licensing.Document {
	var added []licensing.Document
	for _, p := range docs {
		if hasDocument(sr.Documents, p.doc) {
			continue
		}
		d := p.doc
		d.Blob = documentBlob(*sr, d)
		d.Added = s.now().UTC()
		sr.Documents = append(sr.Documents, d)
		added = append(added, d)
	}
	return added
}

func hasDocument(list []licensing.Document, d licensing.Document) bool {
	for _, e := range list {
		if e.Kind == d.Kind && e.SHA256 == d.SHA256 {
			return true
		}
	}
	return false
}

// writeDocuments writes each of list with the content of the upload of the
// same kind and SHA-256, replacing what its name held.
func (s *Service) writeDocuments(ctx context.Context, list []licensing.Document, docs []pendingDocument) error {
	for _, d := range list {
		var content []byte
		found := false
		for _, p := range docs {
			if p.doc.Kind == d.Kind && p.doc.SHA256 == d.SHA256 {
				content, found = p.content, true
				break
			}
		}
		if !found {
			return licensing.Errorf("intake.store", licensing.Internal, "The %s to be stored as %s is not in the submission.", d.Kind, d.Blob)
		}
		if err := s.writeDocument(ctx, d, content); err != nil {
			return err
		}
	}
	return nil
}

// writeDocument writes content to d.Blob. When the write fails but the file
// holds the content anyway (a simultaneous identical submission wrote it
// and won the race to commit), it is written.
func (s *Service) writeDocument(ctx context.Context, d licensing.Document, content []byte) error {
	err := s.putFile(ctx, d.Blob, d.ContentType, content)
	if err == nil {
		return nil
	}
	if ok, cerr := s.documentIntact(ctx, d); cerr == nil && ok {
		return nil
	}
	return err
}

func (s *Service) putFile(ctx context.Context, name, contentType string, content []byte) error {
	w, err := s.cfg.Files.Create(ctx, name, contentType)
	if err != nil {
		return err
	}
	if _, err := w.Write(content); err != nil {
		w.Abort(err)
		return licensing.Wrap("intake.store", licensing.Unavailable, "", err)
	}
	return w.Close()
}
