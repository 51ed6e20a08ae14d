package handlers

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/shared-tenant/licensetrack/shared/ledger"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// maxCorrectionBytes bounds a correction document.
const maxCorrectionBytes = 16 << 10

// xlsxType is the media type of an XLSX workbook.
const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// correctionRequest is the body of POST /api/purchases/corrections. The
// idempotency key comes in the Idempotency-Key header or in IdempotencyKey
// (both: they must be equal).
type correctionRequest struct {
	Corrects string `json:"corrects"`
	Quantity int    `json:"quantity"`
	Reason   string `json:"reason"`
	// UnitPrice is a decimal string or a JSON number, read as its text.
	UnitPrice      json.RawMessage `json:"unitPrice"`
	Currency       string          `json:"currency"`
	IdempotencyKey string          `json:"idempotencyKey"`
}

// purchases serves the ledger:
//
//	GET  /api/purchases?agency=&serviceRequest=&on=   lines, and entitlements on a day
//	GET  /api/purchases/audit?agency=&limit=          the agency's audit log
//	POST /api/purchases/import?commit=true|false      import the tracking sheet (dry run by default)
//	POST /api/purchases/corrections                   {corrects, quantity, reason}, Idempotency-Key
func (s *Server) purchases(ctx context.Context, r *Request) (*Response, error) {
	action := strings.ToLower(strings.TrimSpace(r.Params["action"]))
	switch action {
	case "":
		if r.Method != http.MethodGet {
			return methodNotAllowed(r.Method, "GET"), nil
		}
		return s.listPurchases(ctx, r)
	case "audit":
		if r.Method != http.MethodGet {
			return methodNotAllowed(r.Method, "GET"), nil
		}
		limit, err := queryInt(r, "limit", 0)
		if err != nil {
			return nil, err
		}
		agency := strings.TrimSpace(r.Query["agency"])
		entries, err := s.ledger.PurchaseAudit(ctx, r.Caller, agency, limit)
		if err != nil {
			return nil, err
		}
		if entries == nil {
			entries = []licensing.AuditEntry{}
		}
		return &Response{Status: http.StatusOK, Body: auditListResponse{Agency: licensing.NormalizeAgencyID(agency), Entries: mapList(entries, newAuditEntryResponse), Count: len(entries)}}, nil
	case "import":
		if r.Method != http.MethodPost {
			return methodNotAllowed(r.Method, "POST"), nil
		}
		return s.importPurchases(ctx, r)
	case "corrections":
		if r.Method != http.MethodPost {
			return methodNotAllowed(r.Method, "POST"), nil
		}
		return s.correctPurchase(ctx, r)
	}
	return nil, licensing.Errorf("handlers.purchases", licensing.NotFound, "There is no /api/purchases/%s: use audit, import or corrections.", truncateText(action))
}

// correctPurchase records a correction: 201 with the new line, or 200 with
// the line recorded first when the idempotency key was used already for the
// same correction.
func (s *Server) correctPurchase(ctx context.Context, r *Request) (*Response, error) {
	in, err := decodeJSON[correctionRequest](r, "correction", maxCorrectionBytes)
	if err != nil {
		return nil, err
	}
	key := strings.TrimSpace(r.Header("Idempotency-Key"))
	if body := strings.TrimSpace(in.IdempotencyKey); key == "" {
		key = body
	} else if body != "" && body != key {
		return nil, &licensing.Error{Op: "handlers.purchases", Code: licensing.Invalid, Message: "The correction has 1 problem; see fields.",
			Fields: []licensing.FieldError{{Field: "idempotencyKey", Message: "differs from the Idempotency-Key header; send one key, in either place"}}}
	}
	res, err := s.ledger.CorrectPurchase(ctx, r.Caller, ledger.Correction{Corrects: in.Corrects, Quantity: in.Quantity, Reason: in.Reason,
		UnitPrice: rawText(in.UnitPrice), Currency: in.Currency, Key: key})
	if err != nil {
		return nil, err
	}
	line := res.Line
	if !res.Created {
		r.Log.Info("purchase correction repeated", "line", line.ID, "corrects", line.Corrects, "agency", line.Agency)
		return &Response{Status: http.StatusOK, Body: newPurchaseResponse(line)}, nil
	}
	r.Log.Info("purchase corrected", "line", line.ID, "corrects", line.Corrects, "agency", line.Agency, "quantity", line.Quantity)
	return &Response{Status: http.StatusCreated, Body: newPurchaseResponse(line)}, nil
}

func (s *Server) listPurchases(ctx context.Context, r *Request) (*Response, error) {
	f := licensing.PurchaseFilter{Agency: strings.TrimSpace(r.Query["agency"]), SRID: strings.TrimSpace(r.Query["serviceRequest"])}
	var on licensing.Date
	if v := strings.TrimSpace(r.Query["on"]); v != "" {
		d, err := licensing.ParseDate(v)
		if err != nil {
			return nil, &licensing.Error{Op: "handlers.purchases", Code: licensing.Invalid, Message: "The query has 1 problem; see fields.",
				Fields: []licensing.FieldError{{Field: "on", Message: "must be a date like 2026-08-01"}}}
		}
		on = d
	}
	list, err := s.ledger.ListPurchases(ctx, r.Caller, f)
	if err != nil {
		return nil, err
	}
	if list == nil {
		list = []licensing.Purchase{}
	}
	body := purchaseListResponse{Purchases: mapList(list, newPurchaseResponse), Count: len(list)}
	if !on.IsZero() {
		ents, err := s.ledger.ListEntitlements(ctx, r.Caller, f.Agency, on)
		if err != nil {
			return nil, err
		}
		if ents == nil {
			ents = []licensing.Entitlement{}
		}
		body.On = on
		body.Entitlements = mapList(ents, newEntitlementResponse)
	}
	return &Response{Status: http.StatusOK, Body: body}, nil
}

// importPurchases takes the spreadsheet as the raw body or as the part
// named file of a multipart/form-data body; commit=true writes, anything
// else is a dry run.
func (s *Server) importPurchases(ctx context.Context, r *Request) (*Response, error) {
	const op = "handlers.import"
	commit, err := queryBool(r, "commit")
	if err != nil {
		return nil, err
	}
	content, name, ctype, err := uploadedFile(r)
	if err != nil {
		return nil, err
	}
	res, err := s.ledger.ImportPurchases(ctx, r.Caller, content, name, ctype, commit)
	if err != nil {
		return nil, err
	}
	r.Log.Info("purchases import", "op", op, "file", res.FileName, "commit", commit, "rows", res.Rows,
		"imported", res.Imported, "alreadyImported", res.AlreadyImported, "rejected", res.Rejected)
	return &Response{Status: http.StatusOK, Body: newImportResultResponse(res)}, nil
}

// queryBool reads true/false (1/0, yes/no); absent is false.
func queryBool(r *Request, name string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(r.Query[name])) {
	case "", "false", "0", "no":
		return false, nil
	case "true", "1", "yes":
		return true, nil
	}
	return false, &licensing.Error{Op: "handlers.query", Code: licensing.Invalid, Message: "The query has 1 problem; see fields.",
		Fields: []licensing.FieldError{{Field: name, Message: "must be true or false"}}}
}

// uploadedFile returns the file of an upload, its name and its media type.
func uploadedFile(r *Request) (content []byte, name, ctype string, err error) {
	const op = "handlers.upload"
	ct := r.ContentType()
	if !r.HasBody || len(r.Body) == 0 {
		return nil, "", "", licensing.Errorf(op, licensing.Malformed, "The request has no body: send the spreadsheet as the body (text/csv or XLSX) or as multipart/form-data with a part named file.")
	}
	if ct == "multipart/form-data" {
		return uploadFromForm(r)
	}
	if ct == "application/json" || strings.HasSuffix(ct, "+json") || ct == "application/x-www-form-urlencoded" {
		return nil, "", "", licensing.Errorf(op, licensing.Malformed, "Send the spreadsheet itself as the body (text/csv, %s or application/octet-stream) or as multipart/form-data with a part named file, not as %s.", xlsxType, ct)
	}
	if len(r.Body) > licensing.MaxImportBytes {
		return nil, "", "", licensing.Errorf(op, licensing.TooLarge, "The file is larger than %d MB; split it into smaller files.", licensing.MaxImportBytes>>20)
	}
	body := r.Body
	if ct == xlsxType && !bytes.HasPrefix(body, []byte("PK")) {
		// A client (or host) that sent the workbook base64-encoded.
		if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(body))); err == nil && bytes.HasPrefix(b, []byte("PK")) {
			body = b
		}
	}
	name = r.Query["fileName"]
	if name == "" {
		if _, params, err := mime.ParseMediaType(r.Header("Content-Disposition")); err == nil {
			name = params["filename"]
		}
	}
	return body, name, ct, nil
}

// uploadFromForm reads the part named file of a multipart/form-data body.
func uploadFromForm(r *Request) ([]byte, string, string, error) {
	const op = "handlers.upload"
	_, params, err := mime.ParseMediaType(r.Header("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return nil, "", "", licensing.Wrap(op, licensing.Malformed, "The multipart/form-data body has no boundary in its Content-Type.", err)
	}
	mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", "", licensing.Wrap(op, licensing.Malformed, "The multipart/form-data body could not be read.", err)
		}
		if part.FormName() != "file" {
			part.Close()
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, licensing.MaxImportBytes+1))
		part.Close()
		if err != nil {
			return nil, "", "", licensing.Wrap(op, licensing.Malformed, "The multipart/form-data body could not be read.", err)
		}
		if len(b) > licensing.MaxImportBytes {
			return nil, "", "", licensing.Errorf(op, licensing.TooLarge, "The file is larger than %d MB; split it into smaller files.", licensing.MaxImportBytes>>20)
		}
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		return b, part.FileName(), ct, nil
	}
	return nil, "", "", &licensing.Error{Op: op, Code: licensing.Invalid, Message: "The form has 1 problem; see fields.",
		Fields: []licensing.FieldError{{Field: "file", Message: "is required: attach the spreadsheet (XLSX or CSV) as the part named file"}}}
}

// truncateText shortens user input for a message.
func truncateText(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}
