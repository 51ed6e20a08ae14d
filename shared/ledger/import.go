package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Import outcomes, one per data row of an imported spreadsheet.
const (
	ImportImported        = "imported"
	ImportWouldImport     = "would import"
	ImportAlreadyImported = "already imported"
	ImportRejected        = "rejected"
)

// Limits of an import.
const (
	// maxImportText bounds a text cell the ledger keeps (reseller, names).
	maxImportText = 100
	// headerSearchRows is how many rows may stand above the header (a title,
	// a note, blank rows).
	headerSearchRows = 10
)

// ImportResult says what an import did, or would do in a dry run, with one
// outcome per data row.
type ImportResult struct {
	FileName string `json:"fileName"`
	// Commit is false for a dry run, which writes nothing.
	Commit bool `json:"commit"`
	// HeaderRow is the row (1-based, as Excel numbers it) the column names
	// were found on; Columns says which column was read for which field.
	HeaderRow int               `json:"headerRow"`
	Columns   map[string]string `json:"columns"`
	// Ignored lists the headers of columns that were not read.
	Ignored []string `json:"ignoredColumns,omitempty"`
	// Rows counts the data rows read, blank rows excluded (Blank).
	Rows            int `json:"rows"`
	Blank           int `json:"blankRows"`
	Imported        int `json:"imported"`
	AlreadyImported int `json:"alreadyImported"`
	Rejected        int `json:"rejected"`
	// Products says where the product names came from.
	Products string      `json:"products,omitempty"`
	Outcomes []ImportRow `json:"outcomes"`
}

// ImportRow is the outcome of one data row.
type ImportRow struct {
	// Row is the row number as the user sees it in Excel (the header row
	// of a sheet whose header is on top is row 1).
	Row     int    `json:"row"`
	Outcome string `json:"outcome"`
	// Reason says what to fix in a rejected row.
	Reason string `json:"reason,omitempty"`
	// Purchase is the id of the line the row is (or would be) recorded as.
	Purchase   string         `json:"purchase,omitempty"`
	Agency     string         `json:"agency,omitempty"`
	SkuID      string         `json:"skuId,omitempty"`
	PartNumber string         `json:"skuPartNumber,omitempty"`
	Quantity   int            `json:"quantity,omitempty"`
	TermStart  licensing.Date `json:"termStart,omitzero"`
	TermEnd    licensing.Date `json:"termEnd,omitzero"`
	PONumber   string         `json:"poNumber,omitempty"`
}

// Fields of the tracking spreadsheet.
const (
	colAgency    = "agency"
	colPO        = "poNumber"
	colProduct   = "product"
	colQuantity  = "quantity"
	colStart     = "termStart"
	colEnd       = "termEnd"
	colTerm      = "term"
	colReseller  = "reseller"
	colAgreement = "agreement"
	colUnitPrice = "unitPrice"
	colCurrency  = "currency"
)

// importHeaders maps a header, folded by foldHeader, to the field it names.
var importHeaders = map[string]string{
	"agency": colAgency, "agencycode": colAgency, "agencyid": colAgency, "agencyname": colAgency,
	"department": colAgency, "dept": colAgency, "departmentcode": colAgency,

	"po": colPO, "ponumber": colPO, "pono": colPO, "ponum": colPO, "purchaseorder": colPO,
	"purchaseordernumber": colPO, "purchaseorderno": colPO,

	"product": colProduct, "productname": colProduct, "sku": colProduct, "skuid": colProduct,
	"skupartnumber": colProduct, "partnumber": colProduct, "license": colProduct,
	"licensetype": colProduct, "licence": colProduct, "licencetype": colProduct,

	"quantity": colQuantity, "qty": colQuantity, "count": colQuantity, "licenses": colQuantity,
	"licences": colQuantity, "seats": colQuantity, "numberoflicenses": colQuantity,
	"licensecount": colQuantity, "licensespurchased": colQuantity,

	"termstart": colStart, "start": colStart, "startdate": colStart, "begin": colStart,
	"termbegin": colStart,

	"termend": colEnd, "end": colEnd, "enddate": colEnd, "expires": colEnd, "expiration": colEnd,
	"expirationdate": colEnd, "expiry": colEnd, "expirydate": colEnd,

	"term": colTerm, "fiscalyear": colTerm, "fy": colTerm, "period": colTerm,

	"reseller": colReseller, "vendor": colReseller,

	"agreement": colAgreement, "agreementtype": colAgreement, "agreementkind": colAgreement,

	"unitprice": colUnitPrice, "price": colUnitPrice, "priceperseat": colUnitPrice, "unitcost": colUnitPrice,
	"annualprice": colUnitPrice, "priceperseatperyear": colUnitPrice,

	"currency": colCurrency, "currencycode": colCurrency,
}

// columnNames names the fields in messages, with the headers accepted.
var columnNames = map[string]string{
	colAgency:   "Agency (or Agency Code)",
	colPO:       "PO (or PO Number, Purchase Order)",
	colProduct:  "Product (or SKU, License, License Type)",
	colQuantity: "Quantity (or Qty, Count, Licenses)",
	colStart:    "Term Start (or Start, Start Date), or a single Term column",
}

// importFieldNames name the price's fields in a row's reason.
var importFieldNames = map[string]string{"unitPrice": "Unit price", "currency": "Currency"}

// foldHeader lower-cases h and keeps only its letters and digits, so that
// "PO #", "po number" and "PO_Number" all read as "ponumber" or "po".
func foldHeader(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// importColumns is the header read: the column index of each field.
type importColumns struct {
	index   map[string]int
	headers map[string]string
	ignored []string
}

// readHeader maps the cells of a header row to fields. It reports whether
// the row looks like the header at all (names agency, product and
// quantity) and the problems of one that does.
func readHeader(row []string) (importColumns, bool, licensing.FieldErrors) {
	c := importColumns{index: map[string]int{}, headers: map[string]string{}}
	var fe licensing.FieldErrors
	for i, cell := range row {
		h := strings.TrimSpace(cell)
		if h == "" {
			continue
		}
		field, ok := importHeaders[foldHeader(h)]
		if !ok {
			c.ignored = append(c.ignored, licensing.Truncate(h))
			continue
		}
		if j, dup := c.index[field]; dup {
			fe.Add("header", "columns %s (%q) and %s (%q) both name the %s; keep one", columnLetter(j), licensing.Truncate(row[j]), columnLetter(i), licensing.Truncate(h), field)
			continue
		}
		c.index[field] = i
		c.headers[field] = columnLetter(i) + ": " + licensing.Truncate(h)
	}
	_, a := c.index[colAgency]
	_, p := c.index[colProduct]
	_, q := c.index[colQuantity]
	if !a || !p || !q {
		return c, false, nil
	}
	for _, f := range []string{colAgency, colPO, colProduct, colQuantity} {
		if _, ok := c.index[f]; !ok {
			fe.Add("header", "no column for %s", columnNames[f])
		}
	}
	_, start := c.index[colStart]
	_, term := c.index[colTerm]
	if !start && !term {
		fe.Add("header", "no column for the term: %s", columnNames[colStart])
	}
	return c, true, fe
}

// columnLetter returns Excel's name of the zero-based column i (A, B, … AA).
func columnLetter(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}

// cell returns the trimmed cell of field in row, "" when absent.
func (c importColumns) cell(row []string, field string) string {
	i, ok := c.index[field]
	if !ok || i >= len(row) {
		return ""
	}
	return strings.TrimSpace(row[i])
}

// ImportPurchases reads the legacy tracking spreadsheet (XLSX or CSV) and
// records each good row as an active ledger line (Source import: these are
// past purchases, in force at once). Every data row gets an outcome:
// imported (would import in a dry run), already imported (a line with the
// same agency, PO, product, quantity and term exists, so importing the same
// file twice records it once), or rejected with a reason. The ledger keeps
// one line per agency, PO number and product (licensing.LineIdentity): a
// row whose line exists with another quantity or term is rejected, naming
// that line and how to correct it, and so is a second row of the file for
// the same PO and product. Good rows are imported even when others are
// rejected. With commit false nothing is written. Admins only.
//
// The header is the first row, within the first ten, that names an agency,
// a product and a quantity column; names are matched without case, spaces
// or punctuation, with synonyms (see importHeaders). The term is read from
// start and end columns or from one Term column holding a range
// ("2025-08-01 - 2026-06-30") or a fiscal year ("FY2026", see FiscalYear);
// a missing end defaults by the Agreement column (a-la-carte when absent,
// see DefaultTermEnd). Dates are 2006-01-02, US 1/2/2006, or Excel serial
// numbers. The product is a part number, a SKU GUID, or its friendly name.
func (s *Service) ImportPurchases(ctx context.Context, caller *licensing.Principal, content []byte, fileName, contentType string, commit bool) (ImportResult, error) {
	const op = "purchases.import"
	acc, err := s.cfg.Auth.RequireAdmin(ctx, op, caller)
	if err != nil {
		return ImportResult{}, err
	}
	fileName = cleanImportName(fileName)
	res := ImportResult{FileName: fileName, Commit: commit, Outcomes: []ImportRow{}}
	if len(content) == 0 {
		return res, licensing.Errorf(op, licensing.Invalid, "The file is empty: send the tracking spreadsheet as XLSX or CSV.")
	}
	if len(content) > licensing.MaxImportBytes {
		return res, licensing.Errorf(op, licensing.TooLarge, "The file is larger than %d MB; split it into smaller files.", licensing.MaxImportBytes>>20)
	}
	if s.cfg.Sheets == nil {
		return res, licensing.Errorf(op, licensing.Internal, "Spreadsheet import is not configured.")
	}
	rows, err := s.cfg.Sheets.ReadRows(ctx, content, fileName, contentType)
	if err != nil {
		return res, err
	}
	headerAt, cols, err := findHeader(op, rows)
	if err != nil {
		return res, err
	}
	res.HeaderRow = headerAt + 1
	res.Columns = cols.headers
	res.Ignored = cols.ignored
	data := rows[headerAt+1:]
	if len(data) > licensing.MaxImportRows {
		return res, licensing.Errorf(op, licensing.TooLarge, "The sheet has %d rows below the header; import at most %d at a time.", len(data), licensing.MaxImportRows)
	}

	agencies, err := s.cfg.Agencies.ListAgencies(ctx)
	if err != nil {
		return res, err
	}
	existing, err := s.cfg.Purchases.ListPurchases(ctx, licensing.PurchaseFilter{})
	if err != nil {
		return res, err
	}
	products, err := s.importProducts(ctx, existing)
	if err != nil {
		return res, err
	}
	res.Products = products.source

	im := importer{
		terms:    s.cfg.Terms,
		agencies: map[string]string{},
		products: products,
		existing: map[string]bool{},
		seen:     map[string]int{},
		held:     map[string]licensing.Purchase{},
		rowOf:    map[string]int{},
		all:      existing,
	}
	for _, a := range agencies {
		im.agencies[a.ID] = a.ID
		if n := licensing.FoldValue(a.Name); n != "" {
			if _, taken := im.agencies[n]; !taken {
				im.agencies[n] = a.ID
			}
		}
	}
	for _, p := range existing {
		im.existing[p.ID] = true
		if k, ok := licensing.LineIdentity(p); ok {
			if h, dup := im.held[k]; !dup || p.ID < h.ID {
				im.held[k] = p
			}
		}
	}

	now := s.now().UTC()
	var lines []licensing.Purchase
	var lineRows []int // index into res.Outcomes of each line
	for i, row := range data {
		rowNo := headerAt + 2 + i
		if blankRow(row) {
			res.Blank++
			continue
		}
		res.Rows++
		out, p, ok := im.row(cols, row, rowNo)
		if ok {
			p.ActivatedAt = &now
			p.Created = now
			p.CreatedBy = acc.Who
			p.Source = licensing.SourceImport
			p.Reason = fmt.Sprintf("Imported from %s, row %d", fileName, rowNo)
			lines = append(lines, p)
			lineRows = append(lineRows, len(res.Outcomes))
		}
		res.Outcomes = append(res.Outcomes, out)
	}

	if commit && len(lines) > 0 {
		added, err := s.cfg.Purchases.AddPurchases(ctx, lines, acc.Who, "Import of "+fileName)
		if err != nil {
			return res, err
		}
		ok := make(map[string]bool, len(added))
		for _, id := range added {
			ok[id] = true
		}
		for _, k := range lineRows {
			if !ok[res.Outcomes[k].Purchase] {
				// Recorded in the meantime by a concurrent import.
				res.Outcomes[k].Outcome = ImportAlreadyImported
			}
		}
	}
	for _, o := range res.Outcomes {
		switch o.Outcome {
		case ImportImported, ImportWouldImport:
			res.Imported++
		case ImportAlreadyImported:
			res.AlreadyImported++
		case ImportRejected:
			res.Rejected++
		}
	}
	if !commit {
		for k := range lineRows {
			res.Outcomes[lineRows[k]].Outcome = ImportWouldImport
		}
	}
	return res, nil
}

// findHeader returns the index of the header row and its columns.
func findHeader(op string, rows [][]string) (int, importColumns, error) {
	for i := 0; i < len(rows) && i < headerSearchRows; i++ {
		cols, ok, fe := readHeader(rows[i])
		if !ok {
			continue
		}
		if len(fe) > 0 {
			return 0, cols, &licensing.Error{Op: op, Code: licensing.Invalid,
				Message: fmt.Sprintf("The header on row %d has %s; see fields.", i+1, licensing.Plural(len(fe), "problem")), Fields: fe}
		}
		return i, cols, nil
	}
	return 0, importColumns{}, &licensing.Error{Op: op, Code: licensing.Invalid,
		Message: "No header row found: the first rows must name the columns Agency, PO, Product, Quantity and Term Start (or Term), and optionally Term End.",
		Fields:  []licensing.FieldError{{Field: "header", Message: fmt.Sprintf("none of the first %d rows names an agency, a product and a quantity column", headerSearchRows)}}}
}

func blankRow(row []string) bool {
	for _, c := range row {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// cleanImportName keeps the base name of an uploaded file's name, without
// control characters, for messages and the lines' Reason.
func cleanImportName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "" {
		return "upload"
	}
	return licensing.Truncate(name)
}

// importer validates the rows of one import.
type importer struct {
	terms licensing.Terms
	// agencies maps agency ids, and folded agency names, to ids.
	agencies map[string]string
	products importProducts
	existing map[string]bool
	// seen maps the line ids of this file to their rows.
	seen map[string]int
	// held maps the identities of the stored lines (licensing.LineIdentity)
	// to the lines; rowOf the identities of this file's rows to the rows.
	held  map[string]licensing.Purchase
	rowOf map[string]int
	// all are the stored lines, corrections included.
	all []licensing.Purchase
}

// row validates one data row. It returns the row's outcome, and the line to
// record when the row is good and new.
func (im *importer) row(cols importColumns, row []string, rowNo int) (ImportRow, licensing.Purchase, bool) {
	out := ImportRow{Row: rowNo}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	var p licensing.Purchase
	// Agency.
	switch a := cols.cell(row, colAgency); {
	case a == "":
		bad("the agency is missing")
	default:
		id, ok := im.agencies[licensing.NormalizeAgencyID(a)]
		if !ok {
			id, ok = im.agencies[licensing.FoldValue(a)]
		}
		if !ok {
			bad("unknown agency %s: use the code of an agency configured in the app (or add the agency first)", quoteCell(a))
		}
		p.Agency = id
	}
	// PO.
	switch po := cols.cell(row, colPO); {
	case po == "":
		bad("the PO number is missing")
	case !licensing.ValidPONumber(po):
		bad("PO number %s is not 1 to 40 letters, digits, '.', '-', '_' or '/'", quoteCell(po))
	default:
		p.PONumber = po
	}
	// Product.
	switch prod := cols.cell(row, colProduct); {
	case prod == "":
		bad("the product is missing")
	default:
		pr, err := im.products.resolve(prod)
		if err != "" {
			bad("%s", err)
		}
		p.SkuID, p.PartNumber = pr.SkuID, pr.PartNumber
	}
	// Quantity.
	switch q := cols.cell(row, colQuantity); {
	case q == "":
		bad("the quantity is missing")
	default:
		n, ok := parseImportQuantity(q)
		if !ok {
			bad("quantity %s is not a whole number from 1 to %d", quoteCell(q), licensing.MaxQuantity)
		}
		p.Quantity = n
	}
	// Optional text.
	if r := cols.cell(row, colReseller); r != "" {
		if msg := unsafeText(r); msg != "" {
			bad("the reseller %s", msg)
		} else {
			p.Reseller = r
		}
	}
	switch ag := strings.ToLower(cols.cell(row, colAgreement)); ag {
	case "":
	case licensing.AgreementEnterprise, licensing.AgreementALaCarte, licensing.AgreementCSP:
		p.Agreement = ag
	case "ea", "enterprise", "enterprise agreement":
		p.Agreement = licensing.AgreementEnterprise
	case "a la carte", "alacarte", "à la carte":
		p.Agreement = licensing.AgreementALaCarte
	default:
		bad("agreement %s is not enterprise-agreement, a-la-carte or csp", quoteCell(ag))
	}
	// Price: optional, of one seat for one year, with its currency.
	var fe licensing.FieldErrors
	p.UnitPrice, p.Currency = licensing.ParsePrice(cols.cell(row, colUnitPrice), cols.cell(row, colCurrency), "", &fe)
	for _, f := range fe {
		bad("the %s %s", importFieldNames[f.Field], f.Message)
	}
	// Term.
	p.TermStart, p.TermEnd = im.term(cols, row, p.Agreement, bad)

	if len(problems) > 0 {
		out.Outcome = ImportRejected
		out.Reason = capitalizeFirst(strings.Join(problems, "; ")) + "."
		return out, licensing.Purchase{}, false
	}
	p.ID = importLineID(p)
	out.Purchase, out.Agency, out.SkuID, out.PartNumber = p.ID, p.Agency, p.SkuID, p.PartNumber
	out.Quantity, out.TermStart, out.TermEnd, out.PONumber = p.Quantity, p.TermStart, p.TermEnd, p.PONumber
	if first, dup := im.seen[p.ID]; dup {
		out.Outcome = ImportRejected
		out.Reason = fmt.Sprintf("Duplicate of row %d: same agency, PO, product, quantity and term; delete one (two purchases alike need different PO numbers).", first)
		return out, licensing.Purchase{}, false
	}
	key, _ := licensing.LineIdentity(p)
	if first, dup := im.rowOf[key]; dup {
		out.Outcome = ImportRejected
		out.Reason = fmt.Sprintf("Same agency, PO and product as row %d with another quantity or term: the ledger keeps one line per PO and product, so put the purchase on one row (another purchase needs its own PO number).", first)
		return out, licensing.Purchase{}, false
	}
	im.seen[p.ID] = rowNo
	im.rowOf[key] = rowNo
	if im.existing[p.ID] {
		out.Outcome = ImportAlreadyImported
		return out, licensing.Purchase{}, false
	}
	if h, ok := im.held[key]; ok {
		if h.Quantity == p.Quantity && h.TermStart.Equal(p.TermStart) && h.TermEnd.Equal(p.TermEnd) {
			// Recorded already, from a service request for that PO.
			out.Outcome, out.Purchase = ImportAlreadyImported, h.ID
			return out, licensing.Purchase{}, false
		}
		out.Outcome = ImportRejected
		out.Reason = clashReason(h, p, licensing.LineTotal(im.all, h.ID))
		return out, licensing.Purchase{}, false
	}
	out.Outcome = ImportImported
	return out, p, true
}

// clashReason says why row line p is not imported: line h holds its
// identity (agency, PO and product) with another quantity or term; total is
// h's total with its corrections.
func clashReason(h, p licensing.Purchase, total int) string {
	var differs []string
	if h.Quantity != p.Quantity {
		differs = append(differs, fmt.Sprintf("this row says %s", licensing.Plural(p.Quantity, "seat")))
	}
	if !h.TermStart.Equal(p.TermStart) || !h.TermEnd.Equal(p.TermEnd) {
		differs = append(differs, fmt.Sprintf("its term is %s to %s, this row's %s to %s", h.TermStart, h.TermEnd, p.TermStart, p.TermEnd))
	}
	msg := fmt.Sprintf("Agency %s already has %s, and %s: the ledger keeps one line per PO and product, so the row is not imported.",
		h.Agency, licensing.DescribeLine(h), strings.Join(differs, "; "))
	if h.Quantity == p.Quantity {
		return msg + " A term is not corrected: if this row is another purchase, it needs its own PO number."
	}
	msg += " " + licensing.CorrectionHint(h.ID)
	if d := p.Quantity - total; d != 0 {
		msg += fmt.Sprintf(" A quantity of %+d takes its total of %d to this row's %d.", d, total, p.Quantity)
	} else {
		msg += fmt.Sprintf(" Its total with its corrections is %d already.", total)
	}
	return msg
}

// term reads the term of a row from its start and end cells or its term
// cell; a missing end defaults by the agreement.
func (im *importer) term(cols importColumns, row []string, agreement string, bad func(string, ...any)) (start, end licensing.Date) {
	startCell, endCell := cols.cell(row, colStart), cols.cell(row, colEnd)
	if startCell == "" && endCell == "" {
		if t := cols.cell(row, colTerm); t != "" {
			var ok bool
			start, end, ok = parseImportTerm(t, im.terms)
			if !ok {
				bad("term %s is not a range like 2025-08-01 - 2026-06-30 or a fiscal year like FY2026", quoteCell(t))
				return licensing.Date{}, licensing.Date{}
			}
			if end.Before(start) {
				bad("the term ends (%s) before it starts (%s)", end, start)
			}
			return start, end
		}
	}
	var ok bool
	switch {
	case startCell == "":
		bad("the term start is missing")
	default:
		if start, ok = parseImportDate(startCell); !ok {
			bad("term start %s is not a date: write 2025-08-01 or 8/1/2025", quoteCell(startCell))
		}
	}
	switch {
	case endCell == "" && !start.IsZero():
		if agreement == "" {
			agreement = licensing.AgreementALaCarte
		}
		end = licensing.DefaultTermEnd(agreement, start, im.terms)
	case endCell == "":
	default:
		if end, ok = parseImportDate(endCell); !ok {
			bad("term end %s is not a date: write 2026-06-30 or 6/30/2026", quoteCell(endCell))
		}
	}
	if !start.IsZero() && !end.IsZero() && end.Before(start) {
		bad("the term ends (%s) before it starts (%s): are the start and end swapped?", end, start)
	}
	if !start.IsZero() && !end.IsZero() && end.After(start.AddYears(licensing.MaxTermYears)) {
		bad("the term runs more than %d years (%s to %s)", licensing.MaxTermYears, start, end)
	}
	return start, end
}

// importLineID is the id of the line an import row records: a hash of what
// the row says, so that the same row imported again finds its line.
func importLineID(p licensing.Purchase) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{
		p.Agency, strings.ToUpper(p.PONumber), strings.ToLower(p.SkuID),
		strconv.Itoa(p.Quantity), p.TermStart.String(), p.TermEnd.String(),
	}, "\x1f")))
	return "i-" + hex.EncodeToString(sum[:16])
}

// quoteCell shows a cell's value in a message: quoted, shortened, with
// control characters escaped.
func quoteCell(s string) string { return strconv.Quote(licensing.Truncate(s)) }

// unsafeText says what is wrong with a free-text cell the ledger would keep,
// or "" when nothing is: too long, control characters, or text a
// spreadsheet would take for a formula.
func unsafeText(s string) string {
	switch {
	case utf8.RuneCountInString(s) > maxImportText:
		return fmt.Sprintf("is longer than %d characters", maxImportText)
	case licensing.HasControl(s):
		return "contains control characters"
	case licensing.StartsLikeFormula(s):
		return fmt.Sprintf("%s starts with %q, which spreadsheets take for a formula", quoteCell(s), s[:1])
	}
	return ""
}

func capitalizeFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

var thousands = regexp.MustCompile(`^[0-9]{1,3}(,[0-9]{3})+$`)

// parseImportQuantity reads a whole number from 1 to licensing.MaxQuantity, allowing
// thousands separators ("1,000") and a zero fraction ("25.0", as a sheet may
// store a number).
func parseImportQuantity(s string) (int, bool) {
	if thousands.MatchString(s) {
		s = strings.ReplaceAll(s, ",", "")
	}
	if i := strings.IndexByte(s, '.'); i > 0 && strings.Trim(s[i+1:], "0") == "" {
		s = s[:i]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > licensing.MaxQuantity {
		return 0, false
	}
	return n, true
}

// Dates outside these years are taken for mistakes.
const (
	minImportYear = 2000
	maxImportYear = 2100
)

// importDateLayouts are the text dates an import reads, after ISO.
var importDateLayouts = []string{
	"2006-01-02", "2006/01/02", "1/2/2006", "1/2/06", "1-2-2006", "01-02-06",
	"2-Jan-2006", "2-Jan-06", "Jan 2, 2006", "January 2, 2006", "2 Jan 2006", "2 January 2006",
}

var (
	serialPattern   = regexp.MustCompile(`^[0-9]{5}(\.[0-9]+)?$`)
	dateTimePattern = regexp.MustCompile(`^([0-9]{4}-[0-9]{2}-[0-9]{2})[T ][0-9:.]+Z?$`)
	usDateTime      = regexp.MustCompile(`^([0-9]{1,2}/[0-9]{1,2}/[0-9]{2,4})\s+[0-9:]+(\s*[AaPp][Mm])?$`)
)

// excelEpoch is day 0 of Excel's 1900 date system as it counts (it takes
// 1900 for a leap year, so from March 1900 on the serials count from here).
var excelEpoch = licensing.NewDate(1899, time.December, 30)

// parseImportDate reads a date written as 2006-01-02 (a time after it is
// ignored), as US 1/2/2006 (month first), with a month name, or as an Excel
// serial number (45870 is 2025-08-01).
func parseImportDate(s string) (licensing.Date, bool) {
	s = strings.TrimSpace(s)
	if m := dateTimePattern.FindStringSubmatch(s); m != nil {
		s = m[1]
	}
	if m := usDateTime.FindStringSubmatch(s); m != nil {
		s = m[1]
	}
	if serialPattern.MatchString(s) {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return licensing.Date{}, false
		}
		d := excelEpoch.AddDays(int(math.Floor(f)))
		return d, plausibleYear(d)
	}
	for _, layout := range importDateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			d := licensing.NewDate(t.Year(), t.Month(), t.Day())
			return d, plausibleYear(d)
		}
	}
	return licensing.Date{}, false
}

func plausibleYear(d licensing.Date) bool {
	y := d.Time().Year()
	return y >= minImportYear && y <= maxImportYear
}

var (
	fyPattern    = regexp.MustCompile(`^(?i)FY\s*[-_]?\s*([0-9]{4}|[0-9]{2})$`)
	rangePattern = regexp.MustCompile(`^(.+?)\s*(?:\s-\s|–|—|\bto\b|\bthrough\b|\bthru\b|\.\.)\s*(.+)$`)
)

// parseImportTerm reads a Term cell: a fiscal year (FY2026, FY 2026, FY26;
// see FiscalYear) or a range of two dates ("2025-08-01 - 2026-06-30",
// "8/1/2025 to 6/30/2026").
func parseImportTerm(s string, t licensing.Terms) (start, end licensing.Date, ok bool) {
	s = strings.TrimSpace(s)
	if m := fyPattern.FindStringSubmatch(s); m != nil {
		y, _ := strconv.Atoi(m[1])
		if y < 100 {
			y += 2000
		}
		if y < minImportYear || y > maxImportYear {
			return licensing.Date{}, licensing.Date{}, false
		}
		start, end = licensing.FiscalYear(y, t)
		return start, end, true
	}
	m := rangePattern.FindStringSubmatch(s)
	if m == nil {
		// ISO dates hold '-': "2025-08-01-2026-06-30" splits in the middle.
		if len(s) == 21 && s[10] == '-' {
			m = []string{s, s[:10], s[11:]}
		} else {
			return licensing.Date{}, licensing.Date{}, false
		}
	}
	start, ok1 := parseImportDate(m[1])
	end, ok2 := parseImportDate(m[2])
	return start, end, ok1 && ok2
}

// importProducts resolves a Product cell to a SKU.
type importProducts struct {
	catalog licensing.Catalog
	// named maps folded friendly names to the products so named; more than
	// one means the name is ambiguous.
	named map[string][]licensing.Product
	// tenant maps lower-case GUIDs and part numbers of the tenant's SKUs.
	tenant map[string]licensing.Product
	source string
}

// productLister is a Catalog that can list what it knows; friendly names
// are matched against every product it lists.
type productLister interface {
	Products() []licensing.Product
}

// importProducts gathers what an import may name: the catalog (refreshed),
// the tenant's SKUs from the latest snapshot, and the SKUs already in the
// ledger. Friendly names are matched against all of them.
func (s *Service) importProducts(ctx context.Context, existing []licensing.Purchase) (importProducts, error) {
	ip := importProducts{named: map[string][]licensing.Product{}, tenant: map[string]licensing.Product{}}
	if s.cfg.Catalog != nil {
		c, source, err := s.cfg.Catalog.Refresh(ctx)
		if err != nil && c == nil {
			return ip, err
		}
		ip.catalog, ip.source = c, source
	}
	var candidates []licensing.Product
	if l, ok := ip.catalog.(productLister); ok {
		candidates = append(candidates, l.Products()...)
	}
	if s.cfg.Snapshots != nil {
		if snap, err := s.cfg.Snapshots.LatestSnapshot(ctx); err == nil {
			for _, t := range snap.Tenant {
				p := ip.product(t.SkuID, t.PartNumber)
				ip.tenant[strings.ToLower(t.SkuID)] = p
				if t.PartNumber != "" {
					ip.tenant[strings.ToLower(t.PartNumber)] = p
				}
				candidates = append(candidates, p)
			}
		}
	}
	for _, e := range existing {
		candidates = append(candidates, ip.product(e.SkuID, e.PartNumber))
	}
	ids := map[string]bool{}
	for _, p := range candidates {
		if p.SkuID == "" || ids[strings.ToLower(p.SkuID)] {
			continue
		}
		ids[strings.ToLower(p.SkuID)] = true
		if n := licensing.FoldValue(p.Name); n != "" {
			ip.named[n] = append(ip.named[n], p)
		}
	}
	return ip, nil
}

// product names a SKU through the catalog when there is one.
func (ip importProducts) product(skuID, part string) licensing.Product {
	if ip.catalog != nil {
		return ip.catalog.Product(skuID, part)
	}
	name := part
	if name == "" {
		name = skuID
	}
	return licensing.Product{SkuID: strings.ToLower(skuID), PartNumber: part, Name: name}
}

// resolve finds the SKU a Product cell names: a GUID or part number the
// catalog or the tenant knows, or a friendly name naming exactly one SKU.
// It returns a reason the row is rejected when it finds none.
func (ip importProducts) resolve(cell string) (licensing.Product, string) {
	if ip.catalog != nil {
		if p, ok := ip.catalog.Lookup(cell); ok {
			p.SkuID = strings.ToLower(p.SkuID)
			return p, ""
		}
	}
	if p, ok := ip.tenant[strings.ToLower(cell)]; ok {
		return p, ""
	}
	switch named := ip.named[licensing.FoldValue(cell)]; len(named) {
	case 0:
	case 1:
		p := named[0]
		p.SkuID = strings.ToLower(p.SkuID)
		return p, ""
	default:
		parts := make([]string, 0, len(named))
		for _, p := range named {
			parts = append(parts, p.PartNumber)
		}
		return licensing.Product{}, fmt.Sprintf("product %s names several SKUs (%s): write the part number instead", quoteCell(cell), strings.Join(parts, ", "))
	}
	return licensing.Product{}, fmt.Sprintf("unknown product %s: write its part number (VISIOCLIENT), its SKU GUID, or its name as Microsoft publishes it", quoteCell(cell))
}
