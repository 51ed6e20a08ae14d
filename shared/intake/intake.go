package intake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// IntakeRequest is a purchase order as a client posts it, before
// validation. Text fields are as typed; documents are decoded bytes.
type IntakeRequest struct {
	Agency             string
	PONumber           string
	Reseller           string
	Agreement          string
	Renewal            bool
	ActivationScenario string
	TermStart          string
	TermEnd            string
	Requester          licensing.Person
	Lines              []IntakeLine
	Documents          []IntakeDocument
}

// IntakeLine is one requested product. Quantity is the text as sent, so
// that 2.5, "ten" and 1e9 get a clear error instead of a silent rounding.
//
// UnitPrice (the price of one seat for one year, decimal text) and
// Currency (ISO 4217) are optional, but go together.
type IntakeLine struct {
	SKU       string
	Quantity  string
	UnitPrice string
	Currency  string
}

// IntakeDocument is one uploaded file.
type IntakeDocument struct {
	Kind        string
	FileName    string
	ContentType string
	Content     []byte
}

// IntakeResult is the outcome of a submission.
type IntakeResult struct {
	Request licensing.ServiceRequest
	// Created is false for a retry of a submission already received.
	Created bool
	// Next are the workflow steps this call queued (each step is queued
	// once, whoever asks).
	Next []licensing.Step
	// Message tells the requester, in a sentence, where things stand and
	// what to send if something is missing.
	Message string
}

// Intake limits.
const (
	maxLines       = 50
	maxDocuments   = 10
	maxPersonName  = 200
	maxReseller    = 100
	maxFileName    = 200
	requestIDBytes = 5
)

// SubmitPurchaseOrder takes a purchase order (POST /api/purchase-orders). An
// invalid one is refused with every problem at once and nothing is written.
// A complete one becomes a submitted request with its first step to queue;
// an incomplete one a needs-information request, and the requester is told
// what to send. The same agency and PO number again (without a PO number:
// the same agency and content) with the same content returns the existing
// request (Created false) and queues nothing; with other content it is a
// Conflict and nothing is written. See receive for how the request is
// claimed before its documents are stored.
func (s *Service) SubmitPurchaseOrder(ctx context.Context, caller *licensing.Principal, in IntakeRequest) (IntakeResult, error) {
	const op = "intake.submit"
	acc, err := s.cfg.Auth.Authorize(ctx, op, caller)
	if err != nil {
		return IntakeResult{}, err
	}
	agencyID := licensing.NormalizeAgencyID(in.Agency)
	if agencyID != "" && licensing.ValidAgencyID(agencyID) && !acc.CanActFor(agencyID) {
		return IntakeResult{}, licensing.Errorf(op, licensing.Forbidden, "You may submit purchase orders only for the agencies you are a delegate of.")
	}
	sr, docs, err := s.validateIntake(ctx, in)
	if err != nil {
		return IntakeResult{}, err
	}
	return s.receive(ctx, op, acc.Who, sr, docs)
}

// sameSubmission answers a submission the agency already sent: the same PO
// number, or without one the same content.
func (s *Service) sameSubmission(ctx context.Context, op string, existing licensing.ServiceRequest, fingerprint string) (IntakeResult, error) {
	if existing.Fingerprint != fingerprint {
		return IntakeResult{}, licensing.Errorf(op, licensing.Conflict, "Purchase order %s of %s was already submitted as service request %s with different content. "+
			"To add missing documents use that request; to change it, ask central IT.", existing.PONumber, existing.Agency, existing.ID)
	}
	// A retry, or a simultaneous duplicate: the submission that created
	// the request queued its step, and this one queues nothing, unless that
	// submission stopped before queueing it.
	next, err := s.queueNextWaiting(ctx, existing)
	return IntakeResult{Request: existing, Next: next, Message: intakeMessage(existing, s.cfg.Workflow.AppURL)}, err
}

// inProgressWait is how long a submission waits for another submission of
// the same request that is queueing its first step at this moment.
const inProgressWait = 5 * time.Second

// queueNextWaiting queues sr's next step once. When another submission of
// the same request holds the step's claim, it waits (up to inProgressWait)
// for that submission to queue it, or for the claim to lapse when that
// submission died, in which case this one queues it. A claim still held
// after the wait is returned as Unavailable with its Retry-After, so the
// client sends the request again later and the step is never left out.
func (s *Service) queueNextWaiting(ctx context.Context, sr licensing.ServiceRequest) ([]licensing.Step, error) {
	deadline := time.Now().Add(inProgressWait)
	for {
		next, err := s.queueNext(ctx, sr)
		if !errors.Is(err, licensing.ErrInProgress) || time.Now().After(deadline) {
			return next, err
		}
		select {
		case <-ctx.Done():
			return next, err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// validateIntake checks everything and builds the request (without id,
// status or stored documents), or returns an Invalid error listing every
// problem.
func (s *Service) validateIntake(ctx context.Context, in IntakeRequest) (licensing.ServiceRequest, []pendingDocument, error) {
	var fe licensing.FieldErrors
	sr := licensing.ServiceRequest{
		Agency:    licensing.NormalizeAgencyID(in.Agency),
		PONumber:  strings.TrimSpace(in.PONumber),
		Reseller:  strings.TrimSpace(in.Reseller),
		Agreement: strings.TrimSpace(in.Agreement),
		Renewal:   in.Renewal,
		Scenario:  strings.TrimSpace(in.ActivationScenario),
		Requester: licensing.Person{Name: strings.TrimSpace(in.Requester.Name), Email: strings.ToLower(strings.TrimSpace(in.Requester.Email))},
	}
	switch {
	case sr.Agency == "":
		fe.Add("agency", "is required: the agency's code, such as DOA")
	case !licensing.ValidAgencyID(sr.Agency):
		fe.Add("agency", "%q is not an agency code", licensing.Truncate(sr.Agency))
	default:
		if _, err := s.cfg.Agencies.GetAgency(ctx, sr.Agency); licensing.ErrorCode(err) == licensing.NotFound {
			fe.Add("agency", "%s is not a configured agency; ask central IT to add it", sr.Agency)
		} else if err != nil {
			return sr, nil, err
		}
	}
	if sr.PONumber != "" && !licensing.ValidPONumber(sr.PONumber) {
		fe.Add("poNumber", "must be 1 to 40 letters, digits, '.', '-', '_' or '/' (for example 4500012345)")
	}
	if len(sr.Reseller) > maxReseller || licensing.HasInvisible(sr.Reseller) {
		fe.Add("reseller", "must be at most %d characters without %s", maxReseller, invisibleText)
	}
	switch sr.Agreement {
	case licensing.AgreementEnterprise, licensing.AgreementALaCarte, licensing.AgreementCSP:
	case "":
		fe.Add("agreement", "is required: enterprise-agreement, a-la-carte or csp")
	default:
		fe.Add("agreement", "%q is not enterprise-agreement, a-la-carte or csp", licensing.Truncate(sr.Agreement))
	}
	switch sr.Scenario {
	case licensing.ScenarioNewCustomer, licensing.ScenarioTrialKeepData, licensing.ScenarioTrialFresh, licensing.ScenarioBypass:
	case "":
		fe.Add("activationScenario", "is required: new-customer, trial-keep-data, trial-fresh or bypass; it decides between Sign Up and Sign In, which cannot be undone")
	default:
		fe.Add("activationScenario", "%q is not new-customer, trial-keep-data, trial-fresh or bypass", licensing.Truncate(sr.Scenario))
	}
	s.validateTerm(&sr, in, &fe)
	switch {
	case sr.Requester.Name == "":
		fe.Add("requester.name", "is required")
	case len(sr.Requester.Name) > maxPersonName || licensing.HasInvisible(sr.Requester.Name):
		fe.Add("requester.name", "must be at most %d characters without %s", maxPersonName, invisibleText)
	}
	if !licensing.ValidAddress(sr.Requester.Email) {
		fe.Add("requester.email", "must be the requester's email address, like pat.doe@agency.example.gov")
	}
	if err := s.validateLines(ctx, &sr, in.Lines, &fe); err != nil {
		return sr, nil, err
	}
	docs := validateDocuments(in.Documents, &fe)
	if err := fe.Err("intake.validate", "The purchase order"); err != nil {
		return sr, nil, err
	}
	if err := s.poInLedger(ctx, "intake.validate", sr.Agency, sr.PONumber); err != nil {
		return sr, nil, err
	}
	sr.Fingerprint = fingerprint(sr, docs)
	return sr, docs, nil
}

func (s *Service) validateTerm(sr *licensing.ServiceRequest, in IntakeRequest, fe *licensing.FieldErrors) {
	start, err := parseIntakeDate(in.TermStart)
	switch {
	case strings.TrimSpace(in.TermStart) == "":
		fe.Add("termStart", "is required: the first day of the term, like 2026-08-01")
	case err != nil:
		fe.Add("termStart", "%v", err)
	default:
		sr.TermStart = start
	}
	if strings.TrimSpace(in.TermEnd) == "" {
		if !sr.TermStart.IsZero() && sr.Agreement != "" {
			sr.TermEnd = licensing.DefaultTermEnd(sr.Agreement, sr.TermStart, s.cfg.Terms)
		}
		return
	}
	end, err := parseIntakeDate(in.TermEnd)
	switch {
	case err != nil:
		fe.Add("termEnd", "%v", err)
	case !sr.TermStart.IsZero() && !end.After(sr.TermStart):
		fe.Add("termEnd", "must be after termStart (%s)", sr.TermStart)
	case !sr.TermStart.IsZero() && end.After(sr.TermStart.AddYears(licensing.MaxTermYears)):
		fe.Add("termEnd", "must be within %d years of termStart", licensing.MaxTermYears)
	default:
		sr.TermEnd = end
	}
}

func parseIntakeDate(s string) (licensing.Date, error) {
	d, err := licensing.ParseDate(strings.TrimSpace(s))
	if err != nil {
		return licensing.Date{}, err
	}
	if d.Before(licensing.NewDate(2000, 1, 1)) || d.After(licensing.NewDate(2100, 1, 1)) {
		return licensing.Date{}, fmt.Errorf("%s is not a plausible term date", d)
	}
	return d, nil
}

func (s *Service) validateLines(ctx context.Context, sr *licensing.ServiceRequest, lines []IntakeLine, fe *licensing.FieldErrors) error {
	if len(lines) > maxLines {
		fe.Add("lines", "must list at most %d products", maxLines)
		return nil
	}
	var catalog licensing.Catalog
	if len(lines) > 0 && s.cfg.Catalog != nil {
		c, _, err := s.cfg.Catalog.Refresh(ctx)
		if err != nil {
			return err
		}
		catalog = c
	}
	seen := map[string]int{}
	for i, l := range lines {
		field := fmt.Sprintf("lines[%d]", i)
		line := licensing.RequestLine{SKU: strings.TrimSpace(l.SKU)}
		switch {
		case line.SKU == "":
			fe.Add(field+".sku", "is required: a SKU part number such as VISIOCLIENT, or its GUID")
		default:
			p, ok := licensing.Product{}, false
			if catalog != nil {
				p, ok = catalog.Lookup(line.SKU)
			}
			if !ok && licensing.IsGUID(line.SKU) {
				p, ok = licensing.Product{SkuID: strings.ToLower(line.SKU), Name: strings.ToLower(line.SKU)}, true
			}
			if !ok {
				fe.Add(field+".sku", "%q is not a known SKU; use the part number (such as VISIOCLIENT) or the SKU's GUID", licensing.Truncate(line.SKU))
			} else {
				line.SkuID, line.PartNumber, line.Product = p.SkuID, p.PartNumber, p.Name
				if j, dup := seen[p.SkuID]; dup {
					fe.Add(field+".sku", "is the same product as lines[%d]; put the total on one line", j)
				}
				seen[p.SkuID] = i
			}
		}
		q, err := parseQuantity(l.Quantity)
		if err != nil {
			fe.Add(field+".quantity", "%v", err)
		}
		line.Quantity = q
		line.UnitPrice, line.Currency = licensing.ParsePrice(l.UnitPrice, l.Currency, field, fe)
		sr.Lines = append(sr.Lines, line)
	}
	return nil
}

func parseQuantity(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("is required: a whole number from 1 to %d", licensing.MaxQuantity)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > licensing.MaxQuantity {
		return 0, fmt.Errorf("%q is not a whole number from 1 to %d", licensing.Truncate(s), licensing.MaxQuantity)
	}
	return n, nil
}

// pendingDocument is a validated upload not yet stored.
type pendingDocument struct {
	doc     licensing.Document
	content []byte
}

func validateDocuments(in []IntakeDocument, fe *licensing.FieldErrors) []pendingDocument {
	if len(in) > maxDocuments {
		fe.Add("documents", "at most %d documents per request", maxDocuments)
		return nil
	}
	var out []pendingDocument
	for i, d := range in {
		field := fmt.Sprintf("documents[%d]", i)
		kind := strings.TrimSpace(d.Kind)
		if kind != licensing.DocPurchaseOrder && kind != licensing.DocActivationEmail {
			fe.Add(field+".kind", "%q is not purchase-order or activation-email", licensing.Truncate(kind))
			continue
		}
		if len(d.Content) == 0 {
			fe.Add(field, "is empty: attach the file itself")
			continue
		}
		if licensing.HasInvisible(d.FileName) {
			// Refused, not cleaned: "x.pdf\x00.exe" would show as x.pdf.exe,
			// and "x\u202Efdp.exe" shows as xexe.pdf.
			fe.Add(field+".fileName", "must not contain %s; rename the file", invisibleText)
			continue
		}
		detected, ok := sniffDocument(d.Content)
		if !ok {
			fe.Add(field, "is not a PDF, an email (.eml or .msg) or an image of a scan (PNG, JPEG, TIFF)")
			continue
		}
		if !allowedFor(kind, detected) {
			fe.Add(field, "a %s must be %s, and this file is %s", kind, allowedText(kind), describeType(detected))
			continue
		}
		if declared := declaredType(d.ContentType); declared != "" && !compatibleType(declared, detected) {
			fe.Add(field+".contentType", "says %s but the file is %s", licensing.Truncate(declared), describeType(detected))
			continue
		}
		sum := sha256.Sum256(d.Content)
		out = append(out, pendingDocument{
			doc: licensing.Document{Kind: kind, FileName: cleanFileName(d.FileName, kind, detected), ContentType: detected,
				Size: int64(len(d.Content)), SHA256: hex.EncodeToString(sum[:])},
			content: d.Content,
		})
	}
	return out
}

// invisibleText names what licensing.HasInvisible refuses, for field errors.
const invisibleText = "control or invisible formatting characters (such as U+0000, U+200B or U+202E)"

// fingerprint hashes what a submission says, so a retry can be told from a
// different submission of the same PO.
func fingerprint(sr licensing.ServiceRequest, docs []pendingDocument) string {
	type line struct {
		SkuID    string
		Quantity int
		// Left out when empty, so a line without a price hashes as before.
		UnitPrice string `json:",omitempty"`
		Currency  string `json:",omitempty"`
	}
	var lines []line
	for _, l := range sr.Lines {
		ln := line{SkuID: l.SkuID, Quantity: l.Quantity, Currency: l.Currency}
		if l.UnitPrice != nil {
			ln.UnitPrice = l.UnitPrice.Decimal()
		}
		lines = append(lines, ln)
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i].SkuID < lines[j].SkuID })
	var hashes []string
	for _, d := range docs {
		hashes = append(hashes, d.doc.Kind+":"+d.doc.SHA256)
	}
	sort.Strings(hashes)
	b, _ := json.Marshal([]any{sr.Agency, strings.ToUpper(sr.PONumber), sr.Reseller, sr.Agreement, sr.Renewal, sr.Scenario,
		sr.TermStart.String(), sr.TermEnd.String(), sr.Requester.Email, lines, hashes})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Detected document types.
const (
	typePDF  = "application/pdf"
	typeEML  = "message/rfc822"
	typeMSG  = "application/vnd.ms-outlook"
	typePNG  = "image/png"
	typeJPEG = "image/jpeg"
	typeTIFF = "image/tiff"
)

// sniffDocument tells the type of a document from its content.
func sniffDocument(b []byte) (string, bool) {
	switch {
	case isPDF(b):
		return typePDF, true
	case bytes.HasPrefix(b, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}):
		return typeMSG, true
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return typePNG, true
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return typeJPEG, true
	case bytes.HasPrefix(b, []byte("II*\x00")) || bytes.HasPrefix(b, []byte("MM\x00*")):
		return typeTIFF, true
	case looksLikeEmail(b):
		return typeEML, true
	}
	return "", false
}

// pdfLead is how far into a file readers look for the PDF header (Adobe's
// readers: the first 1024 bytes).
const pdfLead = 1024

// isPDF reports whether b starts with a PDF header, %PDF-1.x or %PDF-2.x.
// The header may follow only what PDF writers put before it: PDF white
// space (NUL, tab, line feed, form feed, carriage return, space) and a
// UTF-8 byte order mark, within the first pdfLead bytes. Anything else
// before it (an HTML page with %PDF- in a comment, a script) is not a PDF.
func isPDF(b []byte) bool {
	i := 0
	if bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")) {
		i = 3
	}
	for i < len(b) && i < pdfLead && bytes.IndexByte([]byte("\x00\t\n\f\r "), b[i]) >= 0 {
		i++
	}
	h := b[i:]
	return len(h) >= 8 && bytes.HasPrefix(h, []byte("%PDF-")) && (h[5] == '1' || h[5] == '2') && h[6] == '.' && h[7] >= '0' && h[7] <= '9'
}

// looksLikeEmail accepts an RFC 5322 message: text whose header block
// parses and has the headers a mail always carries.
func looksLikeEmail(b []byte) bool {
	if len(b) > 64<<10 {
		b = b[:64<<10]
	}
	if bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(bytes.ToValidUTF8(b, nil)) {
		return false
	}
	m, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		return false
	}
	known := 0
	for _, h := range []string{"From", "Date", "Subject", "Message-Id", "Received", "Mime-Version", "To"} {
		if m.Header.Get(h) != "" {
			known++
		}
	}
	return known >= 2 && m.Header.Get("From") != ""
}

func allowedFor(kind, t string) bool {
	switch t {
	case typePDF, typePNG, typeJPEG, typeTIFF:
		return true
	case typeEML, typeMSG:
		return kind == licensing.DocActivationEmail
	}
	return false
}

func allowedText(kind string) string {
	if kind == licensing.DocActivationEmail {
		return "the email itself (.eml or .msg), a PDF of it or a screenshot"
	}
	return "a PDF or an image of the scanned PO"
}

func describeType(t string) string {
	switch t {
	case typePDF:
		return "a PDF"
	case typeEML:
		return "an email (.eml)"
	case typeMSG:
		return "an Outlook message (.msg)"
	case typePNG:
		return "a PNG image"
	case typeJPEG:
		return "a JPEG image"
	case typeTIFF:
		return "a TIFF image"
	}
	return t
}

// declaredType returns the declared media type, or "" when it says nothing
// (absent, or the generic types forms send for any file).
func declaredType(ct string) string {
	ct = strings.ToLower(strings.TrimSpace(ct))
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = strings.TrimSpace(ct[:i])
	}
	switch ct {
	case "", "application/octet-stream", "binary/octet-stream", "application/x-www-form-urlencoded", "application/unknown":
		return ""
	}
	return ct
}

func compatibleType(declared, detected string) bool {
	aliases := map[string][]string{
		typePDF:  {"application/pdf", "application/x-pdf"},
		typeEML:  {"message/rfc822", "text/plain", "application/eml"},
		typeMSG:  {"application/vnd.ms-outlook", "application/x-msg", "application/x-ole-storage"},
		typePNG:  {"image/png"},
		typeJPEG: {"image/jpeg", "image/jpg", "image/pjpeg"},
		typeTIFF: {"image/tiff", "image/tif"},
	}
	for _, a := range aliases[detected] {
		if a == declared {
			return true
		}
	}
	return false
}

func extensionOf(t string) string {
	switch t {
	case typePDF:
		return ".pdf"
	case typeEML:
		return ".eml"
	case typeMSG:
		return ".msg"
	case typePNG:
		return ".png"
	case typeJPEG:
		return ".jpg"
	case typeTIFF:
		return ".tif"
	}
	return ""
}

// cleanFileName keeps the last element of a client's file name, without
// control or path characters, for display only; blobs never use it.
func cleanFileName(name, kind, t string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || strings.ContainsRune(`"<>:|?*`, r) {
			return -1
		}
		return r
	}, name)
	name = strings.Trim(strings.TrimSpace(name), ".")
	if r := []rune(name); len(r) > maxFileName {
		name = string(r[:maxFileName])
	}
	if name == "" {
		name = kind + extensionOf(t)
	}
	return name
}

// resumeSteps returns the step that moves a request on from its status:
// what must be queued after it was stored, and again when a retried
// message finds the step already done (its queued successor may have been
// lost with the failed invocation).
func resumeSteps(sr licensing.ServiceRequest) []licensing.Step {
	switch sr.Status {
	case licensing.StatusSubmitted:
		return []licensing.Step{{SR: sr.ID, Step: licensing.StepValidate}}
	case licensing.StatusNeedsInformation:
		if !sr.WasNotified(notifyKey(licensing.StepNotify, sr)) {
			return []licensing.Step{{SR: sr.ID, Step: licensing.StepNotify}}
		}
	case licensing.StatusValidated:
		return []licensing.Step{{SR: sr.ID, Step: licensing.StepRecord}}
	case licensing.StatusRecorded:
		return []licensing.Step{{SR: sr.ID, Step: licensing.StepRoute}}
	case licensing.StatusAwaitingActivation:
		return []licensing.Step{{SR: sr.ID, Step: licensing.StepVerify, Seq: sr.VerifySeq + 1}}
	case licensing.StatusActivated:
		return []licensing.Step{{SR: sr.ID, Step: licensing.StepClose}}
	}
	return nil
}
