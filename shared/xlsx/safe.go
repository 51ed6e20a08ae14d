package xlsx

import (
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// maxCellUnits is the most a spreadsheet cell holds: 32,767 characters,
// counted as Excel counts them, in UTF-16 code units.
const maxCellUnits = excelize.TotalCellChars

// safeText returns s as it may go into a report's text cell:
// licensing.FormulaSafe, cut to maxCellUnits.
//
// Every text value is written as a string cell (a shared or inline string,
// never a formula), which no spreadsheet evaluates on opening. That alone
// does not survive the reader's next step: editing the cell and pressing
// Enter, or saving the sheet as CSV and opening that, turns
// "=HYPERLINK(...)" into a live formula; hence the apostrophe FormulaSafe
// puts in front of such text. (Excel's quotePrefix cell attribute would hide
// the apostrophe, but it is lost on CSV export and excelize has no API for
// it.)
func safeText(s string) string {
	return cutUTF16(licensing.FormulaSafe(s), maxCellUnits)
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
