package xlsx

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// provisioningState is DOA's Visio group (2 seats: two assigned, one of
// them disabled; two waiting; one licensed elsewhere; one in error) and its
// Project group, which has no members.
func provisioningState() *licensing.ProvisioningState {
	at := func(day, hour int) time.Time { return time.Date(2026, 7, day, hour, 0, 0, 0, time.UTC) }
	return &licensing.ProvisioningState{
		Agency: "DOA",
		AsOf:   time.Date(2026, 8, 3, 11, 0, 0, 0, time.UTC),
		Products: []licensing.ProductSeats{
			{
				SkuID: "s1", PartNumber: "VISIOCLIENT", Name: "Visio Plan 2", GroupID: "6f1c0f55-1b1b-4c4c-9d9d-000000000001", Cap: 2,
				Assigned: []licensing.SeatEntry{
					{UserID: "u1", UserPrincipalName: "ann@doa.example.gov", Since: at(1, 15)},
					{UserID: "u2", UserPrincipalName: "bob@doa.example.gov", Since: at(2, 15)},
				},
				Waitlist: []licensing.SeatEntry{
					{UserID: "u3", UserPrincipalName: "cy@doa.example.gov", Since: at(3, 15)},
					{UserID: "u4", UserPrincipalName: "dee@doa.example.gov", Since: at(4, 15)},
				},
				LicensedElsewhere: []licensing.SeatEntry{{UserID: "u5", UserPrincipalName: "eve@doa.example.gov"}},
				Errors:            []licensing.SeatEntry{{UserID: "u6", UserPrincipalName: "fay@doa.example.gov", Error: licensing.ReasonUsageLocation}},
				WouldFree:         []licensing.SeatEntry{{UserID: "u2", UserPrincipalName: "bob@doa.example.gov", Since: at(2, 15)}},
			},
			{SkuID: "s3", PartNumber: "PROJECTPROFESSIONAL", GroupID: "6f1c0f55-1b1b-4c4c-9d9d-000000000003", Cap: 10},
		},
	}
}

// TestWriteProvisioningSheet writes an agency report carrying a
// provisioning state and reads the Provisioning sheet back: title block,
// each group's counts, members in order (assigned, waitlist with positions,
// licensed elsewhere, errors), the seats disabled accounts would free,
// dates as date cells, the tones, one Excel table per group with members.
func TestWriteProvisioningSheet(t *testing.T) {
	r := agencyReport()
	r.Provisioning = provisioningState()
	var buf bytes.Buffer
	if err := NewReportWriter(WithLocation(chicago)).WriteAgencyReport(&buf, r, sourceOf(agencyUsers())); err != nil {
		t.Fatal(err)
	}
	checkBook(t, buf.Bytes(), bookWant{
		sheets: []string{"Summary", "Users", "Purchases", "Provisioning"},
		rows: map[string][][]string{"Provisioning": {
			{"Group provisioning: DOA"},
			{"Agency", "DOA"},
			{"As of (America/Chicago)", "2026-08-03 06:00"},
			nil,
			{noteSeatOrder},
			nil,
			{"Visio Plan 2 (VISIOCLIENT)"},
			{"Group", "6f1c0f55-1b1b-4c4c-9d9d-000000000001"},
			{"Seats bought and in force", "2"},
			{"Assigned", "2"},
			{"Waiting", "2"},
			{"Licensed elsewhere", "1"},
			{"Not assigned (errors)", "1"},
			{"Would free seats", "1"},
			nil,
			{"User principal name", "Seat", "Since (America/Chicago)", "Error"},
			{"ann@doa.example.gov", "Assigned", "2026-07-01 10:00"},
			{"bob@doa.example.gov", "Assigned", "2026-07-02 10:00"},
			{"cy@doa.example.gov", "Waiting (1)", "2026-07-03 10:00"},
			{"dee@doa.example.gov", "Waiting (2)", "2026-07-04 10:00"},
			{"eve@doa.example.gov", "Licensed elsewhere"},
			{"fay@doa.example.gov", "Not assigned", "", "UsageLocationMissing"},
			nil,
			{noteWouldFree},
			{"bob@doa.example.gov", "Assigned, account disabled", "2026-07-02 10:00"},
			nil,
			{"PROJECTPROFESSIONAL"},
			{"Group", "6f1c0f55-1b1b-4c4c-9d9d-000000000003"},
			{"Seats bought and in force", "10"},
			{"Assigned", "0"},
			{"Waiting", "0"},
			{"Licensed elsewhere", "0"},
			{"Not assigned (errors)", "0"},
			{"Would free seats", "0"},
			nil,
			{"The group has no members."},
			nil,
			{noteElsewhere},
			{noteErrors},
		}},
		tables:  map[string][]string{"Summary": {"A9:M12"}, "Purchases": {"A1:J3"}, "Provisioning": {"A16:D22"}},
		panes:   map[string]string{"Summary": "A10", "Users": "A2", "Purchases": "A2", "Provisioning": "A4"},
		filters: map[string]string{"Users": "A1:G4"},
		fills: map[string]string{
			"Provisioning!A17": "", "Provisioning!B19": flaggedFill, "Provisioning!A21": unusedFill,
			"Provisioning!D22": overFill, "Provisioning!A25": flaggedFill, "Provisioning!B10": "",
		},
		stamps: map[string]stampWant{
			"Provisioning!B3":  {time.Date(2026, 8, 3, 6, 0, 0, 0, time.UTC), stampFormat},
			"Provisioning!C19": {time.Date(2026, 7, 3, 10, 0, 0, 0, time.UTC), stampFormat},
		},
		chart: []string{"Purchased vs in use"},
		minWidths: map[string]float64{
			"Provisioning!A": float64(len("Seats bought and in force")), "Provisioning!B": float64(len("Assigned, account disabled")),
			"Provisioning!C": float64(len("2026-07-01 10:00")),
		},
	})
}

// TestWriteProvisioningSheetEdges covers a state no run has read yet, and
// a group with more seats assigned than bought (its count in red).
func TestWriteProvisioningSheetEdges(t *testing.T) {
	write := func(p *licensing.ProvisioningState) (*excelize.File, [][]string) {
		t.Helper()
		r := agencyReport()
		r.Provisioning = p
		var buf bytes.Buffer
		if err := NewReportWriter().WriteAgencyReport(&buf, r, nil); err != nil {
			t.Fatal(err)
		}
		f := openBook(t, buf.Bytes())
		rows, err := f.GetRows(sheetProvisioning)
		if err != nil {
			t.Fatal(err)
		}
		return f, rows
	}
	_, rows := write(&licensing.ProvisioningState{Agency: "DOA"})
	want := []string{"As of (UTC)", "not read yet"}
	if len(rows) != 7 || !slices.Equal(rows[2], want) || rows[6][0] != "The agency's delegated groups have not been read yet." {
		t.Errorf("Provisioning = %q, want as of %q and a sentence saying the groups were not read", rows, want)
	}

	over := provisioningState()
	over.Products[0].Cap = 1
	f, rows := write(over)
	if rows[9][1] != "2" {
		t.Fatalf("Assigned = %q", rows[9])
	}
	if fill := fillOf(t, f, sheetProvisioning, "B10"); fill != overFill {
		t.Errorf("Assigned over the seats bought: fill = %q, want %q", fill, overFill)
	}
}
