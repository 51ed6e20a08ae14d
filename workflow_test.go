package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	osexec "os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/blobstore"
	"github.com/shared-tenant/licensetrack/shared/devkit/azuritetest"
	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/devkit/funchost"
	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/tablestore"
)

const (
	skuVisio  = "c5928f49-12ba-48f7-ada3-0d743a3601d5"
	testAdmin = "admin@central-it.example.gov"
	delegate  = "pat@doa.example.gov"
)

var (
	handlerOnce sync.Once
	handlerBin  string
	handlerErr  error
)

// sharedHandler builds the handler once per test run.
func sharedHandler(t testing.TB) string {
	t.Helper()
	handlerOnce.Do(func() {
		dir, err := os.MkdirTemp("", "handler")
		if err != nil {
			handlerErr = err
			return
		}
		handlerBin = filepath.Join(dir, "handler")
		// The build inherits the environment and flags of the test run
		// (make test sets CGO_ENABLED=0 and -trimpath, as make stage does),
		// so it reuses the packages the test build compiled instead of
		// compiling the Graph SDK a second time.
		cmd := osexec.Command("go", "build", "-o", handlerBin, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			handlerErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if handlerErr != nil {
		t.Fatal(handlerErr)
	}
	return handlerBin
}

// workflowRig runs the staged handler under the host harness against
// Azurite (tables, container and queue of its own) and a fake Graph, and
// can kill and restart the handler.
type workflowRig struct {
	t       testing.TB
	app     *funchost.App
	bin     string
	env     []string
	queue   string
	cfg     funchost.Config
	host    atomic.Pointer[funchost.Host]
	hosts   []*funchost.Host
	cancel  context.CancelFunc
	tenant  *graphfake.Tenant
	graph   *graphfake.Server
	tables  *tablestore.Store
	blobs   *blobstore.Store
	mu      sync.Mutex
	stopped bool
}

// testAppDir copies host.json and the function folders, with the queue's
// visibility timeout down to one second and maxDequeueCount 3, so retries
// and poison happen within a test.
func testAppDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	raw, err := os.ReadFile("host.json")
	if err != nil {
		t.Fatal(err)
	}
	var host map[string]any
	if err := json.Unmarshal(raw, &host); err != nil {
		t.Fatal(err)
	}
	q := host["extensions"].(map[string]any)["queues"].(map[string]any)
	q["visibilityTimeout"], q["maxDequeueCount"], q["maxPollingInterval"] = "00:00:01", 3, "00:00:00.200"
	raw, _ = json.MarshalIndent(host, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "host.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir("functions", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, path)
		os.MkdirAll(filepath.Dir(dst), 0o755)
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func newWorkflowRig(t testing.TB, extraEnv ...string) *workflowRig {
	t.Helper()
	acct := azuritetest.Account(t)
	bin := sharedHandler(t)
	name := azuritetest.Name(t, "wf")
	r := &workflowRig{t: t, bin: bin, queue: name + "-steps", tenant: graphfake.NewTenant()}
	r.tenant.PutSku(graphfake.Sku{SkuID: skuVisio, PartNumber: "VISIOCLIENT", CapabilityStatus: "Enabled", Enabled: 10})
	r.graph = graphfake.NewServer(r.tenant, slog.New(slog.DiscardHandler))
	gs := httptest.NewServer(r.graph)
	t.Cleanup(gs.Close)

	app, err := funchost.Load(testAppDir(t))
	if err != nil {
		t.Fatal(err)
	}
	r.app = app
	qsvc, err := acct.QueueService()
	if err != nil {
		t.Fatal(err)
	}
	// A restart stops the old host's queue polling with its messages in
	// flight; they come back when their lease lapses (the invocation
	// timeout plus 30 s), which must fit in the tests' waits.
	r.cfg = funchost.Config{QueueService: qsvc, Settings: map[string]string{"ACTIVATION_QUEUE": r.queue, "WORK_QUEUE": r.queue + "-work"}, DrainTimeout: 30 * time.Second,
		InvocationTimeout: 10 * time.Second}
	r.env = append(os.Environ(), "AzureWebJobsStorage=UseDevelopmentStorage=true", "STORAGE_PREFIX="+name, "ACTIVATION_QUEUE="+r.queue, "WORK_QUEUE="+r.queue+"-work",
		"ADMINS="+testAdmin, "MAIL_MODE=outbox", "CENTRAL_IT_EMAIL=licensing@central-it.example.gov",
		"GRAPH_MODE=live", "GRAPH_AUTH=none", "GRAPH_BASE_URL="+gs.URL+"/v1.0", "GRAPH_MAX_RETRY_WAIT=1s",
		"ACTIVATION_CHECK_EVERY=1s", "EFFECT_LEASE=3s", "APP_URL=https://func.example.net", "LOG_LEVEL=error")
	r.env = append(r.env, extraEnv...)
	r.start()
	t.Cleanup(r.stop)

	tsvc, _ := acct.TableService()
	bsvc, _ := acct.BlobService()
	r.tables = tablestore.New(tsvc, tablestore.Options{TablePrefix: name})
	r.blobs = blobstore.New(bsvc, name+"licensing")

	doa := `{"name":"Department of Administration","contacts":["licensing@doa.example.gov"],"delegates":["` + delegate + `"],` +
		`"attribution":{"attribute":"department","values":["Administration"]}}`
	if st, body := r.call(http.MethodPut, "/api/agencies/DOA", testAdmin, "application/json", []byte(doa)); st != http.StatusCreated {
		t.Fatalf("PUT agency: %d %s", st, body)
	}
	return r
}

// start runs the handler and the queue polling.
func (r *workflowRig) start() {
	r.t.Helper()
	h, err := r.app.Start(context.Background(), r.bin, r.env, r.cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	r.host.Store(h)
	r.hosts = append(r.hosts, h)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go h.RunQueues(ctx)
}

// kill stops the handler process at once (SIGKILL via Close's fallback is
// not needed: Close signals the process group) and starts a new one.
func (r *workflowRig) restart() {
	r.cancel()
	r.host.Load().Close()
	r.start()
}

func (r *workflowRig) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	r.stopped = true
	r.cancel()
	r.host.Load().Close()
}

func (r *workflowRig) call(method, path, caller, contentType string, body []byte) (int, []byte) {
	r.t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("X-MS-CLIENT-PRINCIPAL-NAME", caller)
	rec := httptest.NewRecorder()
	r.host.Load().ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// purchaseOrderJSON is the JSON a client posts for PO po of DOA, with the PO
// document and, withEmail, the activation email.
func purchaseOrderJSON(po string, withEmail bool) []byte {
	docs := []map[string]string{{"kind": "purchase-order", "fileName": "PO.pdf", "contentType": "application/pdf", "contentBase64": base64.StdEncoding.EncodeToString(fakes.PDF)}}
	if withEmail {
		docs = append(docs, map[string]string{"kind": "activation-email", "fileName": "activation.eml", "contentBase64": base64.StdEncoding.EncodeToString(fakes.EML)})
	}
	body, _ := json.Marshal(map[string]any{"agency": "DOA", "poNumber": po, "reseller": "SHI", "agreement": "a-la-carte",
		"activationScenario": "new-customer", "termStart": "2026-08-01", "requester": map[string]string{"name": "Pat", "email": delegate},
		"lines": []map[string]any{{"sku": "VISIOCLIENT", "quantity": 25}}, "documents": docs})
	return body
}

func (r *workflowRig) submit(po string, withEmail bool) (int, string) {
	r.t.Helper()
	st, resp := r.call(http.MethodPost, "/api/purchase-orders", delegate, "application/json", purchaseOrderJSON(po, withEmail))
	var out struct{ ID string }
	json.Unmarshal(resp, &out)
	if st != http.StatusCreated && st != http.StatusOK {
		r.t.Fatalf("submit %s: %d %s", po, st, resp)
	}
	return st, out.ID
}

func (r *workflowRig) request(id string) licensing.ServiceRequest {
	r.t.Helper()
	sr, err := r.tables.GetRequest(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	return sr
}

// waitFor polls the request until it has status (within 60 s).
func (r *workflowRig) waitFor(id, status string) licensing.ServiceRequest {
	r.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		sr := r.request(id)
		if sr.Status == status {
			return sr
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s is %s after 60 s, want %s; history %+v", id, sr.Status, status, sr.History)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// mail lists the outbox's messages by file name.
func (r *workflowRig) mail() []string {
	r.t.Helper()
	var names []string
	err := r.blobs.List(context.Background(), "outbox/", func(b blobstore.BlobInfo) error {
		names = append(names, b.Name[strings.LastIndexByte(b.Name, '/')+1:])
		return nil
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return names
}

// checkOnce verifies a closed request left exactly one ledger line per
// product, each added and activated once in the audit log, the history
// with each status once, and the expected mail.
func (r *workflowRig) checkOnce(id string, wantMail []string) {
	r.t.Helper()
	ctx := context.Background()
	lines, err := r.tables.ListPurchases(ctx, licensing.PurchaseFilter{SRID: id})
	if err != nil {
		r.t.Fatal(err)
	}
	if len(lines) != 1 || lines[0].Quantity != 25 || lines[0].ActivatedAt == nil {
		r.t.Errorf("ledger lines of %s = %+v, want one active line of 25", id, lines)
	}
	audit, err := r.tables.PurchaseAudit(ctx, "DOA", 100)
	if err != nil {
		r.t.Fatal(err)
	}
	actions := map[string]int{}
	for _, a := range audit {
		if strings.HasPrefix(a.Purchase, id) {
			actions[a.Action]++
		}
	}
	if actions[licensing.AuditAdded] != 1 || actions[licensing.AuditActivated] != 1 {
		r.t.Errorf("audit of %s = %v, want one addition and one activation", id, actions)
	}
	seen := map[string]int{}
	for _, h := range r.request(id).History {
		seen[h.To]++
	}
	for st, n := range seen {
		if n != 1 && st != licensing.StatusAwaitingActivation {
			r.t.Errorf("history of %s has %s %d times", id, st, n)
		}
	}
	var got []string
	for _, m := range r.mail() {
		if strings.HasPrefix(m, id) {
			got = append(got, strings.TrimSuffix(strings.TrimPrefix(m, id+"."), ".eml"))
		}
	}
	if strings.Join(got, ",") != strings.Join(wantMail, ",") {
		r.t.Errorf("mail of %s = %v, want %v", id, got, wantMail)
	}
}

func TestWorkflowCompletePOToClosed(t *testing.T) {
	r := newWorkflowRig(t)
	st, id := r.submit("4500000001", true)
	if st != http.StatusCreated {
		t.Fatalf("status %d", st)
	}
	// The same PO again, while it is being processed: counted once.
	if st, again := r.submit("4500000001", true); st != http.StatusOK || again != id {
		t.Errorf("duplicate: %d %s", st, again)
	}
	r.waitFor(id, licensing.StatusAwaitingActivation)
	r.tenant.AddSeats(skuVisio, "VISIOCLIENT", 25)
	r.waitFor(id, licensing.StatusClosed)
	r.checkOnce(id, []string{"close", "route"})
	if list, _ := r.tables.ListRequests(context.Background(), licensing.RequestFilter{}); len(list) != 1 {
		t.Errorf("%d requests, want 1", len(list))
	}
}

func TestWorkflowNeedsInformationThenDocuments(t *testing.T) {
	r := newWorkflowRig(t)
	_, id := r.submit("4500000002", false)
	sr := r.waitFor(id, licensing.StatusNeedsInformation)
	if fmt.Sprint(sr.Missing) != "[activation-email]" {
		t.Errorf("missing = %v", sr.Missing)
	}
	// The requester is told what is missing.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(strings.Join(r.mail(), ","), "needs-information") {
		if time.Now().After(deadline) {
			t.Fatalf("no needs-information mail: %v", r.mail())
		}
		time.Sleep(100 * time.Millisecond)
	}
	body, _ := json.Marshal(map[string]any{"documents": []map[string]string{{"kind": "activation-email", "fileName": "a.eml",
		"contentBase64": base64.StdEncoding.EncodeToString(fakes.EML)}}})
	if st, resp := r.call(http.MethodPost, "/api/service-requests/"+id+"/documents", delegate, "application/json", body); st != http.StatusOK {
		t.Fatalf("documents: %d %s", st, resp)
	}
	r.waitFor(id, licensing.StatusAwaitingActivation)
	r.tenant.AddSeats(skuVisio, "VISIOCLIENT", 25)
	r.waitFor(id, licensing.StatusClosed)
	mail := r.mail()
	needs := 0
	for _, m := range mail {
		if strings.Contains(m, "needs-information") {
			needs++
		}
	}
	if needs != 1 {
		t.Errorf("needs-information mails = %d in %v", needs, mail)
	}
}

func TestWorkflowNeverSeenAdminConfirms(t *testing.T) {
	r := newWorkflowRig(t)
	_, id := r.submit("4500000003", true)
	r.waitFor(id, licensing.StatusAwaitingActivation)
	time.Sleep(2500 * time.Millisecond) // a few looks at the tenant, finding nothing
	if st, resp := r.call(http.MethodPost, "/api/service-requests/"+id+"/activation", delegate, "application/json", nil); st != http.StatusForbidden {
		t.Errorf("a delegate confirming: %d %s", st, resp)
	}
	if st, resp := r.call(http.MethodPost, "/api/service-requests/"+id+"/activation", testAdmin, "application/json", []byte(`{"note":"seen in the admin center"}`)); st != http.StatusOK {
		t.Fatalf("confirm: %d %s", st, resp)
	}
	sr := r.waitFor(id, licensing.StatusClosed)
	if sr.VerifySeq < 2 {
		t.Errorf("the tenant was looked at %d times before the admin confirmed", sr.VerifySeq)
	}
	r.checkOnce(id, []string{"close", "route"})
}

func TestWorkflowPoisonedStepFailsRequest(t *testing.T) {
	r := newWorkflowRig(t)
	// Graph is down for good: validate fails on every delivery.
	r.graph.Inject(graphfake.Fault{Endpoint: graphfake.EndpointSubscribedSkus, Status: 503, Times: 1000})
	_, id := r.submit("4500000004", true)
	deadline := time.Now().Add(60 * time.Second)
	for r.host.Load().QueueCounts("ActivationSteps").Poisoned == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the message never reached the poison queue: %+v", r.host.Load().QueueCounts("ActivationSteps"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if st := r.request(id).Status; st != licensing.StatusSubmitted {
		t.Fatalf("status before the sweep = %s", st)
	}
	inv, err := r.host.Load().FireTimer(context.Background(), "ActivationSweep", false)
	if err != nil || !inv.Succeeded {
		t.Fatalf("sweep: %v %+v", err, inv)
	}
	sr := r.request(id)
	if sr.Status != licensing.StatusFailed || !strings.Contains(sr.Failure, "validate") {
		t.Errorf("after the sweep: %s %q", sr.Status, sr.Failure)
	}
	mail := r.mail()
	if len(mail) != 1 || !strings.HasSuffix(mail[0], ".failed.eml") {
		t.Errorf("mail = %v, want the failure mail to central IT", mail)
	}
	// The poison queue is empty now: a second sweep finds nothing.
	if inv, _ := r.host.Load().FireTimer(context.Background(), "ActivationSweep", false); !inv.Succeeded {
		t.Errorf("second sweep: %+v", inv)
	}
}

func TestWorkflowSurvivesHandlerCrashes(t *testing.T) {
	r := newWorkflowRig(t)
	// Every Graph call takes a while, so that kills land inside steps.
	r.graph.Latency = 150 * time.Millisecond
	_, id := r.submit("4500000005", true)
	// Kill the handler again and again while the steps run, some of them
	// in the middle of a step; the host redelivers what was not finished.
	crash := func(times int) {
		for i := 0; i < times; i++ {
			time.Sleep(time.Duration(40+i*70) * time.Millisecond)
			r.restart()
		}
	}
	interrupted := func() int {
		n := 0
		for _, h := range r.hosts {
			n += h.QueueCounts("ActivationSteps").Failed
		}
		return n
	}
	crash(5)
	r.waitFor(id, licensing.StatusAwaitingActivation)
	// The verify step looks at the tenant every second: keep killing the
	// handler until at least one step was cut short (bounded).
	for i := 0; i < 40 && interrupted() == 0; i++ {
		time.Sleep(time.Duration(150+(i%4)*100) * time.Millisecond)
		r.restart()
	}
	r.tenant.AddSeats(skuVisio, "VISIOCLIENT", 25)
	crash(3)
	r.waitFor(id, licensing.StatusClosed)
	t.Logf("%d handler restarts, %d step invocations cut short", len(r.hosts)-1, interrupted())
	if interrupted() == 0 {
		t.Error("no step was interrupted: the test did not crash the handler mid-step")
	}
	r.checkOnce(id, []string{"close", "route"})
}

// BenchmarkIntakeLoad sends purchase orders to the staged handler under the
// harness, over loopback HTTP, with Table and Blob Storage on Azurite: a
// bounded load (INTAKE_LOAD_REQUESTS, default 400, from 8 clients, at most
// 60 s). It reports throughput and the p50 and p99 latency seen by the
// clients. The queue is not polled meanwhile, so only intake is measured.

// TestCrashBetweenSendAndRecordMailsOnce kills the handler (SIGKILL) right
// after Graph accepted the "Ready for activation" mail, before the handler
// heard the answer or recorded it. The redelivered step must not send the
// mail again: it finds the mail claimed, waits for the claim to lapse, and
// records it as unconfirmed on the request.
func TestCrashBetweenSendAndRecordMailsOnce(t *testing.T) {
	r := newWorkflowRig(t, "MAIL_MODE=graph", "MAIL_SENDER=licensing@central-it.example.gov", "EFFECT_LEASE=2s")
	var killed atomic.Bool
	r.graph.OnMailSent = func(m graphfake.SentMessage) {
		if strings.HasPrefix(m.Subject, "Ready for activation") && killed.CompareAndSwap(false, true) {
			if err := r.host.Load().Kill(); err != nil {
				t.Errorf("kill: %v", err)
			}
			go r.restart()
		}
	}
	_, id := r.submit("4500000077", true)
	sr := r.waitFor(id, licensing.StatusAwaitingActivation)
	if !killed.Load() {
		t.Fatal("the handler was not killed after sending: the test did not crash it")
	}
	routed := 0
	for _, m := range r.graph.SentMail() {
		if strings.HasPrefix(m.Subject, "Ready for activation") {
			routed++
		}
	}
	if routed != 1 {
		t.Errorf("%d \"Ready for activation\" mails sent, want 1", routed)
	}
	noted := false
	for _, h := range sr.History {
		noted = noted || strings.Contains(h.Why, "may not have been sent")
	}
	if !noted {
		t.Errorf("the request's history does not say the mail is unconfirmed: %+v", sr.History)
	}
}

// Run with -benchtime 1x.
func BenchmarkIntakeLoad(b *testing.B) {
	total := 400
	if v, err := strconv.Atoi(os.Getenv("INTAKE_LOAD_REQUESTS")); err == nil && v > 0 {
		total = v
	}
	const workers = 8
	r := newWorkflowRig(b)
	r.cancel() // intake only
	front := httptest.NewServer(r.host.Load())
	defer front.Close()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	for b.Loop() {
		deadline := time.Now().Add(60 * time.Second)
		var next atomic.Int64
		lat := make([]time.Duration, total)
		errs := make(chan error, workers)
		run := fmt.Sprintf("%06d", time.Now().UnixNano()%1000000)
		start := time.Now()
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= total || time.Now().After(deadline) {
						return
					}
					body, _ := json.Marshal(map[string]any{"agency": "DOA", "poNumber": fmt.Sprintf("L%s-%d", run, i), "agreement": "a-la-carte",
						"activationScenario": "new-customer", "termStart": "2026-08-01", "requester": map[string]string{"name": "Pat", "email": delegate},
						"lines": []map[string]any{{"sku": "VISIOCLIENT", "quantity": 5}},
						"documents": []map[string]string{
							{"kind": "purchase-order", "contentType": "application/pdf", "contentBase64": base64.StdEncoding.EncodeToString(fakes.PDF)},
							{"kind": "activation-email", "contentBase64": base64.StdEncoding.EncodeToString(fakes.EML)}}})
					req, _ := http.NewRequest(http.MethodPost, front.URL+"/api/purchase-orders", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("X-MS-CLIENT-PRINCIPAL-NAME", delegate)
					t0 := time.Now()
					resp, err := client.Do(req)
					if err != nil {
						errs <- err
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					lat[i] = time.Since(t0)
					if resp.StatusCode != http.StatusCreated {
						errs <- fmt.Errorf("request %d: status %d", i, resp.StatusCode)
						return
					}
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		var done []time.Duration
		for _, l := range lat {
			if l > 0 {
				done = append(done, l)
			}
		}
		sort.Slice(done, func(i, j int) bool { return done[i] < done[j] })
		if len(done) == 0 {
			b.Fatal("no request finished")
		}
		b.ReportMetric(float64(len(done)), "requests")
		b.ReportMetric(float64(len(done))/elapsed.Seconds(), "req/s")
		b.ReportMetric(float64(done[len(done)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(done[len(done)*99/100].Microseconds())/1000, "p99-ms")
	}
}
