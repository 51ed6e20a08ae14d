package tablestore

import (
	"context"
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// The stored format: rows as this package wrote them before it had a
// Schema property, spelled out property by property, with their JSON
// payloads as literal text. TestStoredRowsRead reads them through the
// store's methods; TestStoredRowsWritten checks that the store still writes
// exactly them (plus Schema on rows with a payload).

// storedRow is one entity as written: its properties, and whether it holds
// a payload (and so is written with a Schema property).
type storedRow struct {
	props   map[string]any
	payload bool
}

// storedAt has the 100 ns precision of an Edm.DateTime, so that times read
// from properties and from payloads compare equal.
var storedAt = time.Date(2026, 11, 23, 6, 30, 0, 123_456_700, time.UTC)

func at(d time.Duration) time.Time { return storedAt.Add(d) }

func timePtr(t time.Time) *time.Time { return &t }

// Service requests.

const fullRequestJSON = `{"id":"DOA-0000000001","agency":"DOA","poNumber":"4500/012345","reseller":"SHI","agreement":"a-la-carte","renewal":true,"activationScenario":"trial-keep-data","termStart":"2026-08-01","termEnd":"2027-06-30","lines":[{"sku":"VISIOCLIENT","skuId":"c5928f49-12ba-48f7-ada3-0d743a3601d5","skuPartNumber":"VISIOCLIENT","product":"Visio Plan 2","quantity":25},{"sku":"f8a1db68-be16-40ed-86d5-cb42ce701560","skuId":"f8a1db68-be16-40ed-86d5-cb42ce701560","quantity":3}],"documents":[{"kind":"purchase-order","fileName":"PO 4500-012345.pdf","contentType":"application/pdf","size":123456,"sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","blob":"requests/DOA-0000000001/po.pdf","added":"2026-11-23T06:30:00.1234567Z"}],"requester":{"name":"Pat O'Doe","email":"pat@doa.example.gov"},"status":"awaiting-activation","missing":["activation-email"],"baseline":{"c5928f49-12ba-48f7-ada3-0d743a3601d5":100},"purchases":["DOA-0000000001-1","DOA-0000000001-2"],"verifyUntil":"2026-11-26T06:30:00.1234567Z","verifySeq":2,"notified":["recorded"],"history":[{"at":"2026-11-23T06:30:00.1234567Z","to":"submitted","by":"pat@doa.example.gov","why":"complete submission"},{"at":"2026-11-23T06:31:00.1234567Z","from":"submitted","to":"validated","by":"validate"}],"created":"2026-11-23T06:30:00.1234567Z","updated":"2026-11-23T07:30:00.1234567Z","createdBy":"pat@doa.example.gov","fingerprint":"sha256:abc"}`

const minimalRequestJSON = `{"id":"DET-0000000002","agency":"DET","poNumber":"","agreement":"","renewal":false,"activationScenario":"","termStart":null,"termEnd":null,"lines":null,"documents":null,"requester":{"name":"","email":""},"status":"failed","failure":"no PO","history":null,"created":"2026-11-23T06:30:00.1234567Z","updated":"0001-01-01T00:00:00Z","createdBy":"","fingerprint":""}`

var (
	fullRequest = licensing.ServiceRequest{
		ID: "DOA-0000000001", Agency: "DOA", PONumber: "4500/012345", Reseller: "SHI", Agreement: licensing.AgreementALaCarte,
		Renewal: true, Scenario: licensing.ScenarioTrialKeepData,
		TermStart: licensing.NewDate(2026, 8, 1), TermEnd: licensing.NewDate(2027, 6, 30),
		Lines: []licensing.RequestLine{
			{SKU: "VISIOCLIENT", SkuID: "c5928f49-12ba-48f7-ada3-0d743a3601d5", PartNumber: "VISIOCLIENT", Product: "Visio Plan 2", Quantity: 25},
			{SKU: "f8a1db68-be16-40ed-86d5-cb42ce701560", SkuID: "f8a1db68-be16-40ed-86d5-cb42ce701560", Quantity: 3},
		},
		Documents: []licensing.Document{{Kind: licensing.DocPurchaseOrder, FileName: "PO 4500-012345.pdf", ContentType: "application/pdf", Size: 123456,
			SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Blob: "requests/DOA-0000000001/po.pdf", Added: storedAt}},
		Requester:   licensing.Person{Name: "Pat O'Doe", Email: "pat@doa.example.gov"},
		Status:      licensing.StatusAwaitingActivation,
		Missing:     []string{licensing.MissingActivationEmail},
		Baseline:    map[string]int{"c5928f49-12ba-48f7-ada3-0d743a3601d5": 100},
		Purchases:   []string{"DOA-0000000001-1", "DOA-0000000001-2"},
		VerifyUntil: timePtr(at(72 * time.Hour)),
		VerifySeq:   2,
		Notified:    []string{"recorded"},
		History: []licensing.Transition{
			{At: storedAt, To: licensing.StatusSubmitted, By: "pat@doa.example.gov", Why: "complete submission"},
			{At: at(time.Minute), From: licensing.StatusSubmitted, To: licensing.StatusValidated, By: "validate"},
		},
		Created: storedAt, Updated: at(time.Hour), CreatedBy: "pat@doa.example.gov", Fingerprint: "sha256:abc",
	}
	minimalRequest = licensing.ServiceRequest{ID: "DET-0000000002", Agency: "DET", Status: licensing.StatusFailed, Failure: "no PO", Created: storedAt}

	requestRows = []storedRow{
		{props: map[string]any{"PartitionKey": "DOA", "RowKey": "sr-DOA-0000000001", "Status": "awaiting-activation", "PONumber": "4500/012345",
			"Created": "2026-11-23T06:30:00.1234567Z", "Created@odata.type": "Edm.DateTime", "Request": fullRequestJSON}, payload: true},
		{props: map[string]any{"PartitionKey": "DOA", "RowKey": "po-343530302f303132333435", "SRID": "DOA-0000000001", "PONumber": "4500/012345"}},
		{props: map[string]any{"PartitionKey": "DET", "RowKey": "sr-DET-0000000002", "Status": "failed", "PONumber": "",
			"Created": "2026-11-23T06:30:00.1234567Z", "Created@odata.type": "Edm.DateTime", "Request": minimalRequestJSON}, payload: true},
	}
)

// Deliveries.

const (
	fullDeliveryJSON    = `{"run":"payroll-2026-11-23","key":"DOA","state":"mailed","file":"reports/payroll-2026-11-23/DOA.xlsx","size":20480,"to":["licensing@doa.example.gov","cfo@doa.example.gov"],"at":"2026-11-23T06:30:00.1234567Z","detail":"sent"}`
	minimalDeliveryJSON = `{"run":"payroll-2026-11-23","key":"enterprise-summary","state":"written","file":"","at":"0001-01-01T00:00:00Z"}`
)

var (
	fullDelivery = licensing.Delivery{Run: "payroll-2026-11-23", Key: "DOA", State: licensing.DeliveryMailed, File: "reports/payroll-2026-11-23/DOA.xlsx",
		Size: 20480, To: []string{"licensing@doa.example.gov", "cfo@doa.example.gov"}, At: storedAt, Detail: "sent"}
	minimalDelivery = licensing.Delivery{Run: "payroll-2026-11-23", Key: "enterprise-summary", State: licensing.DeliveryWritten}

	deliveryRows = []storedRow{
		{props: map[string]any{"PartitionKey": "payroll-2026-11-23", "RowKey": "DOA", "State": "mailed", "Delivery": fullDeliveryJSON}, payload: true},
		{props: map[string]any{"PartitionKey": "payroll-2026-11-23", "RowKey": "enterprise-summary", "State": "written", "Delivery": minimalDeliveryJSON}, payload: true},
	}

	// A payload over 30,000 UTF-16 code units continues in Delivery_1.
	longDetail       = strings.Repeat("x", 40000)
	longDeliveryJSON = `{"run":"audit-2026-11","key":"DOA","state":"written","file":"reports/audit-2026-11/DOA.xlsx","at":"2026-11-23T06:30:00.1234567Z","detail":"` + longDetail + `"}`
	longDelivery     = licensing.Delivery{Run: "audit-2026-11", Key: "DOA", State: licensing.DeliveryWritten, File: "reports/audit-2026-11/DOA.xlsx", At: storedAt, Detail: longDetail}
	longDeliveryRows = []storedRow{
		{props: map[string]any{"PartitionKey": "audit-2026-11", "RowKey": "DOA", "State": "written",
			"Delivery": longDeliveryJSON[:30000], "Delivery_1": longDeliveryJSON[30000:]}, payload: true},
	}
)

// Snapshots.

const (
	fullSnapshotJSON    = `{"id":"20261123T063000Z-a","taken":"2026-11-23T06:30:00.1234567Z","full":false,"base":"20261122T063000Z-z","usersFile":"snapshots/20261123T063000Z-a/users.jsonl.gz","deltaLink":"https://graph.example/v1.0/users/delta()?$deltatoken=x","users":10,"licensedUsers":7,"agencies":2,"unattributed":1,"conflicts":1,"changes":4,"requests":12,"signInAvailable":true,"notes":["O'Brien's note"],"tenant":[{"SkuID":"c5928f49-12ba-48f7-ada3-0d743a3601d5","PartNumber":"VISIOCLIENT","CapabilityStatus":"Enabled","Enabled":100,"Warning":1,"Suspended":2,"LockedOut":3,"Consumed":42}],"duration":"1m2.5s"}`
	minimalSnapshotJSON = `{"id":"20261001T000000Z-m","taken":"2026-10-12T14:30:00.1234567Z","full":false,"usersFile":"","users":0,"licensedUsers":0,"agencies":0,"unattributed":0,"conflicts":0,"changes":0,"requests":0,"signInAvailable":false,"tenant":null,"duration":""}`
)

var (
	fullSnapshot = licensing.Snapshot{ID: "20261123T063000Z-a", Taken: storedAt, Base: "20261122T063000Z-z", UsersFile: "snapshots/20261123T063000Z-a/users.jsonl.gz",
		DeltaLink: "https://graph.example/v1.0/users/delta()?$deltatoken=x", Users: 10, LicensedUsers: 7, Agencies: 2, Unattributed: 1, Conflicts: 1,
		Changes: 4, Requests: 12, SignInAvailable: true, Notes: []string{"O'Brien's note"},
		Tenant: []licensing.TenantSku{{SkuID: "c5928f49-12ba-48f7-ada3-0d743a3601d5", PartNumber: "VISIOCLIENT", CapabilityStatus: "Enabled",
			Enabled: 100, Warning: 1, Suspended: 2, LockedOut: 3, Consumed: 42}},
		Duration: "1m2.5s"}
	minimalSnapshot = licensing.Snapshot{ID: "20261001T000000Z-m", Taken: at(-1000 * time.Hour)}
	snapshotUsage   = []licensing.Usage{{Agency: "DOA", SkuID: "c5928f49-12ba-48f7-ada3-0d743a3601d5", Users: 7, Direct: 5, ByGroup: 3, Disabled: 1, NeverSignedIn: 2, Errors: 1}}

	snapshotRows = []storedRow{
		{props: map[string]any{"PartitionKey": "latest", "RowKey": "pointer", "SnapshotID": "20261123T063000Z-a",
			"Taken": "2026-11-23T06:30:00.1234567Z", "Taken@odata.type": "Edm.DateTime"}},
		{props: map[string]any{"PartitionKey": "s-20261001T000000Z-m", "RowKey": "meta", "SnapshotID": "20261001T000000Z-m",
			"Taken": "2026-10-12T14:30:00.1234567Z", "Taken@odata.type": "Edm.DateTime", "Snapshot": minimalSnapshotJSON}, payload: true},
		{props: map[string]any{"PartitionKey": "s-20261123T063000Z-a", "RowKey": "meta", "SnapshotID": "20261123T063000Z-a",
			"Taken": "2026-11-23T06:30:00.1234567Z", "Taken@odata.type": "Edm.DateTime", "Snapshot": fullSnapshotJSON}, payload: true},
		{props: map[string]any{"PartitionKey": "s-20261123T063000Z-a", "RowKey": "u-DOA|c5928f49-12ba-48f7-ada3-0d743a3601d5",
			"Agency": "DOA", "SkuID": "c5928f49-12ba-48f7-ada3-0d743a3601d5", "Users": 7, "Direct": 5, "ByGroup": 3, "Disabled": 1, "NeverSignedIn": 2, "Errors": 1}},
	}
)

// Runs.

var (
	fullRun    = licensing.Run{ID: "run-1", Function: "PayrollReport", Trigger: "timer", Started: storedAt, Ended: timePtr(at(90 * time.Second)), Outcome: licensing.RunSucceeded, Message: "ok", Counts: map[string]int{"agencies": 3, "mailed": 2}}
	minimalRun = licensing.Run{ID: "run-2", Function: "Snapshot", Started: at(time.Hour), Outcome: licensing.RunRunning}

	runRows = []storedRow{
		{props: map[string]any{"PartitionKey": "runs", "RowKey": "7427953036731319107-run-2", "RunID": "run-2", "Function": "Snapshot", "Trigger": "",
			"Outcome": "running", "Message": "", "Counts": "null", "Started": "2026-11-23T07:30:00.1234567Z", "Started@odata.type": "Edm.DateTime"}},
		{props: map[string]any{"PartitionKey": "runs", "RowKey": "7427956636731319107-run-1", "RunID": "run-1", "Function": "PayrollReport", "Trigger": "timer",
			"Outcome": "succeeded", "Message": "ok", "Counts": `{"agencies":3,"mailed":2}`,
			"Started": "2026-11-23T06:30:00.1234567Z", "Started@odata.type": "Edm.DateTime", "Ended": "2026-11-23T06:31:30.1234567Z", "Ended@odata.type": "Edm.DateTime"}},
	}
)

// Agencies.

const (
	fullAgencyJSON    = `{"id":"DOA","name":"Department of Administration","contacts":["licensing@doa.example.gov"],"delegates":["pat@doa.example.gov"],"attribution":{"attribute":"department","values":["DOA","Dept DOA"]},"delegatedGroups":[{"product":"VISIOCLIENT","groupId":"6f1d2c3b-4a59-4e7f-8a1b-2c3d4e5f6a7b"}],"updated":"2026-11-23T06:30:00.1234567Z","updatedBy":"admin@example.gov","etag":"W/\"datetime'x'\""}`
	minimalAgencyJSON = `{"id":"DET","name":"Det","contacts":null,"delegates":null,"attribution":{"attribute":"group","groupId":"0b1d2c3b-4a59-4e7f-8a1b-2c3d4e5f6a7b"},"delegatedGroups":null,"updated":"2026-11-23T06:30:00.1234567Z","updatedBy":""}`
)

var (
	// fullAgency carries an ETag when written: it is kept in the history.
	fullAgency = licensing.Agency{ID: "DOA", Name: "Department of Administration", Contacts: []string{"licensing@doa.example.gov"}, Delegates: []string{"pat@doa.example.gov"},
		Attribution:     licensing.AttributionRule{Attribute: licensing.AttrDepartment, Values: []string{"DOA", "Dept DOA"}},
		DelegatedGroups: []licensing.DelegatedGroup{{Product: "VISIOCLIENT", GroupID: "6f1d2c3b-4a59-4e7f-8a1b-2c3d4e5f6a7b"}},
		Updated:         storedAt, UpdatedBy: "admin@example.gov", ETag: `W/"datetime'x'"`}
	minimalAgency = licensing.Agency{ID: "DET", Name: "Det", Attribution: licensing.AttributionRule{Attribute: licensing.AttrGroup, GroupID: "0b1d2c3b-4a59-4e7f-8a1b-2c3d4e5f6a7b"}, Updated: storedAt}

	agencyRows = []storedRow{
		{props: map[string]any{"PartitionKey": "DET", "RowKey": "config", "Name": "Det", "UpdatedBy": "",
			"Contacts": "null", "Delegates": "null", "Attribution": `{"attribute":"group","groupId":"0b1d2c3b-4a59-4e7f-8a1b-2c3d4e5f6a7b"}`, "DelegatedGroups": "null",
			"Updated": "2026-11-23T06:30:00.1234567Z", "Updated@odata.type": "Edm.DateTime"}, payload: true},
		{props: map[string]any{"PartitionKey": "DET", "RowKey": "history-7427956636731319107-9f5c9188", "Action": "created", "Who": "",
			"Agency": minimalAgencyJSON, "When": "2026-11-23T06:30:00.1234567Z", "When@odata.type": "Edm.DateTime"}, payload: true},
		{props: map[string]any{"PartitionKey": "DOA", "RowKey": "config", "Name": "Department of Administration", "UpdatedBy": "admin@example.gov",
			"Contacts": `["licensing@doa.example.gov"]`, "Delegates": `["pat@doa.example.gov"]`,
			"Attribution":     `{"attribute":"department","values":["DOA","Dept DOA"]}`,
			"DelegatedGroups": `[{"product":"VISIOCLIENT","groupId":"6f1d2c3b-4a59-4e7f-8a1b-2c3d4e5f6a7b"}]`,
			"Updated":         "2026-11-23T06:30:00.1234567Z", "Updated@odata.type": "Edm.DateTime"}, payload: true},
		{props: map[string]any{"PartitionKey": "DOA", "RowKey": "history-7427956636731319107-540b5936", "Action": "created", "Who": "admin@example.gov",
			"Agency": fullAgencyJSON, "When": "2026-11-23T06:30:00.1234567Z", "When@odata.type": "Edm.DateTime"}, payload: true},
		{props: map[string]any{"PartitionKey": "DET", "RowKey": "writer", "Seq": 1}},
		{props: map[string]any{"PartitionKey": "DOA", "RowKey": "writer", "Seq": 1}},
		{props: map[string]any{"PartitionKey": "claims", "RowKey": "department-161f930efd882c4b01a68f18f5453418", "Agency": "DOA", "Attribute": "department", "Value": "Dept DOA"}},
		{props: map[string]any{"PartitionKey": "claims", "RowKey": "department-a5d4292102a5e9372c90cb5587220da4", "Agency": "DOA", "Attribute": "department", "Value": "DOA"}},
		{props: map[string]any{"PartitionKey": "claims", "RowKey": "group-b1cdfe75b84c23a501b5ce91ca805f16", "Agency": "DET", "Attribute": "group", "Value": "0b1d2c3b-4a59-4e7f-8a1b-2c3d4e5f6a7b"}},
	}
)

// Purchases.

const (
	fullPurchaseDetail       = `{"id":"DOA-0000000001-1","agency":"DOA","skuId":"c5928f49-12ba-48f7-ada3-0d743a3601d5","skuPartNumber":"VISIOCLIENT","quantity":25,"termStart":"2026-08-01","termEnd":"2027-06-30","poNumber":"4500/012345","reseller":"SHI","agreement":"a-la-carte","serviceRequest":"DOA-0000000001","source":"service-request","replaces":["old-1","old-2"],"activatedAt":"2026-11-24T06:30:00.1234567Z","created":"2026-11-23T06:30:00.1234567Z","createdBy":"pat@doa.example.gov","reason":"Service request DOA-0000000001"}`
	correctionPurchaseDetail = `{"id":"fix-1","agency":"DOA","skuId":"c5928f49-12ba-48f7-ada3-0d743a3601d5","quantity":-2,"termStart":null,"termEnd":null,"poNumber":"","source":"correction","corrects":"DOA-0000000001-1","created":"2026-11-23T07:30:00.1234567Z","createdBy":"admin@example.gov"}`
)

var (
	fullPurchase = licensing.Purchase{ID: "DOA-0000000001-1", Agency: "DOA", SkuID: "c5928f49-12ba-48f7-ada3-0d743a3601d5", PartNumber: "VISIOCLIENT", Quantity: 25,
		TermStart: licensing.NewDate(2026, 8, 1), TermEnd: licensing.NewDate(2027, 6, 30), PONumber: "4500/012345", Reseller: "SHI", Agreement: "a-la-carte",
		SRID: "DOA-0000000001", Source: licensing.SourceServiceRequest, Replaces: []string{"old-1", "old-2"}, ActivatedAt: timePtr(at(24 * time.Hour)),
		Created: storedAt, CreatedBy: "pat@doa.example.gov", Reason: "Service request DOA-0000000001"}
	// correctionPurchase is written pending, then activated.
	correctionPurchase = licensing.Purchase{ID: "fix-1", Agency: "DOA", SkuID: "c5928f49-12ba-48f7-ada3-0d743a3601d5", Quantity: -2,
		Source: licensing.SourceCorrection, Corrects: "DOA-0000000001-1", Created: at(time.Hour), CreatedBy: "admin@example.gov"}
	activatedCorrection = func() licensing.Purchase {
		p := correctionPurchase
		p.ActivatedAt = timePtr(at(24 * time.Hour))
		return p
	}()
	purchaseAudit = []licensing.AuditEntry{
		{At: at(24 * time.Hour), Who: "verify", Action: licensing.AuditActivated, Agency: "DOA", Purchase: "fix-1", Why: "seats seen"},
		{At: at(time.Hour), Who: "admin@example.gov", Action: licensing.AuditAdded, Agency: "DOA", Purchase: "fix-1", Why: "import", Detail: correctionPurchaseDetail},
		{At: storedAt, Who: "admin@example.gov", Action: licensing.AuditAdded, Agency: "DOA", Purchase: "DOA-0000000001-1", Why: "import", Detail: fullPurchaseDetail},
	}

	purchaseRows = []storedRow{
		{props: map[string]any{"PartitionKey": "DOA", "RowKey": "a-7427870236731319107-44c1ecb9", "Action": "activated", "Who": "verify", "Purchase": "fix-1",
			"Why": "seats seen", "Detail": "", "At": "2026-11-24T06:30:00.1234567Z", "At@odata.type": "Edm.DateTime"}, payload: true},
		{props: map[string]any{"PartitionKey": "DOA", "RowKey": "a-7427953036731319107-81188f08", "Action": "added", "Who": "admin@example.gov", "Purchase": "fix-1",
			"Why": "import", "Detail": correctionPurchaseDetail, "At": "2026-11-23T07:30:00.1234567Z", "At@odata.type": "Edm.DateTime"}, payload: true},
		{props: map[string]any{"PartitionKey": "DOA", "RowKey": "a-7427956636731319107-5e7f2ba6", "Action": "added", "Who": "admin@example.gov", "Purchase": "DOA-0000000001-1",
			"Why": "import", "Detail": fullPurchaseDetail, "At": "2026-11-23T06:30:00.1234567Z", "At@odata.type": "Edm.DateTime"}, payload: true},
		// The identity of line DOA-0000000001-1: DOA, 4500/012345, Visio.
		{props: map[string]any{"PartitionKey": "DOA", "RowKey": "k-d7c4e961ff2a8f086730c3e219789e8d", "Line": "DOA-0000000001-1",
			"PONumber": "4500/012345", "SkuID": "c5928f49-12ba-48f7-ada3-0d743a3601d5"}},
		{props: map[string]any{"PartitionKey": "DOA", "RowKey": "p-DOA-0000000001-1", "ID": "DOA-0000000001-1", "SkuID": "c5928f49-12ba-48f7-ada3-0d743a3601d5",
			"PartNumber": "VISIOCLIENT", "Quantity": 25, "TermStart": "2026-08-01", "TermEnd": "2027-06-30", "PONumber": "4500/012345", "Reseller": "SHI",
			"Agreement": "a-la-carte", "SRID": "DOA-0000000001", "Source": "service-request", "Corrects": "", "CreatedBy": "pat@doa.example.gov",
			"Replaces": `["old-1","old-2"]`, "Reason": "Service request DOA-0000000001",
			"ActivatedAt": "2026-11-24T06:30:00.1234567Z", "ActivatedAt@odata.type": "Edm.DateTime",
			"Created": "2026-11-23T06:30:00.1234567Z", "Created@odata.type": "Edm.DateTime"}},
		{props: map[string]any{"PartitionKey": "DOA", "RowKey": "p-fix-1", "ID": "fix-1", "SkuID": "c5928f49-12ba-48f7-ada3-0d743a3601d5",
			"PartNumber": "", "Quantity": -2, "TermStart": "", "TermEnd": "", "PONumber": "", "Reseller": "",
			"Agreement": "", "SRID": "", "Source": "correction", "Corrects": "DOA-0000000001-1", "CreatedBy": "admin@example.gov", "Reason": "",
			"ActivatedAt": "2026-11-24T06:30:00.1234567Z", "ActivatedAt@odata.type": "Edm.DateTime",
			"Created": "2026-11-23T07:30:00.1234567Z", "Created@odata.type": "Edm.DateTime"}},
	}
)

// A line without a PO number (so without an identity row) and its
// correction through AddCorrection, which writes the line's Total.
var (
	totalLine = licensing.Purchase{ID: "L1", Agency: "DOA", SkuID: "c5928f49-12ba-48f7-ada3-0d743a3601d5", Quantity: 10,
		Source: licensing.SourceImport, Created: storedAt, CreatedBy: "admin@example.gov"}
	totalCorrection = licensing.Purchase{ID: "c-1", Agency: "DOA", SkuID: "c5928f49-12ba-48f7-ada3-0d743a3601d5", Quantity: -4,
		Source: licensing.SourceCorrection, Corrects: "L1", ActivatedAt: timePtr(at(time.Hour)), Created: at(time.Hour), CreatedBy: "admin@example.gov", Reason: "returned"}
	totalRows = []storedRow{
		{props: map[string]any{"PartitionKey": "DOA", "RowKey": "a-7427953036731319107-44c1ecb9", "Action": "added", "Who": "admin@example.gov", "Purchase": "c-1",
			"Why": "returned", "At": "2026-11-23T07:30:00.1234567Z", "At@odata.type": "Edm.DateTime",
			"Detail": `{"id":"c-1","agency":"DOA","skuId":"c5928f49-12ba-48f7-ada3-0d743a3601d5","quantity":-4,"termStart":null,"termEnd":null,"poNumber":"","source":"correction","corrects":"L1","activatedAt":"2026-11-23T07:30:00.1234567Z","created":"2026-11-23T07:30:00.1234567Z","createdBy":"admin@example.gov","reason":"returned"}`}, payload: true},
		{props: map[string]any{"PartitionKey": "DOA", "RowKey": "a-7427956636731319107-5e7f2ba6", "Action": "added", "Who": "admin@example.gov", "Purchase": "L1",
			"Why": "import", "At": "2026-11-23T06:30:00.1234567Z", "At@odata.type": "Edm.DateTime",
			"Detail": `{"id":"L1","agency":"DOA","skuId":"c5928f49-12ba-48f7-ada3-0d743a3601d5","quantity":10,"termStart":null,"termEnd":null,"poNumber":"","source":"import","created":"2026-11-23T06:30:00.1234567Z","createdBy":"admin@example.gov"}`}, payload: true},
		// Total is the line's quantity with its corrections, written with each correction.
		{props: map[string]any{"PartitionKey": "DOA", "RowKey": "p-L1", "ID": "L1", "SkuID": "c5928f49-12ba-48f7-ada3-0d743a3601d5",
			"PartNumber": "", "Quantity": 10, "TermStart": "", "TermEnd": "", "PONumber": "", "Reseller": "",
			"Agreement": "", "SRID": "", "Source": "import", "Corrects": "", "CreatedBy": "admin@example.gov", "Reason": "", "Total": 6,
			"Created": "2026-11-23T06:30:00.1234567Z", "Created@odata.type": "Edm.DateTime"}},
		{props: map[string]any{"PartitionKey": "DOA", "RowKey": "p-c-1", "ID": "c-1", "SkuID": "c5928f49-12ba-48f7-ada3-0d743a3601d5",
			"PartNumber": "", "Quantity": -4, "TermStart": "", "TermEnd": "", "PONumber": "", "Reseller": "",
			"Agreement": "", "SRID": "", "Source": "correction", "Corrects": "L1", "CreatedBy": "admin@example.gov", "Reason": "returned",
			"ActivatedAt": "2026-11-23T07:30:00.1234567Z", "ActivatedAt@odata.type": "Edm.DateTime",
			"Created": "2026-11-23T07:30:00.1234567Z", "Created@odata.type": "Edm.DateTime"}},
	}
)

// tableNamed returns the client of the store's table with the name suffix.
func tableNamed(t *testing.T, s *Store, suffix string) *aztables.Client {
	t.Helper()
	for _, n := range s.names {
		if strings.HasSuffix(n, suffix) {
			return s.svc.NewClient(n)
		}
	}
	t.Fatalf("the store has no table %s", suffix)
	return nil
}

// insertRows adds rows to table as they are, with the raw client.
func insertRows(t *testing.T, table *aztables.Client, rows []storedRow, schema any) {
	t.Helper()
	for _, r := range rows {
		props := r.props
		if r.payload && schema != nil {
			props = withProp(props, schemaProperty, schema)
		}
		b, err := json.Marshal(props)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := table.AddEntity(context.Background(), b, nil); err != nil {
			t.Fatalf("inserting %s/%s: %v", props["PartitionKey"], props["RowKey"], err)
		}
	}
}

func withProp(props map[string]any, name string, v any) map[string]any {
	out := map[string]any{name: v}
	for k, p := range props {
		out[k] = p
	}
	return out
}

// randomSuffixPattern matches the random end of history and audit row keys.
var randomSuffixPattern = regexp.MustCompile(`^((?:history|a)-[0-9]{19}-)[0-9a-f]{8}$`)

// normalized returns entities as generic JSON values, ordered by partition
// and row, without the properties the service adds, and with the random end
// of row keys replaced.
func normalized(t *testing.T, entities [][]byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, e := range entities {
		var m map[string]any
		if err := json.Unmarshal(e, &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"odata.etag", "odata.metadata", "Timestamp", "Timestamp@odata.type"} {
			delete(m, k)
		}
		if rk, ok := m["RowKey"].(string); ok {
			m["RowKey"] = randomSuffixPattern.ReplaceAllString(rk, "${1}random")
		}
		out = append(out, m)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i]["PartitionKey"].(string)+"\x00"+out[i]["RowKey"].(string), out[j]["PartitionKey"].(string)+"\x00"+out[j]["RowKey"].(string)
		return a < b
	})
	return out
}

// TestStoredRowsRead writes rows exactly as the stored format has them,
// without a Schema property, with the raw table client, and reads them
// through the store's methods.
func TestStoredRowsRead(t *testing.T) {
	ctx := context.Background()
	// noETag clears the ETag the service gave: it is not stored data.
	noETag := func(sr licensing.ServiceRequest, err error) (any, error) {
		if err == nil && sr.ETag == "" {
			t.Errorf("service request %s read without an ETag", sr.ID)
		}
		sr.ETag = ""
		return sr, err
	}
	agencyNoETag := func(a licensing.Agency, err error) (any, error) {
		if err == nil && a.ETag == "" {
			t.Errorf("agency %s read without an ETag", a.ID)
		}
		a.ETag = ""
		return a, err
	}
	configOnly := func(a licensing.Agency) licensing.Agency {
		a.ETag = ""
		return a
	}
	tests := []struct {
		name  string
		table string
		rows  []storedRow
		read  func(s *Store) (any, error)
		want  any
	}{
		{"request with every field", requestsTable, requestRows, func(s *Store) (any, error) {
			return noETag(s.GetRequest(ctx, "DOA-0000000001"))
		}, fullRequest},
		{"request with nulls and empty fields", requestsTable, requestRows, func(s *Store) (any, error) {
			return noETag(s.GetRequest(ctx, "DET-0000000002"))
		}, minimalRequest},
		{"request by PO index", requestsTable, requestRows, func(s *Store) (any, error) {
			return noETag(s.RequestByPO(ctx, "DOA", "4500/012345"))
		}, fullRequest},
		{"request listing", requestsTable, requestRows, func(s *Store) (any, error) {
			list, err := s.ListRequests(ctx, licensing.RequestFilter{Status: licensing.StatusFailed})
			for i := range list {
				list[i].ETag = ""
			}
			return list, err
		}, []licensing.ServiceRequest{minimalRequest}},
		{"delivery with every field", deliveryTable, deliveryRows, func(s *Store) (any, error) {
			return s.GetDelivery(ctx, "payroll-2026-11-23", "DOA")
		}, fullDelivery},
		{"delivery listing", deliveryTable, deliveryRows, func(s *Store) (any, error) {
			return s.ListDeliveries(ctx, "payroll-2026-11-23")
		}, []licensing.Delivery{fullDelivery, minimalDelivery}},
		{"delivery split over two properties", deliveryTable, longDeliveryRows, func(s *Store) (any, error) {
			return s.GetDelivery(ctx, "audit-2026-11", "DOA")
		}, longDelivery},
		{"latest snapshot through the pointer", snapshotsTable, snapshotRows, func(s *Store) (any, error) {
			return s.LatestSnapshot(ctx)
		}, fullSnapshot},
		{"snapshot with nulls and zeros", snapshotsTable, snapshotRows, func(s *Store) (any, error) {
			return s.GetSnapshot(ctx, "20261001T000000Z-m")
		}, minimalSnapshot},
		{"snapshot usage", snapshotsTable, snapshotRows, func(s *Store) (any, error) {
			return s.SnapshotUsage(ctx, "20261123T063000Z-a")
		}, snapshotUsage},
		{"runs", runsTable, runRows, func(s *Store) (any, error) {
			return s.ListRuns(ctx, licensing.RunFilter{})
		}, []licensing.Run{minimalRun, fullRun}},
		{"agency with every field", agenciesTable, agencyRows, func(s *Store) (any, error) {
			return agencyNoETag(s.GetAgency(ctx, "DOA"))
		}, configOnly(fullAgency)},
		{"agency with null lists", agenciesTable, agencyRows, func(s *Store) (any, error) {
			return agencyNoETag(s.GetAgency(ctx, "DET"))
		}, minimalAgency},
		{"agency listing", agenciesTable, agencyRows, func(s *Store) (any, error) {
			list, err := s.ListAgencies(ctx)
			for i := range list {
				list[i].ETag = ""
			}
			return list, err
		}, []licensing.Agency{minimalAgency, configOnly(fullAgency)}},
		{"agency history", agenciesTable, agencyRows, func(s *Store) (any, error) {
			return s.AgencyHistory(ctx, "DOA", 0)
		}, []AgencyChange{{Agency: fullAgency, Action: ActionCreated, Who: "admin@example.gov", When: storedAt}}},
		{"agency history with null lists", agenciesTable, agencyRows, func(s *Store) (any, error) {
			return s.AgencyHistory(ctx, "DET", 0)
		}, []AgencyChange{{Agency: minimalAgency, Action: ActionCreated, When: storedAt}}},
		{"purchase lines", purchasesTable, purchaseRows, func(s *Store) (any, error) {
			return s.ListPurchases(ctx, licensing.PurchaseFilter{Agency: "DOA"})
		}, []licensing.Purchase{activatedCorrection, fullPurchase}},
		{"purchase audit", purchasesTable, purchaseRows, func(s *Store) (any, error) {
			return s.PurchaseAudit(ctx, "DOA", 0)
		}, purchaseAudit},
		{"group members", seatsTable, seatRows, func(s *Store) (any, error) {
			return s.SeatMembers(ctx, "DOA", visio)
		}, []licensing.SeatMember{waitingMember, plainMember}},
		{"license grants", grantsTable, grantRows, func(s *Store) (any, error) {
			return grantsNoETag(s.Grants(ctx, visio))
		}, []licensing.LicenseGrant{storedGrant}},
		{"provisioning notice", noticesTable, noticeRows, func(s *Store) (any, error) {
			return noticeNoETag(s.GetNotice(ctx, "DOA", "waitlist"))
		}, storedNotice},
		{"enrollments", enrollmentsTable, enrollmentRows, func(s *Store) (any, error) {
			list, err := s.ListEnrollments(ctx)
			for i := range list {
				list[i].ETag = ""
			}
			return list, err
		}, []licensing.Enrollment{fullEnrollment, minimalEnrollment}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			insertRows(t, tableNamed(t, s, tt.table), tt.rows, nil)
			got, err := tt.read(s)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("read (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStoredRowsWritten writes through the store and compares the rows it
// stored, property by property, with the stored format: the same rows, with
// Schema 1 on those holding a payload.
func TestStoredRowsWritten(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		table string
		write func(s *Store) error
		want  []storedRow
	}{
		{"service requests", requestsTable, func(s *Store) error {
			if _, err := s.CreateRequest(ctx, fullRequest); err != nil {
				return err
			}
			_, err := s.CreateRequest(ctx, minimalRequest)
			return err
		}, requestRows},
		{"deliveries", deliveryTable, func(s *Store) error {
			if err := s.PutDelivery(ctx, fullDelivery); err != nil {
				return err
			}
			return s.PutDelivery(ctx, minimalDelivery)
		}, deliveryRows},
		{"delivery split over two properties", deliveryTable, func(s *Store) error {
			return s.PutDelivery(ctx, longDelivery)
		}, longDeliveryRows},
		{"snapshots", snapshotsTable, func(s *Store) error {
			if err := s.PublishSnapshot(ctx, fullSnapshot, snapshotUsage); err != nil {
				return err
			}
			return s.PublishSnapshot(ctx, minimalSnapshot, nil)
		}, snapshotRows},
		{"runs", runsTable, func(s *Store) error {
			if err := s.PutRun(ctx, fullRun); err != nil {
				return err
			}
			return s.PutRun(ctx, minimalRun)
		}, runRows},
		{"agencies", agenciesTable, func(s *Store) error {
			if _, _, err := s.PutAgency(ctx, fullAgency, licensing.Precondition{IfNoneMatch: true}); err != nil {
				return err
			}
			_, _, err := s.PutAgency(ctx, minimalAgency, licensing.Precondition{})
			return err
		}, agencyRows},
		{"purchases", purchasesTable, func(s *Store) error {
			if _, err := s.AddPurchases(ctx, []licensing.Purchase{fullPurchase, correctionPurchase}, "admin@example.gov", "import"); err != nil {
				return err
			}
			return s.ActivatePurchases(ctx, "DOA", []string{"fix-1"}, at(24*time.Hour), "verify", "seats seen")
		}, purchaseRows},
		{"a correction and the corrected line's total", purchasesTable, func(s *Store) error {
			if _, err := s.AddPurchases(ctx, []licensing.Purchase{totalLine}, "admin@example.gov", "import"); err != nil {
				return err
			}
			_, _, err := s.AddCorrection(ctx, totalCorrection, "admin@example.gov", "returned")
			return err
		}, totalRows},
		{"group members", seatsTable, func(s *Store) error {
			return s.SaveSeatMembers(ctx, "DOA", visio, []licensing.SeatMember{waitingMember, plainMember}, []string{"u-3"})
		}, seatRows},
		{"license grants", grantsTable, func(s *Store) error {
			_, err := s.PutGrant(ctx, storedGrant, licensing.Precondition{IfNoneMatch: true})
			return err
		}, grantRows},
		{"provisioning notices", noticesTable, func(s *Store) error {
			_, err := s.PutNotice(ctx, storedNotice, licensing.Precondition{})
			return err
		}, noticeRows},
		{"enrollments", enrollmentsTable, func(s *Store) error {
			if _, _, err := s.PutEnrollment(ctx, fullEnrollment, licensing.Precondition{IfNoneMatch: true}); err != nil {
				return err
			}
			_, _, err := s.PutEnrollment(ctx, minimalEnrollment, licensing.Precondition{})
			return err
		}, enrollmentRows},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			if err := tt.write(s); err != nil {
				t.Fatalf("write: %v", err)
			}
			var raw [][]byte
			pager := tableNamed(t, s, tt.table).NewListEntitiesPager(nil)
			for pager.More() {
				page, err := pager.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				raw = append(raw, page.Entities...)
			}
			var want [][]byte
			for _, r := range tt.want {
				props := r.props
				if r.payload {
					props = withProp(props, schemaProperty, payloadSchema)
				}
				b, err := json.Marshal(props)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, b)
			}
			if diff := cmp.Diff(normalized(t, want), normalized(t, raw)); diff != "" {
				t.Errorf("stored rows (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLaterSchemaRefused reads rows whose Schema is one this package does
// not know: they are refused as Internal, not misread.
func TestLaterSchemaRefused(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		table string
		rows  []storedRow
		read  func(s *Store) error
	}{
		{"service request", requestsTable, requestRows, func(s *Store) error {
			_, err := s.GetRequest(ctx, "DOA-0000000001")
			return err
		}},
		{"delivery", deliveryTable, deliveryRows, func(s *Store) error {
			_, err := s.ListDeliveries(ctx, "payroll-2026-11-23")
			return err
		}},
		{"snapshot", snapshotsTable, snapshotRows, func(s *Store) error {
			_, err := s.LatestSnapshot(ctx)
			return err
		}},
		{"agency", agenciesTable, agencyRows, func(s *Store) error {
			_, err := s.GetAgency(ctx, "DOA")
			return err
		}},
		{"agency history", agenciesTable, agencyRows, func(s *Store) error {
			_, err := s.AgencyHistory(ctx, "DOA", 0)
			return err
		}},
		{"purchase audit", purchasesTable, purchaseRows, func(s *Store) error {
			_, err := s.PurchaseAudit(ctx, "DOA", 0)
			return err
		}},
		{"group members", seatsTable, seatRows, func(s *Store) error {
			_, err := s.SeatMembers(ctx, "DOA", visio)
			return err
		}},
		{"license grants", grantsTable, grantRows, func(s *Store) error {
			_, err := s.Grants(ctx, visio)
			return err
		}},
		{"provisioning notice", noticesTable, noticeRows, func(s *Store) error {
			_, err := s.GetNotice(ctx, "DOA", "waitlist")
			return err
		}},
		{"enrollment", enrollmentsTable, enrollmentRows, func(s *Store) error {
			_, err := s.GetEnrollment(ctx, "EA-1234567")
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			insertRows(t, tableNamed(t, s, tt.table), tt.rows, payloadSchema+1)
			err := tt.read(s)
			if diff := cmp.Diff(licensing.Internal, licensing.ErrorCode(err)); diff != "" {
				t.Errorf("code (-want +got):\n%s\nerror: %v", diff, err)
			}
			if err == nil || !strings.Contains(err.Error(), "schema 2") {
				t.Errorf("error %v does not name the schema", err)
			}
		})
	}
}
