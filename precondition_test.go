package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/devkit/azuritetest"
	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
)

// TestIfMatchAgainstTableStorage sends If-Match values through the host
// harness to the staged handler on Azurite: a malformed value is 400 and a
// well-formed ETag the agency does not have is 412, where the table service
// itself would refuse the header as bad input.
func TestIfMatchAgainstTableStorage(t *testing.T) {
	prefix := azuritetest.Name(t, "ifmatch")
	gs := httptest.NewServer(graphfake.NewServer(graphfake.NewTenant(), slog.New(slog.DiscardHandler)))
	defer gs.Close()
	front := serveUnderHost(t, "AzureWebJobsStorage=UseDevelopmentStorage=true", "STORAGE_PREFIX="+prefix,
		"GRAPH_MODE=live", "GRAPH_AUTH=none", "GRAPH_BASE_URL="+gs.URL+"/v1.0")

	put := func(name, ifMatch string) (int, string, string) {
		body := `{"name":"` + name + `","contacts":["t@test.example.gov"],"attribution":{"attribute":"department","values":["Test"]}}`
		req, _ := http.NewRequest(http.MethodPut, front+"/api/agencies/TEST", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-MS-CLIENT-PRINCIPAL-NAME", testAdmin)
		if ifMatch != "" {
			req.Header.Set("If-Match", ifMatch)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("ETag"), string(raw)
	}
	status, etag, body := put("Test Agency", "")
	if status != http.StatusCreated || etag == "" {
		t.Fatalf("create: %d %q %s", status, etag, body)
	}
	tests := []struct {
		ifMatch  string
		want     int
		wantCode string
	}{
		{"abc", 400, "malformed"},
		{`"a", "b"`, 400, "malformed"},
		{etag + ", " + etag, 400, "malformed"},
		{`"abc"`, 412, "stale"},
		{`W/"abc"`, 412, "stale"},
		{`W/"datetime'2000-01-01T00%3A00%3A00.0000000Z'"`, 412, "stale"},
	}
	for _, tt := range tests {
		status, _, body := put("Changed", tt.ifMatch)
		var e struct {
			Error struct{ Code, Message string }
		}
		json.Unmarshal([]byte(body), &e)
		if status != tt.want || e.Error.Code != tt.wantCode {
			t.Errorf("If-Match %s: %d %s, want %d %s", tt.ifMatch, status, body, tt.want, tt.wantCode)
		}
	}
	if status, _, body := put("Changed", etag); status != http.StatusOK {
		t.Errorf("If-Match with the current ETag: %d %s", status, body)
	}
}
