package skucatalog

import "testing"

// TestProducts lists every SKU of the built-in table once, in GUID order.
func TestProducts(t *testing.T) {
	c := Builtin()
	list := c.Products()
	if len(list) != c.Len() || len(list) == 0 {
		t.Fatalf("%d products, the catalog knows %d", len(list), c.Len())
	}
	for i, p := range list {
		if i > 0 && list[i-1].SkuID >= p.SkuID {
			t.Errorf("%s listed after %s", p.SkuID, list[i-1].SkuID)
		}
		if got, ok := c.Lookup(p.SkuID); !ok || got != p {
			t.Errorf("listed %+v, lookup gives %+v", p, got)
		}
	}
	var none *Catalog
	if none.Products() != nil {
		t.Error("a nil catalog lists products")
	}
}
