package xlsx

import (
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// maxCellUnits is the most a spreadsheet cell holds: 32,767 characters,
// counted as Excel counts them, in UTF-16 code units.
const maxCellUnits = excelize.TotalCellChars

// formulaStarts are the first characters that make a spreadsheet (Excel,
// LibreOffice, Google Sheets, or any of them importing a CSV saved from the
// report) read text as a formula or a command.
const formulaStarts = "=+-@\t\r"

// safeText returns s as it may go into a report's text cell.
//
// Formula injection: every text value is written as a string cell (a
// shared or inline string, never a formula), which no spreadsheet
// evaluates on opening. That alone does not survive the reader's next
// step: editing the cell and pressing Enter, or saving the sheet as CSV and
// opening that, turns "=HYPERLINK(...)" into a live formula. So text that
// starts with one of formulaStarts also gets a leading apostrophe, the
// convention spreadsheets and OWASP's CSV-injection guidance share for
// "this is text". The apostrophe is part of the value (Excel shows it),
// which keeps it through re-saving, copying and CSV export; the rest of the
// text is unchanged. (Excel's quotePrefix cell attribute would hide the
// apostrophe, but it is lost on CSV export and excelize has no API for it.)
//
// The text is also made storable: invalid UTF-8 becomes U+FFFD, characters
// XML 1.0 cannot hold (control characters other than tab, line feed and
// carriage return; U+FFFE and U+FFFF) are dropped, and the result is cut to
// maxCellUnits.
func safeText(s string) string {
	if !plainText(s) {
		s = xmlChars(strings.ToValidUTF8(s, "\uFFFD"))
	}
	if s != "" && strings.IndexByte(formulaStarts, s[0]) >= 0 {
		s = "'" + s
	}
	return cutUTF16(s, maxCellUnits)
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

// xmlChars drops from valid UTF-8 s the characters XML 1.0 cannot hold.
// DEL (U+007F) is legal XML but invisible; it goes too.
func xmlChars(s string) string {
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
	clean := true
	for _, r := range s {
		if !keep(r) {
			clean = false
			break
		}
	}
	if clean {
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

// cutUTF16 returns s cut to at most max UTF-16 code units, on a character
// boundary.
func cutUTF16(s string, max int) string {
	if len(s) <= max { // a UTF-16 unit takes at least one UTF-8 byte
		return s
	}
	n := 0
	for i, r := range s {
		u := 1
		if r >= 0x10000 {
			u = 2
		}
		if n+u > max {
			return s[:i]
		}
		n += u
	}
	return s
}

// textWidth estimates the column width s needs: the characters of its
// longest line, stopping early at limit.
func textWidth(s string, limit int) int {
	longest, n := 0, 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == '\n' {
			n = 0
			continue
		}
		n++
		if n > longest {
			longest = n
			if longest >= limit {
				return limit
			}
		}
	}
	return longest
}
