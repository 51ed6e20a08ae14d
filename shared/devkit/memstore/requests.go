package memstore

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

var _ licensing.RequestStore = (*Store)(nil)

// requestState holds the service requests, the PO index and the
// fingerprint index of the requests without a PO number.
type requestState struct {
	requests map[string]licensing.ServiceRequest
	byPO     map[string]string
	byFP     map[string]string
}

func poKey(agency, po string) string { return agency + "|" + strings.ToUpper(strings.TrimSpace(po)) }

func fpKey(agency, fingerprint string) string { return agency + "|" + fingerprint }

func (s *Store) reqs() *requestState {
	if s.requestState == nil {
		s.requestState = &requestState{requests: map[string]licensing.ServiceRequest{}, byPO: map[string]string{}, byFP: map[string]string{}}
	}
	return s.requestState
}

// CreateRequest stores sr and indexes its PO, or without a PO its
// fingerprint; an indexed PO or fingerprint gives the existing request and
// Conflict.
func (s *Store) CreateRequest(ctx context.Context, sr licensing.ServiceRequest) (licensing.ServiceRequest, error) {
	const op = "memstore.createRequest"
	if err := ctx.Err(); err != nil {
		return licensing.ServiceRequest{}, unavailable(op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.reqs()
	switch {
	case sr.PONumber != "":
		if id, ok := st.byPO[poKey(sr.Agency, sr.PONumber)]; ok {
			return copyRequest(st.requests[id]), licensing.Errorf(op, licensing.Conflict, "The agency already has a service request for this PO.")
		}
		st.byPO[poKey(sr.Agency, sr.PONumber)] = sr.ID
	case sr.Fingerprint != "":
		if id, ok := st.byFP[fpKey(sr.Agency, sr.Fingerprint)]; ok {
			return copyRequest(st.requests[id]), licensing.Errorf(op, licensing.Conflict, "The agency already has a service request with this content.")
		}
		st.byFP[fpKey(sr.Agency, sr.Fingerprint)] = sr.ID
	}
	s.version++
	sr.ETag = strconv.FormatUint(s.version, 10)
	st.requests[sr.ID] = copyRequest(sr)
	return copyRequest(sr), nil
}

// GetRequest returns the request with id, or NotFound.
func (s *Store) GetRequest(ctx context.Context, id string) (licensing.ServiceRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sr, ok := s.reqs().requests[id]
	if !ok {
		return licensing.ServiceRequest{}, licensing.Errorf("memstore.getRequest", licensing.NotFound, "There is no service request %q.", id)
	}
	return copyRequest(sr), nil
}

// RequestByPO returns the agency's request for po, or NotFound.
func (s *Store) RequestByPO(ctx context.Context, agency, po string) (licensing.ServiceRequest, error) {
	s.mu.Lock()
	id, ok := s.reqs().byPO[poKey(agency, po)]
	s.mu.Unlock()
	if !ok {
		return licensing.ServiceRequest{}, licensing.Errorf("memstore.requestByPO", licensing.NotFound, "No service request for PO %s.", po)
	}
	return s.GetRequest(ctx, id)
}

// RequestByFingerprint returns the agency's request without a PO number
// that was created with fingerprint, or NotFound.
func (s *Store) RequestByFingerprint(ctx context.Context, agency, fingerprint string) (licensing.ServiceRequest, error) {
	s.mu.Lock()
	id, ok := s.reqs().byFP[fpKey(agency, fingerprint)]
	s.mu.Unlock()
	if !ok {
		return licensing.ServiceRequest{}, licensing.Errorf("memstore.requestByFingerprint", licensing.NotFound, "No service request with this content.")
	}
	return s.GetRequest(ctx, id)
}

// DeleteRequest removes sr and its index entries when its ETag is current.
func (s *Store) DeleteRequest(ctx context.Context, sr licensing.ServiceRequest) error {
	const op = "memstore.deleteRequest"
	if err := ctx.Err(); err != nil {
		return unavailable(op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.reqs()
	cur, ok := st.requests[sr.ID]
	switch {
	case !ok:
		return licensing.Errorf(op, licensing.NotFound, "There is no service request %q.", sr.ID)
	case cur.ETag != sr.ETag:
		return licensing.Errorf(op, licensing.Stale, "The service request changed meanwhile; read it again.")
	}
	for _, index := range []map[string]string{st.byPO, st.byFP} {
		for k, id := range index {
			if id == sr.ID {
				delete(index, k)
			}
		}
	}
	delete(st.requests, sr.ID)
	return nil
}

// UpdateRequest replaces sr when its ETag is current.
func (s *Store) UpdateRequest(ctx context.Context, sr licensing.ServiceRequest) (licensing.ServiceRequest, error) {
	const op = "memstore.updateRequest"
	if err := ctx.Err(); err != nil {
		return licensing.ServiceRequest{}, unavailable(op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.reqs()
	cur, ok := st.requests[sr.ID]
	if !ok || cur.ETag != sr.ETag {
		return licensing.ServiceRequest{}, licensing.Errorf(op, licensing.Stale, "The service request changed or was removed meanwhile; read it again.")
	}
	if sr.PONumber != "" {
		k := poKey(sr.Agency, sr.PONumber)
		if other, ok := st.byPO[k]; ok && other != sr.ID {
			return licensing.ServiceRequest{}, licensing.Errorf(op, licensing.Conflict, "PO %s is already on service request %s.", sr.PONumber, other)
		}
		st.byPO[k] = sr.ID
	}
	s.version++
	sr.ETag = strconv.FormatUint(s.version, 10)
	st.requests[sr.ID] = copyRequest(sr)
	return copyRequest(sr), nil
}

// ListRequests returns requests newest first.
func (s *Store) ListRequests(ctx context.Context, f licensing.RequestFilter) ([]licensing.ServiceRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []licensing.ServiceRequest
	for _, sr := range s.reqs().requests {
		if (f.Agency == "" || sr.Agency == f.Agency) && (f.Status == "" || sr.Status == f.Status) {
			out = append(out, copyRequest(sr))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.After(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// copyRequest keeps callers from sharing slices with the store.
func copyRequest(sr licensing.ServiceRequest) licensing.ServiceRequest {
	sr.Lines = append([]licensing.RequestLine(nil), sr.Lines...)
	for i, l := range sr.Lines {
		if l.UnitPrice != nil {
			a := *l.UnitPrice
			sr.Lines[i].UnitPrice = &a
		}
	}
	sr.Documents = append([]licensing.Document(nil), sr.Documents...)
	sr.History = append([]licensing.Transition(nil), sr.History...)
	sr.Missing = append([]string(nil), sr.Missing...)
	sr.Purchases = append([]string(nil), sr.Purchases...)
	sr.Notified = append([]string(nil), sr.Notified...)
	if sr.Baseline != nil {
		b := make(map[string]int, len(sr.Baseline))
		for k, v := range sr.Baseline {
			b[k] = v
		}
		sr.Baseline = b
	}
	return sr
}
