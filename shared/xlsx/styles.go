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
	cell   [numTones][numKinds]int
	title  int
	label  int
	header int
	note   int
}

// newStyles registers the report styles in f.
func newStyles(f *excelize.File) (*styles, error) {
	st := &styles{}
	formats := [numKinds]*string{kindInt: ptr(intFormat), kindDate: ptr(dateFormat), kindStamp: ptr(stampFormat)}
	for t := tone(0); t < numTones; t++ {
		for k := kind(0); k < numKinds; k++ {
			s := toneStyle(t)
			s.CustomNumFmt = formats[k]
			if k == kindText {
				s.Alignment = &excelize.Alignment{Vertical: "top"}
			}
			id, err := f.NewStyle(s)
			if err != nil {
				return nil, err
			}
			st.cell[t][k] = id
		}
	}
	var err error
	defs := []struct {
		id *int
		s  *excelize.Style
	}{
		{&st.title, &excelize.Style{Font: &excelize.Font{Bold: true, Size: 14}}},
		{&st.label, &excelize.Style{Font: &excelize.Font{Bold: true}}},
		{&st.header, &excelize.Style{
			Font:      &excelize.Font{Bold: true},
			Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{headerFill}},
			Border:    []excelize.Border{{Type: "bottom", Color: borderColor, Style: 1}},
			Alignment: &excelize.Alignment{Vertical: "top"},
		}},
		{&st.note, &excelize.Style{Font: &excelize.Font{Italic: true, Color: noteFont}}},
	}
	for _, d := range defs {
		if *d.id, err = f.NewStyle(d.s); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// toneStyle returns the font and fill of t.
func toneStyle(t tone) *excelize.Style {
	fill := func(c string) excelize.Fill { return excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{c}} }
	switch t {
	case over:
		return &excelize.Style{Font: &excelize.Font{Color: overFont}, Fill: fill(overFill)}
	case unused:
		return &excelize.Style{Font: &excelize.Font{Color: unusedFont}, Fill: fill(unusedFill)}
	case flagged:
		return &excelize.Style{Font: &excelize.Font{Color: flaggedFont}, Fill: fill(flaggedFill)}
	case total:
		return &excelize.Style{Font: &excelize.Font{Bold: true},
			Border: []excelize.Border{{Type: "top", Color: "000000", Style: 1}}}
	}
	return &excelize.Style{}
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
