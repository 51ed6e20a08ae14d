package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// TestProvisionGroupsTimerFansOutThroughTheWorkQueue fires the
// ProvisionGroups timer through the host harness on the built handler
// (Azurite, fake Graph): the timer sends one piece per agency with
// delegated groups to WORK_QUEUE, the Work function provisions each agency
// once, and GET /api/runs shows the run end with every agency done.
func TestProvisionGroupsTimerFansOutThroughTheWorkQueue(t *testing.T) {
	r := newWorkflowRig(t)
	ctx := context.Background()
	now := time.Now().UTC()
	agencies := []string{"DPS", "DOR", "DNR"}
	for i, id := range agencies {
		group := fmt.Sprintf("6f1c0f55-1b1b-4c4c-9d9d-0000000e2e%02d", i)
		var members []string
		for n := 1; n <= 3; n++ {
			uid := userID(100 + 10*i + n)
			members = append(members, uid)
			r.tenant.PutUser(graphfake.User{ID: uid, UserPrincipalName: fmt.Sprintf("u%d@%s.example.gov", n, id), DisplayName: "User",
				UsageLocation: "US", AccountEnabled: true, Created: now.AddDate(-1, 0, 0)})
		}
		r.tenant.PutGroup(graphfake.Group{ID: group, DisplayName: id + " Visio", Members: members})
		body := fmt.Sprintf(`{"name":"Agency %s","contacts":["licensing@%s.example.gov"],"attribution":{"attribute":"department","values":["%s"]},`+
			`"delegatedGroups":[{"product":"VISIOCLIENT","groupId":"%s"}]}`, id, id, id, group)
		if st, resp := r.call(http.MethodPut, "/api/agencies/"+id, testAdmin, "application/json", []byte(body)); st != http.StatusCreated {
			t.Fatalf("PUT agency %s: %d %s", id, st, resp)
		}
		at := now.AddDate(0, -2, 0)
		if _, err := r.tables.AddPurchases(ctx, []licensing.Purchase{{ID: "V" + id, Agency: id, SkuID: skuVisio, PartNumber: "VISIOCLIENT", Quantity: 2,
			TermStart: licensing.DateOf(at, time.UTC), TermEnd: licensing.DateOf(now.AddDate(0, 6, 0), time.UTC), PONumber: "PO-V" + id, Source: "test",
			ActivatedAt: &at, Created: at, CreatedBy: testAdmin}}, testAdmin, "test purchase"); err != nil {
			t.Fatal(err)
		}
	}
	inv, err := r.host.Load().FireTimer(ctx, "ProvisionGroups", false)
	if err != nil || !inv.Succeeded {
		t.Fatalf("timer: %+v, %v", inv, err)
	}
	want := "provisioning: 3 of 3 agencies done"
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, body := r.call(http.MethodGet, "/api/runs?function=ProvisionGroups", testAdmin, "", nil)
		var list struct {
			Runs []struct {
				Outcome, Message string
				Counts           map[string]int
			} `json:"runs"`
		}
		if err := json.Unmarshal(body, &list); st != http.StatusOK || err != nil || len(list.Runs) != 1 {
			t.Fatalf("GET /api/runs: %d %s", st, body)
		}
		rec := list.Runs[0]
		if rec.Outcome == licensing.RunSucceeded {
			if rec.Message != want || rec.Counts["agencies planned"] != 3 || rec.Counts["agencies done"] != 3 || rec.Counts["added"] != 6 {
				t.Errorf("run = %+v; want %q, 6 added", rec, want)
			}
			break
		}
		if rec.Outcome != licensing.RunRunning || time.Now().After(deadline) {
			t.Fatalf("run = %+v", rec)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for c := r.host.Load().QueueCounts("Work"); c.Processed != 3 || c.Poisoned != 0; c = r.host.Load().QueueCounts("Work") {
		if c.Processed > 3 || c.Poisoned != 0 || time.Now().After(deadline) {
			t.Fatalf("Work function: %+v; want one piece per agency", c)
		}
		time.Sleep(50 * time.Millisecond)
	}
	adds := map[string]int{}
	for _, a := range r.graph.Assignments() {
		for _, sku := range a.Add {
			if sku == skuVisio {
				adds[a.UserID]++
			}
		}
	}
	if len(adds) != 6 {
		t.Errorf("users assigned Visio = %d; want 6 (two per agency)", len(adds))
	}
	for id, n := range adds {
		if n != 1 {
			t.Errorf("%s assigned %d times; want once", id, n)
		}
	}
	for _, id := range agencies {
		waits := 0
		for _, m := range r.mail() {
			if strings.HasPrefix(m, "provisioning."+id+".waitlist.") {
				waits++
			}
		}
		if waits != 1 {
			t.Errorf("%s waitlist mails = %d; want 1", id, waits)
		}
	}
}
