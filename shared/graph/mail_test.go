package graph

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

const sender = "licensing@central.example.gov"

// staticToken is a credential that always has a token, so that every Graph
// request carries an Authorization header and a leak to an upload URL shows.
type staticToken struct{}

func (staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "test-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// newMailFixture is a fixture whose client authenticates with a token.
func newMailFixture(t *testing.T, mod func(*Config)) *fixture {
	t.Helper()
	return newFixture(t, func(c *Config) {
		c.Auth = AuthManagedIdentity
		c.Credential = staticToken{}
		if mod != nil {
			mod(c)
		}
	})
}

// content returns n deterministic pseudo-random bytes.
func content(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	_, _ = r.Read(b)
	return b
}

func attachment(name, ct string, b []byte) licensing.Attachment {
	return licensing.Attachment{Name: name, ContentType: ct, Size: int64(len(b)),
		Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }}
}

// sentSummary is a SentMessage with attachments by hash, for short diffs.
type sentSummary struct {
	From, Subject, Body, ContentType string
	To, Cc                           []string
	Headers                          map[string]string
	SaveToSentItems, ViaDraft        bool
	Attachments                      []attachmentSummary
}

type attachmentSummary struct {
	Name, ContentType, SHA256 string
	Size, Chunks              int
	Uploaded                  bool
}

func hash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:8])
}

func summarize(ms []graphfake.SentMessage) []sentSummary {
	var out []sentSummary
	for _, m := range ms {
		s := sentSummary{From: m.From, Subject: m.Subject, Body: m.Body, ContentType: m.ContentType, To: m.To, Cc: m.Cc,
			Headers: m.Headers, SaveToSentItems: m.SaveToSentItems, ViaDraft: m.ViaDraft}
		for _, a := range m.Attachments {
			s.Attachments = append(s.Attachments, attachmentSummary{Name: a.Name, ContentType: a.ContentType,
				SHA256: hash(a.Bytes), Size: len(a.Bytes), Chunks: a.Chunks, Uploaded: a.Uploaded})
		}
		out = append(out, s)
	}
	return out
}

func TestMailerSend(t *testing.T) {
	small := content(1, 1000)
	oneMB := content(2, 1<<20)
	large := content(3, 3_500_000)
	date := time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)
	base := licensing.MailMessage{
		ID: "payroll/2026-11-23/DOA", Date: date,
		To:      []string{"pat.doe@doa.example.gov", "Lee Roe <lee.roe@doa.example.gov>"},
		Cc:      []string{"central-it@central.example.gov"},
		Subject: "Licence report – Département de l’Administration",
		Text:    "Hello,\nthe report is attached.\n",
	}
	wantBase := sentSummary{
		From: sender, To: []string{"pat.doe@doa.example.gov", "lee.roe@doa.example.gov"},
		Cc: []string{"central-it@central.example.gov"}, Subject: base.Subject, Body: licensing.MailHTML(base.Text), ContentType: "html",
		Headers: map[string]string{"X-Licensing-Message-Id": base.ID, "X-Auto-Response-Suppress": "All"}, SaveToSentItems: true,
	}
	tests := []struct {
		name       string
		mod        func(*licensing.MailMessage)
		chunk      int
		want       func(*sentSummary)
		wantCounts map[string]int
	}{
		{
			name:       "text only, inline, as the HTML rendered from it",
			wantCounts: map[string]int{graphfake.EndpointSendMail: 1},
		},
		{
			name: "a text table becomes an HTML table",
			mod: func(m *licensing.MailMessage) {
				m.Text = "Report:\n\n  Product        Purchased  In use\n  Visio Plan 2          10       9\n"
			},
			want: func(s *sentSummary) {
				s.Body = licensing.MailHTML("Report:\n\n  Product        Purchased  In use\n  Visio Plan 2          10       9\n")
				for _, cell := range []string{">Product</th>", ">In use</th>", ">Visio Plan 2</td>", "text-align:right\">10</td>"} {
					if !strings.Contains(s.Body, cell) {
						t.Errorf("rendered HTML lacks %q:\n%s", cell, s.Body)
					}
				}
			},
			wantCounts: map[string]int{graphfake.EndpointSendMail: 1},
		},
		{
			name: "HTML and a small binary attachment, inline",
			mod: func(m *licensing.MailMessage) {
				m.HTML = "<p>Hello, the <b>report</b> is attached.</p>"
				m.Attachments = []licensing.Attachment{attachment("../../etc/Rapport é.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", small)}
			},
			want: func(s *sentSummary) {
				s.Body, s.ContentType = "<p>Hello, the <b>report</b> is attached.</p>", "html"
				s.Attachments = []attachmentSummary{{Name: "Rapport é.xlsx", ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", SHA256: hash(small), Size: len(small)}}
			},
			wantCounts: map[string]int{graphfake.EndpointSendMail: 1},
		},
		{
			name: "3.5 MB attachment through an upload session",
			mod: func(m *licensing.MailMessage) {
				m.Attachments = []licensing.Attachment{attachment("summary.xlsx", "", large)}
			},
			want: func(s *sentSummary) {
				s.ViaDraft = true
				s.Attachments = []attachmentSummary{{Name: "summary.xlsx", ContentType: "application/octet-stream", SHA256: hash(large), Size: len(large), Uploaded: true, Chunks: 1}}
			},
			wantCounts: map[string]int{graphfake.EndpointMessages: 1, graphfake.EndpointUploadSession: 1, graphfake.EndpointUpload: 1, graphfake.EndpointSend: 1},
		},
		{
			name:  "3.5 MB attachment in 320 KiB chunks",
			chunk: chunkUnit,
			mod: func(m *licensing.MailMessage) {
				m.Attachments = []licensing.Attachment{attachment("summary.xlsx", "application/pdf", large)}
			},
			want: func(s *sentSummary) {
				s.ViaDraft = true
				s.Attachments = []attachmentSummary{{Name: "summary.xlsx", ContentType: "application/pdf", SHA256: hash(large), Size: len(large), Uploaded: true, Chunks: 11}}
			},
			// 3,500,000 / 327,680 = 10.7: eleven PUTs.
			wantCounts: map[string]int{graphfake.EndpointMessages: 1, graphfake.EndpointUploadSession: 1, graphfake.EndpointUpload: 11, graphfake.EndpointSend: 1},
		},
		{
			name: "one small and one large attachment",
			mod: func(m *licensing.MailMessage) {
				m.Attachments = []licensing.Attachment{attachment("a.bin", "application/octet-stream", small), attachment("b.bin", "application/octet-stream", large)}
			},
			want: func(s *sentSummary) {
				s.ViaDraft = true
				s.Attachments = []attachmentSummary{
					{Name: "a.bin", ContentType: "application/octet-stream", SHA256: hash(small), Size: len(small)},
					{Name: "b.bin", ContentType: "application/octet-stream", SHA256: hash(large), Size: len(large), Uploaded: true, Chunks: 1},
				}
			},
			wantCounts: map[string]int{graphfake.EndpointMessages: 1, graphfake.EndpointAttachments: 1, graphfake.EndpointUploadSession: 1, graphfake.EndpointUpload: 1, graphfake.EndpointSend: 1},
		},
		{
			name: "small attachments over 3 MB in all go to a draft one by one",
			mod: func(m *licensing.MailMessage) {
				for _, n := range []string{"1.bin", "2.bin", "3.bin", "4.bin"} {
					m.Attachments = append(m.Attachments, attachment(n, "application/octet-stream", oneMB))
				}
			},
			want: func(s *sentSummary) {
				s.ViaDraft = true
				for _, n := range []string{"1.bin", "2.bin", "3.bin", "4.bin"} {
					s.Attachments = append(s.Attachments, attachmentSummary{Name: n, ContentType: "application/octet-stream", SHA256: hash(oneMB), Size: len(oneMB)})
				}
			},
			wantCounts: map[string]int{graphfake.EndpointMessages: 1, graphfake.EndpointAttachments: 4, graphfake.EndpointSend: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newMailFixture(t, nil)
			m := f.client.Mailer(sender)
			if tt.chunk > 0 {
				m.(*mailer).chunk = tt.chunk
			}
			msg := base
			if tt.mod != nil {
				tt.mod(&msg)
			}
			if err := m.Send(context.Background(), msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			want := wantBase
			if tt.want != nil {
				tt.want(&want)
			}
			if diff := cmp.Diff([]sentSummary{want}, summarize(f.server.SentMail())); diff != "" {
				t.Errorf("sent mail (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantCounts, f.server.Counts()); diff != "" {
				t.Errorf("requests by endpoint (-want +got):\n%s", diff)
			}
			if f.client.Requests() != f.server.Total() {
				t.Errorf("client counted %d requests, server saw %d", f.client.Requests(), f.server.Total())
			}
			if n := f.server.OpenDrafts(); n != 0 {
				t.Errorf("%d drafts left", n)
			}
			for _, r := range f.server.Requests() {
				if wantAuth := r.Endpoint != graphfake.EndpointUpload; r.Authorization != wantAuth {
					t.Errorf("%s %s: Authorization header sent = %v, want %v", r.Method, r.Path, r.Authorization, wantAuth)
				}
			}
		})
	}
}

// TestMailerSendMailJSON checks what reaches Graph for sendMail: a gzipped
// body with the keys Graph's action takes.
func TestMailerSendMailJSON(t *testing.T) {
	f := newMailFixture(t, nil)
	msg := licensing.MailMessage{ID: "id-1", Date: time.Now(), To: []string{"a@doa.example.gov"}, Subject: "s", Text: "t",
		Attachments: []licensing.Attachment{attachment("x.txt", "text/plain", []byte("hello"))}}
	if err := f.client.Mailer(sender).Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	reqs := f.server.Requests()
	if len(reqs) != 1 {
		t.Fatalf("requests = %+v, want one", reqs)
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != "/v1.0/users/"+sender+"/sendMail" || !r.Gzip {
		t.Errorf("request %s %s gzip=%v, want POST /v1.0/users/%s/sendMail gzipped", r.Method, r.Path, r.Gzip, sender)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("body %s: %v", r.Body, err)
	}
	var keys []string
	for k := range body {
		keys = append(keys, k)
	}
	if diff := cmp.Diff([]string{"Message", "SaveToSentItems"}, sorted(keys)); diff != "" {
		t.Errorf("sendMail keys (-want +got):\n%s", diff)
	}
	if string(body["SaveToSentItems"]) != "true" {
		t.Errorf("SaveToSentItems = %s", body["SaveToSentItems"])
	}
	var m struct {
		Attachments []map[string]any `json:"attachments"`
	}
	if err := json.Unmarshal(body["Message"], &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Attachments) != 1 || m.Attachments[0]["@odata.type"] != "#microsoft.graph.fileAttachment" || m.Attachments[0]["contentBytes"] != "aGVsbG8=" {
		t.Errorf("attachments = %v", m.Attachments)
	}
}

func TestMailerThrottling(t *testing.T) {
	large := content(4, 3_500_000)
	tests := []struct {
		name         string
		faults       []graphfake.Fault
		attachments  []licensing.Attachment
		wantRequests int
		minElapsed   time.Duration
	}{
		{
			name:         "429 with Retry-After on sendMail",
			faults:       []graphfake.Fault{{Endpoint: graphfake.EndpointSendMail, Status: 429, RetryAfter: "1", Times: 2}},
			wantRequests: 3, minElapsed: 2 * time.Second,
		},
		{
			name:         "503 storm with Retry-After on sendMail",
			faults:       []graphfake.Fault{{Endpoint: graphfake.EndpointSendMail, Status: 503, RetryAfter: "0", Times: 4}},
			wantRequests: 5,
		},
		{
			name:         "429 on the upload session and 503 on a chunk",
			attachments:  []licensing.Attachment{attachment("big.bin", "application/octet-stream", large)},
			faults:       []graphfake.Fault{{Endpoint: graphfake.EndpointUploadSession, Status: 429, RetryAfter: "0"}, {Endpoint: graphfake.EndpointUpload, Status: 503, Times: 2}},
			wantRequests: 4 + 1 + 2,
		},
		{
			name:         "429 with Retry-After on a chunk",
			attachments:  []licensing.Attachment{attachment("big.bin", "application/octet-stream", large)},
			faults:       []graphfake.Fault{{Endpoint: graphfake.EndpointUpload, Status: 429, RetryAfter: "1"}},
			wantRequests: 4 + 1, minElapsed: time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newMailFixture(t, nil)
			for _, fault := range tt.faults {
				f.server.Inject(fault)
			}
			msg := licensing.MailMessage{ID: "x", Date: time.Now(), To: []string{"a@doa.example.gov"}, Subject: "s", Text: "t", Attachments: tt.attachments}
			start := time.Now()
			if err := f.client.Mailer(sender).Send(context.Background(), msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			if el := time.Since(start); el < tt.minElapsed {
				t.Errorf("took %v, want at least %v (Retry-After)", el, tt.minElapsed)
			}
			sent := f.server.SentMail()
			if len(sent) != 1 {
				t.Fatalf("sent %d messages, want 1", len(sent))
			}
			for i, a := range tt.attachments {
				if got := sent[0].Attachments[i].Bytes; !bytes.Equal(got, large) {
					t.Errorf("attachment %s: %d bytes arrived, not the %d sent", a.Name, len(got), len(large))
				}
			}
			if f.server.Total() != tt.wantRequests || f.client.Requests() != tt.wantRequests {
				t.Errorf("requests: server %d, client %d, want %d (%v)", f.server.Total(), f.client.Requests(), tt.wantRequests, f.server.Counts())
			}
		})
	}
}

func TestMailerErrors(t *testing.T) {
	large := content(5, 3_500_000)
	okMsg := licensing.MailMessage{ID: "x", Date: time.Now(), To: []string{"a@doa.example.gov"}, Subject: "s", Text: "t"}
	withLarge := okMsg
	withLarge.Attachments = []licensing.Attachment{attachment("big.bin", "application/octet-stream", large)}
	short := withLarge
	short.Attachments = []licensing.Attachment{attachment("big.bin", "application/octet-stream", large[:3_200_000])}
	short.Attachments[0].Size = int64(len(large))
	openFails := okMsg
	openFails.Attachments = []licensing.Attachment{{Name: "gone.pdf", Size: 10, Open: func(context.Context) (io.ReadCloser, error) {
		return nil, licensing.Errorf("blobstore.get", licensing.NotFound, "blob gone.pdf does not exist.")
	}}}
	tests := []struct {
		name         string
		sender       string
		msg          licensing.MailMessage
		faults       []graphfake.Fault
		wantCode     licensing.Code
		wantMsg      []string
		wantFields   []string
		wantRequests int // -1: do not check
	}{
		{
			name: "403 ErrorAccessDenied", msg: okMsg,
			faults:   []graphfake.Fault{{Endpoint: graphfake.EndpointSendMail, Status: 403, Code: "ErrorAccessDenied", Message: "Access is denied. Check credentials and try again."}},
			wantCode: licensing.Forbidden, wantMsg: []string{"Mail.Send", "Exchange RBAC for Applications", sender}, wantRequests: 1,
		},
		{
			name: "403 on the draft names Mail.ReadWrite", msg: withLarge,
			faults:   []graphfake.Fault{{Endpoint: graphfake.EndpointMessages, Status: 403, Code: "ErrorAccessDenied"}},
			wantCode: licensing.Forbidden, wantMsg: []string{"Mail.ReadWrite"}, wantRequests: 1,
		},
		{
			name: "401", msg: okMsg,
			faults:   []graphfake.Fault{{Status: 401}},
			wantCode: licensing.Forbidden, wantMsg: []string{"credentials"}, wantRequests: 1,
		},
		{
			name: "400 ErrorInvalidRecipients", msg: okMsg,
			faults:   []graphfake.Fault{{Endpoint: graphfake.EndpointSendMail, Status: 400, Code: "ErrorInvalidRecipients", Message: "At least one recipient isn't valid."}},
			wantCode: licensing.Invalid, wantMsg: []string{"ErrorInvalidRecipients"}, wantRequests: 1,
		},
		{
			name: "404 mailbox", msg: okMsg,
			faults:   []graphfake.Fault{{Endpoint: graphfake.EndpointSendMail, Status: 404, Code: "ErrorInvalidUser"}},
			wantCode: licensing.Forbidden, wantMsg: []string{"MAIL_SENDER"}, wantRequests: 1,
		},
		{
			name: "503 with Retry-After persistently", msg: okMsg,
			faults:   []graphfake.Fault{{Status: 503, RetryAfter: "1", Times: 1000}},
			wantCode: licensing.Unavailable, wantMsg: []string{"try again later"}, wantRequests: -1,
		},
		{
			name: "upload session expires: draft deleted", msg: withLarge,
			faults:   []graphfake.Fault{{Endpoint: graphfake.EndpointUpload, Status: 404, Code: "ErrorItemNotFound"}},
			wantCode: licensing.Unavailable, wantMsg: []string{"expired"}, wantRequests: 3,
		},
		{
			name: "attachment shorter than its size: draft deleted", msg: short,
			wantCode: licensing.Internal, wantRequests: 2,
		},
		{
			name: "attachment cannot be opened keeps its code", msg: openFails,
			wantCode: licensing.NotFound, wantMsg: []string{"gone.pdf"}, wantRequests: 0,
		},
		{
			name: "bad recipient", msg: licensing.MailMessage{To: []string{"not an address", "ok@doa.example.gov"}, Cc: []string{"a@b.example, c@d.example"}},
			wantCode: licensing.Invalid, wantFields: []string{"to[0]", "cc[0]"},
		},
		{
			name: "no recipient", msg: licensing.MailMessage{Subject: "s"},
			wantCode: licensing.Invalid, wantFields: []string{"to"},
		},
		{
			name: "header injection in the subject", msg: licensing.MailMessage{To: []string{"a@doa.example.gov"}, Subject: "Hi\r\nBcc: spy@evil.example"},
			wantCode: licensing.Invalid, wantFields: []string{"subject"},
		},
		{
			name: "header injection in an address", msg: licensing.MailMessage{To: []string{"a@doa.example.gov\r\nBcc: spy@evil.example"}},
			wantCode: licensing.Invalid, wantFields: []string{"to[0]"},
		},
		{
			name: "attachment too large", msg: licensing.MailMessage{To: []string{"a@doa.example.gov"}, Attachments: []licensing.Attachment{{Name: "x", Size: 151 << 20, Open: withLarge.Attachments[0].Open}}},
			wantCode: licensing.Invalid, wantFields: []string{"attachments[0].size"},
		},
		{
			name: "bad sender", sender: "not a mailbox\r\n", msg: okMsg,
			wantCode: licensing.Invalid, wantMsg: []string{"MAIL_SENDER"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newMailFixture(t, func(c *Config) { c.MaxRetryWait = 200 * time.Millisecond })
			for _, fault := range tt.faults {
				f.server.Inject(fault)
			}
			s := sender
			if tt.sender != "" {
				s = tt.sender
			}
			err := f.client.Mailer(s).Send(context.Background(), tt.msg)
			if code := licensing.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("error = %v (code %q), want %q", err, code, tt.wantCode)
			}
			var le *licensing.Error
			if !errors.As(err, &le) || le.Op == "" {
				t.Errorf("error %v has no Op", err)
			}
			for _, w := range tt.wantMsg {
				if !strings.Contains(licensing.ErrorMessage(err), w) {
					t.Errorf("message %q does not contain %q", licensing.ErrorMessage(err), w)
				}
			}
			if tt.wantFields != nil {
				var got []string
				for _, fe := range licensing.ErrorFields(err) {
					got = append(got, fe.Field)
				}
				if diff := cmp.Diff(tt.wantFields, got); diff != "" {
					t.Errorf("fields (-want +got):\n%s", diff)
				}
			}
			// A message refused before Graph is reached costs nothing; a
			// failed draft is deleted (one more request).
			wantReqs := tt.wantRequests
			deleted := f.server.Count(graphfake.EndpointMessage)
			if wantReqs >= 0 && f.server.Total()-deleted != wantReqs {
				t.Errorf("requests = %d (%v), want %d", f.server.Total()-deleted, f.server.Counts(), wantReqs)
			}
			if n := f.server.OpenDrafts(); n != 0 {
				t.Errorf("%d drafts left behind", n)
			}
			if len(f.server.SentMail()) != 0 {
				t.Errorf("a message was sent")
			}
		})
	}
}

func TestUploadURLMustBeSafe(t *testing.T) {
	f := newMailFixture(t, nil)
	m := f.client.Mailer(sender).(*mailer)
	tests := []struct {
		url  string
		want bool
	}{
		{"https://outlook.office.com/api/v2.0/Users('x')/Messages('y')/AttachmentSessions('z')?authtoken=abc", true},
		{f.url + "/upload/abc", true},
		{"/upload/abc", false},
		{"", false},
		{"ftp://example.com/x", false},
	}
	for _, tt := range tests {
		if got := m.checkUploadURL(tt.url) == nil; got != tt.want {
			t.Errorf("checkUploadURL(%q) ok = %v, want %v", tt.url, got, tt.want)
		}
	}
	prod := &mailer{c: &Client{base: DefaultBaseURL}}
	if prod.checkUploadURL("http://outlook.office.com/upload") == nil {
		t.Errorf("an http upload URL is accepted against https Graph")
	}
}

// TestMailerAmbiguousIsNotResent checks that a send whose answer is lost
// after Graph may have acted is never sent again: it fails as Ambiguous,
// and exactly one message arrives when Graph did act.
func TestMailerAmbiguousIsNotResent(t *testing.T) {
	large := content(5, 3_500_000)
	tests := []struct {
		name     string
		fault    graphfake.Fault
		atts     []licensing.Attachment
		wantSent int
	}{
		{"sendMail accepted, then 504", graphfake.Fault{Endpoint: graphfake.EndpointSendMail, Status: 504, After: true}, nil, 1},
		{"sendMail accepted, then 500", graphfake.Fault{Endpoint: graphfake.EndpointSendMail, Status: 500, After: true}, nil, 1},
		{"sendMail 503 without Retry-After", graphfake.Fault{Endpoint: graphfake.EndpointSendMail, Status: 503}, nil, 0},
		{"draft sent, then 502", graphfake.Fault{Endpoint: graphfake.EndpointSend, Status: 502, After: true},
			[]licensing.Attachment{attachment("big.bin", "application/octet-stream", large)}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newMailFixture(t, nil)
			f.server.Inject(tt.fault)
			msg := licensing.MailMessage{ID: "once", Date: time.Now(), To: []string{"a@doa.example.gov"}, Subject: "s", Text: "t", Attachments: tt.atts}
			err := f.client.Mailer(sender).Send(context.Background(), msg)
			if licensing.ErrorCode(err) != licensing.Ambiguous {
				t.Fatalf("Send = %v (code %q), want ambiguous", err, licensing.ErrorCode(err))
			}
			if n := len(f.server.SentMail()); n != tt.wantSent {
				t.Errorf("%d messages arrived, want %d", n, tt.wantSent)
			}
			if n := f.server.Count(tt.fault.Endpoint); n != 1 {
				t.Errorf("%s was requested %d times, want 1: an ambiguous send is not retried", tt.fault.Endpoint, n)
			}
		})
	}
}
