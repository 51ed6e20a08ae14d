package xlsx

import (
	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// tone is how a report row looks: its fill and font.
type tone int

const (
	plain tone = iota
	// over: in use exceeds purchased (Excel's "Bad": red).
	over
	// unused: purchased and nobody holds it (grey).
	unused
	// flagged: worth a look, e.g. a reclaim candidate, a purchase in grace,
	// a tenant difference (Excel's "Neutral": amber).
	flagged
	// total: a totals row (bold, ruled above).
	total
	numTones
)

// kind is what a cell holds, which decides its number format.
type kind int

const (
	kindText kind = iota
	kindInt
	kindDate
	kindStamp
	numKinds
)

// Number formats. Dates are ISO so that every agency reads them the same
// way (Excel's built-in date format follows the reader's locale).
const (
	intFormat   = "#,##0;[Red]-#,##0"
	dateFormat  = "yyyy-mm-dd"
	stampFormat = "yyyy-mm-dd hh:mm"
)

// fontFamily is the one font every style names. Calibri is the font of
// excelize's default style (the cells without a style of their own), so
// every cell of a report shows in one family; LibreOffice and other
// readers without it substitute Carlito, which has the same widths, so the
// measured column widths still fit. A style without a name falls back to
// the reader's default, a serif font in some.
const fontFamily = "Calibri"

// Colours (RGB hex).
const (
	overFill    = "FFC7CE"
	overFont    = "9C0006"
	unusedFill  = "F2F2F2"
	unusedFont  = "808080"
	flaggedFill = "FFEB9C"
	flaggedFont = "9C5700"
	headerFill  = "DDEBF7"
	noteFont    = "595959"
	borderColor = "8EA9DB"
)

// styles holds the style ids of one workbook (ids are per workbook).
type styles struct {
	cell [numTones][numKinds]int
	// wrap is a text cell of each tone whose text wraps within the
	// column's width.
	wrap   [numTones]int
	title  int
	label  int
	header int
	// headerNum heads a column of numbers or dates: right-aligned, over
	// the right-aligned values.
	headerNum int
	note      int
	// f registers the money styles, one per tone and currency, on first
	// use (moneyStyle).
	f     *excelize.File
	money map[moneyKey]int
}

// moneyKey names a money style.
type moneyKey struct {
	t        tone
	currency string
}

// moneyFormat shows an amount with two to four decimals and its currency
// code, negative in red: 1,234.50 USD.
func moneyFormat(currency string) string {
	c := `" ` + currency + `"`
	return "#,##0.00##" + c + ";[Red]-#,##0.00##" + c
}

// moneyStyle returns the style of an amount in currency in a row of tone
// t: right-aligned, with the currency code in its number format.
func (st *styles) moneyStyle(t tone, currency string) (int, error) {
	k := moneyKey{t, currency}
	if id, ok := st.money[k]; ok {
		return id, nil
	}
	s := toneStyle(t)
	s.CustomNumFmt = ptr(moneyFormat(currency))
	s.Alignment = cellAlignment(kindInt)
	id, err := st.f.NewStyle(s)
	if err != nil {
		return 0, err
	}
	st.money[k] = id
	return id, nil
}

// newStyles registers the report styles in f.
func newStyles(f *excelize.File) (*styles, error) {
	st := &styles{f: f, money: map[moneyKey]int{}}
	formats := [numKinds]*string{kindInt: ptr(intFormat), kindDate: ptr(dateFormat), kindStamp: ptr(stampFormat)}
	for t := tone(0); t < numTones; t++ {
		for k := kind(0); k < numKinds; k++ {
			s := toneStyle(t)
			s.CustomNumFmt = formats[k]
			s.Alignment = cellAlignment(k)
			id, err := f.NewStyle(s)
			if err != nil {
				return nil, err
			}
			st.cell[t][k] = id
		}
		s := toneStyle(t)
		s.Alignment = cellAlignment(kindText)
		s.Alignment.WrapText = true
		id, err := f.NewStyle(s)
		if err != nil {
			return nil, err
		}
		st.wrap[t] = id
	}
	var err error
	defs := []struct {
		id *int
		s  *excelize.Style
	}{
		{&st.title, &excelize.Style{Font: font(excelize.Font{Bold: true, Size: 14})}},
		{&st.label, &excelize.Style{Font: font(excelize.Font{Bold: true})}},
		{&st.header, headerStyle(cellAlignment(kindText))},
		{&st.headerNum, headerStyle(cellAlignment(kindInt))},
		{&st.note, &excelize.Style{Font: font(excelize.Font{Italic: true, Color: noteFont}), Alignment: cellAlignment(kindText)}},
	}
	for _, d := range defs {
		if *d.id, err = f.NewStyle(d.s); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// font returns fn in the report's font family.
func font(fn excelize.Font) *excelize.Font {
	fn.Family = fontFamily
	return &fn
}

// cellAlignment aligns a cell holding k: numbers and dates right, text
// left and indented by one step, so that a number never runs into the text
// of the cell to its right.
func cellAlignment(k kind) *excelize.Alignment {
	if k == kindText {
		return &excelize.Alignment{Horizontal: "left", Indent: 1, Vertical: "top"}
	}
	return &excelize.Alignment{Horizontal: "right", Vertical: "top"}
}

// headerStyle is a column header aligned as a; a long header wraps.
func headerStyle(a *excelize.Alignment) *excelize.Style {
	a.WrapText = true
	return &excelize.Style{
		Font:      font(excelize.Font{Bold: true}),
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{headerFill}},
		Border:    []excelize.Border{{Type: "bottom", Color: borderColor, Style: 1}},
		Alignment: a,
	}
}

// toneStyle returns the font and fill of t.
func toneStyle(t tone) *excelize.Style {
	fill := func(c string) excelize.Fill { return excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{c}} }
	switch t {
	case over:
		return &excelize.Style{Font: font(excelize.Font{Color: overFont}), Fill: fill(overFill)}
	case unused:
		return &excelize.Style{Font: font(excelize.Font{Color: unusedFont}), Fill: fill(unusedFill)}
	case flagged:
		return &excelize.Style{Font: font(excelize.Font{Color: flaggedFont}), Fill: fill(flaggedFill)}
	case total:
		return &excelize.Style{Font: font(excelize.Font{Bold: true}),
			Border: []excelize.Border{{Type: "top", Color: "000000", Style: 1}}}
	}
	return &excelize.Style{Font: font(excelize.Font{})}
}

// statusTone returns the tone of a product row with status s.
func statusTone(s string) tone {
	switch s {
	case licensing.ProductOver:
		return over
	case licensing.ProductUnused:
		return unused
	}
	return plain
}

func ptr[T any](v T) *T { return &v }
