package intake_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/intake"
	"github.com/shared-tenant/licensetrack/shared/ledger"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

type intakeFixture struct {
	svc    *intake.Service
	auth   *licensing.Authorizer
	store  *memstore.Store
	dir    *fakes.Directory
	mail   *fakes.Mailbox
	later  *fakes.Steps
	clock  time.Time
	admin  *licensing.Principal
	doaRep *licensing.Principal
}

func newIntakeFixture(t *testing.T) *intakeFixture {
	t.Helper()
	return newIntakeFixtureWith(t, nil)
}

// newIntakeFixtureWith builds the fixture with its request store passed
// through wrap (when not nil).
func newIntakeFixtureWith(t *testing.T, wrap func(licensing.RequestStore) licensing.RequestStore) *intakeFixture {
	t.Helper()
	f := &intakeFixture{store: memstore.New(), dir: fakes.NewDirectory(), mail: &fakes.Mailbox{}, later: &fakes.Steps{},
		clock: time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC), admin: &licensing.Principal{Name: fakes.Admin},
		doaRep: &licensing.Principal{Name: fakes.Delegate}}
	n := 0
	var requests licensing.RequestStore = f.store
	if wrap != nil {
		requests = wrap(f.store)
	}
	f.auth = licensing.NewAuthorizer(f.store, []string{fakes.Admin}, false)
	f.svc = intake.NewService(intake.Config{
		Auth: f.auth, Agencies: f.store, Files: f.store, Directory: f.dir,
		Purchases: f.store, Requests: requests, Steps: f.later, Mailer: f.mail, Catalog: fakes.BuiltinCatalog{},
		Effects:  licensing.NewEffects(f.store, f.now, 0),
		Workflow: intake.Workflow{CentralIT: []string{fakes.CentralIT}, AppURL: "https://func.example.net", CheckEvery: 6 * time.Hour, WaitFor: 48 * time.Hour},
		Location: mailZone(t),
		Now:      f.now,
		NewID:    func() string { n++; return fmt.Sprintf("%032x", n) },
	})
	if err := fakes.PutAgencies(context.Background(), licensing.NewAgencyAdmin(f.store, f.auth, f.now), fakes.Agencies()...); err != nil {
		t.Fatal(err)
	}
	return f
}

// now ticks the clock a second and returns it.
func (f *intakeFixture) now() time.Time {
	f.clock = f.clock.Add(time.Second)
	return f.clock
}

func completePO() intake.IntakeRequest {
	return intake.IntakeRequest{
		Agency: "doa", PONumber: "4500012345", Reseller: "SHI", Agreement: licensing.AgreementALaCarte,
		ActivationScenario: licensing.ScenarioNewCustomer, TermStart: "2026-08-01",
		Requester: licensing.Person{Name: "Pat Doe", Email: "Pat.Doe@doa.example.gov"},
		Lines:     []intake.IntakeLine{{SKU: "VISIOCLIENT", Quantity: "25"}, {SKU: "f8a1db68-be16-40ed-86d5-cb42ce701560", Quantity: "10"}},
		Documents: []intake.IntakeDocument{
			{Kind: licensing.DocPurchaseOrder, FileName: `C:\Users\pat\..\PO-4500012345.pdf`, ContentType: "application/pdf", Content: fakes.PDF},
			{Kind: licensing.DocActivationEmail, FileName: "activation.eml", ContentType: "message/rfc822", Content: fakes.EML},
		},
	}
}

func TestSubmitCompletePurchaseOrder(t *testing.T) {
	f := newIntakeFixture(t)
	res, err := f.svc.SubmitPurchaseOrder(context.Background(), f.doaRep, completePO())
	if err != nil {
		t.Fatal(err)
	}
	sr := res.Request
	if !res.Created || sr.Status != licensing.StatusSubmitted || len(sr.Missing) != 0 {
		t.Fatalf("result = created %v, status %s, missing %v", res.Created, sr.Status, sr.Missing)
	}
	if diff := cmp.Diff([]licensing.Step{{SR: sr.ID, Step: licensing.StepValidate}}, res.Next); diff != "" {
		t.Errorf("next (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(sr.ID, "DOA-") || licensing.RequestIDAgency(sr.ID) != "DOA" {
		t.Errorf("id = %q", sr.ID)
	}
	// The term defaults to the next fiscal-year end; products are resolved.
	if sr.TermEnd.String() != "2027-06-30" || sr.Lines[0].SkuID != "c5928f49-12ba-48f7-ada3-0d743a3601d5" || sr.Lines[1].PartNumber != "POWER_BI_PRO" {
		t.Errorf("term end %s, lines %+v", sr.TermEnd, sr.Lines)
	}
	// Documents are stored under server-chosen names; the client's path is
	// only a display name.
	for _, d := range sr.Documents {
		if !strings.HasPrefix(d.Blob, "documents/DOA/"+sr.ID+"/") || strings.Contains(d.Blob, "..") || strings.Contains(d.Blob, "Users") {
			t.Errorf("blob name %q", d.Blob)
		}
		rc, err := f.store.Open(context.Background(), d.Blob)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		if d.Size != int64(len(b)) || len(d.SHA256) != 64 {
			t.Errorf("document %s: size %d of %d bytes, sha %q", d.Kind, d.Size, len(b), d.SHA256)
		}
	}
	if sr.Documents[0].FileName != "PO-4500012345.pdf" {
		t.Errorf("file name = %q", sr.Documents[0].FileName)
	}
	if sr.Requester.Email != "pat.doe@doa.example.gov" || sr.CreatedBy != "pat.doe@doa.example.gov" {
		t.Errorf("requester %+v, created by %s", sr.Requester, sr.CreatedBy)
	}
}

func TestSubmitIncompleteAsksForWhatIsMissing(t *testing.T) {
	f := newIntakeFixture(t)
	in := completePO()
	in.Documents = in.Documents[:1]
	res, err := f.svc.SubmitPurchaseOrder(context.Background(), f.doaRep, in)
	if err != nil {
		t.Fatal(err)
	}
	sr := res.Request
	if sr.Status != licensing.StatusNeedsInformation || !cmp.Equal(sr.Missing, []string{licensing.MissingActivationEmail}) {
		t.Fatalf("status %s missing %v", sr.Status, sr.Missing)
	}
	if !strings.Contains(res.Message, "activation email") || !strings.Contains(res.Message, "/documents") {
		t.Errorf("message = %q", res.Message)
	}
	// The notify step tells the requester, once.
	for i := 0; i < 2; i++ {
		if err := f.svc.RunStep(context.Background(), res.Next[0], nil); err != nil {
			t.Fatal(err)
		}
	}
	if f.mail.Sends != 1 {
		t.Fatalf("%d mails sent, want 1", f.mail.Sends)
	}
	for _, m := range f.mail.Sent {
		if m.To[0] != "pat.doe@doa.example.gov" || !strings.Contains(m.Text, "activation email") {
			t.Errorf("mail to %v: %s", m.To, m.Text)
		}
	}
	// Adding the email completes the request and starts the workflow.
	done, err := f.svc.CompleteRequest(context.Background(), f.doaRep, sr.ID, intake.IntakeRequest{Documents: completePO().Documents[1:]})
	if err != nil {
		t.Fatal(err)
	}
	if done.Request.Status != licensing.StatusSubmitted || len(done.Next) != 1 || done.Next[0].Step != licensing.StepValidate {
		t.Errorf("after adding: %s, next %v", done.Request.Status, done.Next)
	}
	if _, err := f.svc.CompleteRequest(context.Background(), f.doaRep, sr.ID, intake.IntakeRequest{Documents: completePO().Documents[1:]}); licensing.ErrorCode(err) != licensing.Conflict {
		t.Errorf("adding to a submitted request: %v, want conflict", err)
	}
}

func TestSubmitRetryAndConflict(t *testing.T) {
	f := newIntakeFixture(t)
	ctx := context.Background()
	first, err := f.svc.SubmitPurchaseOrder(ctx, f.doaRep, completePO())
	if err != nil {
		t.Fatal(err)
	}
	files := len(f.store.Files())
	again, err := f.svc.SubmitPurchaseOrder(ctx, f.doaRep, completePO())
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || again.Request.ID != first.Request.ID || len(f.store.Files()) != files {
		t.Errorf("retry: created %v, id %s, files %d→%d", again.Created, again.Request.ID, files, len(f.store.Files()))
	}
	changed := completePO()
	changed.PONumber = " 4500012345 "
	changed.Lines[0].Quantity = "26"
	if _, err := f.svc.SubmitPurchaseOrder(ctx, f.doaRep, changed); licensing.ErrorCode(err) != licensing.Conflict {
		t.Errorf("same PO, other content: %v, want conflict", err)
	}
	list, _ := f.store.ListRequests(ctx, licensing.RequestFilter{})
	if len(list) != 1 || len(f.store.Files()) != files {
		t.Errorf("%d requests and %d files after a retry and a conflict, want 1 and %d", len(list), len(f.store.Files()), files)
	}
}

func TestSubmitInvalidWritesNothing(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(in *intake.IntakeRequest)
		caller string
		code   licensing.Code
		fields []string
	}{
		{"unknown agency", func(in *intake.IntakeRequest) { in.Agency = "NOPE" }, "admin@it.example.gov", licensing.Invalid, []string{"agency"}},
		{"delegate of another agency", func(in *intake.IntakeRequest) { in.Agency = "DET" }, "pat.doe@doa.example.gov", licensing.Forbidden, nil},
		{"no identity", func(*intake.IntakeRequest) {}, "", licensing.Unauthenticated, nil},
		{"unknown sku", func(in *intake.IntakeRequest) { in.Lines[0].SKU = "VISIO CLIENT" }, "", licensing.Invalid, []string{"lines[0].sku"}},
		{"quantities", func(in *intake.IntakeRequest) { in.Lines[0].Quantity = "2.5"; in.Lines[1].Quantity = "100001" }, "", licensing.Invalid, []string{"lines[0].quantity", "lines[1].quantity"}},
		{"zero and negative", func(in *intake.IntakeRequest) { in.Lines[0].Quantity = "0"; in.Lines[1].Quantity = "-3" }, "", licensing.Invalid, []string{"lines[0].quantity", "lines[1].quantity"}},
		{"huge number", func(in *intake.IntakeRequest) { in.Lines[0].Quantity = "99999999999999999999999" }, "", licensing.Invalid, []string{"lines[0].quantity"}},
		{"same product twice", func(in *intake.IntakeRequest) { in.Lines[1].SKU = "visioclient" }, "", licensing.Invalid, []string{"lines[1].sku"}},
		{"bad dates", func(in *intake.IntakeRequest) { in.TermStart = "2026-02-30"; in.TermEnd = "soon" }, "", licensing.Invalid, []string{"termStart", "termEnd"}},
		{"end before start", func(in *intake.IntakeRequest) { in.TermEnd = "2026-07-01" }, "", licensing.Invalid, []string{"termEnd"}},
		{"agreement and scenario", func(in *intake.IntakeRequest) { in.Agreement = "volume"; in.ActivationScenario = "" }, "", licensing.Invalid, []string{"agreement", "activationScenario"}},
		{"requester", func(in *intake.IntakeRequest) { in.Requester = licensing.Person{Name: "", Email: "pat at doa"} }, "", licensing.Invalid, []string{"requester.name", "requester.email"}},
		{"po number with a path", func(in *intake.IntakeRequest) { in.PONumber = "../../etc/passwd" }, "", licensing.Invalid, []string{"poNumber"}},
		{"formula in the PO number", func(in *intake.IntakeRequest) { in.PONumber = "=HYPERLINK(\"http://x\")" }, "", licensing.Invalid, []string{"poNumber"}},
		{"empty document", func(in *intake.IntakeRequest) { in.Documents[0].Content = nil }, "", licensing.Invalid, []string{"documents[0]"}},
		{"executable as a PO", func(in *intake.IntakeRequest) {
			in.Documents[0].Content = []byte("MZ\x90\x00 this program cannot be run")
		}, "", licensing.Invalid, []string{"documents[0]"}},
		{"html as a PO", func(in *intake.IntakeRequest) { in.Documents[0].Content = []byte("<script>alert(1)</script>") }, "", licensing.Invalid, []string{"documents[0]"}},
		{"email is no PO", func(in *intake.IntakeRequest) { in.Documents[0].Content = fakes.EML }, "", licensing.Invalid, []string{"documents[0]"}},
		{"declared type lies", func(in *intake.IntakeRequest) { in.Documents[0].Content = fakes.PNG }, "", licensing.Invalid, []string{"documents[0].contentType"}},
		{"unknown kind", func(in *intake.IntakeRequest) { in.Documents[1].Kind = "invoice" }, "", licensing.Invalid, []string{"documents[1].kind"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newIntakeFixture(t)
			in := completePO()
			tt.edit(&in)
			var caller *licensing.Principal
			switch tt.caller {
			case "":
				if tt.code != licensing.Unauthenticated {
					caller = f.doaRep
				}
			default:
				caller = &licensing.Principal{Name: tt.caller}
			}
			_, err := f.svc.SubmitPurchaseOrder(context.Background(), caller, in)
			if licensing.ErrorCode(err) != tt.code {
				t.Fatalf("err = %v, want %s", err, tt.code)
			}
			var fields []string
			for _, fe := range licensing.ErrorFields(err) {
				fields = append(fields, fe.Field)
			}
			if diff := cmp.Diff(tt.fields, fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s\n%v", diff, err)
			}
			list, _ := f.store.ListRequests(context.Background(), licensing.RequestFilter{})
			if len(list) != 0 || len(f.store.Files()) != 0 {
				t.Errorf("a rejected submission wrote %d requests and %d files", len(list), len(f.store.Files()))
			}
		})
	}
}

// drive runs steps until none is left, as the queue would, delivering each
// twice to check that a duplicate changes nothing.
func (f *intakeFixture) drive(t *testing.T, steps []licensing.Step) {
	t.Helper()
	for len(steps) > 0 {
		st := steps[0]
		steps = steps[1:]
		if err := f.svc.RunStep(context.Background(), st, nil); err != nil {
			t.Fatalf("step %s: %v", st.Step, err)
		}
		next := f.later.TakeReady()
		if err := f.svc.RunStep(context.Background(), st, nil); err != nil {
			t.Fatalf("step %s again: %v", st.Step, err)
		}
		if dup := f.later.TakeReady(); len(dup) > 0 {
			t.Fatalf("step %s run twice queued %v again after %v", st.Step, dup, next)
		}
		steps = append(steps, next...)
	}
}

func (f *intakeFixture) request(t *testing.T, id string) licensing.ServiceRequest {
	t.Helper()
	sr, err := f.store.GetRequest(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return sr
}

func TestWorkflowToClosed(t *testing.T) {
	f := newIntakeFixture(t)
	ctx := context.Background()
	res, err := f.svc.SubmitPurchaseOrder(ctx, f.doaRep, completePO())
	if err != nil {
		t.Fatal(err)
	}
	id := res.Request.ID
	f.drive(t, res.Next)
	sr := f.request(t, id)
	if sr.Status != licensing.StatusAwaitingActivation {
		t.Fatalf("status = %s, want awaiting-activation", sr.Status)
	}
	if want := map[string]int{"c5928f49-12ba-48f7-ada3-0d743a3601d5": 10, "f8a1db68-be16-40ed-86d5-cb42ce701560": 0}; !cmp.Equal(want, sr.Baseline) {
		t.Errorf("baseline = %v, want %v", sr.Baseline, want)
	}
	lines, _ := f.store.ListPurchases(ctx, licensing.PurchaseFilter{SRID: id})
	if len(lines) != 2 || lines[0].ActivatedAt != nil {
		t.Fatalf("pending lines = %+v", lines)
	}
	// Central IT got the routing mail with the PO, the email and the
	// scenario's instruction.
	var route licensing.MailMessage
	for _, m := range f.mail.Sent {
		if strings.HasPrefix(m.Subject, "Ready for activation") {
			route = m
		}
	}
	if len(route.Attachments) != 2 || !strings.Contains(route.Text, "SIGN UP") || !strings.Contains(route.Text, "cannot be undone") ||
		!strings.Contains(route.Text, "\n  https://func.example.net/requests/"+id+"\n") || !strings.Contains(route.Text, "POST /api/service-requests/"+id+"/activation") {
		t.Errorf("routing mail: %d attachments\n%s", len(route.Attachments), route.Text)
	}
	// The seats are not there yet: verify looks again later.
	if len(f.later.Queued) != 1 || f.later.Queued[0].Seq != 2 || f.later.After[0] != 6*time.Hour {
		t.Fatalf("delayed steps = %+v %v", f.later.Queued, f.later.After)
	}
	// Activation happens in the tenant: Visio goes from 10 to 35, Power BI Pro appears.
	f.dir.Skus = append(f.dir.Skus[:1], licensing.TenantSku{SkuID: fakes.SkuE3, Enabled: 100})
	f.dir.Skus[0].Enabled = 35
	f.dir.Skus = append(f.dir.Skus, licensing.TenantSku{SkuID: "f8a1db68-be16-40ed-86d5-cb42ce701560", PartNumber: "POWER_BI_PRO", Enabled: 10})
	delayed := f.later.Queued
	f.later.Queued, f.later.After = nil, nil
	f.drive(t, delayed)
	sr = f.request(t, id)
	if sr.Status != licensing.StatusClosed {
		t.Fatalf("status = %s, want closed; history %+v", sr.Status, sr.History)
	}
	lines, _ = f.store.ListPurchases(ctx, licensing.PurchaseFilter{SRID: id})
	for _, l := range lines {
		if l.ActivatedAt == nil {
			t.Errorf("line %s not activated", l.ID)
		}
	}
	ledgerSvc := ledger.NewService(ledger.Config{Auth: f.auth, Agencies: f.store, Purchases: f.store})
	ents, err := ledgerSvc.Entitlements(ctx, licensing.NewDate(2026, 12, 1))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, e := range ents {
		got[e.Agency+" "+e.SkuID] = e.Quantity
	}
	if diff := cmp.Diff(map[string]int{"DOA c5928f49-12ba-48f7-ada3-0d743a3601d5": 25, "DOA f8a1db68-be16-40ed-86d5-cb42ce701560": 10}, got); diff != "" {
		t.Errorf("entitlements (-want +got):\n%s", diff)
	}
	wantSubjects := []string{"Licenses available: PO 4500012345 (" + id + ")", "Ready for activation: DOA PO 4500012345 (" + id + ")"}
	if diff := cmp.Diff(wantSubjects, f.mail.Subjects()); diff != "" {
		t.Errorf("mail (-want +got):\n%s", diff)
	}
	var statuses []string
	for _, h := range sr.History {
		statuses = append(statuses, h.To)
	}
	want := []string{"submitted", "validated", "recorded", "awaiting-activation", "activated", "closed"}
	if diff := cmp.Diff(want, statuses); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
}

func TestActivationNeverSeenThenAdminConfirms(t *testing.T) {
	f := newIntakeFixture(t)
	ctx := context.Background()
	res, err := f.svc.SubmitPurchaseOrder(ctx, f.doaRep, completePO())
	if err != nil {
		t.Fatal(err)
	}
	id := res.Request.ID
	f.drive(t, res.Next)
	// Days pass without the seats: the last look asks central IT.
	f.clock = f.clock.Add(72 * time.Hour)
	f.later.Queued = nil
	if err := f.svc.RunStep(ctx, licensing.Step{SR: id, Step: licensing.StepVerify, Seq: 2}, nil); err != nil {
		t.Fatal(err)
	}
	if len(f.later.Queued) != 0 {
		t.Errorf("verify queued itself after the wait: %v", f.later.Queued)
	}
	if !strings.Contains(strings.Join(f.mail.Subjects(), "|"), "Activation not seen") {
		t.Errorf("central IT not told: %v", f.mail.Subjects())
	}
	// Only an admin confirms.
	if _, _, err := f.svc.ConfirmActivation(ctx, f.doaRep, id, ""); licensing.ErrorCode(err) != licensing.Forbidden {
		t.Errorf("delegate confirming: %v", err)
	}
	sr, next, err := f.svc.ConfirmActivation(ctx, f.admin, id, "activated on the portal, seats show under another SKU")
	if err != nil {
		t.Fatal(err)
	}
	if sr.Status != licensing.StatusActivated || len(next) != 1 || next[0].Step != licensing.StepClose {
		t.Fatalf("confirmed: %s, next %v", sr.Status, next)
	}
	f.drive(t, next)
	if st := f.request(t, id).Status; st != licensing.StatusClosed {
		t.Errorf("status = %s", st)
	}
	// A late verify message does nothing; confirming again neither.
	if err := f.svc.RunStep(ctx, licensing.Step{SR: id, Step: licensing.StepVerify, Seq: 3}, nil); err != nil || len(f.later.TakeReady()) != 0 {
		t.Errorf("late verify: %v, queued %v", err, f.later.Queued)
	}
	if _, next, err := f.svc.ConfirmActivation(ctx, f.admin, id, ""); err != nil || len(next) != 0 {
		t.Errorf("confirming a closed request: %v %v", next, err)
	}
}

func TestPoisonedStepFailsTheRequest(t *testing.T) {
	f := newIntakeFixture(t)
	ctx := context.Background()
	res, err := f.svc.SubmitPurchaseOrder(ctx, f.doaRep, completePO())
	if err != nil {
		t.Fatal(err)
	}
	id := res.Request.ID
	text := fmt.Sprintf(`{"sr":%q,"step":"validate"}`, id)
	for i := 0; i < 2; i++ {
		if err := f.svc.FailPoisoned(ctx, text, nil); err != nil {
			t.Fatal(err)
		}
	}
	sr := f.request(t, id)
	if sr.Status != licensing.StatusFailed || !strings.Contains(sr.Failure, "validate") {
		t.Errorf("status %s, failure %q", sr.Status, sr.Failure)
	}
	if f.mail.Sends != 1 || !strings.HasPrefix(f.mail.Subjects()[0], "Failed:") {
		t.Errorf("mail: %d sends, %v", f.mail.Sends, f.mail.Subjects())
	}
	for _, junk := range []string{"not json", `{"step":"x"}`, `{"sr":"DOA-00ff","step":"validate"}`} {
		if err := f.svc.FailPoisoned(ctx, junk, nil); err != nil {
			t.Errorf("FailPoisoned(%q) = %v", junk, err)
		}
	}
}

func TestStepErrorsFollowTheQueuePolicy(t *testing.T) {
	f := newIntakeFixture(t)
	ctx := context.Background()
	if err := f.svc.RunStep(ctx, licensing.Step{SR: "DOA-00000000ff", Step: licensing.StepValidate}, nil); licensing.Retryable(err) || licensing.ErrorCode(err) != licensing.NotFound {
		t.Errorf("unknown request: %v (retryable %v)", err, licensing.Retryable(err))
	}
	res, _ := f.svc.SubmitPurchaseOrder(ctx, f.doaRep, completePO())
	if err := f.svc.RunStep(ctx, licensing.Step{SR: res.Request.ID, Step: "explode"}, nil); licensing.Retryable(err) {
		t.Errorf("unknown step is retried: %v", err)
	}
	f.mail.Fail = licensing.Errorf("mail", licensing.Unavailable, "down")
	steps := res.Next
	for len(steps) > 0 && steps[0].Step != licensing.StepRoute {
		if err := f.svc.RunStep(ctx, steps[0], nil); err != nil {
			t.Fatal(err)
		}
		steps = append(steps[1:], f.later.TakeReady()...)
	}
	if err := f.svc.RunStep(ctx, steps[0], nil); !licensing.Retryable(err) {
		t.Errorf("mail down while routing: %v, want a retryable error", err)
	}
	if st := f.request(t, res.Request.ID).Status; st != licensing.StatusRecorded {
		t.Errorf("status after a failed route = %s, want recorded (nothing half done)", st)
	}
}

// racingRequests writes the request once more (as a verify step would)
// right before the first update that activates it, so that update is stale.
type racingRequests struct {
	licensing.RequestStore
	raced bool
}

func (r *racingRequests) UpdateRequest(ctx context.Context, sr licensing.ServiceRequest) (licensing.ServiceRequest, error) {
	if !r.raced && sr.Status == licensing.StatusActivated {
		r.raced = true
		cur, err := r.RequestStore.GetRequest(ctx, sr.ID)
		if err != nil {
			return cur, err
		}
		if _, err := r.RequestStore.UpdateRequest(ctx, cur); err != nil {
			return cur, err
		}
	}
	return r.RequestStore.UpdateRequest(ctx, sr)
}

// TestConfirmActivationWinsARaceWithTheWorkflow: an admin's confirmation
// that meets a write of the workflow's own step confirms on the new version
// instead of answering stale.
func TestConfirmActivationWinsARaceWithTheWorkflow(t *testing.T) {
	race := &racingRequests{}
	f := newIntakeFixtureWith(t, func(s licensing.RequestStore) licensing.RequestStore { race.RequestStore = s; return race })
	ctx := context.Background()
	res, err := f.svc.SubmitPurchaseOrder(ctx, f.doaRep, completePO())
	if err != nil {
		t.Fatal(err)
	}
	f.drive(t, res.Next)
	sr, next, err := f.svc.ConfirmActivation(ctx, f.admin, res.Request.ID, "seen on the portal")
	if err != nil || !race.raced {
		t.Fatalf("confirm: %v (raced %v); want confirmed on the second try", err, race.raced)
	}
	if sr.Status != licensing.StatusActivated || len(next) != 1 || next[0].Step != licensing.StepClose {
		t.Errorf("confirmed: %s, next %v", sr.Status, next)
	}
}
