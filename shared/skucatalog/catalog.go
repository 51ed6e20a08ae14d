// Package skucatalog knows the friendly names of Microsoft license SKUs
// ("Visio Plan 2" for VISIOCLIENT), keyed by SKU GUID, with the part number
// as the fallback name of a SKU it does not know.
//
// The names come from Microsoft's published CSV "Product names and service
// plan identifiers for licensing", read by Parse in its full form (one row per
// service plan) or trimmed to GUID, String_Id and Product_Display_Name. A
// short built-in table of the common SKUs fills the gaps and stands in when
// the list cannot be had. Source keeps a copy of the list in a blob and
// refreshes it when it is older than a configured age, never failing a run
// only because the list is unreachable.
package skucatalog

import (
	"slices"
	"strings"
	"sync"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Catalog is a read-only set of SKUs, looked up by GUID or part number. It
// is safe for concurrent use. A nil *Catalog knows no SKU.
type Catalog struct {
	byID   map[string]licensing.Product // key: lower-case GUID
	byPart map[string]licensing.Product // key: lower-case part number
	source string
	stats  Stats
}

var _ licensing.Catalog = (*Catalog)(nil)

// unknownName is shown for a SKU known by neither GUID nor part number.
const unknownName = "Unknown product"

// Builtin returns the catalog of the built-in table alone.
func Builtin() *Catalog { return builtinCatalog() }

var builtinCatalog = sync.OnceValue(func() *Catalog {
	c := &Catalog{
		byID:   make(map[string]licensing.Product, len(builtinRows)),
		byPart: make(map[string]licensing.Product, len(builtinRows)),
		source: "built-in table",
	}
	for _, r := range builtinRows {
		c.add(licensing.Product{SkuID: r.id, PartNumber: r.part, Name: r.name})
	}
	return c
})

// add records p under its GUID and part number unless either is taken.
func (c *Catalog) add(p licensing.Product) {
	if _, ok := c.byID[p.SkuID]; ok {
		return
	}
	c.byID[p.SkuID] = p
	if p.PartNumber == "" {
		return
	}
	k := strings.ToLower(p.PartNumber)
	if _, ok := c.byPart[k]; !ok {
		c.byPart[k] = p
	}
}

// fillFrom adds the SKUs of fallback that c does not know.
func (c *Catalog) fillFrom(fallback *Catalog) {
	for _, p := range fallback.byID {
		c.add(p)
	}
}

// withSource returns a copy of c that says it came from source. The maps
// are shared: a Catalog never changes once built.
func (c *Catalog) withSource(source string) *Catalog {
	cp := *c
	cp.source = source
	return &cp
}

// Product returns what the catalog knows of the SKU skuID (a GUID, any
// case), with the GUID in lower case. For a GUID it does not know it falls
// back to the SKU with part number partNumber, keeping skuID; then to a
// product named after partNumber; then, without a part number, to one named
// after the GUID.
func (c *Catalog) Product(skuID, partNumber string) licensing.Product {
	id := strings.ToLower(strings.TrimSpace(skuID))
	pn := strings.TrimSpace(partNumber)
	if c != nil {
		if p, ok := c.byID[id]; ok && id != "" {
			return p
		}
		if p, ok := c.byPart[strings.ToLower(pn)]; ok && pn != "" {
			if id != "" {
				p.SkuID = id
			}
			return p
		}
	}
	name := pn
	if name == "" {
		name = id
	}
	if name == "" {
		name = unknownName
	}
	return licensing.Product{SkuID: id, PartNumber: pn, Name: name}
}

// Lookup finds a SKU by GUID or by part number, without regard to case or
// surrounding spaces. It reports false when the catalog does not know it.
func (c *Catalog) Lookup(s string) (licensing.Product, bool) {
	k := strings.ToLower(strings.TrimSpace(s))
	if c == nil || k == "" {
		return licensing.Product{}, false
	}
	if p, ok := c.byID[k]; ok {
		return p, true
	}
	p, ok := c.byPart[k]
	return p, ok
}

// Len returns the number of SKUs the catalog knows.
func (c *Catalog) Len() int {
	if c == nil {
		return 0
	}
	return len(c.byID)
}

// Source says where the names came from: "built-in table", "parsed list"
// for a catalog from Parse, or what a Source loaded it from (the list's URL
// without its query, the cached copy of it, or an uploaded blob).
func (c *Catalog) Source() string {
	if c == nil {
		return ""
	}
	return c.source
}

// Stats returns what Parse found in the list; zero for the built-in table.
func (c *Catalog) Stats() Stats {
	if c == nil {
		return Stats{}
	}
	st := c.stats
	st.SkippedLines = slices.Clone(st.SkippedLines)
	return st
}
