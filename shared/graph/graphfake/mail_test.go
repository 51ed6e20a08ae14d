package graphfake_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
)

// send makes one request and returns its status, headers and decoded body.
func send(t *testing.T, method, u string, body []byte, header map[string]string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: body %q is not JSON", method, u, b)
		}
	}
	return resp.StatusCode, resp.Header, out
}

func gzipped(s string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	io.WriteString(zw, s)
	zw.Close()
	return buf.Bytes()
}

func errorCode(body map[string]any) string {
	if e, ok := body["error"].(map[string]any); ok {
		code, _ := e["code"].(string)
		return code
	}
	return ""
}

func TestSendMail(t *testing.T) {
	_, s, base := newServer(t, 0)
	msg := `{"Message":{"subject":"Hi","body":{"contentType":"HTML","content":"<p>x</p>"},` +
		`"toRecipients":[{"emailAddress":{"address":"a@doa.example.gov"}}],"ccRecipients":[{"emailAddress":{"name":"B","address":"b@doa.example.gov"}}],` +
		`"internetMessageHeaders":[{"name":"X-Id","value":"1"}],` +
		`"attachments":[{"@odata.type":"#microsoft.graph.fileAttachment","name":"a.txt","contentType":"text/plain","contentBytes":"aGVsbG8="}]},"SaveToSentItems":false}`
	status, _, _ := send(t, "POST", base+"/users/Sender@Central.example.gov/sendMail", gzipped(msg), map[string]string{"Content-Encoding": "gzip", "Content-Type": "application/json"})
	if status != http.StatusAccepted {
		t.Fatalf("status %d", status)
	}
	want := []graphfake.SentMessage{{
		From: "sender@central.example.gov", To: []string{"a@doa.example.gov"}, Cc: []string{"b@doa.example.gov"},
		Subject: "Hi", Body: "<p>x</p>", ContentType: "html", Headers: map[string]string{"X-Id": "1"},
		Attachments: []graphfake.SentAttachment{{Name: "a.txt", ContentType: "text/plain", Bytes: []byte("hello")}},
	}}
	if diff := cmp.Diff(want, s.SentMail()); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	if s.Count(graphfake.EndpointSendMail) != 1 || !s.Requests()[0].Gzip {
		t.Errorf("counts %v, requests %+v", s.Counts(), s.Requests())
	}
}

func TestSendMailRefusals(t *testing.T) {
	to := `"toRecipients":[{"emailAddress":{"address":"a@doa.example.gov"}}]`
	tests := []struct {
		name       string
		method     string
		body       string
		fault      *graphfake.Fault
		wantStatus int
		wantCode   string
	}{
		{"no Message", "POST", `{"SaveToSentItems":true}`, nil, 400, "ErrorInvalidParameter"},
		{"no recipient", "POST", `{"Message":{"subject":"x"}}`, nil, 400, "ErrorInvalidRecipients"},
		{"bad recipient", "POST", `{"Message":{"toRecipients":[{"emailAddress":{"address":"not an address"}}]}}`, nil, 400, "ErrorInvalidRecipients"},
		{"not JSON", "POST", `{"Message":`, nil, 400, "RequestBodyRead"},
		{"header without x-", "POST", `{"Message":{` + to + `,"internetMessageHeaders":[{"name":"Bcc","value":"x"}]}}`, nil, 400, "InvalidInternetMessageHeader"},
		{"item attachment", "POST", `{"Message":{` + to + `,"attachments":[{"@odata.type":"#microsoft.graph.itemAttachment"}]}}`, nil, 400, "ErrorInvalidAttachmentType"},
		{"over 4 MB", "POST", `{"Message":{` + to + `,"subject":"` + strings.Repeat("x", 4<<20) + `"}}`, nil, 413, "RequestBodyTooLarge"},
		{"GET", "GET", ``, nil, 405, "Request_BadRequest"},
		{"429", "POST", `{"Message":{` + to + `}}`, &graphfake.Fault{Endpoint: graphfake.EndpointSendMail, Status: 429, RetryAfter: "3"}, 429, "TooManyRequests"},
		{"403", "POST", `{"Message":{` + to + `}}`, &graphfake.Fault{Endpoint: graphfake.EndpointSendMail, Status: 403, Code: "ErrorAccessDenied"}, 403, "ErrorAccessDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, s, base := newServer(t, 0)
			if tt.fault != nil {
				s.Inject(*tt.fault)
			}
			status, h, body := send(t, tt.method, base+"/users/s@x.example/sendMail", []byte(tt.body), nil)
			if status != tt.wantStatus || errorCode(body) != tt.wantCode {
				t.Errorf("got %d %q, want %d %q", status, errorCode(body), tt.wantStatus, tt.wantCode)
			}
			if tt.fault != nil && h.Get("Retry-After") != tt.fault.RetryAfter {
				t.Errorf("Retry-After %q", h.Get("Retry-After"))
			}
			if len(s.SentMail()) != 0 {
				t.Error("a refused message was sent")
			}
		})
	}
}

// draftWithSession creates a draft and an upload session of size bytes.
func draftWithSession(t *testing.T, base string, size int) (draftID, uploadURL string) {
	t.Helper()
	status, _, d := send(t, "POST", base+"/users/s@x.example/messages",
		[]byte(`{"subject":"big","toRecipients":[{"emailAddress":{"address":"a@doa.example.gov"}}]}`), nil)
	if status != http.StatusCreated {
		t.Fatalf("draft: %d %v", status, d)
	}
	draftID = d["id"].(string)
	status, _, us := send(t, "POST", base+"/users/s@x.example/messages/"+draftID+"/attachments/createUploadSession",
		[]byte(fmt.Sprintf(`{"AttachmentItem":{"attachmentType":"file","name":"big.bin","size":%d,"contentType":"application/pdf"}}`, size)), nil)
	if status != http.StatusCreated {
		t.Fatalf("upload session: %d %v", status, us)
	}
	if r, _ := us["nextExpectedRanges"].([]any); len(r) != 1 || r[0] != "0-" || us["expirationDateTime"] == nil {
		t.Errorf("session %v", us)
	}
	uploadURL = us["uploadUrl"].(string)
	if !strings.HasPrefix(uploadURL, strings.TrimSuffix(base, "/v1.0")+"/upload/") || len(uploadURL) < len(base)+60 {
		t.Errorf("upload URL %q is not absolute on the server with a long token", uploadURL)
	}
	return draftID, uploadURL
}

func rangeHeader(start, end, total int) map[string]string {
	return map[string]string{"Content-Range": fmt.Sprintf("bytes %d-%d/%d", start, end, total)}
}

func TestDraftUploadAndSend(t *testing.T) {
	_, s, base := newServer(t, 0)
	const size = 3_500_000
	content := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
	id, u := draftWithSession(t, base, size)
	status, _, _ := send(t, "POST", base+"/users/s@x.example/messages/"+id+"/attachments",
		[]byte(`{"@odata.type":"#microsoft.graph.fileAttachment","name":"small.txt","contentType":"text/plain","contentBytes":"aGk="}`), nil)
	if status != http.StatusCreated {
		t.Fatalf("small attachment: %d", status)
	}
	chunk := 10 * graphfake.ChunkUnit
	for off, n := 0, 0; off < size; off += n {
		n = min(chunk, size-off)
		status, h, body := send(t, "PUT", u, content[off:off+n], rangeHeader(off, off+n-1, size))
		last := off+n == size
		switch {
		case !last && (status != 200 || body["nextExpectedRanges"].([]any)[0] != fmt.Sprintf("%d-", off+n)):
			t.Fatalf("chunk at %d: %d %v", off, status, body)
		case last && (status != 201 || h.Get("Location") == ""):
			t.Fatalf("last chunk: %d %v %v", status, h, body)
		}
	}
	if status, _, _ := send(t, "POST", base+"/users/s@x.example/messages/"+id+"/send", nil, nil); status != http.StatusAccepted {
		t.Fatalf("send: %d", status)
	}
	sent := s.SentMail()
	if len(sent) != 1 || !sent[0].ViaDraft || len(sent[0].Attachments) != 2 {
		t.Fatalf("sent %+v", sent)
	}
	small, big := sent[0].Attachments[0], sent[0].Attachments[1]
	if string(small.Bytes) != "hi" || small.Uploaded || !bytes.Equal(big.Bytes, content) || !big.Uploaded || big.Chunks != 2 || big.Name != "big.bin" {
		t.Errorf("attachments: small %q uploaded=%v; big %d bytes uploaded=%v chunks=%d", small.Bytes, small.Uploaded, len(big.Bytes), big.Uploaded, big.Chunks)
	}
	for _, r := range s.Requests() {
		if r.Endpoint == graphfake.EndpointUpload && (r.Body != nil || r.Size == 0) {
			t.Errorf("upload chunk recorded with body %d bytes, size %d", len(r.Body), r.Size)
		}
	}
	want := map[string]int{graphfake.EndpointMessages: 1, graphfake.EndpointUploadSession: 1, graphfake.EndpointAttachments: 1, graphfake.EndpointUpload: 2, graphfake.EndpointSend: 1}
	if diff := cmp.Diff(want, s.Counts()); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if s.OpenDrafts() != 0 {
		t.Errorf("%d drafts left", s.OpenDrafts())
	}
	if status, _, _ := send(t, "POST", base+"/users/s@x.example/messages/"+id+"/send", nil, nil); status != http.StatusNotFound {
		t.Errorf("sending a sent draft again: %d, want 404", status)
	}
}

func TestUploadRefusals(t *testing.T) {
	const size = 3_200_000
	unit := graphfake.ChunkUnit
	tests := []struct {
		name       string
		header     map[string]string
		body       int
		wantStatus int
	}{
		{"Authorization header", map[string]string{"Authorization": "Bearer leaked", "Content-Range": fmt.Sprintf("bytes 0-%d/%d", unit-1, size)}, unit, 401},
		{"no Content-Range", nil, unit, 400},
		{"garbled Content-Range", map[string]string{"Content-Range": "bytes=0-1"}, 2, 400},
		{"wrong total", rangeHeader(0, unit-1, size+1), unit, 400},
		{"not at the start", rangeHeader(unit, 2*unit-1, size), unit, 400},
		{"length differs from the range", rangeHeader(0, unit-1, size), unit - 1, 400},
		{"not a multiple of 320 KiB", rangeHeader(0, 999, size), 1000, 400},
		{"over 4 MB", rangeHeader(0, 13*unit-1, 13*unit), 13 * unit, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, s, base := newServer(t, 0)
			total := size
			if tt.body == 13*unit {
				total = 13 * unit
			}
			_, u := draftWithSession(t, base, total)
			status, _, body := send(t, "PUT", u, make([]byte, tt.body), tt.header)
			if status != tt.wantStatus {
				t.Errorf("status %d (%v), want %d", status, body, tt.wantStatus)
			}
			reqs := s.Requests()
			if last := reqs[len(reqs)-1]; last.Endpoint != graphfake.EndpointUpload || last.Authorization != (tt.wantStatus == 401) {
				t.Errorf("recorded %+v", last)
			}
		})
	}
	t.Run("unknown token", func(t *testing.T) {
		_, _, base := newServer(t, 0)
		u := strings.TrimSuffix(base, "/v1.0") + "/upload/0123"
		if status, _, _ := send(t, "PUT", u, []byte("x"), rangeHeader(0, 0, 1)); status != 404 {
			t.Errorf("status %d, want 404", status)
		}
	})
	t.Run("session too small", func(t *testing.T) {
		_, _, base := newServer(t, 0)
		_, _, d := send(t, "POST", base+"/users/s@x.example/messages", []byte(`{}`), nil)
		status, _, body := send(t, "POST", base+"/users/s@x.example/messages/"+d["id"].(string)+"/attachments/createUploadSession",
			[]byte(`{"AttachmentItem":{"attachmentType":"file","name":"a","size":1000}}`), nil)
		if status != 400 || errorCode(body) != "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize" {
			t.Errorf("got %d %v", status, body)
		}
	})
	t.Run("deleted draft", func(t *testing.T) {
		_, s, base := newServer(t, 0)
		id, u := draftWithSession(t, base, size)
		if status, _, _ := send(t, "DELETE", base+"/users/s@x.example/messages/"+id, nil, nil); status != 204 {
			t.Fatalf("delete: %d", status)
		}
		if status, _, _ := send(t, "PUT", u, make([]byte, unit), rangeHeader(0, unit-1, size)); status != 404 {
			t.Errorf("upload to a deleted draft's session: %d, want 404", status)
		}
		if status, _, _ := send(t, "POST", base+"/users/other@x.example/messages/"+id+"/send", nil, nil); status != 404 {
			t.Errorf("send: %d, want 404", status)
		}
		if s.OpenDrafts() != 0 {
			t.Errorf("%d drafts", s.OpenDrafts())
		}
	})
	t.Run("fault on upload", func(t *testing.T) {
		_, s, base := newServer(t, 0)
		_, u := draftWithSession(t, base, size)
		s.Inject(graphfake.Fault{Endpoint: graphfake.EndpointUpload, Status: 503, RetryAfter: "1"})
		status, h, _ := send(t, "PUT", u, make([]byte, unit), rangeHeader(0, unit-1, size))
		if status != 503 || h.Get("Retry-After") != "1" {
			t.Errorf("got %d %q", status, h.Get("Retry-After"))
		}
		if status, _, _ := send(t, "PUT", u, make([]byte, unit), rangeHeader(0, unit-1, size)); status != 200 {
			t.Errorf("after the fault: %d", status)
		}
	})
}
