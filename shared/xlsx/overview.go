package xlsx

import (
	"sort"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// sheetOverview is the enterprise summary's first sheet.
const sheetOverview = "Overview"

// agencyOver is one agency using more than it bought, on the Overview.
type agencyOver struct {
	id, name  string
	seatsOver int
	products  []string
}

// agenciesOver returns the agencies with products over what they bought
// (the unattributed and conflicting users' entries left out), the most
// seats over first, then the most products over, then by id.
func agenciesOver(rows []licensing.EnterpriseRow) []agencyOver {
	byID := map[string]*agencyOver{}
	var out []*agencyOver
	for _, r := range rows {
		if r.Status != licensing.ProductOver || r.Agency == licensing.Unattributed || r.Agency == licensing.Conflicted {
			continue
		}
		a := byID[r.Agency]
		if a == nil {
			a = &agencyOver{id: r.Agency, name: r.AgencyName}
			byID[r.Agency] = a
			out = append(out, a)
		}
		a.seatsOver += -r.Available
		name := r.Name
		if name == "" {
			name = r.PartNumber
		}
		a.products = append(a.products, name)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].seatsOver != out[j].seatsOver {
			return out[i].seatsOver > out[j].seatsOver
		}
		if len(out[i].products) != len(out[j].products) {
			return len(out[i].products) > len(out[j].products)
		}
		return out[i].id < out[j].id
	})
	res := make([]agencyOver, len(out))
	for i, a := range out {
		res[i] = *a
	}
	return res
}

// overview writes the Overview sheet: the counts of unattributed and
// conflicting users, the agencies over what they bought (worst first) with
// a chart of their seats over, and the tenant check's differences.
func (rw *ReportWriter) overview(f *excelize.File, st *styles, s licensing.EnterpriseSummary) error {
	g := &grid{f: f, name: sheetOverview}
	err := g.head(st, "Enterprise overview", append(rw.dateRows(st, s.Date, s.DataAsOf),
		headRow{label: "Unattributed users", value: number(s.Unattributed, st.cell[plain][kindInt]), note: "Licensed users no agency's rule matches: see the Unattributed sheet."},
		headRow{label: "Users in conflict", value: number(s.Conflicts, st.cell[plain][kindInt]), note: "Licensed users several agencies' rules match: see the Conflicts sheet."},
	))
	if err != nil {
		return err
	}
	if err := f.SetPanes(sheetOverview, freezeAbove(2)); err != nil {
		return err
	}
	g.skip()
	if err := g.add(false, text("Agencies using more than they bought", st.label)); err != nil {
		return err
	}
	over := agenciesOver(s.Rows)
	headerRow := g.row + 1
	if err := g.header(st, cols(3, 4), "Agency", "Agency name", "Seats over", "Products over", "Over in"); err != nil {
		return err
	}
	if len(over) == 0 {
		if err := g.add(false, text("No agency uses more licenses than it bought.", st.note)); err != nil {
			return err
		}
	}
	c := &st.cell[flagged]
	for _, a := range over {
		if err := g.add(true, text(a.id, c[kindText]), text(a.name, c[kindText]), number(a.seatsOver, c[kindInt]),
			number(len(a.products), c[kindInt]), text(strings.Join(a.products, ", "), c[kindText])); err != nil {
			return err
		}
	}
	lastOver := g.row
	g.skip()
	if err := g.add(false, text("Tenant check: differences", st.label)); err != nil {
		return err
	}
	if err := g.header(st, cols(3, 4, 5, 6), "Product", "Part number", "Purchased by agencies", "Tenant prepaid", "Consumed", "Difference", "Note"); err != nil {
		return err
	}
	differences := 0
	for _, r := range s.Tenant {
		if r.Difference == 0 {
			continue
		}
		differences++
		if err := g.tenantRow(c, r); err != nil {
			return err
		}
	}
	if differences == 0 {
		if err := g.add(false, text("The tenant's seats match the agencies' purchases for every product.", st.note)); err != nil {
			return err
		}
	}
	if err := g.notes(st,
		"Seats over adds up, per agency, In use − Purchased of its products over what it bought (see the Agencies sheet).",
		"Difference = Tenant prepaid − Purchased by agencies: the Tenant check sheet lists every product."); err != nil {
		return err
	}
	if err := g.finish(); err != nil {
		return err
	}
	if len(over) == 0 {
		return nil
	}
	return overChart(f, ref(1, g.row+2), headerRow, lastOver)
}

// overChart adds a column chart of the Seats over column (3) of the
// Overview's rows first+1..last, one column per agency (column 1), at cell
// at.
func overChart(f *excelize.File, at string, first, last int) error {
	n := uint(last - first)
	return f.AddChart(sheetOverview, at, &excelize.Chart{
		Type:       excelize.Col,
		VaryColors: ptr(false),
		Series: []excelize.ChartSeries{{
			Name:       absRange(sheetOverview, 3, first, 3, first),
			Categories: absRange(sheetOverview, 1, first+1, 1, last),
			Values:     absRange(sheetOverview, 3, first+1, 3, last),
			Fill:       excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{overFont}},
		}},
		Title:     []excelize.RichTextRun{{Text: "Seats over what was bought, by agency", Font: font(excelize.Font{Color: axisColor, Size: 14})}},
		Legend:    excelize.ChartLegend{Position: "none"},
		Dimension: excelize.ChartDimension{Width: min(360+60*n, 1200), Height: 340},
		PlotArea:  excelize.ChartPlotArea{ShowVal: true},
		XAxis:     excelize.ChartAxis{Font: chartFont()},
		YAxis:     excelize.ChartAxis{Font: chartFont(), MajorGridLines: true},
	})
}

// tenantRow writes a tenant check row in the cell styles c.
func (g *grid) tenantRow(c *[numKinds]int, r licensing.TenantCheckRow) error {
	name := r.Name
	if name == "" {
		name = r.PartNumber
	}
	return g.add(true, text(name, c[kindText]), text(r.PartNumber, c[kindText]),
		number(r.Purchased, c[kindInt]), number(r.Prepaid, c[kindInt]), number(r.Consumed, c[kindInt]),
		number(r.Difference, c[kindInt]), text(r.Note, c[kindText]))
}
