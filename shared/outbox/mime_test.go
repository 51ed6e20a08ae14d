package outbox

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// mimePart is one leaf of a message read back: its place in the tree
// ("1.2"), its header and its raw (undecoded) body.
type mimePart struct {
	path   string
	header map[string][]string
	raw    []byte
}

func (p mimePart) get(k string) string { return mail.Header(p.header).Get(k) }

// leaves reads the MIME tree under header and body with mime/multipart and
// returns its leaves in order, and the media type of every multipart
// entity by path ("" for the message).
func leaves(t *testing.T, path string, header map[string][]string, body io.Reader, multis map[string]string) []mimePart {
	t.Helper()
	mt, params, err := mime.ParseMediaType(mail.Header(header).Get("Content-Type"))
	if err != nil {
		t.Fatalf("%s: Content-Type: %v", path, err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		raw, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		return []mimePart{{path: path, header: header, raw: raw}}
	}
	multis[path] = mt
	mr := multipart.NewReader(body, params["boundary"])
	var out []mimePart
	for i := 1; ; i++ {
		// NextRawPart keeps the Content-Transfer-Encoding header and the
		// body as written.
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("%s: part %d: %v", path, i, err)
		}
		sub := strings.TrimPrefix(path+"."+string(rune('0'+i)), ".")
		out = append(out, leaves(t, sub, p.Header, p, multis)...)
	}
}

// tableCells reads the first <table> of an HTML document with an HTML
// parser: its rows of cell texts, and the style attribute of each cell.
func tableCells(t *testing.T, doc string) (rows [][]string, styles [][]string) {
	t.Helper()
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	var table *html.Node
	var find func(*html.Node)
	find = func(n *html.Node) {
		if table != nil {
			return
		}
		if n.Type == html.ElementNode && n.Data == "table" {
			table = n
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			find(c)
		}
	}
	find(root)
	if table == nil {
		t.Fatalf("no table in the HTML part:\n%s", doc)
	}
	var text func(*html.Node) string
	text = func(n *html.Node) string {
		if n.Type == html.TextNode {
			return n.Data
		}
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			b.WriteString(text(c))
		}
		return b.String()
	}
	var walkRows func(*html.Node)
	walkRows = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "tr" {
			var row, style []string
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode && (c.Data == "td" || c.Data == "th") {
					row = append(row, text(c))
					s := ""
					for _, a := range c.Attr {
						if a.Key == "style" {
							s = a.Val
						}
					}
					style = append(style, s)
				}
			}
			rows, styles = append(rows, row), append(styles, style)
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walkRows(c)
		}
	}
	walkRows(table)
	return rows, styles
}

// TestSendMIME reads a payroll-like message with attached messages back
// with net/mail and mime/multipart: the text and its HTML alternative (with
// the text's table as an HTML table), the attached messages in 7bit or
// 8bit as RFC 2046 requires, and Auto-Submitted.
func TestSendMIME(t *testing.T) {
	text := "License report for DOA.\n\n" +
		"  Product                                  Purchased  In use Available  Status\n" +
		"  Office 365 E3                                   25      31        -6  Over\n" +
		"  Visio Plan 2                                    10       4         6  OK\n" +
		"\nYour agency's overview: https://licensing.example.gov/agencies/DOA\n"
	asciiEML := "From: licensing@microsoft.example\nSubject: Activate\n\nClick https://example.com/activate\n"
	utf8EML := "From: a@b.example\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße aus Madison\r\n"
	broken := "From: a@b.example\n\nline with a NUL \x00 in it\n"
	msg := licensing.MailMessage{
		ID: "activation-1", Date: time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC),
		To: []string{"pat.doe@doa.example.gov"}, Subject: "Ready for activation", Text: text,
		Attachments: []licensing.Attachment{
			attachment("activation.eml", "message/rfc822", []byte(asciiEML)),
			attachment("forwarded.eml", "message/rfc822", []byte(utf8EML)),
			attachment("broken.eml", "message/rfc822", []byte(broken)),
			attachment("po.pdf", "application/pdf", []byte("%PDF-1.7\n")),
		},
	}
	store := memstore.New()
	if err := New(store, sender, quiet).Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	rc, err := store.Open(context.Background(), FileName(msg))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	m, err := mail.ReadMessage(rc)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Header.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted = %q, want auto-generated", got)
	}
	if got := m.Header.Get("X-Auto-Response-Suppress"); got != "All" {
		t.Errorf("X-Auto-Response-Suppress = %q, want All", got)
	}
	if got := m.Header.Get("Content-Transfer-Encoding"); got != "8bit" {
		t.Errorf("the message's Content-Transfer-Encoding = %q, want 8bit: it holds an 8bit part", got)
	}
	multis := map[string]string{}
	parts := leaves(t, "", m.Header, m.Body, multis)
	if diff := cmp.Diff(map[string]string{"": "multipart/mixed", "1": "multipart/alternative"}, multis); diff != "" {
		t.Errorf("multipart entities (-want +got):\n%s", diff)
	}
	type summary struct{ Path, ContentType, Encoding, Filename string }
	var got []summary
	for _, p := range parts {
		mt, _, _ := mime.ParseMediaType(p.get("Content-Type"))
		_, dp, _ := mime.ParseMediaType(p.get("Content-Disposition"))
		got = append(got, summary{p.path, mt, p.get("Content-Transfer-Encoding"), dp["filename"]})
	}
	want := []summary{
		{"1.1", "text/plain", "quoted-printable", ""},
		{"1.2", "text/html", "quoted-printable", ""},
		{"2", "message/rfc822", "7bit", "activation.eml"},
		{"3", "message/rfc822", "8bit", "forwarded.eml"},
		{"4", "application/octet-stream", "base64", "broken.eml"},
		{"5", "application/pdf", "base64", "po.pdf"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("parts (-want +got):\n%s", diff)
	}

	// The attached messages are the files with CRLF line ends, and parse.
	for i, wantEML := range []string{toCRLF(asciiEML), utf8EML} {
		p := parts[2+i]
		if string(p.raw) != wantEML {
			t.Errorf("%s: body %q, want %q", p.path, p.raw, wantEML)
		}
		inner, err := mail.ReadMessage(bytes.NewReader(p.raw))
		if err != nil {
			t.Errorf("%s: the attached message does not parse: %v", p.path, err)
			continue
		}
		if inner.Header.Get("From") == "" {
			t.Errorf("%s: the attached message lost its From", p.path)
		}
	}

	qp := func(p mimePart) string {
		b, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(p.raw)))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := qp(parts[0]); got != toCRLF(text) {
		t.Errorf("text part = %q, want the text", got)
	}
	doc := qp(parts[1])
	rows, styles := tableCells(t, doc)
	wantRows := [][]string{
		{"Product", "Purchased", "In use", "Available", "Status"},
		{"Office 365 E3", "25", "31", "-6", "Over"},
		{"Visio Plan 2", "10", "4", "6", "OK"},
	}
	if diff := cmp.Diff(wantRows, rows); diff != "" {
		t.Errorf("HTML table (-want +got):\n%s", diff)
	}
	for i, row := range styles {
		for j, s := range row {
			right := j >= 1 && j <= 3
			if strings.Contains(s, "text-align:right") != right || !strings.Contains(s, "padding:") {
				t.Errorf("cell %d,%d (%s) has style %q; want inline padding, right-aligned = %v", i, j, rows[i][j], s, right)
			}
		}
	}
	if !strings.Contains(doc, `<a href="https://licensing.example.gov/agencies/DOA"`) {
		t.Errorf("the overview address is no link:\n%s", doc)
	}
	if strings.Contains(doc, "<style") || strings.Contains(doc, "class=") {
		t.Errorf("the HTML relies on a style block or classes, which Outlook ignores:\n%s", doc)
	}
}
