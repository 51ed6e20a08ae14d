package intake

import (
	"context"
	"sort"
	"strings"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// FormChoices is what a person picks from when filling in a purchase order
// by hand: the products, by friendly name, and the rules the default term
// end follows.
type FormChoices struct {
	// Tenant are the products the tenant already subscribes to; Other the
	// rest of what the catalog lists. Each is sorted by name.
	Tenant []licensing.Product
	Other  []licensing.Product
	// TenantUnread says why the tenant's products could not be read (they
	// are then among Other when the catalog knows them); "" when they were.
	TenantUnread string
	// Terms are the rules of DefaultTermEnd for a term left without an end.
	Terms licensing.Terms
}

// productLister is a Catalog that can list the products it knows.
type productLister interface {
	Products() []licensing.Product
}

// FormChoices returns the products a purchase order may name and the term
// rules, for anyone signed in. The tenant's products come from
// subscribedSkus; when the tenant cannot be read the catalog's products are
// still offered and TenantUnread says so.
func (s *Service) FormChoices(ctx context.Context, caller *licensing.Principal) (FormChoices, error) {
	const op = "intake.choices"
	if _, err := s.cfg.Auth.Authorize(ctx, op, caller); err != nil {
		return FormChoices{}, err
	}
	out := FormChoices{Terms: s.cfg.Terms}
	var catalog licensing.Catalog = licensing.PartNumbers{}
	if s.cfg.Catalog != nil {
		c, _, err := s.cfg.Catalog.Refresh(ctx)
		if err != nil {
			return FormChoices{}, err
		}
		catalog = c
	}
	seen := map[string]bool{}
	var tenant []licensing.TenantSku
	var err error
	if s.cfg.Directory != nil {
		tenant, err = s.cfg.Directory.SubscribedSkus(ctx)
	}
	if err != nil {
		out.TenantUnread = licensing.ErrorMessage(err)
	}
	for _, t := range tenant {
		p := catalog.Product(t.SkuID, t.PartNumber)
		id := strings.ToLower(p.SkuID)
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		out.Tenant = append(out.Tenant, p)
	}
	if l, ok := catalog.(productLister); ok {
		for _, p := range l.Products() {
			if id := strings.ToLower(p.SkuID); id != "" && !seen[id] {
				seen[id] = true
				out.Other = append(out.Other, p)
			}
		}
	}
	sortProducts(out.Tenant)
	sortProducts(out.Other)
	return out, nil
}

// sortProducts sorts by name without case, then by part number.
func sortProducts(list []licensing.Product) {
	sort.SliceStable(list, func(i, j int) bool {
		a, b := strings.ToLower(list[i].Name), strings.ToLower(list[j].Name)
		if a != b {
			return a < b
		}
		return list[i].PartNumber < list[j].PartNumber
	})
}

// AcceptedFiles lists, as an HTML accept attribute, the files intake takes
// as a document of kind: the extensions and media types of the types
// validateDocuments allows for it. The content decides, not the name; this
// only narrows a browser's file picker.
func AcceptedFiles(kind string) string {
	var out []string
	for _, t := range []string{typePDF, typeEML, typeMSG, typePNG, typeJPEG, typeTIFF} {
		if !allowedFor(kind, t) {
			continue
		}
		out = append(out, extensionOf(t))
		switch t {
		case typeJPEG:
			out = append(out, ".jpeg")
		case typeTIFF:
			out = append(out, ".tiff")
		}
		out = append(out, t)
	}
	return strings.Join(out, ",")
}
