package tablestore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/shared-tenant/licensetrack/shared/azerr"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

func requestRow(id string) string { return "sr-" + id }

// poRow keys the PO index; hex keeps any PO text (slashes included) a
// valid row key and makes the lookup case-insensitive.
func poRow(po string) string {
	return "po-" + hex.EncodeToString([]byte(strings.ToUpper(strings.TrimSpace(po))))
}

func requestEntity(sr licensing.ServiceRequest) ([]byte, error) {
	body, err := json.Marshal(sr)
	if err != nil {
		return nil, err
	}
	props := map[string]any{"PartitionKey": sr.Agency, "RowKey": requestRow(sr.ID), "Status": sr.Status, "PONumber": sr.PONumber}
	setTime(props, "Created", sr.Created)
	setLong(props, "Request", string(body))
	return json.Marshal(props)
}

func indexEntity(sr licensing.ServiceRequest) ([]byte, error) {
	return json.Marshal(map[string]any{"PartitionKey": sr.Agency, "RowKey": poRow(sr.PONumber), "SRID": sr.ID, "PONumber": sr.PONumber})
}

func requestFrom(raw []byte, etag string) (licensing.ServiceRequest, error) {
	props, err := decodeEntity(raw)
	if err != nil {
		return licensing.ServiceRequest{}, err
	}
	var sr licensing.ServiceRequest
	if err := json.Unmarshal([]byte(getLong(props, "Request")), &sr); err != nil {
		return licensing.ServiceRequest{}, err
	}
	if etag == "" {
		etag = etagOf(props)
	}
	sr.ETag = etag
	return sr, nil
}

// CreateRequest stores sr and, when it has a PO number, its index entry, in
// one transaction. A PO the agency already has gives the existing request
// and Conflict.
func (s *Store) CreateRequest(ctx context.Context, sr licensing.ServiceRequest) (licensing.ServiceRequest, error) {
	const op = "tablestore.createRequest"
	if err := checkKey(op, "The agency id", sr.Agency); err != nil {
		return licensing.ServiceRequest{}, err
	}
	body, err := requestEntity(sr)
	if err != nil {
		return licensing.ServiceRequest{}, internal(op, err)
	}
	actions := []aztables.TransactionAction{{ActionType: aztables.TransactionTypeAdd, Entity: body}}
	if sr.PONumber != "" {
		idx, err := indexEntity(sr)
		if err != nil {
			return licensing.ServiceRequest{}, internal(op, err)
		}
		actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: idx})
	}
	err = Transact(ctx, s.requests, op, "service request "+sr.ID, actions)
	if azerr.Classify(err) == licensing.Conflict && sr.PONumber != "" {
		existing, gerr := s.RequestByPO(ctx, sr.Agency, sr.PONumber)
		if gerr != nil {
			return licensing.ServiceRequest{}, gerr
		}
		return existing, licensing.Wrap(op, licensing.Conflict, "The agency already has a service request for this PO.", err)
	}
	if err != nil {
		return licensing.ServiceRequest{}, err
	}
	return s.GetRequest(ctx, sr.ID)
}

// GetRequest returns the request with id.
func (s *Store) GetRequest(ctx context.Context, id string) (licensing.ServiceRequest, error) {
	const op = "tablestore.getRequest"
	agency := licensing.RequestIDAgency(id)
	if agency == "" {
		return licensing.ServiceRequest{}, licensing.Errorf(op, licensing.NotFound, "There is no service request %q.", id)
	}
	resp, err := s.requests.GetEntity(ctx, agency, requestRow(id), nil)
	if err != nil {
		return licensing.ServiceRequest{}, azerr.Translate(op, "service request "+id, err)
	}
	sr, err := requestFrom(resp.Value, string(resp.ETag))
	if err != nil {
		return licensing.ServiceRequest{}, internal(op, err)
	}
	return sr, nil
}

// RequestByPO returns the agency's request for po.
func (s *Store) RequestByPO(ctx context.Context, agency, po string) (licensing.ServiceRequest, error) {
	const op = "tablestore.requestByPO"
	if err := checkKey(op, "The agency id", agency); err != nil {
		return licensing.ServiceRequest{}, err
	}
	resp, err := s.requests.GetEntity(ctx, agency, poRow(po), nil)
	if err != nil {
		return licensing.ServiceRequest{}, azerr.Translate(op, "PO "+po, err)
	}
	props, err := decodeEntity(resp.Value)
	if err != nil {
		return licensing.ServiceRequest{}, internal(op, err)
	}
	return s.GetRequest(ctx, getString(props, "SRID"))
}

// UpdateRequest replaces sr if unchanged since it was read, indexing a PO
// number it did not have before.
func (s *Store) UpdateRequest(ctx context.Context, sr licensing.ServiceRequest) (licensing.ServiceRequest, error) {
	const op = "tablestore.updateRequest"
	if sr.ETag == "" {
		return licensing.ServiceRequest{}, licensing.Errorf(op, licensing.Internal, "A service request must be read before it is updated.")
	}
	body, err := requestEntity(sr)
	if err != nil {
		return licensing.ServiceRequest{}, internal(op, err)
	}
	etag := azcore.ETag(sr.ETag)
	actions := []aztables.TransactionAction{{ActionType: aztables.TransactionTypeUpdateReplace, Entity: body, IfMatch: &etag}}
	if sr.PONumber != "" {
		resp, gerr := s.requests.GetEntity(ctx, sr.Agency, poRow(sr.PONumber), nil)
		switch azerr.Classify(gerr) {
		case licensing.NotFound:
			idx, err := indexEntity(sr)
			if err != nil {
				return licensing.ServiceRequest{}, internal(op, err)
			}
			actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: idx})
		case "":
			props, err := decodeEntity(resp.Value)
			if err != nil {
				return licensing.ServiceRequest{}, internal(op, err)
			}
			if other := getString(props, "SRID"); other != sr.ID {
				return licensing.ServiceRequest{}, licensing.Errorf(op, licensing.Conflict, "PO %s is already on service request %s.", sr.PONumber, other)
			}
		default:
			return licensing.ServiceRequest{}, azerr.Translate(op, "PO "+sr.PONumber, gerr)
		}
	}
	err = Transact(ctx, s.requests, op, "service request "+sr.ID, actions)
	switch azerr.Classify(err) {
	case "":
	case licensing.NotFound:
		return licensing.ServiceRequest{}, licensing.Wrap(op, licensing.Stale, "The service request changed or was removed meanwhile; read it again.", err)
	default:
		return licensing.ServiceRequest{}, err
	}
	return s.GetRequest(ctx, sr.ID)
}

// ListRequests returns requests, newest first, of one agency or all, of one
// status or all.
func (s *Store) ListRequests(ctx context.Context, f licensing.RequestFilter) ([]licensing.ServiceRequest, error) {
	const op = "tablestore.listRequests"
	filter := "RowKey ge 'sr-' and RowKey lt 'sr.'"
	if f.Agency != "" {
		filter = "PartitionKey eq " + quote(f.Agency) + " and " + filter
	}
	if f.Status != "" {
		filter += " and Status eq " + quote(f.Status)
	}
	var out []licensing.ServiceRequest
	err := eachEntity(ctx, s.requests, filter, op, "the service requests", func(e []byte) error {
		sr, err := requestFrom(e, "")
		if err != nil {
			return internal(op, err)
		}
		out = append(out, sr)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}
