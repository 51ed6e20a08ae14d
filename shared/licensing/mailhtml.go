package licensing

import (
	"html"
	"regexp"
	"strings"
	"unicode"
)

// HTMLBody is the HTML of m: m.HTML when set, else MailHTML(m.Text). Every
// mailer sends it as the HTML alternative of the text, so each mail gets one
// without its workflow writing HTML.
func (m MailMessage) HTMLBody() string {
	if m.HTML != "" {
		return m.HTML
	}
	return MailHTML(m.Text)
}

// Inline styles of the HTML mail: Outlook ignores <style> blocks and
// classes in many versions, so every element carries its own.
const (
	mailBodyStyle  = "font-family:'Segoe UI',Calibri,Arial,sans-serif;font-size:14px;line-height:1.4;color:#201f1e"
	mailParaStyle  = "margin:0 0 12px 0"
	mailTableStyle = "border-collapse:collapse;margin:0 0 12px 0;font-family:'Segoe UI',Calibri,Arial,sans-serif;font-size:14px"
	mailThStyle    = "padding:4px 12px 4px 0;border-bottom:1px solid #8a8886;font-weight:bold;white-space:nowrap"
	mailTdStyle    = "padding:4px 12px 4px 0;border-bottom:1px solid #e1dfdd"
)

// MailHTML renders a plain-text mail as HTML: blocks separated by blank
// lines become paragraphs (their line breaks kept), http and https
// addresses become links, and aligned tables become <table> elements. A
// table is a run of at least two indented lines whose columns are set
// apart by two or more spaces; its columns are where every line of the run
// has a space. The first line is the header when it holds no digit and no
// "@"; then one space between columns is enough, words of a header over no
// data join the column of numbers to their right (or the text to their
// left), and words of data under no header join the column to their left.
// Columns whose every cell is a number are right-aligned. Everything from
// the text is escaped.
func MailHTML(text string) string {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"></head>\n")
	b.WriteString("<body style=\"" + mailBodyStyle + "\">\n")
	var para []string
	flush := func() {
		if len(para) == 0 {
			return
		}
		b.WriteString("<p style=\"" + mailParaStyle + "\">")
		for i, l := range para {
			if i > 0 {
				b.WriteString("<br>\n")
			}
			b.WriteString(linkify(strings.TrimSpace(l)))
		}
		b.WriteString("</p>\n")
		para = nil
	}
	for i := 0; i < len(lines); {
		if strings.TrimSpace(lines[i]) == "" {
			flush()
			i++
			continue
		}
		n := 0
		for i+n < len(lines) && tableLine(lines[i+n]) {
			n++
		}
		if n >= 2 {
			if t, ok := parseTextTable(lines[i : i+n]); ok {
				flush()
				t.write(&b)
				i += n
				continue
			}
			para = append(para, lines[i:i+n]...)
			i += n
			continue
		}
		para = append(para, lines[i])
		i++
	}
	flush()
	b.WriteString("</body></html>\n")
	return b.String()
}

// tableLine reports whether l may be a line of a text table: indented, with
// two spaces or more between words.
func tableLine(l string) bool {
	t := strings.TrimSpace(l)
	return t != "" && (l[0] == ' ' || l[0] == '\t') && strings.Contains(t, "  ")
}

var (
	mailLink   = regexp.MustCompile(`https?://[^\s<>"]+`)
	mailNumber = regexp.MustCompile(`^[-+−]?[0-9][0-9,.]*%?$`)
)

// linkify escapes s and makes its http and https addresses links. Closing
// punctuation at an address's end is left out of it.
func linkify(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range mailLink.FindAllStringIndex(s, -1) {
		end := m[1]
		for end > m[0] && strings.ContainsRune(".,;:!?)]'", rune(s[end-1])) {
			end--
		}
		u := s[m[0]:end]
		b.WriteString(html.EscapeString(s[last:m[0]]))
		b.WriteString(`<a href="` + html.EscapeString(u) + `" style="color:#0f6cbd">` + html.EscapeString(u) + "</a>")
		last = end
	}
	b.WriteString(html.EscapeString(s[last:]))
	return b.String()
}

// textTable is a table read from aligned text.
type textTable struct {
	header  []string // nil when the table has none
	rows    [][]string
	numeric []bool
}

// textSpan is a column's positions [from, to) in runes.
type textSpan struct{ from, to int }

// parseTextTable reads lines as a table; false when they hold fewer than
// two columns.
func parseTextTable(lines []string) (textTable, bool) {
	rows := make([][]rune, len(lines))
	width := 0
	for i, l := range lines {
		rows[i] = []rune(strings.TrimRightFunc(strings.ReplaceAll(l, "\t", " "), unicode.IsSpace))
		width = max(width, len(rows[i]))
	}
	blank := func(r []rune, p int) bool { return p >= len(r) || unicode.IsSpace(r[p]) }
	var spans []textSpan
	for p := 0; p < width; {
		q := p
		for q < width && !allRows(rows, func(r []rune) bool { return blank(r, q) }) {
			q++
		}
		if q > p {
			spans = append(spans, textSpan{p, q})
		}
		p = q + 1
	}
	has := func(r []rune, s textSpan) bool {
		for p := s.from; p < s.to; p++ {
			if !blank(r, p) {
				return true
			}
		}
		return false
	}
	hasData := func(s textSpan) bool { return anyRow(rows[1:], func(r []rune) bool { return has(r, s) }) }
	cell := func(r []rune, s textSpan) string {
		if s.from >= len(r) {
			return ""
		}
		return strings.TrimSpace(string(r[s.from:min(s.to, len(r))]))
	}
	numeric := func(s textSpan, data [][]rune) bool {
		seen := false
		for _, r := range data {
			if c := cell(r, s); c != "" {
				if !mailNumber.MatchString(c) {
					return false
				}
				seen = true
			}
		}
		return seen
	}
	header := !strings.ContainsFunc(lines[0], func(r rune) bool { return unicode.IsDigit(r) || r == '@' })
	var cols []textSpan
	if header {
		// Data under no header word continues the column on its left.
		for _, s := range spans {
			if len(cols) > 0 && !has(rows[0], s) {
				cols[len(cols)-1].to = s.to
				continue
			}
			cols = append(cols, s)
		}
		if len(cols) > 1 && !has(rows[0], cols[0]) {
			cols[1].from = cols[0].from
			cols = cols[1:]
		}
		// Header words over no data belong to a right-aligned column of
		// numbers on their right, or else to the column on their left.
		for i := 0; i < len(cols) && len(cols) > 1; {
			if hasData(cols[i]) {
				i++
				continue
			}
			if i+1 < len(cols) && (i == 0 || numeric(cols[i+1], rows[1:])) {
				cols[i+1].from = cols[i].from
			} else {
				cols[i-1].to = cols[i].to
			}
			cols = append(cols[:i], cols[i+1:]...)
		}
	} else {
		// Without a header, only two spaces or more part columns.
		for _, s := range spans {
			if len(cols) > 0 && s.from-cols[len(cols)-1].to < 2 {
				cols[len(cols)-1].to = s.to
				continue
			}
			cols = append(cols, s)
		}
	}
	if len(cols) < 2 {
		return textTable{}, false
	}
	var t textTable
	data := rows
	if header {
		data = rows[1:]
		for _, c := range cols {
			t.header = append(t.header, cell(rows[0], c))
		}
	}
	for _, r := range data {
		row := make([]string, len(cols))
		for j, c := range cols {
			row[j] = cell(r, c)
		}
		t.rows = append(t.rows, row)
	}
	for _, c := range cols {
		t.numeric = append(t.numeric, numeric(c, data))
	}
	return t, true
}

func allRows(rows [][]rune, f func([]rune) bool) bool {
	for _, r := range rows {
		if !f(r) {
			return false
		}
	}
	return true
}

func anyRow(rows [][]rune, f func([]rune) bool) bool {
	for _, r := range rows {
		if f(r) {
			return true
		}
	}
	return false
}

// write writes t as an HTML table, every cell styled inline.
func (t textTable) write(b *strings.Builder) {
	b.WriteString("<table cellpadding=\"0\" cellspacing=\"0\" border=\"0\" style=\"" + mailTableStyle + "\">\n")
	cellTag := func(tag, style string, j int, s string) {
		align := "left"
		if t.numeric[j] {
			align = "right"
		}
		b.WriteString("<" + tag + " align=\"" + align + "\" style=\"" + style + ";text-align:" + align + "\">" + linkify(s) + "</" + tag + ">")
	}
	if t.header != nil {
		b.WriteString("<thead><tr>")
		for j, h := range t.header {
			cellTag("th", mailThStyle, j, h)
		}
		b.WriteString("</tr></thead>\n")
	}
	b.WriteString("<tbody>\n")
	for _, r := range t.rows {
		b.WriteString("<tr>")
		for j, c := range r {
			cellTag("td", mailTdStyle, j, c)
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody></table>\n")
}
