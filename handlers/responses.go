package handlers

import (
	"time"

	"github.com/shared-tenant/licensetrack/shared/intake"
	"github.com/shared-tenant/licensetrack/shared/ledger"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// The API answers with the types of this file, never with domain types, so
// that a field the domain adds for its own bookkeeping stays out of the
// answers until it is added here. Each new… function copies the public
// fields of one domain value; JSON keys are those the API has always used.

// mapList converts every element of in with f. A nil list stays nil (JSON
// null) and an empty one stays empty (JSON []), as the domain gave them.
func mapList[T, R any](in []T, f func(T) R) []R {
	if in == nil {
		return nil
	}
	out := make([]R, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// fieldError names one problem of a request.
type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func newFieldError(f licensing.FieldError) fieldError {
	return fieldError{Field: f.Field, Message: f.Message}
}

// agencyResponse is an agency's configuration.
type agencyResponse struct {
	ID              string                   `json:"id"`
	Name            string                   `json:"name"`
	Contacts        []string                 `json:"contacts"`
	Delegates       []string                 `json:"delegates"`
	Attribution     attributionResponse      `json:"attribution"`
	DelegatedGroups []delegatedGroupResponse `json:"delegatedGroups"`
	Updated         time.Time                `json:"updated"`
	UpdatedBy       string                   `json:"updatedBy"`
	// ETag is the version to send back in If-Match.
	ETag string `json:"etag,omitempty"`
}

type attributionResponse struct {
	Attribute string   `json:"attribute"`
	Values    []string `json:"values,omitempty"`
	GroupID   string   `json:"groupId,omitempty"`
}

type delegatedGroupResponse struct {
	Product string `json:"product"`
	GroupID string `json:"groupId"`
}

func newAgencyResponse(a licensing.Agency) agencyResponse {
	return agencyResponse{
		ID: a.ID, Name: a.Name, Contacts: a.Contacts, Delegates: a.Delegates,
		Attribution: attributionResponse{Attribute: a.Attribution.Attribute, Values: a.Attribution.Values, GroupID: a.Attribution.GroupID},
		DelegatedGroups: mapList(a.DelegatedGroups, func(g licensing.DelegatedGroup) delegatedGroupResponse {
			return delegatedGroupResponse{Product: g.Product, GroupID: g.GroupID}
		}),
		Updated: a.Updated, UpdatedBy: a.UpdatedBy, ETag: a.ETag,
	}
}

// agencyListResponse answers GET /api/agencies.
type agencyListResponse struct {
	Agencies []agencyResponse `json:"agencies"`
	Count    int              `json:"count"`
}

// serviceRequestResponse is a service request as its requester and central
// IT see it. The workflow's bookkeeping (the content fingerprint, the
// notifications sent, the tenant baseline, the verification deadline and
// sequence) and where the documents are stored are left out.
type serviceRequestResponse struct {
	ID        string                `json:"id"`
	Agency    string                `json:"agency"`
	PONumber  string                `json:"poNumber"`
	Reseller  string                `json:"reseller,omitempty"`
	Agreement string                `json:"agreement"`
	Renewal   bool                  `json:"renewal"`
	Scenario  string                `json:"activationScenario"`
	TermStart licensing.Date        `json:"termStart"`
	TermEnd   licensing.Date        `json:"termEnd"`
	Lines     []requestLineResponse `json:"lines"`
	Documents []documentResponse    `json:"documents"`
	Requester personResponse        `json:"requester"`
	Status    string                `json:"status"`
	Missing   []string              `json:"missing,omitempty"`
	Failure   string                `json:"failure,omitempty"`
	// Purchases are the ids of the ledger lines the request wrote.
	Purchases []string             `json:"purchases,omitempty"`
	History   []transitionResponse `json:"history"`
	Created   time.Time            `json:"created"`
	Updated   time.Time            `json:"updated"`
	CreatedBy string               `json:"createdBy"`
}

type requestLineResponse struct {
	SKU        string `json:"sku"`
	SkuID      string `json:"skuId"`
	PartNumber string `json:"skuPartNumber,omitempty"`
	Product    string `json:"product,omitempty"`
	Quantity   int    `json:"quantity"`
	// UnitPrice is a decimal string ("180.50"): one seat for one year.
	UnitPrice *licensing.Amount `json:"unitPrice,omitempty"`
	Currency  string            `json:"currency,omitempty"`
}

// documentResponse describes an attached document; its content and its
// place in storage are not part of the answer.
type documentResponse struct {
	Kind        string    `json:"kind"`
	FileName    string    `json:"fileName"`
	ContentType string    `json:"contentType"`
	Size        int64     `json:"size"`
	Added       time.Time `json:"added"`
}

type personResponse struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

type transitionResponse struct {
	At   time.Time `json:"at"`
	From string    `json:"from,omitempty"`
	To   string    `json:"to"`
	By   string    `json:"by"`
	Why  string    `json:"why,omitempty"`
}

func newServiceRequestResponse(sr licensing.ServiceRequest) serviceRequestResponse {
	return serviceRequestResponse{
		ID: sr.ID, Agency: sr.Agency, PONumber: sr.PONumber, Reseller: sr.Reseller, Agreement: sr.Agreement,
		Renewal: sr.Renewal, Scenario: sr.Scenario, TermStart: sr.TermStart, TermEnd: sr.TermEnd,
		Lines: mapList(sr.Lines, func(l licensing.RequestLine) requestLineResponse {
			return requestLineResponse{SKU: l.SKU, SkuID: l.SkuID, PartNumber: l.PartNumber, Product: l.Product, Quantity: l.Quantity,
				UnitPrice: l.UnitPrice, Currency: l.Currency}
		}),
		Documents: mapList(sr.Documents, func(d licensing.Document) documentResponse {
			return documentResponse{Kind: d.Kind, FileName: d.FileName, ContentType: d.ContentType, Size: d.Size, Added: d.Added}
		}),
		Requester: personResponse{Name: sr.Requester.Name, Email: sr.Requester.Email},
		Status:    sr.Status, Missing: sr.Missing, Failure: sr.Failure, Purchases: sr.Purchases,
		History: mapList(sr.History, func(t licensing.Transition) transitionResponse {
			return transitionResponse{At: t.At, From: t.From, To: t.To, By: t.By, Why: t.Why}
		}),
		Created: sr.Created, Updated: sr.Updated, CreatedBy: sr.CreatedBy,
	}
}

// serviceRequestListResponse answers GET /api/service-requests.
type serviceRequestListResponse struct {
	ServiceRequests []serviceRequestResponse `json:"serviceRequests"`
	Count           int                      `json:"count"`
}

// intakeBody is the answer to a submission.
type intakeBody struct {
	ID      string                 `json:"id"`
	Status  string                 `json:"status"`
	Missing []string               `json:"missing,omitempty"`
	Message string                 `json:"message"`
	Request serviceRequestResponse `json:"serviceRequest"`
}

func newIntakeBody(res intake.IntakeResult) intakeBody {
	sr := res.Request
	return intakeBody{ID: sr.ID, Status: sr.Status, Missing: sr.Missing, Message: res.Message, Request: newServiceRequestResponse(sr)}
}

// purchaseResponse is one line of the ledger.
type purchaseResponse struct {
	ID         string         `json:"id"`
	Agency     string         `json:"agency"`
	SkuID      string         `json:"skuId"`
	PartNumber string         `json:"skuPartNumber,omitempty"`
	Quantity   int            `json:"quantity"`
	TermStart  licensing.Date `json:"termStart"`
	TermEnd    licensing.Date `json:"termEnd"`
	PONumber   string         `json:"poNumber"`
	Reseller   string         `json:"reseller,omitempty"`
	Agreement  string         `json:"agreement,omitempty"`
	// UnitPrice is a decimal string ("180.50"): one seat for one year.
	UnitPrice   *licensing.Amount `json:"unitPrice,omitempty"`
	Currency    string            `json:"currency,omitempty"`
	SRID        string            `json:"serviceRequest,omitempty"`
	Source      string            `json:"source"`
	Corrects    string            `json:"corrects,omitempty"`
	Replaces    []string          `json:"replaces,omitempty"`
	ActivatedAt *time.Time        `json:"activatedAt,omitempty"`
	Created     time.Time         `json:"created"`
	CreatedBy   string            `json:"createdBy"`
	Reason      string            `json:"reason,omitempty"`
}

func newPurchaseResponse(p licensing.Purchase) purchaseResponse {
	return purchaseResponse{
		ID: p.ID, Agency: p.Agency, SkuID: p.SkuID, PartNumber: p.PartNumber, Quantity: p.Quantity,
		TermStart: p.TermStart, TermEnd: p.TermEnd, PONumber: p.PONumber, Reseller: p.Reseller, Agreement: p.Agreement,
		UnitPrice: p.UnitPrice, Currency: p.Currency, SRID: p.SRID, Source: p.Source, Corrects: p.Corrects, Replaces: p.Replaces, ActivatedAt: p.ActivatedAt,
		Created: p.Created, CreatedBy: p.CreatedBy, Reason: p.Reason,
	}
}

// entitlementResponse is the seats of one product an agency has on a day.
type entitlementResponse struct {
	Agency     string `json:"agency"`
	SkuID      string `json:"skuId"`
	PartNumber string `json:"skuPartNumber,omitempty"`
	Quantity   int    `json:"quantity"`
	// Lines are the ids of the ledger lines counted.
	Lines []string `json:"lines"`
}

func newEntitlementResponse(e licensing.Entitlement) entitlementResponse {
	return entitlementResponse{Agency: e.Agency, SkuID: e.SkuID, PartNumber: e.PartNumber, Quantity: e.Quantity, Lines: e.Lines}
}

// purchaseListResponse answers GET /api/purchases; On and Entitlements are
// there when the query names a day.
type purchaseListResponse struct {
	Purchases    []purchaseResponse    `json:"purchases"`
	Count        int                   `json:"count"`
	On           licensing.Date        `json:"on,omitzero"`
	Entitlements []entitlementResponse `json:"entitlements,omitzero"`
}

// auditEntryResponse is one change to the ledger.
type auditEntryResponse struct {
	At       time.Time `json:"at"`
	Who      string    `json:"who"`
	Action   string    `json:"action"`
	Agency   string    `json:"agency"`
	Purchase string    `json:"purchase"`
	Why      string    `json:"why,omitempty"`
	// Detail is the line as it was written.
	Detail string `json:"detail,omitempty"`
}

func newAuditEntryResponse(e licensing.AuditEntry) auditEntryResponse {
	return auditEntryResponse{At: e.At, Who: e.Who, Action: e.Action, Agency: e.Agency, Purchase: e.Purchase, Why: e.Why, Detail: e.Detail}
}

// auditListResponse answers GET /api/purchases/audit.
type auditListResponse struct {
	Agency  string               `json:"agency"`
	Entries []auditEntryResponse `json:"entries"`
	Count   int                  `json:"count"`
}

// importResultResponse says what an import did, or would do.
type importResultResponse struct {
	FileName        string              `json:"fileName"`
	Commit          bool                `json:"commit"`
	HeaderRow       int                 `json:"headerRow"`
	Columns         map[string]string   `json:"columns"`
	Ignored         []string            `json:"ignoredColumns,omitempty"`
	Rows            int                 `json:"rows"`
	Blank           int                 `json:"blankRows"`
	Imported        int                 `json:"imported"`
	AlreadyImported int                 `json:"alreadyImported"`
	Rejected        int                 `json:"rejected"`
	Products        string              `json:"products,omitempty"`
	Outcomes        []importRowResponse `json:"outcomes"`
}

// importRowResponse is the outcome of one data row.
type importRowResponse struct {
	Row        int            `json:"row"`
	Outcome    string         `json:"outcome"`
	Reason     string         `json:"reason,omitempty"`
	Purchase   string         `json:"purchase,omitempty"`
	Agency     string         `json:"agency,omitempty"`
	SkuID      string         `json:"skuId,omitempty"`
	PartNumber string         `json:"skuPartNumber,omitempty"`
	Quantity   int            `json:"quantity,omitempty"`
	TermStart  licensing.Date `json:"termStart,omitzero"`
	TermEnd    licensing.Date `json:"termEnd,omitzero"`
	PONumber   string         `json:"poNumber,omitempty"`
}

func newImportResultResponse(res ledger.ImportResult) importResultResponse {
	return importResultResponse{
		FileName: res.FileName, Commit: res.Commit, HeaderRow: res.HeaderRow, Columns: res.Columns, Ignored: res.Ignored,
		Rows: res.Rows, Blank: res.Blank, Imported: res.Imported, AlreadyImported: res.AlreadyImported, Rejected: res.Rejected,
		Products: res.Products,
		Outcomes: mapList(res.Outcomes, func(r ledger.ImportRow) importRowResponse {
			return importRowResponse{Row: r.Row, Outcome: r.Outcome, Reason: r.Reason, Purchase: r.Purchase, Agency: r.Agency,
				SkuID: r.SkuID, PartNumber: r.PartNumber, Quantity: r.Quantity, TermStart: r.TermStart, TermEnd: r.TermEnd, PONumber: r.PONumber}
		}),
	}
}

// runResponse is the record of one job run.
type runResponse struct {
	ID       string         `json:"id"`
	Function string         `json:"function"`
	Trigger  string         `json:"trigger"`
	Started  time.Time      `json:"started"`
	Ended    *time.Time     `json:"ended,omitempty"`
	Outcome  string         `json:"outcome"`
	Message  string         `json:"message,omitempty"`
	Counts   map[string]int `json:"counts"`
}

func newRunResponse(r licensing.Run) runResponse {
	return runResponse{ID: r.ID, Function: r.Function, Trigger: r.Trigger, Started: r.Started, Ended: r.Ended,
		Outcome: r.Outcome, Message: r.Message, Counts: r.Counts}
}

// runListResponse answers GET /api/runs.
type runListResponse struct {
	Runs  []runResponse `json:"runs"`
	Count int           `json:"count"`
}

// workbookResponse answers a request for the report as a workbook: a link
// to download it. Where the workbook is stored is not part of the answer.
type workbookResponse struct {
	URL     string `json:"url"`
	Expires string `json:"expires"`
	Message string `json:"message"`
}
