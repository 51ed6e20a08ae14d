package handlers

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/shared-tenant/licensetrack/shared/intake"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Multipart form file parts and the document kind each carries.
var fileParts = map[string]string{
	"purchaseOrder":   licensing.DocPurchaseOrder,
	"activationEmail": licensing.DocActivationEmail,
}

// intakeJSON is the JSON body of POST /api/purchase-orders: one purchase
// order with its lines and its documents in base64.
type intakeJSON struct {
	Agency             string           `json:"agency"`
	PONumber           string           `json:"poNumber"`
	Reseller           string           `json:"reseller"`
	Agreement          string           `json:"agreement"`
	Renewal            bool             `json:"renewal"`
	ActivationScenario string           `json:"activationScenario"`
	TermStart          string           `json:"termStart"`
	TermEnd            string           `json:"termEnd"`
	Requester          licensing.Person `json:"requester"`
	Lines              []lineJSON       `json:"lines"`
	Documents          []documentJSON   `json:"documents"`
}

type lineJSON struct {
	SKU      string          `json:"sku"`
	Quantity json.RawMessage `json:"quantity"`
	// UnitPrice is a decimal string or a JSON number, read as its text (never
	// as a float).
	UnitPrice json.RawMessage `json:"unitPrice"`
	Currency  string          `json:"currency"`
}

// intakeLine is the intake's line of l, its numbers as sent.
func (l lineJSON) intakeLine() intake.IntakeLine {
	return intake.IntakeLine{SKU: l.SKU, Quantity: rawText(l.Quantity), UnitPrice: rawText(l.UnitPrice), Currency: l.Currency}
}

type documentJSON struct {
	Kind          string `json:"kind"`
	FileName      string `json:"fileName"`
	ContentType   string `json:"contentType"`
	ContentBase64 string `json:"contentBase64"`
}

// decodeIntake reads a purchase order sent as JSON or as a multipart form,
// within the size limit.
func (s *Server) decodeIntake(r *Request) (intake.IntakeRequest, error) {
	const op = "handlers.intake"
	if !r.HasBody || len(r.Body) == 0 {
		return intake.IntakeRequest{}, licensing.Errorf(op, licensing.Malformed, "The request has no body: send the purchase order as JSON or as a multipart form.")
	}
	if int64(len(r.Body)) > s.maxRequest {
		return intake.IntakeRequest{}, licensing.Errorf(op, licensing.TooLarge, "The request is larger than %d MB; send the documents as PDF or compressed scans.", s.maxRequest>>20)
	}
	ct, params, err := mime.ParseMediaType(r.Header("Content-Type"))
	switch {
	case err != nil && r.Header("Content-Type") != "":
		return intake.IntakeRequest{}, licensing.Errorf(op, licensing.Malformed, "The Content-Type header cannot be read.")
	case ct == "multipart/form-data":
		return decodeIntakeForm(r.Body, params["boundary"])
	case ct == "application/json" || ct == "":
		return decodeIntakeJSON(r)
	}
	return intake.IntakeRequest{}, licensing.Errorf(op, licensing.Malformed, "Send the purchase order as application/json or multipart/form-data, not %s.", ct)
}

func decodeIntakeJSON(r *Request) (intake.IntakeRequest, error) {
	in, err := decodeJSON[intakeJSON](r, "purchase order", len(r.Body))
	if err != nil {
		return intake.IntakeRequest{}, err
	}
	out := intake.IntakeRequest{
		Agency: in.Agency, PONumber: in.PONumber, Reseller: in.Reseller, Agreement: in.Agreement, Renewal: in.Renewal,
		ActivationScenario: in.ActivationScenario, TermStart: in.TermStart, TermEnd: in.TermEnd, Requester: in.Requester,
	}
	var fields []licensing.FieldError
	for i, l := range in.Lines {
		out.Lines = append(out.Lines, l.intakeLine())
		if len(l.Quantity) > 0 && l.Quantity[0] != '"' && !isJSONNumber(l.Quantity) {
			fields = append(fields, licensing.FieldError{Field: fmt.Sprintf("lines[%d].quantity", i), Message: "must be a whole number"})
		}
	}
	for i, d := range in.Documents {
		content, err := base64.StdEncoding.DecodeString(strings.TrimSpace(d.ContentBase64))
		if err != nil {
			fields = append(fields, licensing.FieldError{Field: fmt.Sprintf("documents[%d].contentBase64", i), Message: "is not base64"})
			continue
		}
		out.Documents = append(out.Documents, intake.IntakeDocument{Kind: d.Kind, FileName: d.FileName, ContentType: d.ContentType, Content: content})
	}
	if len(fields) > 0 {
		return intake.IntakeRequest{}, &licensing.Error{Op: "handlers.intake", Code: licensing.Invalid, Message: "The purchase order has problems; see fields.", Fields: fields}
	}
	return out, nil
}

// rawText returns a JSON value as text: a string's content, or a number's
// digits as written.
func rawText(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return strings.TrimSpace(string(v))
}

func isJSONNumber(v json.RawMessage) bool {
	var n json.Number
	return json.Unmarshal(v, &n) == nil
}

// decodeIntakeForm reads the multipart form an HTML form or Power Automate
// sends: the JSON fields as form fields (requester as requesterName and
// requesterEmail, lines as a JSON list or as repeated sku and quantity
// fields) and files in parts named purchaseOrder and activationEmail.
func decodeIntakeForm(body []byte, boundary string) (intake.IntakeRequest, error) {
	const op = "handlers.intake"
	if boundary == "" {
		return intake.IntakeRequest{}, licensing.Errorf(op, licensing.Malformed, "The multipart form has no boundary in its Content-Type.")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var in intake.IntakeRequest
	var skus, quantities, prices, currencies []string
	var linesJSON string
	var fields []licensing.FieldError
	for {
		p, err := mr.NextPart()
		// A bare io.EOF is the closing boundary; a truncated form gives a
		// wrapped EOF, which is an error.
		if err == io.EOF {
			break
		}
		if err != nil {
			return intake.IntakeRequest{}, licensing.Wrap(op, licensing.Malformed, "The multipart form is cut short or malformed.", err)
		}
		name := p.FormName()
		data, err := io.ReadAll(p)
		if err != nil {
			return intake.IntakeRequest{}, licensing.Wrap(op, licensing.Malformed, "The multipart form is cut short or malformed.", err)
		}
		if kind, ok := fileParts[name]; ok {
			in.Documents = append(in.Documents, intake.IntakeDocument{Kind: kind, FileName: p.FileName(), ContentType: p.Header.Get("Content-Type"), Content: data})
			continue
		}
		if p.FileName() != "" {
			fields = append(fields, licensing.FieldError{Field: name, Message: "is not a file this form takes; send files as purchaseOrder or activationEmail"})
			continue
		}
		v := string(data)
		switch name {
		case "agency":
			in.Agency = v
		case "poNumber":
			in.PONumber = v
		case "reseller":
			in.Reseller = v
		case "agreement":
			in.Agreement = v
		case "renewal":
			b, err := formBool(v)
			if err != nil {
				fields = append(fields, licensing.FieldError{Field: "renewal", Message: "must be true or false"})
			}
			in.Renewal = b
		case "activationScenario":
			in.ActivationScenario = v
		case "termStart":
			in.TermStart = v
		case "termEnd":
			in.TermEnd = v
		case "requesterName", "requester.name":
			in.Requester.Name = v
		case "requesterEmail", "requester.email":
			in.Requester.Email = v
		case "lines":
			linesJSON = v
		case "sku":
			skus = append(skus, v)
		case "quantity":
			quantities = append(quantities, v)
		case "unitPrice":
			prices = append(prices, v)
		case "currency":
			currencies = append(currencies, v)
		}
	}
	if linesJSON != "" {
		var lines []lineJSON
		if err := json.Unmarshal([]byte(linesJSON), &lines); err != nil {
			fields = append(fields, licensing.FieldError{Field: "lines", Message: `must be a JSON list like [{"sku": "VISIOCLIENT", "quantity": 25}]`})
		}
		for _, l := range lines {
			in.Lines = append(in.Lines, l.intakeLine())
		}
	}
	if len(skus) != len(quantities) {
		fields = append(fields, licensing.FieldError{Field: "quantity", Message: "give one quantity for each sku"})
	}
	// Prices are optional: none at all, or one unitPrice and one currency
	// (either may be empty) for each sku.
	if len(prices) > 0 && len(prices) != len(skus) {
		fields = append(fields, licensing.FieldError{Field: "unitPrice", Message: "give one unitPrice for each sku (empty for a line without a price), or none"})
	}
	if len(currencies) > 0 && len(currencies) != len(skus) {
		fields = append(fields, licensing.FieldError{Field: "currency", Message: "give one currency for each sku (empty for a line without a price), or none"})
	}
	at := func(list []string, i int) string {
		if i < len(list) {
			return list[i]
		}
		return ""
	}
	for i := range skus {
		if i < len(quantities) {
			in.Lines = append(in.Lines, intake.IntakeLine{SKU: skus[i], Quantity: quantities[i], UnitPrice: at(prices, i), Currency: at(currencies, i)})
		}
	}
	if len(fields) > 0 {
		return intake.IntakeRequest{}, &licensing.Error{Op: op, Code: licensing.Invalid, Message: "The purchase order has problems; see fields.", Fields: fields}
	}
	return in, nil
}

func formBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "false", "off", "no", "0":
		return false, nil
	case "true", "on", "yes", "1":
		return true, nil
	}
	return false, strconv.ErrSyntax
}

// purchaseOrders serves POST /api/purchase-orders.
func (s *Server) purchaseOrders(ctx context.Context, r *Request) (*Response, error) {
	if r.Method != http.MethodPost {
		return methodNotAllowed(r.Method, "POST"), nil
	}
	in, err := s.decodeIntake(r)
	if err != nil {
		return nil, err
	}
	res, err := s.intake.SubmitPurchaseOrder(ctx, r.Caller, in)
	if err != nil {
		return nil, err
	}
	return intakeResponse(r, res), nil
}

// intakeResponse answers 201 for a new request, 200 for a retry or an
// update. The service queued the next step itself, once.
func intakeResponse(r *Request, res intake.IntakeResult) *Response {
	sr := res.Request
	status := http.StatusOK
	headers := map[string]string{"Location": "/api/service-requests/" + sr.ID}
	if res.Created {
		status = http.StatusCreated
	}
	r.Log.Info("service request", "sr", sr.ID, "status", sr.Status, "created", res.Created, "missing", strings.Join(sr.Missing, ","), "queued", licensing.StepNames(res.Next))
	return &Response{Status: status, Headers: headers, Body: newIntakeBody(res)}
}
