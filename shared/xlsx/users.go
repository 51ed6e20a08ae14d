package xlsx

import (
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// userSheet describes a sheet of users.
type userSheet struct {
	name string
	// matched heads the column of UserLine.Matched; signIn the column of
	// the last sign-in.
	matched string
	signIn  string
	// none is the row written when there are no users.
	none string
}

// userColumns are the columns of a user sheet, with the least width each
// gets whatever the first rows hold.
var userColumns = []struct {
	header   string
	minWidth int
}{
	{"UPN", 28},
	{"Display name", 22},
	{"", 18},         // matched
	{"Licenses", 30}, // wraps beyond licensesWidth
	{"Account enabled", 0},
	{"", 16}, // last sign-in
	{"Reclaim candidate", 18},
}

// licensesWidth is the most width the Licenses column gets: a longer list
// wraps, so that the sheet prints one page wide at a readable scale.
const licensesWidth = 40

// Columns of a user sheet (1-based).
const (
	colUPN = iota + 1
	colDisplayName
	colMatched
	colLicenses
	colEnabled
	colSignIn
	colReclaim
	numUserColumns = colReclaim
)

// streamUsers writes the users of src to the sheet spec.name with excelize's
// StreamWriter, one row at a time: rows go to the writer's buffer, which
// moves to a temporary file once it holds more than excelize.StreamChunkSize
// (16 MiB), so memory does not grow with the number of users. The first
// sampleRows users are held back to size the columns (column widths must be
// set before the first row). A sheet holds at most maxRows rows; users
// beyond are counted, and the last row says how many were left out.
func (rw *ReportWriter) streamUsers(f *excelize.File, st *styles, spec userSheet, src licensing.UserSource) error {
	sw, err := f.NewStreamWriter(spec.name)
	if err != nil {
		return err
	}
	headers := make([]string, numUserColumns)
	for i, c := range userColumns {
		headers[i] = c.header
	}
	headers[colMatched-1], headers[colSignIn-1] = spec.matched, spec.signIn

	var (
		sample  []licensing.UserLine
		started bool
		row     = 1 // the last row written
		left    int // users beyond the last row
		cells   [numUserColumns]excelize.Cell
		values  = make([]any, numUserColumns)
	)
	for i := range cells {
		values[i] = &cells[i] // reused for every row: SetRow copies what it needs
	}
	limit := rw.maxRows - 1 // keep the last row for the count of users left out
	write := func(u licensing.UserLine) error {
		if row >= limit {
			left++
			return nil
		}
		row++
		t := plain
		if u.Reclaim != "" {
			t = flagged
		}
		for i, c := range rw.userCells(st, t, u) {
			cells[i] = excelize.Cell{StyleID: c.style, Value: c.v}
		}
		return sw.SetRow(ref(1, row), values)
	}
	start := func() error {
		started = true
		widths := make([]int, numUserColumns)
		for i, h := range headers {
			// Headers wrap: the longest word decides.
			widths[i] = max(userColumns[i].minWidth, longestWord(h)+filterButton)
		}
		for _, u := range sample {
			for i, c := range rw.userCells(st, plain, u) {
				widths[i] = max(widths[i], c.width)
			}
		}
		widths[colLicenses-1] = min(widths[colLicenses-1], licensesWidth)
		for i, w := range widths {
			if err := sw.SetColWidth(i+1, i+1, colWidth(w)); err != nil {
				return err
			}
		}
		if err := sw.SetPanes(freezeAbove(2)); err != nil {
			return err
		}
		hv := make([]any, len(headers))
		lines := 1
		for i, h := range headers {
			style := st.header
			if i+1 == colSignIn {
				style = st.headerNum
			}
			hv[i] = excelize.Cell{StyleID: style, Value: safeText(h)}
			lines = max(lines, (textWidth(h, maxWidth)+filterButton+widths[i]-1)/widths[i])
		}
		// A row's height is not fitted to wrapped text when the workbook
		// opens: the header's is set to its lines.
		if err := sw.SetRow("A1", hv, excelize.RowOpts{Height: 15 * float64(lines)}); err != nil {
			return err
		}
		for _, u := range sample {
			if err := write(u); err != nil {
				return err
			}
		}
		sample = nil
		return nil
	}
	if src != nil {
		err = src(func(u licensing.UserLine) error {
			if started {
				return write(u)
			}
			sample = append(sample, u)
			if len(sample) < rw.sampleRows {
				return nil
			}
			return start()
		})
		if err != nil {
			return err
		}
	}
	if !started {
		if err := start(); err != nil {
			return err
		}
	}
	lastData := row
	switch {
	case row == 1:
		row++
		if err := sw.SetRow(ref(1, row), []any{excelize.Cell{StyleID: st.note, Value: safeText(spec.none)}}); err != nil {
			return err
		}
	case left > 0:
		row++
		msg := strconv.Itoa(left) + " more users are not shown: a sheet holds at most " + strconv.Itoa(rw.maxRows) + " rows."
		if err := sw.SetRow(ref(1, row), []any{excelize.Cell{StyleID: st.note, Value: msg}}); err != nil {
			return err
		}
	}
	if err := printTitles(f, spec.name, 1); err != nil {
		return err
	}
	// The stream writer writes the worksheet's autoFilter element at Flush,
	// so the filter is set on the sheet now, between the rows and Flush.
	if err := f.AutoFilter(spec.name, "A1:"+ref(numUserColumns, lastData), nil); err != nil {
		return err
	}
	return sw.Flush()
}

// userCells returns the cells of u's row in tone t.
func (rw *ReportWriter) userCells(st *styles, t tone, u licensing.UserLine) [numUserColumns]cell {
	txt := st.cell[t][kindText]
	enabled := "No"
	if u.AccountEnabled {
		enabled = "Yes"
	}
	signIn := blank(st.cell[t][kindStamp])
	if u.LastSignIn != nil {
		signIn = stamp(*u.LastSignIn, rw.loc, st.cell[t][kindStamp])
	}
	return [numUserColumns]cell{
		text(u.UserPrincipalName, txt),
		text(u.DisplayName, txt),
		text(u.Matched, txt),
		text(licenseList(u.Licenses), st.wrap[t]),
		text(enabled, txt),
		signIn,
		text(u.Reclaim, txt),
	}
}

// licenseList writes a user's licenses as "Visio Plan 2 (direct); Office
// 365 E3 (group)".
func licenseList(ls []licensing.UserLicenseLine) string {
	var b strings.Builder
	for i, l := range ls {
		if i > 0 {
			b.WriteString("; ")
		}
		name := l.Name
		if name == "" {
			name = l.PartNumber
		}
		b.WriteString(name)
		switch {
		case l.Direct && l.ByGroup:
			b.WriteString(" (direct, group)")
		case l.Direct:
			b.WriteString(" (direct)")
		case l.ByGroup:
			b.WriteString(" (group)")
		}
	}
	return b.String()
}

// signInHeader heads the last sign-in column.
func signInHeader(loc *time.Location, known bool) string {
	if !known {
		return "Last sign-in: not available (needs Entra ID P1)"
	}
	return "Last sign-in (" + loc.String() + ")"
}

// longestWord returns the width of the longest word of s.
func longestWord(s string) int {
	w := 0
	for _, word := range strings.Fields(s) {
		w = max(w, textWidth(word, maxWidth))
	}
	return w
}
