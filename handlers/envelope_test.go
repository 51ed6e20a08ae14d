package handlers

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func loadInvocation(t *testing.T, name string) *Invocation {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var inv Invocation
	if err := json.Unmarshal(raw, &inv); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &inv
}

func TestQueueMessageDecoding(t *testing.T) {
	tests := []struct {
		file string
		want QueueMessage
	}{
		{
			// What the host sends: message and metadata strings
			// JSON-encoded twice, DequeueCount a string.
			file: "queue-double-encoded.json",
			want: QueueMessage{
				Text:         `{"sr":"4d2c","step":"validate"}`,
				ID:           "7d0f2a51-5f0e-4a55-9a9e-6b3f1d1c0a11",
				PopReceipt:   "AgAAAAMAAAAAAAAA",
				DequeueCount: 2,
				InsertedAt:   time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC),
				ExpiresAt:    time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC),
				NextVisible:  time.Date(2026, 11, 23, 6, 10, 0, 0, time.UTC),
			},
		},
		{
			// Captured from another host version: message encoded once,
			// times plain.
			file: "queue-single-encoded.json",
			want: QueueMessage{
				Text:         `{"sr":"4d2c","step":"validate"}`,
				ID:           "7d0f2a51-5f0e-4a55-9a9e-6b3f1d1c0a11",
				PopReceipt:   "AgAAAAMAAAAAAAAA",
				DequeueCount: 1,
				InsertedAt:   time.Date(2026, 11, 23, 6, 0, 0, 123456000, time.UTC),
				ExpiresAt:    time.Date(2026, 11, 30, 6, 0, 0, 123456000, time.UTC),
				NextVisible:  time.Date(2026, 11, 23, 6, 10, 0, 123456000, time.UTC),
			},
		},
		{
			// A plain text message, and DequeueCount as a number.
			file: "queue-plain-text.json",
			want: QueueMessage{Text: "hello", ID: "b1", DequeueCount: 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := loadInvocation(t, tt.file).QueueMessage("msg")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("QueueMessage (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQueueMessageErrors(t *testing.T) {
	tests := []struct {
		name string
		inv  Invocation
	}{
		{"no binding", Invocation{Data: map[string]json.RawMessage{}}},
		{"null message", Invocation{Data: map[string]json.RawMessage{"msg": json.RawMessage(`null`)}}},
		{"dequeue count not a number", Invocation{
			Data:     map[string]json.RawMessage{"msg": json.RawMessage(`"x"`)},
			Metadata: map[string]json.RawMessage{"DequeueCount": json.RawMessage(`"many"`)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.inv.QueueMessage("msg"); err == nil {
				t.Error("want an error")
			}
		})
	}
}

func TestTimerDecoding(t *testing.T) {
	tests := []struct {
		file string
		want TimerInfo
	}{
		{"timer.json", TimerInfo{IsPastDue: true, ScheduleStatus: &ScheduleStatus{
			Last:        time.Date(2026, 11, 16, 6, 0, 0, 0, time.UTC),
			Next:        time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC),
			LastUpdated: time.Date(2026, 11, 16, 6, 0, 0, 12345600, time.UTC),
		}}},
		// The first run of a timer has no status, and some hosts send the
		// value as a JSON string.
		{"timer-first-run.json", TimerInfo{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := loadInvocation(t, tt.file).Timer("timer")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("Timer (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHTTPRequestDecoding(t *testing.T) {
	ignore := cmpopts.IgnoreFields(HTTPRequest{}, "Identities")
	tests := []struct {
		file string
		want HTTPRequest
	}{
		{"http-get.json", HTTPRequest{
			URL:    "https://func-licensing.azurewebsites.net/api/agencies/doa?code=secret-key&verbose=1",
			Method: "GET",
			Query:  map[string]string{"code": "secret-key", "verbose": "1"},
			Headers: map[string][]string{
				"Accept":                     {"application/json"},
				"X-MS-CLIENT-PRINCIPAL-NAME": {"admin@central-it.example.gov"},
				"X-MS-CLIENT-PRINCIPAL-ID":   {"0f1e2d3c-aaaa-bbbb-cccc-000000000001"},
				"X-MS-CLIENT-PRINCIPAL-IDP":  {"aad"},
			},
			Params: map[string]string{"id": "doa"},
		}},
		{"http-old-query.json", HTTPRequest{
			URL:     "http://localhost:7071/api/agencies",
			Method:  "GET",
			Query:   map[string]string{},
			Headers: map[string][]string{"Accept": {"application/json"}},
			Params:  map[string]string{},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := loadInvocation(t, tt.file).HTTPRequest("req")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, *got, ignore); diff != "" {
				t.Errorf("HTTPRequest (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHTTPBodyForms(t *testing.T) {
	multipart := "--b\r\nContent-Disposition: form-data; name=\"agency\"\r\n\r\nDOA\r\n--b--\r\n\x00\xff"
	tests := []struct {
		name        string
		contentType string
		body        string // the raw JSON of Body, or "" to leave it out
		want        []byte
		wantHasBody bool
		wantErr     bool
	}{
		{"json as a string", "application/json", `"{\"name\":\"Dept of Admin\"}"`, []byte(`{"name":"Dept of Admin"}`), true, false},
		{"json parsed by the host", "application/json", `{"name":"Dept of Admin"}`, []byte(`{"name":"Dept of Admin"}`), true, false},
		{"multipart is base64", "multipart/form-data; boundary=b", `"` + base64.StdEncoding.EncodeToString([]byte(multipart)) + `"`, []byte(multipart), true, false},
		{"octet-stream is base64", "application/octet-stream", `"AAEC/w=="`, []byte{0, 1, 2, 255}, true, false},
		{"multipart that is not base64", "multipart/form-data; boundary=b", `"--b\r\n"`, nil, true, true},
		{"chunked request: no Body", "application/json", ``, nil, false, false},
		{"null Body", "application/json", `null`, nil, false, false},
		{"empty string", "text/plain", `""`, []byte{}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := map[string]any{
				"Url": "http://localhost/api/x", "Method": "POST", "Query": map[string]string{},
				"Headers": map[string][]string{"Content-Type": {tt.contentType}}, "Params": map[string]string{},
			}
			if tt.body != "" {
				req["Body"] = json.RawMessage(tt.body)
			}
			raw, _ := json.Marshal(req)
			inv := &Invocation{Data: map[string]json.RawMessage{"req": raw}}
			got, err := inv.HTTPRequest("req")
			if tt.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.HasBody != tt.wantHasBody {
				t.Errorf("HasBody = %v, want %v", got.HasBody, tt.wantHasBody)
			}
			if diff := cmp.Diff(tt.want, got.Body, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBindingNamesMatchWithoutCase(t *testing.T) {
	inv := &Invocation{Data: map[string]json.RawMessage{"Req": json.RawMessage(`{"Method":"get","Url":"/"}`)}}
	got, err := inv.HTTPRequest("req")
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != "GET" {
		t.Errorf("Method = %q", got.Method)
	}
}
