package licensing

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tableOf returns the table text lays out, failing when it is none.
func tableOf(t *testing.T, text string) textTable {
	t.Helper()
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	tb, ok := parseTextTable(lines)
	if !ok {
		t.Fatalf("no table in\n%s", text)
	}
	return tb
}

func TestParseTextTable(t *testing.T) {
	long := strings.Repeat("Microsoft 365 E5 Compliance Add-on X", 2)[:40]
	var payroll strings.Builder
	fmt.Fprintf(&payroll, "  %-40s %9s %7s %9s  %s\n", "Product", "Purchased", "In use", "Available", "Status")
	fmt.Fprintf(&payroll, "  %-40s %9d %7d %9d  %s\n", "Office 365 E3", 25, 31, -6, "Over")
	fmt.Fprintf(&payroll, "  %-40s %9d %7d %9d  %s\n", long, 1200, 1010, 190, "OK")

	var reminder strings.Builder
	fmt.Fprintf(&reminder, "  %-36s %8s  %-*s %-24s %s\n", "Product", "Quantity", 9, "PO number", "Term", "Agreement")
	fmt.Fprintf(&reminder, "  %-36s %8d  %-*s %-24s %s\n", "Visio Plan 2", 10, 9, "A1", "2026-01-01 to 2026-12-31", "Enterprise Agreement")
	fmt.Fprintf(&reminder, "  %-36s %8d  %-*s %-24s %s\n", "Office 365 E3", 5, 9, "A2", "2026-01-01 to 2026-12-31", "CSP")

	var upns strings.Builder
	fmt.Fprintf(&upns, "  %-45s %s\n", "bob@doa.example.gov", "account disabled")
	fmt.Fprintf(&upns, "  %-45s %s\n", "carol@doa.example.gov", "no sign-in for 90 days")

	tests := []struct {
		name string
		text string
		want textTable
	}{
		{
			name: "payroll products: one space between headers, a name filling its column",
			text: payroll.String(),
			want: textTable{
				header:  []string{"Product", "Purchased", "In use", "Available", "Status"},
				rows:    [][]string{{"Office 365 E3", "25", "31", "-6", "Over"}, {long, "1200", "1010", "190", "OK"}},
				numeric: []bool{false, true, true, true, false},
			},
		},
		{
			name: "renewal lines: a header over short data, cells with spaces",
			text: reminder.String(),
			want: textTable{
				header: []string{"Product", "Quantity", "PO number", "Term", "Agreement"},
				rows: [][]string{
					{"Visio Plan 2", "10", "A1", "2026-01-01 to 2026-12-31", "Enterprise Agreement"},
					{"Office 365 E3", "5", "A2", "2026-01-01 to 2026-12-31", "CSP"},
				},
				numeric: []bool{false, true, false, false, false},
			},
		},
		{
			name: "no header: addresses and reasons",
			text: upns.String(),
			want: textTable{
				rows:    [][]string{{"bob@doa.example.gov", "account disabled"}, {"carol@doa.example.gov", "no sign-in for 90 days"}},
				numeric: []bool{false, false},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tableOf(t, tt.text), cmp.AllowUnexported(textTable{})); diff != "" {
				t.Errorf("table (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMailHTML(t *testing.T) {
	text := "Service request SR-1 <for DOA> & co is ready.\n" +
		"Open it: https://licensing.example.gov/requests/SR-1?a=1&b=2.\n" +
		"\n" +
		"  Product        Purchased  In use\n" +
		"  Visio Plan 2          10       9\n" +
		"\n" +
		"  only one line  with a gap\n" +
		"javascript:alert(1) and <script>x</script>\n"
	got := MailHTML(text)
	for _, want := range []string{
		"<p style=\"" + mailParaStyle + "\">Service request SR-1 &lt;for DOA&gt; &amp; co is ready.<br>\n",
		`Open it: <a href="https://licensing.example.gov/requests/SR-1?a=1&amp;b=2" style="color:#0f6cbd">https://licensing.example.gov/requests/SR-1?a=1&amp;b=2</a>.</p>`,
		`<th align="left" style="` + mailThStyle + `;text-align:left">Product</th>`,
		`<th align="right" style="` + mailThStyle + `;text-align:right">In use</th>`,
		`<td align="left" style="` + mailTdStyle + `;text-align:left">Visio Plan 2</td>`,
		`<td align="right" style="` + mailTdStyle + `;text-align:right">10</td>`,
		"only one line  with a gap<br>\njavascript:alert(1) and &lt;script&gt;x&lt;/script&gt;</p>",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("HTML lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "<script>") || strings.Contains(got, "<style") || strings.Contains(got, "class=") {
		t.Errorf("HTML holds a script, a style block or a class:\n%s", got)
	}
	if n := strings.Count(got, "<table"); n != 1 {
		t.Errorf("%d tables, want 1:\n%s", n, got)
	}

	m := MailMessage{Text: text}
	if m.HTMLBody() != got {
		t.Error("HTMLBody of a text-only message is not MailHTML of its text")
	}
	m.HTML = "<p>own</p>"
	if m.HTMLBody() != "<p>own</p>" {
		t.Errorf("HTMLBody = %q, want the message's own HTML", m.HTMLBody())
	}
}
