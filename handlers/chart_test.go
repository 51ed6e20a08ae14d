package handlers

import (
	"encoding/xml"
	"io"
	"slices"
	"strings"
	"testing"
)

// svgElement is an element of a drawn chart, as an XML parser reads it.
type svgElement struct {
	Name  string
	Attrs map[string]string
	Text  string
	// Group is the class of the <g> the element is in.
	Group string
}

// parseChart reads svg as XML (it must be well-formed) and returns its
// elements in order.
func parseChart(t *testing.T, svg string) []svgElement {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	var out []svgElement
	var stack []int
	group := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the chart is not well-formed XML: %v\n%s", err, svg)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := svgElement{Name: tok.Name.Local, Attrs: map[string]string{}, Group: group}
			for _, a := range tok.Attr {
				e.Attrs[a.Name.Local] = a.Value
			}
			if e.Name == "g" {
				group = e.Attrs["class"]
			}
			out = append(out, e)
			stack = append(stack, len(out)-1)
		case xml.CharData:
			if len(stack) > 0 {
				out[stack[len(stack)-1]].Text += string(tok)
			}
		case xml.EndElement:
			if tok.Name.Local == "g" {
				group = ""
			}
			stack = stack[:len(stack)-1]
		}
	}
	return out
}

// TestBarChart draws three products: one bar pair each, scaled to the
// largest figure, the over product's in-use bar in the over colour saying
// by how much, a title and a description naming it, names escaped and long
// ones shortened, and no style attribute or script anywhere.
func TestBarChart(t *testing.T) {
	long := strings.Repeat("Microsoft 365 E5 Compliance ", 4)
	c := newBarChart("c1", "Seats <purchased> & in use", []chartRow{
		{Label: "Office 365 E3", Purchased: 1000, InUse: 1250},
		{Label: `Visio "Plan 2" <script>`, Purchased: 500, InUse: 0},
		{Label: long, Purchased: 0, InUse: 0},
	})
	out, err := c.SVG()
	if err != nil {
		t.Fatal(err)
	}
	svg := string(out)
	els := parseChart(t, svg)
	root := els[0]
	if root.Name != "svg" || root.Attrs["id"] != "c1" || root.Attrs["role"] != "img" || root.Attrs["aria-labelledby"] != "c1-title c1-desc" ||
		root.Attrs["viewBox"] != "0 0 400 226" {
		t.Errorf("svg = %v", root.Attrs)
	}
	var title, desc string
	type bar struct {
		class string
		width string
		fill  string
	}
	var labels, figures []string
	bars := map[string][]bar{}
	for _, e := range els {
		for k := range e.Attrs {
			if k == "style" || strings.HasPrefix(k, "on") {
				t.Errorf("<%s %s>: inline style or script", e.Name, k)
			}
		}
		switch {
		case e.Name == "script" || e.Name == "style" || e.Name == "foreignObject":
			t.Errorf("a <%s> in the chart", e.Name)
		case e.Name == "title":
			title = e.Text
		case e.Name == "desc":
			desc = e.Text
		case e.Group == "legend":
		case e.Name == "text" && e.Attrs["class"] == "label":
			labels = append(labels, e.Text)
		case e.Name == "text":
			figures = append(figures, e.Text)
		case e.Name == "rect":
			bars[e.Group] = append(bars[e.Group], bar{e.Attrs["class"], e.Attrs["width"], e.Attrs["fill"]})
		}
	}
	if title != "Seats <purchased> & in use" || !strings.Contains(desc, "for 3 products. Over what was bought: Office 365 E3.") {
		t.Errorf("title %q, desc %q", title, desc)
	}
	if len(labels) != 3 || labels[0] != "Office 365 E3" || labels[1] != `Visio "Plan 2" <script>` || len([]rune(labels[2])) != chartMaxLabel || !strings.HasSuffix(labels[2], "…") {
		t.Errorf("labels = %q", labels)
	}
	wantFigures := "1,000 purchased|1,250 in use: over by 250|500 purchased|0 in use|0 purchased|0 in use"
	if strings.Join(figures, "|") != wantFigures {
		t.Errorf("figures = %q, want %q", strings.Join(figures, "|"), wantFigures)
	}
	wantBars := map[string][]bar{
		"product is-over": {{"bar purchased", "152", chartPurchasedFill}, {"bar in-use is-over", "190", chartOverFill}},
		"product":         {{"bar purchased", "76", chartPurchasedFill}, {"bar in-use", "0", chartInUseFill}, {"bar purchased", "0", chartPurchasedFill}, {"bar in-use", "0", chartInUseFill}},
	}
	for g, want := range wantBars {
		if got := bars[g]; !slices.Equal(got, want) {
			t.Errorf("bars of %q = %v, want %v", g, got, want)
		}
	}
	if strings.Contains(svg, "<script>") {
		t.Errorf("a product name is not escaped:\n%s", svg)
	}
}
