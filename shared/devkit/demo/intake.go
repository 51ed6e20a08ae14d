package demo

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shared-tenant/licensetrack/shared/blobstore"
	"github.com/shared-tenant/licensetrack/shared/devkit/demotenant"
	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/ledger"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// demoLedger imports what the agencies bought before this app, as the
// legacy tracking spreadsheet (CSV) would hold it: a dry run, then the
// import. One row is wrong on purpose.
func demoLedger(ctx context.Context, api *demoClient, gen *demotenant.Generator, out io.Writer, step func(string, ...any)) error {
	var b strings.Builder
	b.WriteString("Agency,PO Number,Product,Quantity,Term Start,Term End,Agreement,Unit Price,Currency\r\n")
	for _, a := range gen.Agencies() {
		for _, p := range a.Purchases {
			start, end, agreement := "2026-07-01", "2027-06-30", licensing.AgreementALaCarte
			if p.SKU.PartNumber == "ENTERPRISEPACK" || p.SKU.PartNumber == "ENTERPRISEPREMIUM" || p.SKU.PartNumber == "SPE_E3" {
				start, end, agreement = "2025-07-01", "2028-06-30", licensing.AgreementEnterprise // a three-year enterprise agreement
			}
			price, currency := demoPrices[p.SKU.PartNumber], ""
			if price != "" {
				currency = "USD"
			}
			fmt.Fprintf(&b, "%s,LEGACY-%s-%s,%s,%d,%s,%s,%s,%s,%s\r\n", a.ID, a.ID, strings.ReplaceAll(p.SKU.PartNumber, "_", ""), p.SKU.PartNumber, p.Quantity, start, end, agreement, price, currency)
		}
	}
	b.WriteString("DOA,LEGACY-DOA-VISIO2013,Visio Professional 2013,5,2026-07-01,2027-06-30,a-la-carte,,\r\n")
	csv := []byte(b.String())

	for _, commit := range []bool{false, true} {
		status, resp, err := api.send(ctx, http.MethodPost, fmt.Sprintf("/purchases/import?commit=%v&fileName=license-tracking.csv", commit), "text/csv", csv)
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return fmt.Errorf("POST /api/purchases/import answered %d: %s", status, resp)
		}
		var res ledger.ImportResult
		if err := json.Unmarshal(resp, &res); err != nil {
			return err
		}
		if commit {
			step("POST /api/purchases/import?commit=true (the legacy tracking sheet): %d rows, %d imported, %d already imported, %d rejected",
				res.Rows, res.Imported, res.AlreadyImported, res.Rejected)
		} else {
			step("POST /api/purchases/import (dry run of the legacy tracking sheet): %d rows, %d would be imported, %d already imported, %d rejected",
				res.Rows, res.Imported, res.AlreadyImported, res.Rejected)
		}
		if commit {
			continue
		}
		for _, r := range res.Outcomes {
			if r.Outcome == ledger.ImportRejected {
				fmt.Fprintf(out, "    row %d rejected: %s\n", r.Row, r.Reason)
			}
		}
	}
	return nil
}

// demoPO is one demo purchase order.
type demoPO struct {
	agency, po, sku, part, scenario string
	quantity                        int
	withEmail                       bool
}

// line is the purchase order's one line, with its unit price (USD) when
// the demo quotes one for the product.
func (p demoPO) line() map[string]any {
	l := map[string]any{"sku": p.part, "quantity": p.quantity}
	if price := demoPrices[p.part]; price != "" {
		l["unitPrice"], l["currency"] = price, "USD"
	}
	return l
}

func (p demoPO) body(requester string) []byte {
	docs := []map[string]string{{"kind": "purchase-order", "fileName": "PO-" + p.po + ".pdf", "contentType": "application/pdf",
		"contentBase64": base64.StdEncoding.EncodeToString(fakes.PDF)}}
	if p.withEmail {
		docs = append(docs, map[string]string{"kind": "activation-email", "fileName": "activation.eml", "contentType": "message/rfc822",
			"contentBase64": base64.StdEncoding.EncodeToString(fakes.EML)})
	}
	b, _ := json.Marshal(map[string]any{
		"agency": p.agency, "poNumber": p.po, "reseller": "SHI", "agreement": "a-la-carte", "renewal": false,
		"activationScenario": p.scenario, "termStart": "2026-08-01",
		"requester": map[string]string{"name": "Demo Requester", "email": requester},
		"lines":     []map[string]any{p.line()},
		"documents": docs,
	})
	return b
}

// demoPurchaseOrders submits three purchase orders (complete, missing its
// activation email, and the first one again) and follows them to closed:
// the first is activated in the tenant and found by the workflow, the
// second is completed with its email and confirmed by an admin.
func demoPurchaseOrders(ctx context.Context, api *demoClient, a Env, gen *demotenant.Generator, out io.Writer, step func(string, ...any)) error {
	delegate := func(id string) string {
		for _, ag := range gen.Agencies() {
			if ag.ID == id && len(ag.Delegates) > 0 {
				return ag.Delegates[0]
			}
		}
		return api.caller
	}
	// PO numbers differ from run to run, so the demo can be run again.
	base := time.Now().Unix() % 100000000
	complete := demoPO{agency: "DNR", po: fmt.Sprintf("45%08d", base), sku: demotenant.Visio.ID, part: "VISIOCLIENT", scenario: "trial-keep-data", quantity: 20, withEmail: true}
	partial := demoPO{agency: "DHS", po: fmt.Sprintf("46%08d", base), sku: demotenant.PowerBIPro.ID, part: "POWER_BI_PRO", scenario: "new-customer", quantity: 15}

	submit := func(p demoPO, label string) (string, error) {
		as := api.as(delegate(p.agency))
		status, resp, err := as.send(ctx, http.MethodPost, "/purchase-orders", "application/json", p.body(as.caller))
		if err != nil {
			return "", err
		}
		var r struct {
			ID, Status, Message string
			Missing             []string
		}
		json.Unmarshal(resp, &r)
		if status != http.StatusCreated && status != http.StatusOK {
			return "", fmt.Errorf("POST /api/purchase-orders (%s) answered %d: %s", label, status, resp)
		}
		step("POST /api/purchase-orders (%s, as %s) -> %d %s %s", label, as.caller, status, r.ID, r.Status)
		fmt.Fprintf(out, "    %s\n", r.Message)
		return r.ID, nil
	}
	first, err := submit(complete, "complete")
	if err != nil {
		return err
	}
	second, err := submit(partial, "missing the activation email")
	if err != nil {
		return err
	}
	if again, err := submit(complete, "the first one sent again"); err != nil {
		return err
	} else if again != first {
		return fmt.Errorf("a resubmission created %s instead of returning %s", again, first)
	}

	if err := waitStatus(ctx, api, first, licensing.StatusAwaitingActivation); err != nil {
		return err
	}
	step("%s is awaiting activation; central IT clicks the activation link: %d %s seats appear in the tenant", first, complete.quantity, complete.part)
	a.Tenant.Tenant().AddSeats(complete.sku, complete.part, complete.quantity)
	if err := waitStatus(ctx, api, first, licensing.StatusClosed); err != nil {
		return err
	}

	var form bytes.Buffer
	b, _ := json.Marshal(map[string]any{"documents": []map[string]string{{"kind": "activation-email", "fileName": "activation.eml",
		"contentType": "message/rfc822", "contentBase64": base64.StdEncoding.EncodeToString(fakes.EML)}}})
	form.Write(b)
	as := api.as(delegate(partial.agency))
	status, resp, err := as.send(ctx, http.MethodPost, "/service-requests/"+second+"/documents", "application/json", form.Bytes())
	if err != nil {
		return err
	}
	step("POST /api/service-requests/%s/documents (the activation email) -> %d", second, status)
	if status != http.StatusOK {
		return fmt.Errorf("adding documents answered %d: %s", status, resp)
	}
	if err := waitStatus(ctx, api, second, licensing.StatusAwaitingActivation); err != nil {
		return err
	}
	status, resp, err = api.send(ctx, http.MethodPost, "/service-requests/"+second+"/activation", "application/json",
		[]byte(`{"note": "activated in the admin center; seats arrive with the next billing sync"}`))
	if err != nil {
		return err
	}
	step("POST /api/service-requests/%s/activation (admin confirms) -> %d", second, status)
	if status != http.StatusOK {
		return fmt.Errorf("confirming answered %d: %s", status, resp)
	}
	if err := waitStatus(ctx, api, second, licensing.StatusClosed); err != nil {
		return err
	}

	for _, id := range []string{first, second} {
		_, resp, err := api.do(ctx, http.MethodGet, "/service-requests/"+id, nil)
		if err != nil {
			return err
		}
		var sr licensing.ServiceRequest
		if err := json.Unmarshal(resp, &sr); err != nil {
			return err
		}
		fmt.Fprintf(out, "\n  %s (%s PO %s): %s\n", sr.ID, sr.Agency, sr.PONumber, sr.Status)
		for _, h := range sr.History {
			fmt.Fprintf(out, "    %s  %-20s by %-34s %s\n", h.At.Format("15:04:05"), h.To, licensing.TruncateTo(h.By, 34), licensing.TruncateTo(h.Why, 70))
		}
	}

	today := time.Now().UTC().Format(time.DateOnly)
	_, resp, err = api.do(ctx, http.MethodGet, "/purchases?on="+today, nil)
	if err != nil {
		return err
	}
	var ledger struct {
		Count        int                     `json:"count"`
		Entitlements []licensing.Entitlement `json:"entitlements"`
	}
	if err := json.Unmarshal(resp, &ledger); err != nil {
		return err
	}
	step("GET /api/purchases?on=%s -> %d ledger lines; entitlements of the agencies above:", today, ledger.Count)
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "    AGENCY\tPRODUCT\tIN FORCE TODAY\tLINES")
	for _, e := range ledger.Entitlements {
		if e.Agency == complete.agency || e.Agency == partial.agency {
			fmt.Fprintf(tw, "    %s\t%s\t%d\t%d\n", e.Agency, e.PartNumber, e.Quantity, len(e.Lines))
		}
	}
	tw.Flush()
	return printOutbox(ctx, a, out)
}

// waitStatus polls a service request until it reaches status (the harness
// runs the queue meanwhile).
func waitStatus(ctx context.Context, api *demoClient, id, status string) error {
	deadline := time.Now().Add(90 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		_, resp, err := api.do(ctx, http.MethodGet, "/service-requests/"+id, nil)
		if err != nil {
			return err
		}
		var sr struct{ Status string }
		json.Unmarshal(resp, &sr)
		if sr.Status == status {
			return nil
		}
		if sr.Status == licensing.StatusFailed {
			return fmt.Errorf("service request %s failed: %s", id, resp)
		}
		last = sr.Status
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("service request %s is still %s after 90 s, not %s", id, last, status)
}

// printOutbox lists the mail the demo sent (MAIL_MODE=outbox).
func printOutbox(ctx context.Context, a Env, out io.Writer) error {
	var names []string
	day := time.Now().UTC().Format(time.DateOnly)
	err := a.Blobs.List(ctx, "outbox/"+day+"/", func(b blobstore.BlobInfo) error {
		names = append(names, b.Name)
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(names)
	fmt.Fprintf(out, "\n  Mail sent today (blob outbox/%s/, one .eml per message):\n", day)
	for _, n := range names {
		rc, err := a.Blobs.Open(ctx, n)
		if err != nil {
			return err
		}
		head, _ := io.ReadAll(io.LimitReader(rc, 4096))
		rc.Close()
		fmt.Fprintf(out, "    %-52s %s\n", licensing.TruncateTo(n[strings.LastIndexByte(n, '/')+1:], 52), headerOf(head, "Subject"))
	}
	return nil
}

func headerOf(msg []byte, name string) string {
	for _, line := range strings.Split(string(msg), "\r\n") {
		if line == "" {
			break
		}
		if strings.HasPrefix(strings.ToLower(line), strings.ToLower(name)+":") {
			return strings.TrimSpace(line[len(name)+1:])
		}
	}
	return ""
}
