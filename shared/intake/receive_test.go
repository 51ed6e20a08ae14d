package intake_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/intake"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// submitRig is an intake service on an in-memory store, with a clock and ids
// that many goroutines may use at once, and request and file stores that
// fail on demand as a storage outage would.
type submitRig struct {
	svc   *intake.Service
	store *memstore.Store
	reqs  *failingRequests
	files *failingFiles
	rep   *licensing.Principal
	steps *fakes.Steps
	ids   atomic.Int64
	// clock is the time in Unix nanoseconds.
	clock atomic.Int64
}

func newSubmitRig(t *testing.T) *submitRig {
	t.Helper()
	r := &submitRig{store: memstore.New(), rep: &licensing.Principal{Name: fakes.Delegate}, steps: &fakes.Steps{}}
	r.clock.Store(time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC).UnixNano())
	r.store.SetClock(r.now)
	r.reqs = &failingRequests{RequestStore: r.store}
	r.files = &failingFiles{FileStore: r.store}
	auth := licensing.NewAuthorizer(r.store, []string{fakes.Admin}, false)
	r.svc = intake.NewService(intake.Config{
		Auth: auth, Agencies: r.store, Requests: r.reqs, Files: r.files, Sweeper: r.store, Purchases: r.store, Catalog: fakes.BuiltinCatalog{},
		Workflow: intake.Workflow{AppURL: "https://func.example.net"}, Steps: r.steps, Effects: licensing.NewEffects(r.store, r.now, 0), Now: r.now,
		NewID: func() string { return fmt.Sprintf("%010x%022x", r.ids.Add(1), 0) },
	})
	if err := fakes.PutAgencies(context.Background(), licensing.NewAgencyAdmin(r.store, auth, r.now), fakes.Agencies()...); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *submitRig) now() time.Time          { return time.Unix(0, r.clock.Load()).UTC() }
func (r *submitRig) advance(d time.Duration) { r.clock.Add(int64(d)) }

func (r *submitRig) submit(in intake.IntakeRequest) (intake.IntakeResult, error) {
	return r.svc.SubmitPurchaseOrder(context.Background(), r.rep, in)
}

// requests returns the stored requests.
func (r *submitRig) requests(t *testing.T) []licensing.ServiceRequest {
	t.Helper()
	list, err := r.store.ListRequests(context.Background(), licensing.RequestFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// documents returns the names of the stored files under documents/.
func (r *submitRig) documents() []string {
	var names []string
	for _, n := range r.store.Files() {
		if strings.HasPrefix(n, "documents/") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// failingRequests fails the next FailUpdates updates with Unavailable, and
// runs Meanwhile (once) before the next update, as a concurrent change.
type failingRequests struct {
	licensing.RequestStore
	mu          sync.Mutex
	FailUpdates int
	Meanwhile   func()
}

func (f *failingRequests) UpdateRequest(ctx context.Context, sr licensing.ServiceRequest) (licensing.ServiceRequest, error) {
	f.mu.Lock()
	fail := f.FailUpdates > 0
	if fail {
		f.FailUpdates--
	}
	meanwhile := f.Meanwhile
	f.Meanwhile = nil
	f.mu.Unlock()
	if meanwhile != nil {
		meanwhile()
	}
	if fail {
		return licensing.ServiceRequest{}, licensing.Errorf("test.updateRequest", licensing.Unavailable, "Table Storage is down.")
	}
	return f.RequestStore.UpdateRequest(ctx, sr)
}

// failingFiles lets the next OKCreates files be written and fails the ones
// after them with Unavailable while Failing is set. Each write takes Delay
// at least, as one to Blob Storage takes milliseconds.
type failingFiles struct {
	licensing.FileStore
	Delay     time.Duration
	mu        sync.Mutex
	Failing   bool
	OKCreates int
}

func (f *failingFiles) Create(ctx context.Context, name, contentType string) (licensing.FileWriter, error) {
	f.mu.Lock()
	fail := f.Failing && f.OKCreates == 0
	if f.Failing && f.OKCreates > 0 {
		f.OKCreates--
	}
	f.mu.Unlock()
	if fail {
		return nil, licensing.Errorf("test.create", licensing.Unavailable, "Blob Storage is down.")
	}
	time.Sleep(f.Delay)
	return f.FileStore.Create(ctx, name, contentType)
}

func (f *failingFiles) set(failing bool, ok int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Failing, f.OKCreates = failing, ok
}

// submitAtOnce sends in n times at once and returns the results.
func (r *submitRig) submitAtOnce(t *testing.T, n int, in func() intake.IntakeRequest) []intake.IntakeResult {
	t.Helper()
	results := make([]intake.IntakeResult, n)
	errs := make([]error, n)
	fakes.AtOnce(n, func(i int) { results[i], errs[i] = r.submit(in()) })
	for i, err := range errs {
		if err != nil {
			t.Fatalf("submission %d: %v", i, err)
		}
	}
	return results
}

// checkOneRequest checks that results are all the same request, created
// once, with want queued once in all.
func checkOneRequest(t *testing.T, results []intake.IntakeResult, want string) {
	t.Helper()
	created := 0
	ids := map[string]bool{}
	var queued []string
	for _, res := range results {
		if res.Created {
			created++
		}
		ids[res.Request.ID] = true
		for _, st := range res.Next {
			queued = append(queued, st.Step)
		}
	}
	if len(ids) != 1 {
		t.Errorf("the answers name %d requests", len(ids))
	}
	if created != 1 || strings.Join(queued, ",") != want {
		t.Errorf("%d of %d answers created the request; %d steps queued in all (%s), want one %s",
			created, len(results), len(queued), licensing.Truncate(strings.Join(queued, ",")), want)
	}
}

func TestSimultaneousIdenticalSubmissionsMakeOneRequest(t *testing.T) {
	r := newSubmitRig(t)
	r.files.Delay = 5 * time.Millisecond
	results := r.submitAtOnce(t, 50, completePO)
	checkOneRequest(t, results, licensing.StepValidate)
	list := r.requests(t)
	if len(list) != 1 || list[0].Status != licensing.StatusSubmitted {
		t.Fatalf("%d requests stored, want 1 submitted", len(list))
	}
	var want []string
	for _, d := range list[0].Documents {
		want = append(want, d.Blob)
	}
	sort.Strings(want)
	if got := r.documents(); strings.Join(got, ",") != strings.Join(want, ",") || len(got) != 2 {
		t.Errorf("%d documents stored, want the request's 2", len(got))
	}
	// Sent again later: the same request, nothing queued.
	again, err := r.submit(completePO())
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || again.Request.ID != list[0].ID || len(again.Next) != 0 {
		t.Errorf("a later retry: created %v, %s, queued %v; want the request and nothing queued", again.Created, again.Request.ID, again.Next)
	}
}

func TestSubmissionsWithoutPONumberAreOneRequest(t *testing.T) {
	r := newSubmitRig(t)
	noPO := func() intake.IntakeRequest {
		in := completePO()
		in.PONumber = ""
		return in
	}
	r.files.Delay = 5 * time.Millisecond
	results := r.submitAtOnce(t, 20, noPO)
	checkOneRequest(t, results, licensing.StepNotify)
	list := r.requests(t)
	if len(list) != 1 || list[0].Status != licensing.StatusNeedsInformation || strings.Join(list[0].Missing, ",") != licensing.MissingPONumber {
		t.Fatalf("%d requests stored, want 1 needing the PO number", len(list))
	}
	if got := r.documents(); len(got) != 2 {
		t.Errorf("stored documents %v, want 2", got)
	}
	// Other content without a PO number is another request.
	other := noPO()
	other.Lines[0].Quantity = "26"
	res, err := r.submit(other)
	if err != nil || !res.Created || res.Request.ID == list[0].ID {
		t.Errorf("other content: %v, created %v, %s", err, res.Created, res.Request.ID)
	}
}

func TestStorageFailureDuringIntake(t *testing.T) {
	tests := []struct {
		name string
		fail func(r *submitRig)
	}{
		{"second document fails", func(r *submitRig) { r.files.set(true, 1) }},
		{"every document fails", func(r *submitRig) { r.files.set(true, 0) }},
		{"finishing the request fails", func(r *submitRig) { r.reqs.FailUpdates = 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name+", then the retry finishes it", func(t *testing.T) {
			r := failedSubmission(t, tt.fail)
			res, err := r.submit(completePO())
			if err != nil {
				t.Fatal(err)
			}
			if !res.Created || res.Request.Status != licensing.StatusSubmitted || len(res.Next) != 1 || res.Next[0].Step != licensing.StepValidate {
				t.Errorf("the retry: created %v, %s, queued %v; want the request submitted and validate queued", res.Created, res.Request.Status, res.Next)
			}
			if list := r.requests(t); len(list) != 1 {
				t.Errorf("%d requests after the retry, want 1", len(list))
			}
			if got := r.documents(); len(got) != 2 || !strings.Contains(got[0], res.Request.ID) || !strings.Contains(got[1], res.Request.ID) {
				t.Errorf("documents after the retry %v, want the one set of %s", got, res.Request.ID)
			}
		})
		t.Run(tt.name+", never retried", func(t *testing.T) {
			r := failedSubmission(t, tt.fail)
			// Another post for the same PO with other content is refused
			// while the first one is unfinished, and writes nothing.
			before := r.documents()
			changed := completePO()
			changed.Documents[0].Content = append([]byte(nil), fakes.PNG...)
			changed.Documents[0].ContentType = "image/png"
			if _, err := r.submit(changed); licensing.ErrorCode(err) != licensing.Conflict {
				t.Errorf("other content for the unfinished PO: %v, want conflict", err)
			}
			if got := r.documents(); strings.Join(got, ",") != strings.Join(before, ",") {
				t.Errorf("the refused submission wrote documents: %v, before %v", got, before)
			}
			r.advance(orphanAgePlus)
			res, err := r.svc.SweepOrphans(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Requests) != 1 || len(r.requests(t)) != 0 || len(r.documents()) != 0 {
				t.Errorf("after the sweep: %+v; %d requests and documents %v left", res, len(r.requests(t)), r.documents())
			}
			// The PO is free again.
			if res, err := r.submit(completePO()); err != nil || !res.Created {
				t.Errorf("submitting again after the sweep: %v, created %v", err, res.Created)
			}
		})
	}
}

// failedSubmission returns a rig where completePO was submitted while fail
// made storage fail, and storage works again.
func failedSubmission(t *testing.T, fail func(r *submitRig)) *submitRig {
	t.Helper()
	r := newSubmitRig(t)
	fail(r)
	if _, err := r.submit(completePO()); licensing.ErrorCode(err) != licensing.Unavailable {
		t.Fatalf("submission during the outage: %v, want unavailable", err)
	}
	r.files.set(false, 0)
	r.reqs.FailUpdates = 0
	return r
}

// orphanAgePlus is past the age at which the sweep removes left-overs.
const orphanAgePlus = time.Hour + time.Minute

func TestSweepOrphans(t *testing.T) {
	r := newSubmitRig(t)
	ctx := context.Background()
	kept, err := r.submit(completePO())
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string) {
		t.Helper()
		w, err := r.store.Create(ctx, name, "application/pdf")
		if err != nil {
			t.Fatal(err)
		}
		w.Write(fakes.PDF)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	write("documents/DOA/DOA-00000000ff/purchase-order-0123456789abcdef.pdf")
	write("reports/payroll/2026-11-23/DOA.xlsx")
	// A submission that failed after storing its first document.
	abandoned := completePO()
	abandoned.PONumber = "4500099999"
	r.files.set(true, 1)
	if _, err := r.submit(abandoned); licensing.ErrorCode(err) != licensing.Unavailable {
		t.Fatalf("abandoned submission: %v", err)
	}
	r.files.set(false, 0)
	r.advance(orphanAgePlus)
	// What is younger than an hour stays: a stray file, and a submission
	// failed just now.
	write("documents/DOA/DOA-00000000fe/purchase-order-fedcba9876543210.pdf")
	recent := completePO()
	recent.PONumber = "4500088888"
	r.reqs.FailUpdates = 1
	if _, err := r.submit(recent); licensing.ErrorCode(err) != licensing.Unavailable {
		t.Fatalf("recent submission: %v", err)
	}

	var logged bytes.Buffer
	res, err := r.svc.SweepOrphans(ctx, slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	stray := "documents/DOA/DOA-00000000ff/purchase-order-0123456789abcdef.pdf"
	if len(res.Requests) != 1 || res.Requests[0] == kept.Request.ID {
		t.Errorf("removed requests %v, want the abandoned one", res.Requests)
	}
	for _, name := range res.Documents {
		if !strings.Contains(name, res.Requests[0]) && name != stray {
			t.Errorf("deleted %s, which is neither the stray file nor the abandoned submission's", name)
		}
	}
	if len(res.Documents) != 2 {
		t.Errorf("deleted %v, want the stray file and the abandoned submission's document", res.Documents)
	}
	for _, name := range res.Documents {
		if !strings.Contains(logged.String(), name) {
			t.Errorf("the log does not name %s:\n%s", name, logged.String())
		}
	}
	if !strings.Contains(logged.String(), res.Requests[0]) {
		t.Errorf("the log does not name the removed request %s:\n%s", res.Requests[0], logged.String())
	}
	// The submitted request's documents, the recent ones and what is not a
	// document stay; the request that is still receiving too.
	left := strings.Join(r.store.Files(), ",")
	for _, d := range kept.Request.Documents {
		if !strings.Contains(left, d.Blob) {
			t.Errorf("the sweep deleted %s of %s", d.Blob, kept.Request.ID)
		}
	}
	for _, name := range []string{"reports/payroll/2026-11-23/DOA.xlsx", "documents/DOA/DOA-00000000fe/purchase-order-fedcba9876543210.pdf"} {
		if !strings.Contains(left, name) {
			t.Errorf("the sweep deleted %s", name)
		}
	}
	if list := r.requests(t); len(list) != 2 {
		t.Errorf("%d requests left, want the submitted one and the recent receiving one", len(list))
	}
	// A second run finds nothing.
	if again, err := r.svc.SweepOrphans(ctx, nil); err != nil || len(again.Requests)+len(again.Documents) != 0 {
		t.Errorf("second sweep: %+v, %v", again, err)
	}
}

func TestDocumentContentChecks(t *testing.T) {
	pdfAfter := func(lead string) []byte { return append([]byte(lead), fakes.PDF...) }
	tests := []struct {
		name    string
		content []byte
		ok      bool
	}{
		{"a PDF", fakes.PDF, true},
		{"a PDF after white space", pdfAfter("\r\n \t\x00\f"), true},
		{"a PDF after a byte order mark", pdfAfter("\xEF\xBB\xBF"), true},
		{"a PDF 2.0", []byte("%PDF-2.0\n%%EOF\n"), true},
		{"HTML with %PDF- in a comment", []byte("<html><!-- %PDF-1.7 --><script>alert(document.cookie)</script></html>"), false},
		{"HTML with a PDF after it", pdfAfter("<html><body>"), false},
		{"a script before the header", pdfAfter("#!/bin/sh\nrm -rf ~\n"), false},
		{"white space past the first kilobyte", pdfAfter(strings.Repeat(" ", 1100)), false},
		{"no version", []byte("%PDF-x.y\n"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newSubmitRig(t)
			in := completePO()
			in.Documents[0].Content = tt.content
			_, err := r.submit(in)
			if tt.ok {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			if fields := licensing.ErrorFields(err); licensing.ErrorCode(err) != licensing.Invalid || len(fields) != 1 || fields[0].Field != "documents[0]" {
				t.Errorf("err = %v (fields %v), want invalid documents[0]", err, fields)
			}
			if len(r.requests(t)) != 0 || len(r.store.Files()) != 0 {
				t.Errorf("a refused submission wrote %d requests and files %v", len(r.requests(t)), r.store.Files())
			}
		})
	}
}

func TestInvisibleCharactersAreRefused(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(in *intake.IntakeRequest)
		field string
	}{
		{"right-to-left override in the requester's name", func(in *intake.IntakeRequest) { in.Requester.Name = "Pat \u202EeoD" }, "requester.name"},
		{"zero-width space in the requester's name", func(in *intake.IntakeRequest) { in.Requester.Name = "Pat\u200BDoe" }, "requester.name"},
		{"byte order mark in the reseller", func(in *intake.IntakeRequest) { in.Reseller = "\uFEFFSHI" }, "reseller"},
		{"NUL in a file name", func(in *intake.IntakeRequest) { in.Documents[0].FileName = "x.pdf\x00.exe" }, "documents[0].fileName"},
		{"right-to-left override in a file name", func(in *intake.IntakeRequest) { in.Documents[0].FileName = "PO-\u202Efdp.exe" }, "documents[0].fileName"},
		{"line break in a file name", func(in *intake.IntakeRequest) { in.Documents[1].FileName = "activation\n.eml" }, "documents[1].fileName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newSubmitRig(t)
			in := completePO()
			tt.edit(&in)
			_, err := r.submit(in)
			fields := licensing.ErrorFields(err)
			if licensing.ErrorCode(err) != licensing.Invalid || len(fields) != 1 || fields[0].Field != tt.field {
				t.Fatalf("err = %v (fields %v), want invalid %s", err, fields, tt.field)
			}
			if !strings.Contains(fields[0].Message, "invisible") {
				t.Errorf("message %q does not say what to fix", fields[0].Message)
			}
			if len(r.requests(t)) != 0 || len(r.store.Files()) != 0 {
				t.Errorf("a refused submission wrote %d requests and files %v", len(r.requests(t)), r.store.Files())
			}
		})
	}
	// Names in other scripts and with accents are not invisible.
	r := newSubmitRig(t)
	in := completePO()
	in.Requester.Name, in.Documents[0].FileName = "Zoë Ångström-محمد", "Bestellung Nr. 4500012345 – März.pdf"
	if _, err := r.submit(in); err != nil {
		t.Errorf("a name with accents and another script: %v", err)
	}
}

func TestCompleteRequestAfterConcurrentChange(t *testing.T) {
	r := newSubmitRig(t)
	ctx := context.Background()
	in := completePO()
	in.Documents = in.Documents[:1]
	first, err := r.submit(in)
	if err != nil {
		t.Fatal(err)
	}
	id := first.Request.ID
	// The notify step records its mail while the requester adds the email.
	r.reqs.Meanwhile = func() {
		sr, err := r.store.GetRequest(ctx, id)
		if err == nil {
			sr.Notified = append(sr.Notified, "needs-information-test")
			_, err = r.store.UpdateRequest(ctx, sr)
		}
		if err != nil {
			t.Error(err)
		}
	}
	res, err := r.svc.CompleteRequest(ctx, r.rep, id, intake.IntakeRequest{Documents: completePO().Documents[1:]})
	if err != nil {
		t.Fatalf("adding the email while a step changed the request: %v", err)
	}
	if res.Request.Status != licensing.StatusSubmitted || len(res.Next) != 1 || strings.Join(res.Request.Notified, ",") != "needs-information-test" {
		t.Errorf("after adding: %s, queued %v, notified %v", res.Request.Status, res.Next, res.Request.Notified)
	}
	if got := r.documents(); len(got) != 2 {
		t.Errorf("documents %v, want the PO and the email once each", got)
	}
}
