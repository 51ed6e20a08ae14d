package licensing

import "context"

// Product is a Microsoft license SKU.
type Product struct {
	// SkuID is the SKU's GUID, lower case.
	SkuID string `json:"skuId"`
	// PartNumber is the SKU's string id, such as VISIOCLIENT.
	PartNumber string `json:"skuPartNumber"`
	// Name is the friendly name, such as "Visio Plan 2"; the part number
	// when no friendly name is known.
	Name string `json:"name"`
}

// Catalog knows the friendly names of SKUs.
type Catalog interface {
	// Product returns what is known of the SKU with id skuID (a GUID, any
	// case). partNumber, when given, is used as the name of a SKU the
	// catalog does not know, so callers always get something to show.
	Product(skuID, partNumber string) Product
	// Lookup finds a SKU by GUID or part number, without case. It reports
	// false when the catalog does not know it.
	Lookup(s string) (Product, bool)
}

// CatalogSource refreshes a Catalog from its published list.
type CatalogSource interface {
	// Refresh loads the newest list when the cached one is older than the
	// configured age, falling back to the cache and then to the built-in
	// table when the source is unreachable. It returns the catalog to use
	// and a sentence for the run's log saying where the names came from.
	Refresh(ctx context.Context) (Catalog, string, error)
}

// ProductNames returns the catalog src gives, or PartNumbers when there is
// no source or it cannot be read; err then says why, for a caller that
// reports it (the names returned are usable either way).
func ProductNames(ctx context.Context, src CatalogSource) (Catalog, error) {
	if src == nil {
		return PartNumbers{}, nil
	}
	c, _, err := src.Refresh(ctx)
	if err != nil || c == nil {
		return PartNumbers{}, err
	}
	return c, nil
}

// PartNumbers is the catalog of last resort: it names every SKU by its part
// number (or id) and knows none by lookup.
type PartNumbers struct{}

// Product names the SKU by part number.
func (PartNumbers) Product(id, part string) Product {
	if part == "" {
		part = id
	}
	return Product{SkuID: id, PartNumber: part, Name: part}
}

// Lookup knows nothing.
func (PartNumbers) Lookup(string) (Product, bool) { return Product{}, false }
