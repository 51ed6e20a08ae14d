package handlers

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"
)

// A horizontal bar chart of seats purchased against seats in use, drawn on
// the server as inline SVG: no script, no style attribute (colours are
// presentation attributes, which the page's Content-Security-Policy
// allows), scaled by its viewBox to the width of the screen. It is an image
// with a title and a description for screen readers; the page shows the
// same numbers in a table beside it.

// chartRow is one product of a chart.
type chartRow struct {
	Label     string
	Purchased int
	InUse     int
}

// Geometry of the chart, in viewBox units (about pixels at full width).
const (
	chartWidth     = 400 // narrow, so that text stays legible on a phone
	chartBarSpace  = 190 // the longest bar; the rest holds its figure
	chartLegend    = 30  // height of the legend above the rows
	chartRowHeight = 64  // a row: its label, then the two bars
	chartBarHeight = 16
	chartMaxLabel  = 46 // runes of a product name shown (the table has it whole)
)

// Colours of the bars (contrast at least 3:1 against white).
const (
	chartPurchasedFill = "#5b7fa6"
	chartInUseFill     = "#0b5cad"
	chartOverFill      = "#b00020"
)

// chartBar is one bar (or a legend's swatch) with its text beside it.
type chartBar struct {
	X, Y, Width, Height int
	Fill, Class         string
	Text                string
	TextX, TextY        int
}

// chartPair is one product: its label and its two bars, purchased then in
// use.
type chartPair struct {
	Label  string
	LabelY int
	Over   bool
	Bars   [2]chartBar
}

// barChart is a drawn chart, ready for its template.
type barChart struct {
	ID     string
	Title  string
	Desc   string
	Width  int
	Height int
	Legend []chartBar
	Pairs  []chartPair
}

// newBarChart draws rows as a chart whose element id is id, titled title.
// Bars are scaled to the largest figure; a product using more than it
// bought has its in-use bar in the over colour and says by how much.
func newBarChart(id, title string, rows []chartRow) barChart {
	c := barChart{ID: id, Title: title, Width: chartWidth, Height: chartLegend + len(rows)*chartRowHeight + 4}
	top := 1
	for _, r := range rows {
		top = max(top, r.Purchased, r.InUse)
	}
	for i, l := range []struct{ fill, class, text string }{
		{chartPurchasedFill, "purchased", "Purchased"}, {chartInUseFill, "in-use", "In use"}, {chartOverFill, "is-over", "Over what was bought"},
	} {
		x := []int{0, 100, 180}[i]
		c.Legend = append(c.Legend, chartBar{X: x, Y: 8, Width: 14, Height: 14, Fill: l.fill, Class: l.class, Text: l.text, TextX: x + 20, TextY: 20})
	}
	var over []string
	for i, r := range rows {
		y := chartLegend + i*chartRowHeight
		bar := func(n, dy int, fill, class, text string) chartBar {
			w := 0
			if n > 0 {
				w = max(1, n*chartBarSpace/top)
			}
			return chartBar{X: 0, Y: y + dy, Width: w, Height: chartBarHeight, Fill: fill, Class: class, Text: text, TextX: w + 6, TextY: y + dy + 13}
		}
		p := chartPair{Label: shortLabel(r.Label), LabelY: y + 16, Over: r.InUse > r.Purchased}
		p.Bars[0] = bar(r.Purchased, 22, chartPurchasedFill, "bar purchased", formatCount(r.Purchased)+" purchased")
		if p.Over {
			p.Bars[1] = bar(r.InUse, 40, chartOverFill, "bar in-use is-over", fmt.Sprintf("%s in use: over by %s", formatCount(r.InUse), formatCount(r.InUse-r.Purchased)))
			over = append(over, r.Label)
		} else {
			p.Bars[1] = bar(r.InUse, 40, chartInUseFill, "bar in-use", formatCount(r.InUse)+" in use")
		}
		c.Pairs = append(c.Pairs, p)
	}
	c.Desc = fmt.Sprintf("Seats purchased and in use for %d products.", len(rows))
	if len(over) > 0 {
		c.Desc += " Over what was bought: " + strings.Join(over, ", ") + "."
	}
	c.Desc += " The table beside the chart lists the same numbers."
	return c
}

// shortLabel keeps a product name to chartMaxLabel runes.
func shortLabel(s string) string {
	r := []rune(s)
	if len(r) <= chartMaxLabel {
		return s
	}
	return string(r[:chartMaxLabel-1]) + "…"
}

// chartTemplate draws a barChart. Its text is #1b1b1b on white.
var chartTemplate = template.Must(template.New("chart").Parse(`{{define "bar"}}<rect class="{{.Class}}" x="{{.X}}" y="{{.Y}}" width="{{.Width}}" height="{{.Height}}" fill="{{.Fill}}"/>` +
	`<text x="{{.TextX}}" y="{{.TextY}}" font-size="14" fill="#1b1b1b">{{.Text}}</text>
{{end}}<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{{.ID}}" role="img" aria-labelledby="{{.ID}}-title {{.ID}}-desc" viewBox="0 0 {{.Width}} {{.Height}}" width="{{.Width}}" height="{{.Height}}" focusable="false">
<title id="{{.ID}}-title">{{.Title}}</title>
<desc id="{{.ID}}-desc">{{.Desc}}</desc>
<g class="legend" aria-hidden="true">
{{range .Legend}}{{template "bar" .}}{{end}}</g>
{{range .Pairs}}<g class="product{{if .Over}} is-over{{end}}">
<text class="label" x="0" y="{{.LabelY}}" font-size="15" font-weight="600" fill="#1b1b1b">{{.Label}}</text>
{{range .Bars}}{{template "bar" .}}{{end}}</g>
{{end}}</svg>`))

// SVG renders the chart as inline SVG for a page.
func (c barChart) SVG() (template.HTML, error) {
	var b bytes.Buffer
	if err := chartTemplate.Execute(&b, c); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil
}
