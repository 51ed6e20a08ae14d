package main

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/provisioning"
)

const detGroup = "6f1c0f55-1b1b-4c4c-9d9d-00000000de71"

// fanOutRig is the provisioning rig with DET's delegated Project group
// (users 41 to 45) beside DOA's Visio group, and a work queue that keeps
// the pieces Start sends.
func fanOutRig(t *testing.T) (*provisionRig, *licensing.LocalQueue) {
	t.Helper()
	r := newProvisionRig(t, 100)
	r.buy("L1", 5, "2026-07-01", "2027-06-30")
	r.group(upTo(8))
	ctx := context.Background()
	r.tenant.PutGroup(graphfake.Group{ID: detGroup, DisplayName: "DET Project", Members: []string{userID(41), userID(42), userID(43), userID(44), userID(45)}})
	at := r.clock().AddDate(-2, 0, 0)
	if _, err := r.tables.AddPurchases(ctx, []licensing.Purchase{{ID: "P1", Agency: "DET", SkuID: skuProject, PartNumber: "PROJECTPROFESSIONAL", Quantity: 3,
		TermStart: mustDate(t, "2026-07-01"), TermEnd: mustDate(t, "2027-06-30"), PONumber: "PO-P1", Source: "test", ActivatedAt: &at, Created: at, CreatedBy: provAdmin}},
		provAdmin, "test purchase"); err != nil {
		t.Fatal(err)
	}
	auth := licensing.NewAuthorizer(r.tables, []string{provAdmin}, false)
	det, err := r.tables.GetAgency(ctx, "DET")
	if err != nil {
		t.Fatal(err)
	}
	det.DelegatedGroups = []licensing.DelegatedGroup{{Product: "PROJECTPROFESSIONAL", GroupID: detGroup}}
	if _, _, err := licensing.NewAgencyAdmin(r.tables, auth, nil).PutAgency(ctx, &licensing.Principal{Name: provAdmin}, "DET", det, licensing.Precondition{}); err != nil {
		t.Fatal(err)
	}
	q := &licensing.LocalQueue{}
	r.work = q
	return r, q
}

// runRecord returns the one ProvisionGroups run record.
func (r *provisionRig) runRecord() licensing.Run {
	r.t.Helper()
	runs, err := r.tables.ListRuns(context.Background(), licensing.RunFilter{Function: provisioning.Function})
	if err != nil || len(runs) != 1 {
		r.t.Fatalf("runs = %+v, %v; want one", runs, err)
	}
	return runs[0]
}

// pieces starts a run and returns its messages by agency.
func startPieces(t *testing.T, r *provisionRig, q *licensing.LocalQueue) map[string]string {
	t.Helper()
	res, err := r.service().Start(context.Background(), provisioning.Options{Trigger: "timer"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, text := range q.Take() {
		var p struct {
			Kind, Agency, Run, Date string
			Plan                    []string
		}
		if err := json.Unmarshal([]byte(text), &p); err != nil {
			t.Fatal(err)
		}
		if p.Kind != provisioning.KindAgency || p.Run != res.RunID || p.Date != "2026-11-02" || strings.Join(p.Plan, ",") != "DET,DOA" {
			t.Errorf("piece = %s; want kind %s, run %s, date 2026-11-02, plan DET,DOA", text, provisioning.KindAgency, res.RunID)
		}
		if _, dup := out[p.Agency]; dup {
			t.Errorf("two pieces for %s", p.Agency)
		}
		out[p.Agency] = text
	}
	return out
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestProvisioningStartSendsOnePiecePerAgency: the scheduled run sends one
// provision.agency message per agency with delegated groups and records
// the run as running with none of them done; each piece provisions its
// agency, and the last one ends the record with every agency done.
func TestProvisioningStartSendsOnePiecePerAgency(t *testing.T) {
	r, q := fanOutRig(t)
	pieces := startPieces(t, r, q)
	if got := strings.Join(keys(pieces), ","); got != "DET,DOA" {
		t.Fatalf("pieces for %s; want DET,DOA", got)
	}
	if rec := r.runRecord(); rec.Outcome != licensing.RunRunning || rec.Message != "provisioning: 0 of 2 agencies done" || rec.Counts["agencies planned"] != 2 {
		t.Errorf("record after the start = %+v", rec)
	}
	if n := r.server.Count(graphfake.EndpointBatch) + r.server.Count(graphfake.EndpointAssignLicense); n != 0 {
		t.Errorf("the start made %d license writes; want none", n)
	}
	svc := r.service()
	ctx := context.Background()
	if err := svc.HandleWork(ctx, pieces["DOA"], false, nil); err != nil {
		t.Fatal(err)
	}
	if rec := r.runRecord(); rec.Outcome != licensing.RunRunning || rec.Message != "provisioning: 1 of 2 agencies done" || rec.Counts["agencies done"] != 1 {
		t.Errorf("record after DOA = %+v", rec)
	}
	if err := svc.HandleWork(ctx, pieces["DET"], false, nil); err != nil {
		t.Fatal(err)
	}
	rec := r.runRecord()
	if rec.Outcome != licensing.RunSucceeded || rec.Message != "provisioning: 2 of 2 agencies done" || rec.Counts["agencies done"] != 2 ||
		rec.Counts["added"] != 8 || rec.Counts["waitlisted"] != 5 || rec.Counts["groups"] != 2 {
		t.Errorf("record at the end = %+v; want succeeded, 2 of 2 done, 8 added (5 DOA, 3 DET), 5 waitlisted", rec)
	}
	if got := len(r.holders()); got != 5 {
		t.Errorf("DOA: %d hold Visio; want 5", got)
	}
}

// TestProvisioningDuplicatePieceDoesNothingMore: a piece delivered again
// after it finished, and two copies delivered at once, assign each member
// once and mail once; the run's record counts the agency once.
func TestProvisioningDuplicatePieceDoesNothingMore(t *testing.T) {
	r, q := fanOutRig(t)
	pieces := startPieces(t, r, q)
	ctx := context.Background()
	// Two copies at once: one provisions, the other finds the agency's
	// lease held (tried again later) or the agency finished.
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = r.service().HandleWork(ctx, pieces["DOA"], false, nil)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && licensing.ErrorCode(err) != licensing.Unavailable {
			t.Errorf("copy at once: %v; want nil or unavailable (in progress)", err)
		}
	}
	calls := func() int {
		n := 0
		for _, e := range []string{graphfake.EndpointBatch, graphfake.EndpointAssignLicense, graphfake.EndpointTransitiveMembers, graphfake.EndpointSubscribedSkus} {
			n += r.server.Count(e)
		}
		return n
	}
	before, mails := calls(), len(r.mails(""))
	// The copy the host shows again later, and one more delivery after it:
	// the agency is finished for the run, so they do not even read Graph.
	for range 2 {
		if err := r.service().HandleWork(ctx, pieces["DOA"], false, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := calls(); n != before || len(r.mails("")) != mails {
		t.Errorf("the copies made %d Graph requests and %d mails; want none", n-before, len(r.mails(""))-mails)
	}
	for n, c := range r.adds() {
		if c != 1 {
			t.Errorf("u%02d assigned %d times; want once", n, c)
		}
	}
	if n := len(r.mails("provisioning.DOA.waitlist")); n != 1 {
		t.Errorf("DOA waitlist mails = %d; want 1", n)
	}
	if rec := r.runRecord(); rec.Outcome != licensing.RunRunning || rec.Message != "provisioning: 1 of 2 agencies done" || rec.Counts["agencies done"] != 1 {
		t.Errorf("record = %+v; want DOA counted once", rec)
	}
}

// groupFails reads the tenant through Directory, except the members of
// group, which are unavailable.
type groupFails struct {
	licensing.Directory
	group string
}

func (g groupFails) GroupUserMembers(ctx context.Context, group string, fn func(licensing.GroupMember) error) error {
	if strings.EqualFold(group, g.group) {
		return licensing.Errorf("test.groupMembers", licensing.Unavailable, "Microsoft Graph is unavailable.")
	}
	return g.Directory.GroupUserMembers(ctx, group, fn)
}

// TestProvisioningLastDeliveryFailureRecorded: a piece that fails is
// retried; when its last delivery fails too, the agency is recorded failed
// and the run's record ends (failed, naming the agency) instead of waiting
// for ever. A later run provisions the agency.
func TestProvisioningLastDeliveryFailureRecorded(t *testing.T) {
	r, q := fanOutRig(t)
	pieces := startPieces(t, r, q)
	ctx := context.Background()
	r.directory = groupFails{r.client, detGroup}
	if err := r.service().HandleWork(ctx, pieces["DOA"], false, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.service().HandleWork(ctx, pieces["DET"], false, nil); licensing.ErrorCode(err) != licensing.Unavailable {
		t.Fatalf("DET's first try: %v; want unavailable", err)
	}
	if rec := r.runRecord(); rec.Outcome != licensing.RunRunning || rec.Message != "provisioning: 1 of 2 agencies done" {
		t.Errorf("record after a failed try = %+v; want still running", rec)
	}
	if err := r.service().HandleWork(ctx, pieces["DET"], true, nil); licensing.ErrorCode(err) != licensing.Unavailable {
		t.Fatalf("DET's last try: %v; want unavailable", err)
	}
	rec := r.runRecord()
	if rec.Outcome != licensing.RunFailed || rec.Counts["agencies done"] != 1 || rec.Counts["agencies failed"] != 1 ||
		!strings.Contains(rec.Message, "1 of 2 agencies done, 1 failed (DET: Microsoft Graph is unavailable.)") {
		t.Errorf("record after the last try = %+v; want failed, 1 of 2 done, DET failed", rec)
	}
	// The next hour's run, with Graph back, provisions DET.
	r.directory = nil
	r.advance(2 * time.Hour)
	res := r.run(false)
	if res.Progress != "provisioning: 2 of 2 agencies done" {
		t.Errorf("next run: %q", res.Progress)
	}
	for _, a := range res.Agencies {
		if a.Agency == "DET" && (len(a.Products) != 1 || a.Products[0].Added != 3) {
			t.Errorf("next run's DET = %+v; want 3 added", a)
		}
	}
}
