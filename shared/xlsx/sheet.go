package xlsx

import (
	"slices"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Column widths, in Excel's units (about one digit of the default font).
const (
	minWidth = 8
	maxWidth = 60
	// filterButton is the room a header needs for its filter drop-down.
	filterButton = 3
)

// cell is one value of a report row with its style and the width it needs.
// A nil value leaves the cell empty (but styled).
type cell struct {
	v     any // string (already safe), int, time.Time, decimal or nil
	style int
	width int
	// formula, when set, computes the cell; v is its value when written.
	formula string
}

// text returns a text cell of s, made safe (see safeText); an empty cell
// when s is empty.
func text(s string, style int) cell {
	if s == "" {
		return cell{style: style}
	}
	s = safeText(s)
	return cell{v: s, style: style, width: textWidth(s, maxWidth)}
}

// number returns a number cell.
func number(n int, style int) cell {
	w := len(strconv.Itoa(n))
	return cell{v: n, style: style, width: w + (w-1)/3}
}

// subtotal returns a cell summing column col of rows first..last with
// SUBTOTAL(109, …), which leaves out the rows a filter hides; sum is its
// value as written (every row shown).
func subtotal(col, first, last, sum int, style int) cell {
	c := number(sum, style)
	c.formula = "SUBTOTAL(109," + ref(col, first) + ":" + ref(col, last) + ")"
	return c
}

// day returns a date cell of d, or an empty cell for the zero Date.
func day(d licensing.Date, style int) cell {
	if d.IsZero() {
		return cell{style: style}
	}
	return cell{v: d.Time(), style: style, width: len("2006-01-02")}
}

// stamp returns a date-time cell of t as the wall clock in loc (Excel has no
// time zones), or an empty cell for the zero time.
func stamp(t time.Time, loc *time.Location, style int) cell {
	if t.IsZero() {
		return cell{style: style}
	}
	t = t.In(loc)
	// The wall clock as a zone-less time; sub-second parts are dropped.
	t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
	return cell{v: t, style: style, width: len("2006-01-02 15:04")}
}

// decimal is a number written as its exact decimal text (money), never
// through a float.
type decimal string

// amount returns a number cell of a, exact to its last decimal.
func amount(a licensing.Amount, style int) cell {
	return cell{v: decimal(a.Decimal()), style: style, width: len(licensing.GroupThousands(a.String())) + 4}
}

// blank is an empty cell with a style.
func blank(style int) cell { return cell{style: style} }

// colWidth turns a measured width into a column width.
func colWidth(w int) float64 {
	return float64(min(max(w+2, minWidth), maxWidth))
}

// grid writes a small sheet cell by cell through excelize's ordinary API,
// which keeps the sheet in memory: for summaries and purchases, whose size
// does not grow with the number of users. It measures the columns as it
// goes.
type grid struct {
	f      *excelize.File
	name   string
	row    int // the last row written
	widths []int
}

// add writes cells as the next row. Rows added with measure set size the
// columns; others (titles, sentences) spill over empty neighbours instead.
func (g *grid) add(measure bool, cells ...cell) error {
	g.row++
	for i, c := range cells {
		ref, err := excelize.CoordinatesToCellName(i+1, g.row)
		if err != nil {
			return err
		}
		if d, ok := c.v.(decimal); ok {
			if err := g.f.SetCellDefault(g.name, ref, string(d)); err != nil {
				return err
			}
		} else if c.v != nil {
			if err := g.f.SetCellValue(g.name, ref, c.v); err != nil {
				return err
			}
		}
		if c.formula != "" {
			if err := g.f.SetCellFormula(g.name, ref, c.formula); err != nil {
				return err
			}
		}
		if c.style != 0 {
			if err := g.f.SetCellStyle(g.name, ref, ref, c.style); err != nil {
				return err
			}
		}
		if measure {
			g.measure(i, c.width)
		}
	}
	return nil
}

// header writes column names as the next row, measured with room for a
// filter button: those of the columns numeric lists (1-based), which hold
// numbers or dates, right-aligned over their values, the others left.
func (g *grid) header(st *styles, numeric []int, names ...string) error {
	cells := make([]cell, len(names))
	for i, n := range names {
		style := st.header
		if slices.Contains(numeric, i+1) {
			style = st.headerNum
		}
		cells[i] = text(n, style)
		cells[i].width += filterButton
	}
	return g.add(true, cells...)
}

// cols lists column numbers, for header.
func cols(n ...int) []int { return n }

// printTitles repeats row (the header of the sheet's list) at the top of
// every printed page.
func printTitles(f *excelize.File, sheet string, row int) error {
	r := "$" + strconv.Itoa(row)
	return f.SetDefinedName(&excelize.DefinedName{
		Name:     "_xlnm.Print_Titles",
		RefersTo: "'" + sheet + "'!" + r + ":" + r,
		Scope:    sheet,
	})
}

// skip leaves the next row empty.
func (g *grid) skip() { g.row++ }

func (g *grid) measure(col, w int) {
	for len(g.widths) <= col {
		g.widths = append(g.widths, 0)
	}
	g.widths[col] = max(g.widths[col], w)
}

// finish sets the measured column widths.
func (g *grid) finish() error {
	for i, w := range g.widths {
		if err := g.f.SetColWidth(g.name, colName(i+1), colName(i+1), colWidth(w)); err != nil {
			return err
		}
	}
	return nil
}

// freezeAbove freezes the rows above row (the header and what precedes it).
func freezeAbove(row int) *excelize.Panes {
	top := "A" + strconv.Itoa(row)
	return &excelize.Panes{
		Freeze:      true,
		YSplit:      row - 1,
		TopLeftCell: top,
		ActivePane:  "bottomLeft",
		Selection:   []excelize.Selection{{SQRef: top, ActiveCell: top, Pane: "bottomLeft"}},
	}
}

// colName returns the letters of column n (1-based).
func colName(n int) string {
	s, _ := excelize.ColumnNumberToName(n)
	return s
}

// ref returns the cell reference of column col (1-based) and row.
func ref(col, row int) string {
	return colName(col) + strconv.Itoa(row)
}

// absRange returns 'sheet'!$A$1:$B$2 (or 'sheet'!$A$1 for one cell) for a
// chart series.
func absRange(sheet string, col1, row1, col2, row2 int) string {
	s := "'" + sheet + "'!$" + colName(col1) + "$" + strconv.Itoa(row1)
	if col1 == col2 && row1 == row2 {
		return s
	}
	return s + ":$" + colName(col2) + "$" + strconv.Itoa(row2)
}

// table turns the header row and the data rows below it into an Excel
// table (banded rows, a filter button on every header).
func (g *grid) table(name string, headerRow, cols, lastRow int) error {
	if lastRow <= headerRow {
		return nil
	}
	return g.f.AddTable(g.name, &excelize.Table{
		Range:          ref(1, headerRow) + ":" + ref(cols, lastRow),
		Name:           name,
		StyleName:      "TableStyleLight9",
		ShowRowStripes: ptr(true),
	})
}
