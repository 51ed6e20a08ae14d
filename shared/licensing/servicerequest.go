package licensing

import (
	"context"
	"strings"
	"time"
)

// Service request statuses. A request moves submitted → validated →
// recorded → awaiting-activation → activated → closed, with the side exits
// needs-information (something is missing; the requester is told) and
// failed (it cannot go on; central IT is told). Before it is submitted (or
// needs information) it is receiving: the submission has claimed the agency
// and PO number (or content) and is storing the documents; a retry of the
// same submission finishes it, and one that nobody finishes is removed by
// the sweep.
const (
	StatusReceiving          = "receiving"
	StatusSubmitted          = "submitted"
	StatusNeedsInformation   = "needs-information"
	StatusValidated          = "validated"
	StatusRecorded           = "recorded"
	StatusAwaitingActivation = "awaiting-activation"
	StatusActivated          = "activated"
	StatusClosed             = "closed"
	StatusFailed             = "failed"
)

// Agreement kinds.
const (
	AgreementEnterprise = "enterprise-agreement"
	AgreementALaCarte   = "a-la-carte"
	AgreementCSP        = "csp"
)

// Activation scenarios: a new customer, or a trial customer starting fresh,
// signs up; a trial customer keeping its trial data signs in. They decide whether the activation
// email's Sign Up or Sign In is the right choice, which cannot be undone.
const (
	ScenarioNewCustomer   = "new-customer"
	ScenarioTrialKeepData = "trial-keep-data"
	ScenarioTrialFresh    = "trial-fresh"
	ScenarioBypass        = "bypass"
)

// Document kinds.
const (
	DocPurchaseOrder   = "purchase-order"
	DocActivationEmail = "activation-email"
)

// Missing items of an incomplete request.
const (
	MissingPurchaseOrder   = DocPurchaseOrder
	MissingActivationEmail = DocActivationEmail
	MissingPONumber        = "po-number"
	MissingLines           = "lines"
)

// ServiceRequest is one purchase order submitted by one agency, and its way
// through activation.
type ServiceRequest struct {
	ID        string        `json:"id"`
	Agency    string        `json:"agency"`
	PONumber  string        `json:"poNumber"`
	Reseller  string        `json:"reseller,omitempty"`
	Agreement string        `json:"agreement"`
	Renewal   bool          `json:"renewal"`
	Scenario  string        `json:"activationScenario"`
	TermStart Date          `json:"termStart"`
	TermEnd   Date          `json:"termEnd"`
	Lines     []RequestLine `json:"lines"`
	Documents []Document    `json:"documents"`
	Requester Person        `json:"requester"`

	Status string `json:"status"`
	// Missing lists what an incomplete request still needs.
	Missing []string `json:"missing,omitempty"`
	// Failure says why a failed request stopped.
	Failure string `json:"failure,omitempty"`

	// Baseline is the tenant's prepaid (enabled) units per SKU when the
	// request was recorded; activation shows as baseline + quantity.
	Baseline map[string]int `json:"baseline,omitempty"`
	// Purchases are the ledger lines the request wrote.
	Purchases []string `json:"purchases,omitempty"`
	// VerifyUntil is when the workflow stops looking for the seats and asks
	// central IT; VerifySeq the last verification done.
	VerifyUntil *time.Time `json:"verifyUntil,omitempty"`
	VerifySeq   int        `json:"verifySeq,omitempty"`
	// Notified lists the notifications already sent, so none goes twice.
	Notified []string `json:"notified,omitempty"`

	History   []Transition `json:"history"`
	Created   time.Time    `json:"created"`
	Updated   time.Time    `json:"updated"`
	CreatedBy string       `json:"createdBy"`
	// Fingerprint identifies the submitted content: the same PO sent again
	// with the same content is a retry, with other content a conflict.
	Fingerprint string `json:"fingerprint"`
	ETag        string `json:"-"`
}

// RequestLine is one product and quantity of a request.
type RequestLine struct {
	// SKU is what the requester wrote (part number or GUID).
	SKU        string `json:"sku"`
	SkuID      string `json:"skuId"`
	PartNumber string `json:"skuPartNumber,omitempty"`
	Product    string `json:"product,omitempty"`
	Quantity   int    `json:"quantity"`
	// UnitPrice and Currency are the price of one seat for one year as the
	// purchase order quotes it; nil and empty when not given.
	UnitPrice *Amount `json:"unitPrice,omitempty"`
	Currency  string  `json:"currency,omitempty"`
}

// Document is a file attached to a request, kept in Blob Storage under a
// name the server chose.
type Document struct {
	Kind string `json:"kind"`
	// FileName is the name the requester gave, cleaned, for display only.
	FileName    string    `json:"fileName"`
	ContentType string    `json:"contentType"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	Blob        string    `json:"blob"`
	Added       time.Time `json:"added"`
}

// Person is a requester.
type Person struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Transition is one entry of a request's history.
type Transition struct {
	At   time.Time `json:"at"`
	From string    `json:"from,omitempty"`
	To   string    `json:"to"`
	// By is who (an address) or which step moved the request.
	By  string `json:"by"`
	Why string `json:"why,omitempty"`
}

// HasDocument reports whether the request has a document of kind.
func (sr *ServiceRequest) HasDocument(kind string) bool {
	for _, d := range sr.Documents {
		if d.Kind == kind {
			return true
		}
	}
	return false
}

// StillMissing returns what the request lacks to be complete.
func (sr *ServiceRequest) StillMissing() []string {
	var m []string
	if !sr.HasDocument(DocPurchaseOrder) {
		m = append(m, MissingPurchaseOrder)
	}
	if !sr.HasDocument(DocActivationEmail) {
		m = append(m, MissingActivationEmail)
	}
	if sr.PONumber == "" {
		m = append(m, MissingPONumber)
	}
	if len(sr.Lines) == 0 {
		m = append(m, MissingLines)
	}
	return m
}

// Move records a transition to status to.
func (sr *ServiceRequest) Move(at time.Time, to, by, why string) {
	sr.History = append(sr.History, Transition{At: at.UTC(), From: sr.Status, To: to, By: by, Why: why})
	sr.Status = to
	sr.Updated = at.UTC()
}

// WasNotified reports whether the notification key was sent already.
func (sr *ServiceRequest) WasNotified(key string) bool {
	for _, k := range sr.Notified {
		if k == key {
			return true
		}
	}
	return false
}

// RequestIDAgency returns the agency part of a service request id
// (AGENCY-hex), or "" when id is not shaped like one.
func RequestIDAgency(id string) string {
	i := strings.LastIndexByte(id, '-')
	if i <= 0 || i == len(id)-1 {
		return ""
	}
	agency, tail := id[:i], id[i+1:]
	if !ValidAgencyID(agency) {
		return ""
	}
	for _, r := range tail {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return ""
		}
	}
	return agency
}

// RequestFilter narrows ListRequests.
type RequestFilter struct {
	Agency string
	Status string
}

// RequestStore keeps service requests.
type RequestStore interface {
	// CreateRequest stores a new request together with its index entry
	// (agency, PO number; or for a request without a PO number, agency and
	// fingerprint). When the agency has a request for that PO, or without
	// a PO one with that fingerprint, already, it returns that request and a
	// Conflict error and writes nothing: an insert-only claim. A request
	// with neither PO number nor fingerprint is not indexed.
	CreateRequest(ctx context.Context, sr ServiceRequest) (ServiceRequest, error)
	// GetRequest returns the request with id; NotFound when unknown.
	GetRequest(ctx context.Context, id string) (ServiceRequest, error)
	// RequestByPO returns the agency's request for a PO number (compared
	// without case); NotFound when there is none.
	RequestByPO(ctx context.Context, agency, po string) (ServiceRequest, error)
	// RequestByFingerprint returns the agency's request that was created
	// without a PO number with that fingerprint (even if it got a PO number
	// since); NotFound when there is none.
	RequestByFingerprint(ctx context.Context, agency, fingerprint string) (ServiceRequest, error)
	// DeleteRequest removes the request and the index entries that point to
	// it if its stored ETag is still sr.ETag (Stale otherwise; NotFound when
	// it is gone): for a submission that never got past receiving.
	DeleteRequest(ctx context.Context, sr ServiceRequest) error
	// UpdateRequest replaces the request if its stored ETag is still
	// sr.ETag (Stale otherwise) and returns it with the new ETag. A PO
	// number given to a request that had none is indexed in the same write;
	// Conflict when another request of the agency has it.
	UpdateRequest(ctx context.Context, sr ServiceRequest) (ServiceRequest, error)
	// ListRequests returns requests, newest first.
	ListRequests(ctx context.Context, f RequestFilter) ([]ServiceRequest, error)
}

// Step is one message of the activation-steps queue.
type Step struct {
	SR   string `json:"sr"`
	Step string `json:"step"`
	// Seq numbers the verifications of one request, so a duplicated
	// verify message does nothing.
	Seq int `json:"seq,omitempty"`
}

// StepNames returns the names of steps joined by commas, for logs.
func StepNames(steps []Step) string {
	n := make([]string, len(steps))
	for i, s := range steps {
		n[i] = s.Step
	}
	return strings.Join(n, ",")
}

// Workflow steps.
const (
	StepValidate = "validate"
	StepRecord   = "record"
	StepRoute    = "route"
	StepVerify   = "verify"
	StepClose    = "close"
	// StepNotify sends a pending notification (needs-information).
	StepNotify = "notify"
)

// StepQueue sends a step to run later (the verify step waiting for the
// seats to appear), which the queue output binding cannot do.
type StepQueue interface {
	EnqueueStep(ctx context.Context, s Step, after time.Duration) error
}

// Inbox hands out the messages of one queue to a consumer outside the
// Functions host: the activation messages the host gave up on (the
// activation-steps-poison queue), or the activation steps themselves when an
// administrator runs them by hand.
type Inbox interface {
	// Receive returns up to n messages; each stays hidden for a while and
	// comes back unless Done removes it.
	Receive(ctx context.Context, n int) ([]QueuedMessage, error)
	// Done removes a handled message.
	Done(ctx context.Context, m QueuedMessage) error
}

// QueuedMessage is one message received from an Inbox.
type QueuedMessage struct {
	ID      string
	Receipt string
	Text    string
}

// PartNumberOrSKU names the line's product briefly.
func (l RequestLine) PartNumberOrSKU() string {
	if l.PartNumber != "" {
		return l.PartNumber
	}
	return l.SkuID
}

// WorkQueue sends the messages of work split into pieces (a snapshot's
// segments, a report run's agencies) to the queue that its function reads.
// Each message is one piece, handled by one invocation; the host retries a
// piece that fails and runs pieces in parallel when it scales out.
type WorkQueue interface {
	// Send puts text on the queue, visible after after.
	Send(ctx context.Context, text string, after time.Duration) error
}
