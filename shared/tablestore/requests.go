package tablestore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

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

// fingerprintRow keys the index of the requests without a PO number by
// their fingerprint, hex-encoded like the PO.
func fingerprintRow(fingerprint string) string {
	return "fp-" + hex.EncodeToString([]byte(fingerprint))
}

// indexRow is the row a new request is indexed under: its PO number, or
// without one its fingerprint; "" when it has neither.
func indexRow(sr licensing.ServiceRequest) string {
	switch {
	case sr.PONumber != "":
		return poRow(sr.PONumber)
	case sr.Fingerprint != "":
		return fingerprintRow(sr.Fingerprint)
	}
	return ""
}

func requestEntity(sr licensing.ServiceRequest) ([]byte, error) {
	body, err := encodePayload(requestPayloadOf(sr))
	if err != nil {
		return nil, err
	}
	props := map[string]any{"PartitionKey": sr.Agency, "RowKey": requestRow(sr.ID), "Status": sr.Status, "PONumber": sr.PONumber}
	setTime(props, "Created", sr.Created)
	setLong(props, "Request", body)
	setSchema(props)
	return json.Marshal(props)
}

func indexEntity(sr licensing.ServiceRequest) ([]byte, error) {
	return json.Marshal(map[string]any{"PartitionKey": sr.Agency, "RowKey": poRow(sr.PONumber), "SRID": sr.ID, "PONumber": sr.PONumber})
}

func fingerprintEntity(sr licensing.ServiceRequest) ([]byte, error) {
	return json.Marshal(map[string]any{"PartitionKey": sr.Agency, "RowKey": fingerprintRow(sr.Fingerprint), "SRID": sr.ID, "Fingerprint": sr.Fingerprint})
}

func requestFrom(raw []byte, etag string) (licensing.ServiceRequest, error) {
	props, err := decodeEntity(raw)
	if err != nil {
		return licensing.ServiceRequest{}, err
	}
	what := "service request row " + getString(props, "RowKey")
	if err := checkSchema(props, what); err != nil {
		return licensing.ServiceRequest{}, err
	}
	var p requestPayload
	if err := decodePayload(getLong(props, "Request"), what, &p); err != nil {
		return licensing.ServiceRequest{}, err
	}
	sr, err := p.request()
	if err != nil {
		return licensing.ServiceRequest{}, fmt.Errorf("%s: %w", what, err)
	}
	if etag == "" {
		etag = etagOf(props)
	}
	sr.ETag = etag
	return sr, nil
}

// requestPayload is the JSON of a service request in the Request property
// of its "sr-" row. The ETag is not stored: it is the row's.
type requestPayload struct {
	ID          string               `json:"id"`
	Agency      string               `json:"agency"`
	PONumber    string               `json:"poNumber"`
	Reseller    string               `json:"reseller,omitempty"`
	Agreement   string               `json:"agreement"`
	Renewal     bool                 `json:"renewal"`
	Scenario    string               `json:"activationScenario"`
	TermStart   dayJSON              `json:"termStart"`
	TermEnd     dayJSON              `json:"termEnd"`
	Lines       []requestLinePayload `json:"lines"`
	Documents   []documentPayload    `json:"documents"`
	Requester   personPayload        `json:"requester"`
	Status      string               `json:"status"`
	Missing     []string             `json:"missing,omitempty"`
	Failure     string               `json:"failure,omitempty"`
	Baseline    map[string]int       `json:"baseline,omitempty"`
	Purchases   []string             `json:"purchases,omitempty"`
	VerifyUntil *time.Time           `json:"verifyUntil,omitempty"`
	VerifySeq   int                  `json:"verifySeq,omitempty"`
	Notified    []string             `json:"notified,omitempty"`
	History     []transitionPayload  `json:"history"`
	Created     time.Time            `json:"created"`
	Updated     time.Time            `json:"updated"`
	CreatedBy   string               `json:"createdBy"`
	Fingerprint string               `json:"fingerprint"`
}

type requestLinePayload struct {
	SKU        string `json:"sku"`
	SkuID      string `json:"skuId"`
	PartNumber string `json:"skuPartNumber,omitempty"`
	Product    string `json:"product,omitempty"`
	Quantity   int    `json:"quantity"`
	// UnitPrice is decimal text (12.5000), never a float.
	UnitPrice string `json:"unitPrice,omitempty"`
	Currency  string `json:"currency,omitempty"`
}

type documentPayload struct {
	Kind        string    `json:"kind"`
	FileName    string    `json:"fileName"`
	ContentType string    `json:"contentType"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	Blob        string    `json:"blob"`
	Added       time.Time `json:"added"`
}

type personPayload struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

type transitionPayload struct {
	At   time.Time `json:"at"`
	From string    `json:"from,omitempty"`
	To   string    `json:"to"`
	By   string    `json:"by"`
	Why  string    `json:"why,omitempty"`
}

func requestPayloadOf(sr licensing.ServiceRequest) requestPayload {
	return requestPayload{
		ID:        sr.ID,
		Agency:    sr.Agency,
		PONumber:  sr.PONumber,
		Reseller:  sr.Reseller,
		Agreement: sr.Agreement,
		Renewal:   sr.Renewal,
		Scenario:  sr.Scenario,
		TermStart: dayOf(sr.TermStart),
		TermEnd:   dayOf(sr.TermEnd),
		Lines: mapSlice(sr.Lines, func(l licensing.RequestLine) requestLinePayload {
			return requestLinePayload{SKU: l.SKU, SkuID: l.SkuID, PartNumber: l.PartNumber, Product: l.Product, Quantity: l.Quantity,
				UnitPrice: priceText(l.UnitPrice), Currency: l.Currency}
		}),
		Documents: mapSlice(sr.Documents, func(d licensing.Document) documentPayload {
			return documentPayload{Kind: d.Kind, FileName: d.FileName, ContentType: d.ContentType, Size: d.Size,
				SHA256: d.SHA256, Blob: d.Blob, Added: d.Added}
		}),
		Requester:   personPayload{Name: sr.Requester.Name, Email: sr.Requester.Email},
		Status:      sr.Status,
		Missing:     sr.Missing,
		Failure:     sr.Failure,
		Baseline:    sr.Baseline,
		Purchases:   sr.Purchases,
		VerifyUntil: sr.VerifyUntil,
		VerifySeq:   sr.VerifySeq,
		Notified:    sr.Notified,
		History: mapSlice(sr.History, func(t licensing.Transition) transitionPayload {
			return transitionPayload{At: t.At, From: t.From, To: t.To, By: t.By, Why: t.Why}
		}),
		Created:     sr.Created,
		Updated:     sr.Updated,
		CreatedBy:   sr.CreatedBy,
		Fingerprint: sr.Fingerprint,
	}
}

// request returns the service request p holds, without an ETag.
func (p requestPayload) request() (licensing.ServiceRequest, error) {
	sr := licensing.ServiceRequest{
		ID:        p.ID,
		Agency:    p.Agency,
		PONumber:  p.PONumber,
		Reseller:  p.Reseller,
		Agreement: p.Agreement,
		Renewal:   p.Renewal,
		Scenario:  p.Scenario,
		Lines: mapSlice(p.Lines, func(l requestLinePayload) licensing.RequestLine {
			return licensing.RequestLine{SKU: l.SKU, SkuID: l.SkuID, PartNumber: l.PartNumber, Product: l.Product, Quantity: l.Quantity,
				UnitPrice: priceOf(l.UnitPrice), Currency: l.Currency}
		}),
		Documents: mapSlice(p.Documents, func(d documentPayload) licensing.Document {
			return licensing.Document{Kind: d.Kind, FileName: d.FileName, ContentType: d.ContentType, Size: d.Size,
				SHA256: d.SHA256, Blob: d.Blob, Added: d.Added}
		}),
		Requester:   licensing.Person{Name: p.Requester.Name, Email: p.Requester.Email},
		Status:      p.Status,
		Missing:     p.Missing,
		Failure:     p.Failure,
		Baseline:    p.Baseline,
		Purchases:   p.Purchases,
		VerifyUntil: p.VerifyUntil,
		VerifySeq:   p.VerifySeq,
		Notified:    p.Notified,
		History: mapSlice(p.History, func(t transitionPayload) licensing.Transition {
			return licensing.Transition{At: t.At, From: t.From, To: t.To, By: t.By, Why: t.Why}
		}),
		Created:     p.Created,
		Updated:     p.Updated,
		CreatedBy:   p.CreatedBy,
		Fingerprint: p.Fingerprint,
	}
	var err error
	if sr.TermStart, err = p.TermStart.date(); err != nil {
		return sr, fmt.Errorf("termStart: %w", err)
	}
	if sr.TermEnd, err = p.TermEnd.date(); err != nil {
		return sr, fmt.Errorf("termEnd: %w", err)
	}
	return sr, nil
}

// CreateRequest stores sr and its index entry (its PO number, or without
// one its fingerprint) in one transaction. A PO or fingerprint the agency
// already has gives the existing request and Conflict.
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
	var idx []byte
	switch {
	case sr.PONumber != "":
		idx, err = indexEntity(sr)
	case sr.Fingerprint != "":
		idx, err = fingerprintEntity(sr)
	}
	if err != nil {
		return licensing.ServiceRequest{}, internal(op, err)
	}
	if idx != nil {
		actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: idx})
	}
	err = Transact(ctx, s.requests, op, "service request "+sr.ID, actions)
	if azerr.Classify(err) == licensing.Conflict && idx != nil {
		existing, gerr := s.indexedRequest(ctx, op, sr.Agency, indexRow(sr), "service request "+sr.ID)
		if gerr != nil {
			return licensing.ServiceRequest{}, gerr
		}
		return existing, licensing.Wrap(op, licensing.Conflict, "The agency already has a service request for this PO or with this content.", err)
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
	return s.indexedRequest(ctx, op, agency, poRow(po), "PO "+po)
}

// RequestByFingerprint returns the agency's request without a PO number
// that was created with fingerprint.
func (s *Store) RequestByFingerprint(ctx context.Context, agency, fingerprint string) (licensing.ServiceRequest, error) {
	const op = "tablestore.requestByFingerprint"
	if err := checkKey(op, "The agency id", agency); err != nil {
		return licensing.ServiceRequest{}, err
	}
	return s.indexedRequest(ctx, op, agency, fingerprintRow(fingerprint), "the service request with this content")
}

// indexedRequest reads the request an index row of agency points to.
func (s *Store) indexedRequest(ctx context.Context, op, agency, row, what string) (licensing.ServiceRequest, error) {
	resp, err := s.requests.GetEntity(ctx, agency, row, nil)
	if err != nil {
		return licensing.ServiceRequest{}, azerr.Translate(op, what, err)
	}
	props, err := decodeEntity(resp.Value)
	if err != nil {
		return licensing.ServiceRequest{}, internal(op, err)
	}
	return s.GetRequest(ctx, getString(props, "SRID"))
}

// DeleteRequest removes sr, if unchanged since it was read, together with
// the index rows that point to it, in one transaction.
func (s *Store) DeleteRequest(ctx context.Context, sr licensing.ServiceRequest) error {
	const op = "tablestore.deleteRequest"
	if sr.ETag == "" {
		return licensing.Errorf(op, licensing.Internal, "A service request must be read before it is deleted.")
	}
	if err := checkKey(op, "The agency id", sr.Agency); err != nil {
		return err
	}
	actions := []aztables.TransactionAction{deleteAction(sr.Agency, requestRow(sr.ID), sr.ETag)}
	var rows []string
	if sr.PONumber != "" {
		rows = append(rows, poRow(sr.PONumber))
	}
	if sr.Fingerprint != "" {
		rows = append(rows, fingerprintRow(sr.Fingerprint))
	}
	for _, row := range rows {
		resp, err := s.requests.GetEntity(ctx, sr.Agency, row, nil)
		switch azerr.Classify(err) {
		case licensing.NotFound:
			continue
		case "":
		default:
			return azerr.Translate(op, "the index of service request "+sr.ID, err)
		}
		props, err := decodeEntity(resp.Value)
		if err != nil {
			return internal(op, err)
		}
		if getString(props, "SRID") == sr.ID {
			actions = append(actions, deleteAction(sr.Agency, row, string(resp.ETag)))
		}
	}
	err := Transact(ctx, s.requests, op, "service request "+sr.ID, actions)
	if azerr.Classify(err) == licensing.Stale {
		return licensing.Wrap(op, licensing.Stale, "The service request changed meanwhile; read it again.", err)
	}
	return err
}

func deleteAction(partition, row, etag string) aztables.TransactionAction {
	keys, _ := json.Marshal(map[string]string{"PartitionKey": partition, "RowKey": row})
	tag := azcore.ETag(etag)
	return aztables.TransactionAction{ActionType: aztables.TransactionTypeDelete, Entity: keys, IfMatch: &tag}
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
