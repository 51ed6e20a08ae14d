package outbox

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/blobstore"
	"github.com/shared-tenant/licensetrack/shared/devkit/azuritetest"
	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

const sender = "Licensing <licensing@central.example.gov>"

var quiet = WithLogger(slog.New(slog.DiscardHandler))

// parsed is an .eml read back with the standard library.
type parsed struct {
	From, Subject, MessageID, Date string
	To, Cc                         []string
	Text, HTML                     string
	Attachments                    []part
}

// part is an attachment read back: its bytes by size and hash.
type part struct {
	Name, ContentType string
	Size              int
	SHA256            string
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func addresses(t *testing.T, h mail.Header, key string) []string {
	t.Helper()
	if h.Get(key) == "" {
		return nil
	}
	list, err := h.AddressList(key)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	var out []string
	for _, a := range list {
		out = append(out, a.String())
	}
	return out
}

// readEML parses an .eml file, checking line lengths on the way.
func readEML(t *testing.T, r io.Reader) parsed {
	t.Helper()
	raw, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line %d is %d bytes long", i+1, len(line))
		}
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("line %d holds a bare CR or LF", i+1)
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("ReadMessage: %v", err)
	}
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("Subject: %v", err)
	}
	if v := msg.Header.Get("MIME-Version"); v != "1.0" {
		t.Errorf("MIME-Version = %q", v)
	}
	p := parsed{
		From: addresses(t, msg.Header, "From")[0], To: addresses(t, msg.Header, "To"), Cc: addresses(t, msg.Header, "Cc"),
		Subject: subject, MessageID: msg.Header.Get("Message-ID"), Date: msg.Header.Get("Date"),
	}
	walk(t, &p, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), "", msg.Body)
	return p
}

// walk reads one MIME entity into p.
func walk(t *testing.T, p *parsed, ct, cte, disposition string, body io.Reader) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		t.Fatalf("Content-Type %q: %v", ct, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			pt, err := mr.NextPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("NextPart: %v", err)
			}
			// NextPart decodes quoted-printable itself and drops the header.
			walk(t, p, pt.Header.Get("Content-Type"), pt.Header.Get("Content-Transfer-Encoding"), pt.Header.Get("Content-Disposition"), pt)
		}
	}
	switch strings.ToLower(cte) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		var buf bytes.Buffer
		if err := checkBase64Lines(io.TeeReader(body, &buf)); err != nil {
			t.Errorf("base64 lines: %v", err)
		}
		body = base64.NewDecoder(base64.StdEncoding, &buf)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("reading a %s part: %v", mt, err)
	}
	if disposition != "" {
		d, dp, err := mime.ParseMediaType(disposition)
		if err != nil || d != "attachment" {
			t.Fatalf("Content-Disposition %q: %v", disposition, err)
		}
		p.Attachments = append(p.Attachments, part{Name: dp["filename"], ContentType: mt, Size: len(b), SHA256: digest(b)})
		if params["name"] != dp["filename"] {
			t.Errorf("Content-Type name %q differs from filename %q", params["name"], dp["filename"])
		}
		return
	}
	if params["charset"] != "utf-8" {
		t.Errorf("%s part has charset %q", mt, params["charset"])
	}
	switch mt {
	case "text/plain":
		p.Text = string(b)
	case "text/html":
		p.HTML = string(b)
	default:
		t.Errorf("unexpected part %s", mt)
	}
}

// checkBase64Lines checks that base64 comes in lines of at most 76.
func checkBase64Lines(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if l := len(strings.TrimSuffix(sc.Text(), "\r")); l > 76 {
			return errors.New("a line of " + string(rune('0'+l/100)) + "xx characters")
		}
	}
	return sc.Err()
}

func attachment(name, ct string, b []byte) licensing.Attachment {
	return licensing.Attachment{Name: name, ContentType: ct, Size: int64(len(b)),
		Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }}
}

// toCRLF is how text comes back from a message: with CRLF line ends.
func toCRLF(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func TestSend(t *testing.T) {
	binary := make([]byte, 10_000)
	for i := range binary {
		binary[i] = byte(i * 7)
	}
	date := time.Date(2026, 11, 23, 8, 30, 0, 0, time.FixedZone("CST", -6*3600))
	base := licensing.MailMessage{
		ID: "payroll-2026-11-23-DOA", Date: date,
		To:      []string{"pat.doe@doa.example.gov"},
		Subject: "Payroll report",
		Text:    "Hello,\nthe report is attached.\n=== Totals ===\n" + strings.Repeat("long line ", 20) + "\n",
	}
	wantBase := parsed{
		From: `"Licensing" <licensing@central.example.gov>`, To: []string{"<pat.doe@doa.example.gov>"},
		Subject: "Payroll report", MessageID: "<payroll-2026-11-23-DOA@licensing.local>",
		Date: "Mon, 23 Nov 2026 08:30:00 -0600", Text: toCRLF(base.Text), HTML: toCRLF(licensing.MailHTML(base.Text)),
	}
	tests := []struct {
		name string
		mod  func(*licensing.MailMessage)
		want func(*parsed)
	}{
		{name: "text only"},
		{
			name: "HTML alternative",
			mod:  func(m *licensing.MailMessage) { m.HTML = "<p>Hello, <b>the report</b> is attached. é</p>\n" },
			want: func(p *parsed) { p.HTML = toCRLF("<p>Hello, <b>the report</b> is attached. é</p>\n") },
		},
		{
			name: "non-ASCII subject and names, several recipients",
			mod: func(m *licensing.MailMessage) {
				m.Subject = "Licences – Département de l’Administration ✓ " + strings.Repeat("é", 60)
				m.To = []string{"Zoë Ünïcödé <zoe@doa.example.gov>", "lee.roe@doa.example.gov"}
				m.Cc = []string{`"Central IT, Licensing" <central-it@central.example.gov>`}
				m.Text = "Grüße\n"
			},
			want: func(p *parsed) {
				p.Subject = "Licences – Département de l’Administration ✓ " + strings.Repeat("é", 60)
				p.To = []string{`=?utf-8?q?Zo=C3=AB_=C3=9Cn=C3=AFc=C3=B6d=C3=A9?= <zoe@doa.example.gov>`, "<lee.roe@doa.example.gov>"}
				p.Cc = []string{`"Central IT, Licensing" <central-it@central.example.gov>`}
				p.Text = "Grüße\r\n"
				p.HTML = toCRLF(licensing.MailHTML("Grüße\n"))
			},
		},
		{
			name: "subject that looks like an encoded-word stays literal",
			mod:  func(m *licensing.MailMessage) { m.Subject = "=?utf-8?q?not_decoded?=" },
			want: func(p *parsed) { p.Subject = "=?utf-8?q?not_decoded?=" },
		},
		{
			name: "attachments with hostile names",
			mod: func(m *licensing.MailMessage) {
				m.HTML = "<p>see attached</p>"
				m.Attachments = []licensing.Attachment{
					attachment("Rapport été 2026 – DOA.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", binary),
					attachment("../../etc/passwd", "text/plain; charset=us-ascii", []byte("root:x:0:0\n")),
					attachment("C:\\temp\\a\r\nContent-Type: text/html\r\n.txt", "", []byte{0, 1, 2}),
					attachment("invoice\u202Efdp.exe", "application/x-msdownload\r\nX-Evil: 1", nil),
					attachment("...", "not a type", []byte("x")),
				}
			},
			want: func(p *parsed) {
				p.HTML = "<p>see attached</p>"
				p.Attachments = []part{
					{Name: "Rapport été 2026 – DOA.xlsx", ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Size: len(binary), SHA256: digest(binary)},
					{Name: "passwd", ContentType: "text/plain", Size: 11, SHA256: digest([]byte("root:x:0:0\n"))},
					{Name: "html.txt", ContentType: "application/octet-stream", Size: 3, SHA256: digest([]byte{0, 1, 2})},
					{Name: "invoicefdp.exe", ContentType: "application/octet-stream", Size: 0, SHA256: digest(nil)},
					{Name: "attachment", ContentType: "application/octet-stream", Size: 1, SHA256: digest([]byte("x"))},
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := memstore.New()
			m := New(store, sender, quiet)
			msg := base
			if tt.mod != nil {
				tt.mod(&msg)
			}
			if err := m.Send(context.Background(), msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			if diff := cmp.Diff([]string{"outbox/2026-11-23/payroll-2026-11-23-DOA.eml"}, store.Files()); diff != "" {
				t.Fatalf("files (-want +got):\n%s", diff)
			}
			rc, err := store.Open(context.Background(), FileName(msg))
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			want := wantBase
			if tt.want != nil {
				tt.want(&want)
			}
			if diff := cmp.Diff(want, readEML(t, rc)); diff != "" {
				t.Errorf("message read back (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFileName(t *testing.T) {
	late := time.Date(2026, 11, 23, 23, 30, 0, 0, time.FixedZone("CST", -6*3600))
	hashed := func(id string) string { s := sha256.Sum256([]byte(id)); return "sha256-" + hex.EncodeToString(s[:]) }
	tests := []struct {
		id   string
		date time.Time
		want string
	}{
		{"sr-123.route", late, "outbox/2026-11-24/sr-123.route.eml"},
		{"sr-123.route", late.Add(30 * time.Minute).UTC(), "outbox/2026-11-24/sr-123.route.eml"},
		{"../../etc/passwd", late, "outbox/2026-11-24/" + hashed("../../etc/passwd") + ".eml"},
		{"..", late, "outbox/2026-11-24/" + hashed("..") + ".eml"},
		{".hidden", late, "outbox/2026-11-24/" + hashed(".hidden") + ".eml"},
		{"payroll/2026-11-23/DOA", late, "outbox/2026-11-24/" + hashed("payroll/2026-11-23/DOA") + ".eml"},
		{"Ünïcödé", late, "outbox/2026-11-24/" + hashed("Ünïcödé") + ".eml"},
		{strings.Repeat("a", 100), late, "outbox/2026-11-24/" + strings.Repeat("a", 100) + ".eml"},
		{strings.Repeat("a", 101), late, "outbox/2026-11-24/" + hashed(strings.Repeat("a", 101)) + ".eml"},
	}
	for _, tt := range tests {
		if got := FileName(licensing.MailMessage{ID: tt.id, Date: tt.date}); got != tt.want {
			t.Errorf("FileName(%q, %v) = %q, want %q", tt.id, tt.date, got, tt.want)
		}
	}
}

func TestSameIDOverwrites(t *testing.T) {
	store := memstore.New()
	m := New(store, "licensing@central.example.gov", quiet)
	msg := licensing.MailMessage{ID: "sr-1.route", Date: time.Date(2026, 8, 1, 9, 0, 0, 0, time.UTC),
		To: []string{"central-it@central.example.gov"}, Subject: "first", Text: "one"}
	if err := m.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	// The retry comes the next day with the same event: same ID and Date.
	msg.Subject, msg.Text = "second", "two"
	if err := m.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"outbox/2026-08-01/sr-1.route.eml"}, store.Files()); diff != "" {
		t.Fatalf("files (-want +got):\n%s", diff)
	}
	rc, _ := store.Open(context.Background(), FileName(msg))
	defer rc.Close()
	if got := readEML(t, rc); got.Subject != "second" || got.Text != "two" {
		t.Errorf("file holds %q / %q, want the second send", got.Subject, got.Text)
	}
}

func TestSendInvalid(t *testing.T) {
	ok := licensing.MailMessage{ID: "x", Date: time.Now(), To: []string{"a@doa.example.gov"}, Subject: "s"}
	tests := []struct {
		name       string
		sender     string
		mod        func(*licensing.MailMessage)
		wantFields []string
		wantMsg    string
	}{
		{name: "no id", mod: func(m *licensing.MailMessage) { m.ID = "" }, wantFields: []string{"id"}},
		{name: "no date", mod: func(m *licensing.MailMessage) { m.Date = time.Time{} }, wantFields: []string{"date"}},
		{name: "no recipient", mod: func(m *licensing.MailMessage) { m.To = nil }, wantFields: []string{"to"}},
		{name: "bad addresses", mod: func(m *licensing.MailMessage) {
			m.To = []string{"pat", "ok@doa.example.gov", "a@b.example, c@d.example"}
			m.Cc = []string{"<@>"}
		}, wantFields: []string{"to[0]", "to[2]", "cc[0]"}},
		{name: "header injection in the subject", mod: func(m *licensing.MailMessage) { m.Subject = "Hi\r\nBcc: spy@evil.example" }, wantFields: []string{"subject"}},
		{name: "bare LF in the subject", mod: func(m *licensing.MailMessage) { m.Subject = "Hi\nBcc: spy@evil.example" }, wantFields: []string{"subject"}},
		{name: "NUL in the subject", mod: func(m *licensing.MailMessage) { m.Subject = "Hi\x00" }, wantFields: []string{"subject"}},
		{name: "header injection in an address", mod: func(m *licensing.MailMessage) {
			m.To = []string{"a@doa.example.gov\r\nBcc: spy@evil.example"}
		}, wantFields: []string{"to[0]"}},
		{name: "header injection in a display name", mod: func(m *licensing.MailMessage) {
			m.Cc = []string{"\"Pat\r\nBcc: spy@evil.example\" <pat@doa.example.gov>"}
		}, wantFields: []string{"cc[0]"}},
		{name: "attachment without content", mod: func(m *licensing.MailMessage) {
			m.Attachments = []licensing.Attachment{{Name: "x"}}
		}, wantFields: []string{"attachments[0]"}},
		{name: "bad sender", sender: "licensing\r\nBcc: spy@evil.example", wantMsg: "MAIL_SENDER"},
		{name: "empty sender", sender: " ", wantMsg: "MAIL_SENDER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := memstore.New()
			s := sender
			if tt.sender != "" {
				s = tt.sender
			}
			msg := ok
			if tt.mod != nil {
				tt.mod(&msg)
			}
			err := New(store, s, quiet).Send(context.Background(), msg)
			if code := licensing.ErrorCode(err); code != licensing.Invalid {
				t.Fatalf("error = %v (code %q), want invalid", err, code)
			}
			var le *licensing.Error
			if !errors.As(err, &le) || le.Op == "" {
				t.Errorf("error %v has no Op", err)
			}
			var got []string
			for _, f := range licensing.ErrorFields(err) {
				got = append(got, f.Field)
			}
			if diff := cmp.Diff(tt.wantFields, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if !strings.Contains(licensing.ErrorMessage(err), tt.wantMsg) {
				t.Errorf("message %q does not contain %q", licensing.ErrorMessage(err), tt.wantMsg)
			}
			if files := store.Files(); len(files) != 0 {
				t.Errorf("files written: %v", files)
			}
		})
	}
}

// failingStore is a FileStore whose writes fail or discard.
type failingStore struct {
	createErr error
	writeErr  error
	closed    bool
	aborted   error
	written   int64
	h         hash.Hash
}

func (s *failingStore) Create(context.Context, string, string) (licensing.FileWriter, error) {
	if s.createErr != nil {
		return nil, s.createErr
	}
	return s, nil
}

func (s *failingStore) Open(context.Context, string) (io.ReadCloser, error) {
	return nil, licensing.Errorf("failing.open", licensing.NotFound, "nothing here")
}

func (s *failingStore) Write(p []byte) (int, error) {
	if s.writeErr != nil {
		return 0, s.writeErr
	}
	s.written += int64(len(p))
	return len(p), nil
}

func (s *failingStore) Close() error      { s.closed = true; return nil }
func (s *failingStore) Abort(cause error) { s.aborted = cause }

// brokenReader fails after some bytes.
type brokenReader struct{ n int }

func (r *brokenReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("disk on fire")
	}
	k := min(len(p), r.n)
	r.n -= k
	return k, nil
}

func TestSendFailures(t *testing.T) {
	msg := licensing.MailMessage{ID: "x", Date: time.Now(), To: []string{"a@doa.example.gov"}, Subject: "s"}
	unavailable := licensing.Errorf("blobstore.put", licensing.Unavailable, "Storage is unavailable; try again.")
	tests := []struct {
		name        string
		store       *failingStore
		attachments []licensing.Attachment
		wantCode    licensing.Code
		wantAbort   bool
	}{
		{name: "create fails", store: &failingStore{createErr: unavailable}, wantCode: licensing.Unavailable},
		{name: "write fails", store: &failingStore{writeErr: unavailable}, wantCode: licensing.Unavailable, wantAbort: true},
		{name: "attachment cannot be opened", store: &failingStore{}, attachments: []licensing.Attachment{{Name: "a", Open: func(context.Context) (io.ReadCloser, error) {
			return nil, licensing.Errorf("blobstore.get", licensing.NotFound, "blob a does not exist.")
		}}}, wantCode: licensing.NotFound, wantAbort: true},
		{name: "attachment read fails", store: &failingStore{}, attachments: []licensing.Attachment{{Name: "a", Size: 1 << 20, Open: func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(&brokenReader{n: 300_000}), nil
		}}}, wantCode: licensing.Internal, wantAbort: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := msg
			m.Attachments = tt.attachments
			err := New(tt.store, sender, quiet).Send(context.Background(), m)
			if code := licensing.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("error = %v (code %q), want %q", err, code, tt.wantCode)
			}
			if tt.store.closed || (tt.store.aborted != nil) != tt.wantAbort {
				t.Errorf("closed %v, aborted %v; want no close and abort %v", tt.store.closed, tt.store.aborted, tt.wantAbort)
			}
		})
	}
}

// pattern is a reader of n deterministic pseudo-random bytes that hashes
// what it hands out.
type pattern struct {
	n   int64
	rng *rand.ChaCha8
	h   hash.Hash
}

func newPattern(seed byte, n int64) *pattern {
	return &pattern{n: n, rng: rand.NewChaCha8([32]byte{seed}), h: sha256.New()}
}

func (p *pattern) Read(b []byte) (int, error) {
	if p.n <= 0 {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n)]
	_, _ = p.rng.Read(b)
	p.h.Write(b)
	p.n -= int64(len(b))
	return len(b), nil
}

func (p *pattern) Close() error { return nil }

// TestStreamsLargeAttachment writes a 50 MB attachment and checks that the
// memory allocated meanwhile is a small fraction of it.
func TestStreamsLargeAttachment(t *testing.T) {
	const size = 50 << 20
	store := &failingStore{}
	msg := licensing.MailMessage{ID: "big", Date: time.Now(), To: []string{"a@doa.example.gov"}, Subject: "big",
		Attachments: []licensing.Attachment{{Name: "big.bin", Size: size, Open: func(context.Context) (io.ReadCloser, error) {
			return newPattern(1, size), nil
		}}}}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := New(store, sender, quiet).Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("sending a 50 MB attachment allocated %d MB", alloc>>20)
	}
	// base64 with CRLF every 76 characters.
	if min := int64(size) * 4 / 3 * 78 / 76; store.written < min {
		t.Errorf("wrote %d bytes, want at least %d", store.written, min)
	}
	if !store.closed {
		t.Error("file not committed")
	}
}

// TestAzurite writes to Blob Storage (Azurite), with a 20 MB attachment.
func TestAzurite(t *testing.T) {
	ctx := context.Background()
	store := blobstore.New(azuritetest.BlobService(t), azuritetest.Name(t, "outbox"))
	if err := store.Init(ctx); err != nil {
		t.Fatal(err)
	}
	const size = 20 << 20
	var sent string
	msg := licensing.MailMessage{
		ID: "payroll/2026-11-23/DOA", Date: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC),
		To: []string{"pat.doe@doa.example.gov"}, Subject: "Rapport de paie – été", Text: "Ci-joint.\n",
		Attachments: []licensing.Attachment{{Name: "Récapitulatif.xlsx", ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Size: size,
			Open: func(context.Context) (io.ReadCloser, error) {
				p := newPattern(2, size)
				return readCloser{Reader: p, close: func() { sent = hex.EncodeToString(p.h.Sum(nil)) }}, nil
			}}},
	}
	m := New(store, sender, quiet)
	for range 2 {
		if err := m.Send(ctx, msg); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	var names []string
	if err := store.List(ctx, Prefix, func(b blobstore.BlobInfo) error {
		names = append(names, b.Name)
		if b.ContentType != "message/rfc822" {
			t.Errorf("%s has content type %q", b.Name, b.ContentType)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{FileName(msg)}, names); diff != "" {
		t.Fatalf("blobs (-want +got):\n%s", diff)
	}
	rc, err := store.Open(ctx, FileName(msg))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got := readEML(t, rc)
	want := []part{{Name: "Récapitulatif.xlsx", ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Size: size, SHA256: sent}}
	if diff := cmp.Diff(want, got.Attachments); diff != "" {
		t.Errorf("attachments (-want +got):\n%s", diff)
	}
	if got.Subject != msg.Subject || got.Text != "Ci-joint.\r\n" {
		t.Errorf("subject %q text %q", got.Subject, got.Text)
	}
}

type readCloser struct {
	io.Reader
	close func()
}

func (r readCloser) Close() error { r.close(); return nil }
