package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/intake"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// The request pages: the intake form (GET and POST /requests/new), a
// request's page (GET /requests/{id}) with the form that adds what is
// missing (POST /requests/{id}/documents) and an administrator's activation
// confirmation (POST /requests/{id}/activation). Each POST decodes its body
// and calls the service as the API route does, so the same validation and
// limits apply.

// requestPageTemplate is the request page's template set: request.html's
// content with the field templates defined in intake.html.
const requestPageTemplate = "request+fields"

func init() {
	t := template.Must(template.New("layout.html").Funcs(templateFuncs).ParseFS(webFiles, "web/layout.html", "web/intake.html"))
	templates[requestPageTemplate] = template.Must(t.ParseFS(webFiles, "web/request.html"))
}

// formRows is how many product rows a form shows when nothing was sent;
// maxFormRows the most it shows again after a submission.
const (
	formRows    = 5
	maxFormRows = 50
)

// formField is one input of a form: its element id (also its name), label,
// hint, the value to show again and the error to show next to it.
type formField struct {
	ID, Label, Hint, Value, Error string
	// Type is the input's type: text, email, date or file.
	Type         string
	Required     bool
	Autocomplete string
	// Accept narrows a file input's picker.
	Accept string
}

// Describedby lists the ids of the field's hint and error.
func (f formField) Describedby() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if f.Error != "" {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

// choice is one option of a select or a radio group.
type choice struct {
	Value, Label, Hint string
	Selected           bool
}

// choiceField is a select (agency) or a group of radio buttons: the
// element id of a radio button is Name-Value.
type choiceField struct {
	Name, Label, Hint, Error string
	Options                  []choice
}

// FirstID is the element id the error summary links to.
func (c choiceField) FirstID() string {
	if len(c.Options) == 0 {
		return c.Name
	}
	return c.Name + "-" + c.Options[0].Value
}

// productGroup is an optgroup of the product selects.
type productGroup struct {
	Label   string
	Options []choice
}

// lineRow is one row of product lines: the product chosen (sku-N), the
// quantity (quantity-N) and the optional price of one seat for one year
// with its currency (unitPrice-N, currency-N).
type lineRow struct {
	N                                  int
	SKU, Quantity, UnitPrice, Currency string
	SKUError, QuantityError            string
	UnitPriceError, CurrencyError      string
}

// lineRows are the product rows of a form.
type lineRows struct {
	Error    string
	Rows     []lineRow
	Products []productGroup
	// TenantUnread says the tenant's products could not be read.
	TenantUnread string
}

// summaryItem is one entry of the error summary: the message and the id
// of the field it links to ("" when it concerns the whole form).
type summaryItem struct {
	Target, Message string
}

// intakePage is the intake form.
type intakePage struct {
	Agency                                 choiceField
	PONumber, Reseller, TermStart, TermEnd formField
	RequesterName, RequesterEmail          formField
	PurchaseOrder, ActivationEmail         formField
	Agreement, Renewal, Scenario           choiceField
	Lines                                  lineRows
	Summary                                []summaryItem
	// Problem is a refusal of the whole form (a duplicate PO).
	Problem string
	// FilesAgain says the chosen files must be chosen again.
	FilesAgain bool
	// NoAgency: the caller is a delegate of no agency and cannot submit.
	NoAgency bool
}

// Element ids of the intake form in the order the form shows them: the
// error summary lists errors in this order.
var intakeOrder = []string{"agency", "poNumber", "reseller", "agreement", "renewal", "termStart", "termEnd", "lines",
	"activationScenario", "purchaseOrder", "activationEmail", "requesterName", "requesterEmail"}

// pageIntakeForm serves GET /requests/new: the intake form, with the
// caller's agency chosen when they are a delegate of one.
func (s *Server) pageIntakeForm(ctx context.Context, p *pageRequest) (*Response, error) {
	in := intake.IntakeRequest{}
	if len(p.Access.Agencies) == 1 {
		in.Agency = p.Access.Agencies[0]
	}
	if who := strings.ToLower(p.Access.Who); licensing.ValidAddress(who) {
		in.Requester.Email = who
	}
	f, err := s.intakePage(ctx, p, in, nil)
	if err != nil {
		return nil, err
	}
	return p.render(http.StatusOK, "intake", "New license request", f)
}

// pageIntakeSubmit serves POST /requests/new: the form's multipart body
// goes through the API's decoder and SubmitPurchaseOrder. A submission with
// problems shows the form again with what was typed and each problem; an
// accepted one goes to its request's page.
func (s *Server) pageIntakeSubmit(ctx context.Context, p *pageRequest) (*Response, error) {
	in, err := s.decodeIntake(p.Request)
	if err != nil {
		form, rows := typedValues(p.Request, err)
		return s.intakeRefused(ctx, p, form, rows, err)
	}
	form, rows := pageForm(in)
	res, err := s.intake.SubmitPurchaseOrder(ctx, p.Caller, form)
	if err != nil {
		return s.intakeRefused(ctx, p, form, rows, err)
	}
	p.Log.Info("service request from the form", "sr", res.Request.ID, "status", res.Request.Status, "created", res.Created, "queued", licensing.StepNames(res.Next))
	notice := res.Request.Status
	if !res.Created {
		notice = "received-before"
	}
	return redirect(requestPath(res.Request.ID) + "?notice=" + url.QueryEscape(notice)), nil
}

// intakeRefused shows the form again, with in as pageForm gave it, for a
// submission refused for its content (422, or 409 for a duplicate, 413 for
// its size); other errors become the error page.
func (s *Server) intakeRefused(ctx context.Context, p *pageRequest, in intake.IntakeRequest, rows []int, err error) (*Response, error) {
	status := StatusOf(err)
	switch licensing.ErrorCode(err) {
	case licensing.Invalid, licensing.Conflict, licensing.TooLarge:
	default:
		return nil, err
	}
	f, ferr := s.intakePage(ctx, p, in, rows)
	if ferr != nil {
		return nil, ferr
	}
	f.FilesAgain = true
	var fe formErrors
	fe.place(err, rows, documentTargets(in.Documents, "purchaseOrder"), intakeLabels)
	if licensing.ErrorCode(err) == licensing.TooLarge {
		fe.add("purchaseOrder", licensing.ErrorMessage(err))
	} else if len(fe.Summary) == 0 {
		f.Problem = licensing.ErrorMessage(err)
	}
	f.Summary = fe.sorted(intakeOrder)
	for _, fld := range []*formField{&f.PONumber, &f.Reseller, &f.TermStart, &f.TermEnd, &f.RequesterName, &f.RequesterEmail, &f.PurchaseOrder, &f.ActivationEmail} {
		fld.Error = fe.byID[fld.ID]
	}
	for _, c := range []*choiceField{&f.Agency, &f.Agreement, &f.Renewal, &f.Scenario} {
		c.Error = fe.byID[c.Name]
	}
	f.Lines.setErrors(fe.byID)
	return p.render(status, "intake", "New license request", f)
}

// typedValues reads what was typed into a form refused for its size, to
// show it again: the body is in memory already, and nothing of it is
// passed to the service.
func typedValues(r *Request, err error) (intake.IntakeRequest, []int) {
	ct, params, perr := mime.ParseMediaType(r.Header("Content-Type"))
	if licensing.ErrorCode(err) != licensing.TooLarge || perr != nil || ct != "multipart/form-data" {
		return intake.IntakeRequest{}, nil
	}
	in, derr := decodeIntakeForm(r.Body, params["boundary"])
	if derr != nil {
		return intake.IntakeRequest{}, nil
	}
	in.Documents = nil
	return pageForm(in)
}

// intakeLabels name the intake's fields (as the service names them) in the
// error summary.
var intakeLabels = map[string]string{
	"agency": "Agency", "poNumber": "PO number", "reseller": "Reseller", "agreement": "Agreement", "renewal": "Renewal",
	"activationScenario": "Activation", "termStart": "Term start", "termEnd": "Term end",
	"requester.name": "Your name", "requester.email": "Your email address", "requesterName": "Your name", "requesterEmail": "Your email address",
	"lines": "Products", "quantity": "Quantity", "documents": "Documents",
	"purchaseOrder": "Purchase order", "activationEmail": "Activation email",
}

// intakePage builds the intake form showing in; rows are the row numbers
// of in's lines (nil: in order from row 1).
func (s *Server) intakePage(ctx context.Context, p *pageRequest, in intake.IntakeRequest, rows []int) (intakePage, error) {
	choices, err := s.intake.FormChoices(ctx, p.Caller)
	if err != nil {
		return intakePage{}, err
	}
	agencies, err := s.agencyChoices(ctx, p, in.Agency)
	if err != nil {
		return intakePage{}, err
	}
	today := licensing.DateOf(s.now(), time.UTC)
	mb := s.maxRequest >> 20
	f := intakePage{
		NoAgency: len(agencies) == 0,
		Agency: choiceField{Name: "agency", Label: "Agency", Hint: "The agency that bought the licenses and will use them.",
			Options: agencies},
		PONumber: formField{ID: "poNumber", Label: "PO number", Value: in.PONumber, Type: "text",
			Hint: "As on the purchase order, such as 4500012345. Leave it empty if the PO has none yet; you can add it later."},
		Reseller: formField{ID: "reseller", Label: "Reseller", Value: in.Reseller, Type: "text", Autocomplete: "organization",
			Hint: "Who sold the licenses, such as SHI. Optional."},
		Agreement: radioField("agreement", "Agreement", "How the licenses were bought.", in.Agreement, []choice{
			{Value: licensing.AgreementEnterprise, Label: "Enterprise Agreement", Hint: "Through the state's Microsoft enrollment."},
			{Value: licensing.AgreementALaCarte, Label: "À la carte", Hint: "Bought on their own for the fiscal year."},
			{Value: licensing.AgreementCSP, Label: "CSP subscription", Hint: "Through a Cloud Solution Provider."},
		}),
		Renewal: radioField("renewal", "Is this a renewal?", "A renewal buys again licenses the agency already has; they then continue without a gap.",
			yesNo(in.Renewal), []choice{{Value: "no", Label: "No, these are new licenses"}, {Value: "yes", Label: "Yes, it renews licenses we have"}}),
		TermStart: formField{ID: "termStart", Label: "Term start", Value: in.TermStart, Type: "date", Required: true,
			Hint: "The first day of the term, as on the PO (YYYY-MM-DD)."},
		TermEnd: formField{ID: "termEnd", Label: "Term end", Value: in.TermEnd, Type: "date", Hint: termEndHint(today, choices.Terms)},
		Scenario: radioField("activationScenario", "How should the licenses be activated?",
			"Microsoft's activation email offers Sign Up (a new online services account) or Sign In (the licenses join an account that exists). "+
				"Central IT clicks one for you, following your answer here. The choice cannot be undone: if you are not sure, ask your IT staff before sending.",
			in.ActivationScenario, scenarioChoices()),
		PurchaseOrder: formField{ID: "purchaseOrder", Label: "Purchase order", Type: "file", Accept: intake.AcceptedFiles(licensing.DocPurchaseOrder),
			Hint: fmt.Sprintf("A PDF, or a scan as PNG, JPEG or TIFF. Everything sent with the form may be %d MB at most.", mb)},
		ActivationEmail: formField{ID: "activationEmail", Label: "Microsoft's activation email", Type: "file", Accept: intake.AcceptedFiles(licensing.DocActivationEmail),
			Hint: "The email itself (.eml or .msg, saved from Outlook), a PDF of it or a screenshot. If you do not have it yet, send the form without it and add it later."},
		RequesterName: formField{ID: "requesterName", Label: "Your name", Value: in.Requester.Name, Type: "text", Required: true, Autocomplete: "name"},
		RequesterEmail: formField{ID: "requesterEmail", Label: "Your email address", Value: in.Requester.Email, Type: "email", Required: true, Autocomplete: "email",
			Hint: "Where we write when something is missing and when the licenses are available."},
		Lines: newLineRows(choices, in.Lines, rows),
	}
	return f, nil
}

// agencyChoices lists the agencies the caller may submit for, selected
// chosen: every agency for an admin, their own for a delegate.
func (s *Server) agencyChoices(ctx context.Context, p *pageRequest, chosen string) ([]choice, error) {
	chosen = licensing.NormalizeAgencyID(chosen)
	var out []choice
	if p.Access.Admin && s.agencyAdmin != nil {
		list, err := s.agencyAdmin.ListAgencies(ctx, p.Caller)
		if err != nil {
			return nil, err
		}
		for _, a := range list {
			label := a.ID
			if a.Name != "" {
				label += " – " + a.Name
			}
			out = append(out, choice{Value: a.ID, Label: label, Selected: a.ID == chosen})
		}
		return out, nil
	}
	for _, id := range p.Access.Agencies {
		out = append(out, choice{Value: id, Label: id, Selected: id == chosen})
	}
	return out, nil
}

// radioField is a group of radio buttons with value checked.
func radioField(name, label, hint, value string, options []choice) choiceField {
	for i := range options {
		options[i].Selected = options[i].Value == strings.TrimSpace(value)
	}
	return choiceField{Name: name, Label: label, Hint: hint, Options: options}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// scenarioChoices are the activation scenarios in plain words: what each
// means and which button of the activation email central IT uses for it.
func scenarioChoices() []choice {
	return []choice{
		{Value: licensing.ScenarioNewCustomer, Label: "We have never had Microsoft's online services",
			Hint: "No Office 365 or Microsoft 365 subscription or trial before. Central IT chooses Sign Up."},
		{Value: licensing.ScenarioTrialKeepData, Label: "We have a trial and want to keep its data",
			Hint: "The trial's mailboxes, settings and onmicrosoft.com domain stay, and the trial becomes the paid subscription. Central IT chooses Sign In with the trial's account."},
		{Value: licensing.ScenarioTrialFresh, Label: "We have a trial but want a new, empty subscription",
			Hint: "Nothing of the trial is kept. Central IT chooses Sign Up."},
		{Value: licensing.ScenarioBypass, Label: "We bought BPOS-S through volume licensing and never activated it",
			Hint: "Central IT chooses Sign In, which keeps the existing account (Sign Up would start a new one)."},
	}
}

// termEndHint says what an empty term end becomes, with the dates for a
// term starting today.
func termEndHint(today licensing.Date, t licensing.Terms) string {
	alc := licensing.DefaultTermEnd(licensing.AgreementALaCarte, today, t)
	ea := licensing.DefaultTermEnd(licensing.AgreementEnterprise, today, t)
	years := t.EnterpriseYears
	if years <= 0 {
		years = licensing.DefaultTerms().EnterpriseYears
	}
	return fmt.Sprintf("Leave empty for the default: à la carte ends on the next %s (%s for a term starting today), an Enterprise Agreement runs %s (to %s), a CSP subscription one year (to %s).",
		alc.Time().Format("January 2"), alc, licensing.Plural(years, "year"), ea, licensing.DefaultTermEnd(licensing.AgreementCSP, today, t))
}

// newLineRows builds the product rows showing lines (from rows, or in
// order from row 1), at least formRows of them.
func newLineRows(c intake.FormChoices, lines []intake.IntakeLine, rows []int) lineRows {
	n := formRows
	for i := range lines {
		if r := rowOf(rows, i); r > n {
			n = r
		}
	}
	n = min(n, maxFormRows)
	out := lineRows{TenantUnread: c.TenantUnread, Rows: make([]lineRow, n)}
	for i := range out.Rows {
		out.Rows[i].N = i + 1
	}
	for i, l := range lines {
		if r := rowOf(rows, i); r <= n {
			out.Rows[r-1].SKU, out.Rows[r-1].Quantity = strings.TrimSpace(l.SKU), strings.TrimSpace(l.Quantity)
			out.Rows[r-1].UnitPrice, out.Rows[r-1].Currency = strings.TrimSpace(l.UnitPrice), strings.TrimSpace(l.Currency)
		}
	}
	for _, g := range []struct {
		label string
		list  []licensing.Product
	}{{"In the tenant", c.Tenant}, {"Other products", c.Other}} {
		if len(g.list) == 0 {
			continue
		}
		pg := productGroup{Label: g.label}
		for _, p := range g.list {
			value := p.PartNumber
			if value == "" {
				value = p.SkuID
			}
			label := p.Name
			if p.PartNumber != "" && p.PartNumber != p.Name {
				label += " (" + p.PartNumber + ")"
			}
			pg.Options = append(pg.Options, choice{Value: value, Label: label})
		}
		out.Products = append(out.Products, pg)
	}
	return out
}

// rowOf is the row number of line i.
func rowOf(rows []int, i int) int {
	if i < len(rows) {
		return rows[i]
	}
	return i + 1
}

// setErrors puts the errors of the rows' fields (sku-N, quantity-N) and of
// the lines as a whole on the rows.
func (l *lineRows) setErrors(byID map[string]string) {
	l.Error = byID["lines"]
	for i := range l.Rows {
		n := strconv.Itoa(l.Rows[i].N)
		l.Rows[i].SKUError, l.Rows[i].QuantityError = byID["sku-"+n], byID["quantity-"+n]
		l.Rows[i].UnitPriceError, l.Rows[i].CurrencyError = byID["unitPrice-"+n], byID["currency-"+n]
	}
}

// pageForm is what a browser's form says, as the API's decoder read it,
// without what a browser sends for fields left empty: product rows with
// neither product nor quantity, and file inputs with no file chosen (no
// name, no content). It returns the row number of each line kept.
func pageForm(in intake.IntakeRequest) (intake.IntakeRequest, []int) {
	out := in
	out.Lines, out.Documents = nil, nil
	var rows []int
	for i, l := range in.Lines {
		if strings.TrimSpace(l.SKU) == "" && strings.TrimSpace(l.Quantity) == "" && strings.TrimSpace(l.UnitPrice) == "" && strings.TrimSpace(l.Currency) == "" {
			continue
		}
		out.Lines = append(out.Lines, l)
		rows = append(rows, i+1)
	}
	for _, d := range in.Documents {
		if d.FileName == "" && len(d.Content) == 0 {
			continue
		}
		out.Documents = append(out.Documents, d)
	}
	return out, rows
}

// documentTargets is the file input of each document sent, by the
// document's index; other is the input for errors of the documents as a
// whole.
func documentTargets(docs []intake.IntakeDocument, other string) []string {
	out := []string{other}
	for _, d := range docs {
		out = append(out, fileInput(d.Kind))
	}
	return out
}

// fileInput is the file input (and multipart part) of a document kind.
func fileInput(kind string) string {
	for name, k := range fileParts {
		if k == kind {
			return name
		}
	}
	return ""
}

// formErrors places an error's field errors on the fields of a form (by
// element id) and in its error summary.
type formErrors struct {
	byID    map[string]string
	Summary []summaryItem
}

var (
	lineField     = regexp.MustCompile(`^lines\[(\d+)\]\.(sku|quantity|unitPrice|currency)$`)
	documentField = regexp.MustCompile(`^documents\[(\d+)\]`)
	lineMention   = regexp.MustCompile(`lines\[(\d+)\]`)
)

// lineLabels name a line's fields in error messages.
var lineLabels = map[string]string{"quantity": "quantity", "unitPrice": "unit price", "currency": "currency"}

// place puts each field error of err on its field. rows are the row
// numbers of the lines sent; docs[0] is the input for errors of the
// documents as a whole, docs[i+1] that of document i.
func (fe *formErrors) place(err error, rows []int, docs []string, labels map[string]string) {
	for _, f := range licensing.ErrorFields(err) {
		target, label := f.Field, labels[f.Field]
		msg := lineMention.ReplaceAllStringFunc(f.Message, func(m string) string {
			i, _ := strconv.Atoi(lineMention.FindStringSubmatch(m)[1])
			return "line " + strconv.Itoa(rowOf(rows, i))
		})
		msg = strings.ReplaceAll(msg, "termStart", "the term start")
		switch {
		case lineField.MatchString(f.Field):
			m := lineField.FindStringSubmatch(f.Field)
			i, _ := strconv.Atoi(m[1])
			n := strconv.Itoa(rowOf(rows, i))
			target, label = m[2]+"-"+n, "Line "+n+", product"
			if m[2] != "sku" {
				label = "Line " + n + ", " + lineLabels[m[2]]
			} else if strings.HasPrefix(msg, "is required") {
				// The form offers a select, not the part numbers the
				// API's message speaks of.
				msg = "is not chosen: choose the product, or empty the row's quantity"
			}
		case f.Field == "lines" || f.Field == "quantity" || f.Field == "unitPrice" || f.Field == "currency":
			target = "lines"
		case documentField.MatchString(f.Field):
			i, _ := strconv.Atoi(documentField.FindStringSubmatch(f.Field)[1])
			target = docs[0]
			if i+1 < len(docs) {
				target = docs[i+1]
			}
			label = labels[target]
		case f.Field == "documents":
			target, label = docs[0], labels["documents"]
		case f.Field == "requester.name" || f.Field == "requester.email":
			target = "requester" + strings.ToUpper(f.Field[10:11]) + f.Field[11:]
		}
		if label == "" {
			label = f.Field
		}
		fe.add(target, sentence(label, msg))
	}
}

// add puts message on the field with element id target and in the summary.
func (fe *formErrors) add(target, message string) {
	if fe.byID == nil {
		fe.byID = map[string]string{}
	}
	if prev := fe.byID[target]; prev != "" {
		fe.byID[target] = prev + " " + message
	} else {
		fe.byID[target] = message
	}
	fe.Summary = append(fe.Summary, summaryItem{Target: target, Message: message})
}

// sorted returns the summary in the order of the form's element ids
// (order, then the product rows by number); the summary links to the
// first radio button of a group, and to a row's select for the lines.
func (fe *formErrors) sorted(order []string) []summaryItem {
	rank := func(target string) int {
		base, n, _ := strings.Cut(target, "-")
		i := slices.Index(order, base)
		if base == "sku" || base == "quantity" {
			i = slices.Index(order, "lines")
		}
		if i < 0 {
			i = len(order)
		}
		row, _ := strconv.Atoi(n)
		return i*1000 + row
	}
	out := slices.Clone(fe.Summary)
	slices.SortStableFunc(out, func(a, b summaryItem) int { return rank(a.Target) - rank(b.Target) })
	for i := range out {
		switch out[i].Target {
		case "agreement":
			out[i].Target = "agreement-" + licensing.AgreementEnterprise
		case "renewal":
			out[i].Target = "renewal-no"
		case "activationScenario":
			out[i].Target = "activationScenario-" + licensing.ScenarioNewCustomer
		case "lines":
			out[i].Target = "sku-1"
		}
	}
	return out
}

// sentence joins a field's label and the service's message about it.
func sentence(label, msg string) string {
	first, _, _ := strings.Cut(msg, " ")
	switch first {
	case "is", "must", "has", "are", "was", "says":
		return label + " " + msg
	}
	return label + ": " + msg
}

// requestPath is the page of request id.
func requestPath(id string) string { return "/requests/" + url.PathEscape(id) }

// requestPage is a request's page.
type requestPage struct {
	SR                               licensing.ServiceRequest
	Notice                           string
	Status, StatusHelp               string
	Agreement, Scenario, Renewal     string
	TermEnd                          string
	Documents                        []documentView
	History                          []historyView
	Missing                          string
	Upload                           *uploadForm
	Activation                       *activationForm
	Summary                          []summaryItem
	Problem                          string
	ActionPath, DocumentsPath, Title string
}

// documentView is one document of a request.
type documentView struct {
	Kind, FileName, Size string
	Added                time.Time
}

// historyView is one entry of a request's history.
type historyView struct {
	At       time.Time
	By, What string
}

// uploadForm adds what a request is missing; a nil field is not asked.
type uploadForm struct {
	PONumber                       *formField
	Lines                          *lineRows
	PurchaseOrder, ActivationEmail *formField
}

// activationForm is an administrator's confirmation of the activation.
type activationForm struct {
	Note formField
}

// Element ids of the request page's forms in the order it shows them.
var requestOrder = []string{"poNumber", "lines", "purchaseOrder", "activationEmail", "note"}

// pageRequest serves GET /requests/{id}: the request, what it misses with
// the form to add it, and an administrator's confirmation form while it
// waits for activation.
func (s *Server) pageRequest(ctx context.Context, p *pageRequest) (*Response, error) {
	id := p.Params["id"]
	sr, err := s.intake.GetRequest(ctx, p.Caller, id)
	if err != nil {
		return nil, requestRefusal(p, id, err)
	}
	page, err := s.newRequestPage(ctx, p, sr, intake.IntakeRequest{}, nil)
	if err != nil {
		return nil, err
	}
	page.Notice = noticeText(p.Query["notice"], sr)
	return p.render(http.StatusOK, requestPageTemplate, page.Title, page)
}

// pageRequestDocuments serves POST /requests/{id}/documents: the upload
// form's multipart body goes through the API's decoder and CompleteRequest.
func (s *Server) pageRequestDocuments(ctx context.Context, p *pageRequest) (*Response, error) {
	id := p.Params["id"]
	in, err := s.decodeIntake(p.Request)
	if err != nil {
		return s.requestRefused(ctx, p, id, intake.IntakeRequest{}, nil, err)
	}
	form, rows := pageForm(in)
	res, err := s.intake.CompleteRequest(ctx, p.Caller, id, form)
	if licensing.ErrorCode(err) == licensing.Conflict {
		// The same form sent twice (a second click): the first made the
		// request complete, and the second finds its documents there.
		if sr, gerr := s.intake.GetRequest(ctx, p.Caller, id); gerr == nil && holdsAll(sr, form) {
			return redirect(requestPath(sr.ID) + "?notice=added"), nil
		}
	}
	if err != nil {
		return s.requestRefused(ctx, p, id, form, rows, err)
	}
	p.Log.Info("request completed from its page", "sr", res.Request.ID, "status", res.Request.Status, "queued", licensing.StepNames(res.Next))
	return redirect(requestPath(res.Request.ID) + "?notice=added"), nil
}

// holdsAll reports whether sr holds already everything add sends: its
// documents (same kind and content) and no PO number or lines of its own.
func holdsAll(sr licensing.ServiceRequest, add intake.IntakeRequest) bool {
	if len(add.Documents) == 0 || strings.TrimSpace(add.PONumber) != "" || len(add.Lines) > 0 {
		return false
	}
	for _, d := range add.Documents {
		sum := sha256.Sum256(d.Content)
		if !slices.ContainsFunc(sr.Documents, func(h licensing.Document) bool { return h.Kind == d.Kind && h.SHA256 == hex.EncodeToString(sum[:]) }) {
			return false
		}
	}
	return true
}

// pageRequestActivation serves POST /requests/{id}/activation: an
// administrator confirms the activation, as through the API.
func (s *Server) pageRequestActivation(ctx context.Context, p *pageRequest) (*Response, error) {
	id := p.Params["id"]
	if len(p.Body) > 16<<10 {
		return s.requestRefused(ctx, p, id, intake.IntakeRequest{}, nil,
			licensing.Errorf("pages.activation", licensing.TooLarge, "The note is too long; keep it under a page."))
	}
	sr, next, err := s.intake.ConfirmActivation(ctx, p.Caller, id, p.formValue("note"))
	if err != nil {
		return s.requestRefused(ctx, p, id, intake.IntakeRequest{}, nil, err)
	}
	p.Log.Info("activation confirmed from the request's page", "sr", sr.ID, "status", sr.Status, "queued", licensing.StepNames(next))
	return redirect(requestPath(sr.ID) + "?notice=activated"), nil
}

// requestRefused shows the request's page again with the problems of what
// was sent, in as pageForm gave it (422, 409 when the request is not in a state to take it, 413 for
// its size); other errors become the error page.
func (s *Server) requestRefused(ctx context.Context, p *pageRequest, id string, in intake.IntakeRequest, rows []int, err error) (*Response, error) {
	switch licensing.ErrorCode(err) {
	case licensing.Invalid, licensing.Conflict, licensing.TooLarge:
	default:
		return nil, requestRefusal(p, id, err)
	}
	sr, gerr := s.intake.GetRequest(ctx, p.Caller, id)
	if gerr != nil {
		return nil, requestRefusal(p, id, gerr)
	}
	page, perr := s.newRequestPage(ctx, p, sr, in, rows)
	if perr != nil {
		return nil, perr
	}
	var fe formErrors
	first := "note"
	if page.Upload != nil {
		first = page.Upload.firstID()
	}
	fe.place(err, rows, documentTargets(in.Documents, first), intakeLabels)
	if licensing.ErrorCode(err) == licensing.TooLarge {
		fe.add(first, licensing.ErrorMessage(err))
	} else if len(fe.Summary) == 0 {
		page.Problem = licensing.ErrorMessage(err)
	}
	page.Summary = fe.sorted(requestOrder)
	if u := page.Upload; u != nil {
		for _, f := range []*formField{u.PONumber, u.PurchaseOrder, u.ActivationEmail} {
			if f != nil {
				f.Error = fe.byID[f.ID]
			}
		}
		if u.Lines != nil {
			u.Lines.setErrors(fe.byID)
		}
	}
	if page.Activation != nil {
		page.Activation.Note.Error = fe.byID["note"]
	}
	return p.render(StatusOf(err), requestPageTemplate, page.Title, page)
}

// requestRefusal turns the NotFound the service answers for a request of
// an agency the caller does not act for into Forbidden, saying whose it is:
// the answer is the same whether such a request exists or not.
func requestRefusal(p *pageRequest, id string, err error) error {
	agency := licensing.RequestIDAgency(strings.TrimSpace(id))
	if licensing.ErrorCode(err) == licensing.NotFound && agency != "" && !p.Access.CanActFor(agency) {
		return licensing.Errorf("pages.request", licensing.Forbidden,
			"Request %s is one of %s's: only its delegates, the person who sent it and central IT may open it.", licensing.Truncate(id), agency)
	}
	return err
}

// newRequestPage builds sr's page; in holds what the upload form sent
// (shown again), rows the row numbers of its lines.
func (s *Server) newRequestPage(ctx context.Context, p *pageRequest, sr licensing.ServiceRequest, in intake.IntakeRequest, rows []int) (requestPage, error) {
	status, help := statusText(sr)
	page := requestPage{
		SR: sr, Status: status, StatusHelp: help, Title: "Request " + sr.ID,
		Agreement: wordsFor(sr.Agreement), Scenario: scenarioText(sr.Scenario), Renewal: "No",
		TermEnd:       sr.TermEnd.String(),
		ActionPath:    requestPath(sr.ID) + "/activation",
		DocumentsPath: requestPath(sr.ID) + "/documents",
	}
	if sr.Renewal {
		page.Renewal = "Yes"
	}
	for _, d := range sr.Documents {
		page.Documents = append(page.Documents, documentView{Kind: wordsFor(d.Kind), FileName: d.FileName, Size: sizeText(d.Size), Added: d.Added})
	}
	for _, t := range sr.History {
		page.History = append(page.History, historyView{At: t.At, By: t.By, What: transitionText(t)})
	}
	if sr.Status == licensing.StatusNeedsInformation {
		page.Missing = intake.MissingText(sr.Missing)
		u, err := s.uploadForm(ctx, p, sr, in, rows)
		if err != nil {
			return requestPage{}, err
		}
		page.Upload = u
	}
	if p.Access.Admin && (sr.Status == licensing.StatusRecorded || sr.Status == licensing.StatusAwaitingActivation) {
		page.Activation = &activationForm{Note: formField{ID: "note", Label: "Note", Type: "text", Value: strings.TrimSpace(p.formValueIfPost("note")),
			Hint: "Optional: how you know the licenses are active, such as \"seen in the admin center\". It goes into the request's history."}}
	}
	return page, nil
}

// formValueIfPost is a field of the form posted, or "" for a GET.
func (p *pageRequest) formValueIfPost(name string) string {
	if p.Method != http.MethodPost {
		return ""
	}
	return p.formValue(name)
}

// uploadForm asks for what sr misses: its PO number, its products, and the
// documents (both when the request needs corrections rather than a
// document).
func (s *Server) uploadForm(ctx context.Context, p *pageRequest, sr licensing.ServiceRequest, in intake.IntakeRequest, rows []int) (*uploadForm, error) {
	u := &uploadForm{}
	missing := func(m string) bool { return slices.Contains(sr.Missing, m) }
	if missing(licensing.MissingPONumber) {
		u.PONumber = &formField{ID: "poNumber", Label: "PO number", Type: "text", Value: in.PONumber, Hint: "As on the purchase order, such as 4500012345."}
	}
	if missing(licensing.MissingLines) {
		choices, err := s.intake.FormChoices(ctx, p.Caller)
		if err != nil {
			return nil, err
		}
		l := newLineRows(choices, in.Lines, rows)
		u.Lines = &l
	}
	needPO, needEmail := missing(licensing.MissingPurchaseOrder), missing(licensing.MissingActivationEmail)
	if !needPO && !needEmail && u.PONumber == nil && u.Lines == nil {
		needPO, needEmail = true, true
	}
	if needPO {
		u.PurchaseOrder = &formField{ID: "purchaseOrder", Label: "Purchase order", Type: "file", Accept: intake.AcceptedFiles(licensing.DocPurchaseOrder),
			Hint: "A PDF, or a scan as PNG, JPEG or TIFF."}
	}
	if needEmail {
		u.ActivationEmail = &formField{ID: "activationEmail", Label: "Microsoft's activation email", Type: "file", Accept: intake.AcceptedFiles(licensing.DocActivationEmail),
			Hint: "The email itself (.eml or .msg, saved from Outlook), a PDF of it or a screenshot."}
	}
	return u, nil
}

// firstID is the element id of the upload form's first input.
func (u *uploadForm) firstID() string {
	switch {
	case u.PONumber != nil:
		return u.PONumber.ID
	case u.Lines != nil:
		return "lines"
	case u.PurchaseOrder != nil:
		return u.PurchaseOrder.ID
	}
	return "activationEmail"
}

// statusWords name each status and say what happens next.
var statusWords = map[string][2]string{
	licensing.StatusReceiving:          {"Being received", "The submission was cut short while its documents were stored. Send the form again with the same content to finish it."},
	licensing.StatusSubmitted:          {"Submitted", "The workflow checks the documents and the products next."},
	licensing.StatusNeedsInformation:   {"Needs information", "On hold until what is missing is added (below); then it goes on by itself."},
	licensing.StatusValidated:          {"Checked", "The documents are intact and the products known. The purchase is recorded in the ledger next."},
	licensing.StatusRecorded:           {"Recorded", "The ledger lines are written and count once the licenses are active. Central IT is asked to activate them next."},
	licensing.StatusAwaitingActivation: {"Waiting for activation", "Central IT activates the licenses from Microsoft's activation email. The app watches the tenant and moves on when the seats appear."},
	licensing.StatusActivated:          {"Activated", "The licenses are active and count for the agency. The agency is told next."},
	licensing.StatusClosed:             {"Closed", "The licenses are active and count in the agency's reports. The agency was told."},
	licensing.StatusFailed:             {"Failed", ""},
}

// statusText says a request's status in words, and what happens next (for
// a failed request, why it failed).
func statusText(sr licensing.ServiceRequest) (string, string) {
	w, ok := statusWords[sr.Status]
	switch {
	case !ok:
		return sr.Status, ""
	case sr.Status == licensing.StatusFailed:
		return w[0], sr.Failure
	}
	return w[0], w[1]
}

// transitionText says what an entry of the history did.
func transitionText(t licensing.Transition) string {
	if t.From == t.To {
		return t.Why
	}
	what, _ := statusText(licensing.ServiceRequest{Status: t.To})
	if t.Why != "" {
		what += ": " + t.Why
	}
	return what
}

// noticeText is the sentence shown after a form was accepted; code names
// what happened (the notice query parameter of the redirect).
func noticeText(code string, sr licensing.ServiceRequest) string {
	switch code {
	case licensing.StatusSubmitted:
		return fmt.Sprintf("Your purchase order is submitted as request %s. You will get an email when the licenses are available.", sr.ID)
	case licensing.StatusNeedsInformation:
		return fmt.Sprintf("Request %s is saved, and on hold until we have %s. Add what is missing below.", sr.ID, intake.MissingText(sr.Missing))
	case "received-before":
		return fmt.Sprintf("This purchase order was sent before, as request %s; nothing new was saved.", sr.ID)
	case "added":
		if sr.Status == licensing.StatusNeedsInformation {
			return "What you sent was added. Still missing: " + intake.MissingText(sr.Missing) + "."
		}
		return "What you sent was added. The request is complete and goes on by itself."
	case "activated":
		return fmt.Sprintf("The activation is confirmed: the licenses count for %s, and the agency is told.", sr.Agency)
	}
	return ""
}

// inWords names agreements and document kinds for people.
var inWords = map[string]string{
	licensing.AgreementEnterprise: "Enterprise Agreement", licensing.AgreementALaCarte: "À la carte", licensing.AgreementCSP: "CSP subscription",
	licensing.DocPurchaseOrder: "Purchase order", licensing.DocActivationEmail: "Activation email",
}

// wordsFor is code in words, or code itself when it has none.
func wordsFor(code string) string {
	if w, ok := inWords[code]; ok {
		return w
	}
	return code
}

func scenarioText(sc string) string {
	for _, c := range scenarioChoices() {
		if c.Value == sc {
			return c.Label + ". " + c.Hint
		}
	}
	return sc
}

// sizeText writes a file size in bytes, KB or MB.
func sizeText(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d bytes", n)
	case n < 1<<20:
		return fmt.Sprintf("%.0f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}
