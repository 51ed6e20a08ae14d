package intake

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// MissingText says in words what the missing items are and how to send them
// (the PO, the activation email, or both).
func MissingText(missing []string) string {
	var parts []string
	for _, m := range missing {
		switch m {
		case licensing.MissingPurchaseOrder:
			parts = append(parts, "the purchase order (a PDF, or a scan as PNG, JPEG or TIFF)")
		case licensing.MissingActivationEmail:
			parts = append(parts, "Microsoft's activation email (the .eml or .msg file, or a PDF of it)")
		case licensing.MissingPONumber:
			parts = append(parts, "the PO number")
		case licensing.MissingLines:
			parts = append(parts, "the products and quantities bought (as on the PO)")
		case "corrections":
			parts = append(parts, "corrections for the problems listed in the request's history")
		}
	}
	switch len(parts) {
	case 0:
		return "nothing"
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// intakeMessage is the sentence an intake answer carries.
func intakeMessage(sr licensing.ServiceRequest, appURL string) string {
	switch sr.Status {
	case licensing.StatusNeedsInformation:
		base := strings.TrimRight(appURL, "/")
		return fmt.Sprintf("Service request %s is on hold until we have %s. Add them on the request's page, %s, or POST the files to %s/api/service-requests/%s/documents, and it will go on by itself.",
			sr.ID, MissingText(sr.Missing), RequestPage(appURL, sr.ID), base, sr.ID)
	case licensing.StatusSubmitted:
		return fmt.Sprintf("Service request %s for PO %s is submitted. Central IT will route it for activation; you will get an email when the licenses are available.", sr.ID, sr.PONumber)
	}
	return fmt.Sprintf("Service request %s for PO %s was received before and is %s.", sr.ID, sr.PONumber, sr.Status)
}

// scenarioInstruction tells central IT which button of the activation email
// to use. The choice is one time and cannot be undone.
func scenarioInstruction(scenario string) string {
	switch scenario {
	case licensing.ScenarioNewCustomer:
		return "Scenario: new online services customer (never had an Office 365 trial). Choose SIGN UP in the activation email."
	case licensing.ScenarioTrialKeepData:
		return "Scenario: trial customer keeping the trial's data, settings and onmicrosoft.com domain. Choose SIGN IN with the trial's account; the trial becomes the paid subscription."
	case licensing.ScenarioTrialFresh:
		return "Scenario: trial customer wanting a wholly new subscription without the trial's data. Choose SIGN UP in the activation email."
	case licensing.ScenarioBypass:
		return "Scenario: bypass customer (BPOS-S bought through volume licensing but never activated). Either SIGN UP (like a new customer) or SIGN IN (to associate the existing account) works; choose SIGN IN to keep the existing account."
	}
	return "Scenario: not stated. Ask the agency before choosing Sign Up or Sign In."
}

func linesText(sr licensing.ServiceRequest) string {
	var b strings.Builder
	for _, l := range sr.Lines {
		name := l.Product
		if name == "" {
			name = l.PartNumberOrSKU()
		}
		fmt.Fprintf(&b, "  - %d × %s (%s)\n", l.Quantity, name, l.PartNumberOrSKU())
	}
	return b.String()
}

func requestSummary(sr licensing.ServiceRequest) string {
	renewal := "no"
	if sr.Renewal {
		renewal = "yes"
	}
	return fmt.Sprintf("Agency: %s\nPO number: %s\nReseller: %s\nAgreement: %s (renewal: %s)\nTerm: %s to %s\nRequested by: %s <%s>\nProducts:\n%s",
		sr.Agency, sr.PONumber, orDash(sr.Reseller), sr.Agreement, renewal, sr.TermStart, sr.TermEnd, sr.Requester.Name, sr.Requester.Email, linesText(sr))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// RequestPage is the address of a request's page on the site at appURL,
// where a person reads it, adds what is missing and confirms its activation.
func RequestPage(appURL, id string) string {
	return strings.TrimRight(appURL, "/") + "/requests/" + url.PathEscape(id)
}

// requestLink is the address of sr's page, for the links in mail.
func (s *Service) requestLink(sr licensing.ServiceRequest) string {
	return RequestPage(s.cfg.Workflow.AppURL, sr.ID)
}

// apiPath is the API route of sr, named in mail for scripts (a path, not a
// link: a browser cannot send the POSTs it takes).
func apiPath(sr licensing.ServiceRequest) string {
	return "/api/service-requests/" + url.PathEscape(sr.ID)
}

// documentAttachments attaches the request's documents of the given kinds.
func (s *Service) documentAttachments(sr licensing.ServiceRequest, kinds ...string) []licensing.Attachment {
	var out []licensing.Attachment
	for _, d := range sr.Documents {
		for _, k := range kinds {
			if d.Kind != k {
				continue
			}
			blob := d.Blob
			out = append(out, licensing.Attachment{Name: d.FileName, ContentType: d.ContentType, Size: d.Size,
				Open: func(ctx context.Context) (io.ReadCloser, error) { return s.cfg.Files.Open(ctx, blob) }})
		}
	}
	return out
}

// routeMail asks central IT to activate the licenses through the link in
// Microsoft's activation email.
func (s *Service) routeMail(ctx context.Context, sr licensing.ServiceRequest) (licensing.MailMessage, error) {
	text := fmt.Sprintf(`Service request %s is ready for activation.

%s
%s
Sign Up and Sign In are a one-time choice that cannot be undone: check the scenario before clicking.

Activate from the link in Microsoft's activation email (attached with the PO). The app watches the tenant and
moves the request on by itself when the seats appear. If they do not show up, confirm the activation by hand
on the request's page (a script: POST %s/activation):
  %s
`, sr.ID, requestSummary(sr), scenarioInstruction(sr.Scenario), apiPath(sr), s.requestLink(sr))
	return licensing.MailMessage{
		To:          s.cfg.Workflow.CentralIT,
		Subject:     fmt.Sprintf("Ready for activation: %s PO %s (%s)", sr.Agency, sr.PONumber, sr.ID),
		Text:        text,
		Attachments: s.documentAttachments(sr, licensing.DocPurchaseOrder, licensing.DocActivationEmail),
	}, nil
}

// timeoutMail tells central IT the seats did not appear in time.
func (s *Service) timeoutMail(ctx context.Context, sr licensing.ServiceRequest) (licensing.MailMessage, error) {
	text := fmt.Sprintf(`The seats of service request %s have not appeared in the tenant since it was routed for activation%s.

%s
Either the activation has not been done yet (see the activation email), or it went to another tenant.
When the licenses are active, confirm by hand on the request's page (a script: POST %s/activation):
  %s
`, sr.ID, s.movedAt(sr, licensing.StatusAwaitingActivation), requestSummary(sr), apiPath(sr), s.requestLink(sr))
	return licensing.MailMessage{To: s.cfg.Workflow.CentralIT, Subject: fmt.Sprintf("Activation not seen: %s PO %s (%s)", sr.Agency, sr.PONumber, sr.ID), Text: text}, nil
}

// closedMail tells the agency its licenses are available.
func (s *Service) closedMail(ctx context.Context, sr licensing.ServiceRequest) (licensing.MailMessage, error) {
	a, err := s.cfg.Agencies.GetAgency(ctx, sr.Agency)
	if err != nil && licensing.ErrorCode(err) != licensing.NotFound {
		return licensing.MailMessage{}, err
	}
	to := append([]string(nil), a.Contacts...)
	if !slices.Contains(to, sr.Requester.Email) {
		to = append(to, sr.Requester.Email)
	}
	text := fmt.Sprintf(`The licenses of purchase order %s are active in the tenant and recorded for %s.

%s
They count in %s's license reports from now on. Service request %s is closed:
  %s
`, sr.PONumber, sr.Agency, requestSummary(sr), sr.Agency, sr.ID, s.requestLink(sr))
	return licensing.MailMessage{To: to, Subject: fmt.Sprintf("Licenses available: PO %s (%s)", sr.PONumber, sr.ID), Text: text}, nil
}

// needsInformationMail tells the requester what to send.
func (s *Service) needsInformationMail(ctx context.Context, sr licensing.ServiceRequest) (licensing.MailMessage, error) {
	why := ""
	if len(sr.History) > 0 {
		why = sr.History[len(sr.History)-1].Why
	}
	text := fmt.Sprintf(`Service request %s (PO %s) is on hold.

To go on we need %s.
%s
Add them on the request's page and it moves on by itself:
  %s
(A script sends the files to POST %s/documents.)

%s`, sr.ID, orDash(sr.PONumber), MissingText(sr.Missing), whyLine(why), s.requestLink(sr), apiPath(sr), requestSummary(sr))
	return licensing.MailMessage{To: []string{sr.Requester.Email}, Subject: fmt.Sprintf("Information needed: service request %s", sr.ID), Text: text}, nil
}

func whyLine(why string) string {
	if why == "" {
		return ""
	}
	return "Details: " + why + "\n"
}

// failedMail tells central IT a request failed.
func (s *Service) failedMail(ctx context.Context, sr licensing.ServiceRequest) (licensing.MailMessage, error) {
	text := fmt.Sprintf("Service request %s failed%s and needs a person.\n\n%s\n%s\nRequest: %s\n", sr.ID, s.movedAt(sr, licensing.StatusFailed), sr.Failure, requestSummary(sr), s.requestLink(sr))
	return licensing.MailMessage{To: s.cfg.Workflow.CentralIT, Subject: fmt.Sprintf("Failed: service request %s (%s PO %s)", sr.ID, sr.Agency, sr.PONumber), Text: text}, nil
}
