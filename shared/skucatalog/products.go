package skucatalog

import (
	"sort"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Products returns every SKU the catalog knows, in the order of their
// GUIDs. A nil *Catalog knows none.
func (c *Catalog) Products() []licensing.Product {
	if c == nil {
		return nil
	}
	out := make([]licensing.Product, 0, len(c.byID))
	for _, p := range c.byID {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SkuID < out[j].SkuID })
	return out
}
