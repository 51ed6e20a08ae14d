package licensing

import (
	"strings"
)

// formulaStarts are the first characters that make a spreadsheet (Excel,
// LibreOffice, Google Sheets, or any of them opening a CSV file) read text
// as a formula or a command.
const formulaStarts = "=+-@\t\r"

// FormulaSafe returns s as it may go into a spreadsheet cell, of a CSV file
// or of a workbook.
//
// Formula injection: text that starts with one of formulaStarts gets a
// leading apostrophe, the convention spreadsheets share for "this is text".
// The apostrophe is part of the value, which keeps it through re-saving,
// copying and CSV export; the rest of the text is unchanged.
//
// The text is also made storable, in a workbook's XML as in a CSV file:
// invalid UTF-8 becomes U+FFFD (one for each run of bad bytes), and the
// characters XML 1.0 cannot hold (control characters other than tab, line
// feed and carriage return; U+FFFE and U+FFFF) are dropped, as is DEL
// (U+007F), which XML holds but nobody sees. The apostrophe test comes after
// that, so control characters cannot hide a formula.
func FormulaSafe(s string) string {
	if !plainText(s) {
		s = storableChars(strings.ToValidUTF8(s, "\uFFFD"))
	}
	if StartsLikeFormula(s) {
		s = "'" + s
	}
	return s
}

// StartsLikeFormula reports whether a spreadsheet would take s for a
// formula or a command: whether it starts with one of formulaStarts.
func StartsLikeFormula(s string) bool {
	return s != "" && strings.IndexByte(formulaStarts, s[0]) >= 0
}

// plainText reports whether s is printable ASCII (or tab, LF, CR) only, the
// common case that needs no rewriting.
func plainText(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F {
			return false
		}
	}
	return true
}

// storableChars drops from valid UTF-8 s the characters FormulaSafe drops.
func storableChars(s string) string {
	keep := func(r rune) bool {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return true
		case r < 0x20 || r == 0x7F:
			return false
		case r == 0xFFFE || r == 0xFFFF:
			return false
		}
		return true
	}
	if strings.IndexFunc(s, func(r rune) bool { return !keep(r) }) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if keep(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TruncateTo keeps s to n characters, ending it with … when it was longer:
// for names in fixed-width text columns.
func TruncateTo(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
