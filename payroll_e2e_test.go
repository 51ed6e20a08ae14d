package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// TestPayrollTimerFansOutThroughTheWorkQueue fires the PayrollReport timer
// through the host harness on the built handler (Azurite, fake Graph): the
// timer starts the run's snapshot and the run on WORK_QUEUE; the Work
// function plans the run, delivers each agency's report in a piece of its
// own and then the summary; GET /api/runs shows the run's progress and its
// end.
func TestPayrollTimerFansOutThroughTheWorkQueue(t *testing.T) {
	chicago, _ := time.LoadLocation("America/Chicago")
	today := licensing.DateOf(time.Now(), chicago)
	monday := today.AddDays(-((int(today.Time().Weekday()) + 6) % 7))
	r := newWorkflowRig(t, "PAYROLL_ANCHOR_DATE="+monday.String(), "PAYROLL_INTERVAL_DAYS=7", "REPORT_TIME_ZONE=America/Chicago")
	det := `{"name":"Department of Transportation","contacts":["licensing@det.example.gov"],"attribution":{"attribute":"department","values":["Transportation"]}}`
	if st, body := r.call(http.MethodPut, "/api/agencies/DET", testAdmin, "application/json", []byte(det)); st != http.StatusCreated {
		t.Fatalf("PUT agency: %d %s", st, body)
	}
	inv, err := r.host.Load().FireTimer(context.Background(), "PayrollReport", true)
	if err != nil || !inv.Succeeded {
		t.Fatalf("timer: %+v, %v", inv, err)
	}
	run := func() (out struct {
		Outcome, Message string
		Counts           map[string]int
	}) {
		st, body := r.call(http.MethodGet, "/api/runs?function=PayrollReport", testAdmin, "", nil)
		var list struct {
			Runs []json.RawMessage `json:"runs"`
		}
		if err := json.Unmarshal(body, &list); st != http.StatusOK || err != nil || len(list.Runs) != 1 {
			t.Fatalf("GET /api/runs: %d %s", st, body)
		}
		json.Unmarshal(list.Runs[0], &out)
		return out
	}
	want := "payroll " + monday.String() + ": 2 of 2 agencies delivered, summary mailed"
	deadline := time.Now().Add(60 * time.Second)
	seen := map[string]bool{}
	for {
		rec := run()
		seen[rec.Message] = true
		if rec.Outcome == licensing.RunSucceeded {
			if rec.Message != want || rec.Counts["agencies planned"] != 2 || rec.Counts["agencies delivered"] != 2 {
				t.Errorf("run = %+v, want %q", rec, want)
			}
			break
		}
		if rec.Outcome != licensing.RunRunning || time.Now().After(deadline) {
			t.Fatalf("run = %+v after %s; seen %v", rec, time.Since(deadline.Add(-60*time.Second)), seen)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if c := r.host.Load().QueueCounts("Work"); c.Processed < 3 || c.Poisoned != 0 {
		t.Errorf("Work function: %+v, want the start and one piece per agency (and the snapshot's pieces) processed", c)
	}
	var got []string
	for _, m := range r.mail() {
		if strings.HasPrefix(m, "payroll-") {
			got = append(got, m)
		}
	}
	run0 := "payroll-" + monday.String()
	if strings.Join(got, ",") != run0+".DET.eml,"+run0+".DOA.eml,"+run0+".enterprise-summary.eml" {
		t.Errorf("payroll mail = %v, want DET, DOA and the summary once each", got)
	}
}
