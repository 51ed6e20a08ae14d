package fakes

import (
	"context"

	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/skucatalog"
)

var _ licensing.CatalogSource = BuiltinCatalog{}

// BuiltinCatalog is a catalog source that always gives the built-in SKU
// table.
type BuiltinCatalog struct{}

// Refresh returns the built-in table.
func (BuiltinCatalog) Refresh(context.Context) (licensing.Catalog, string, error) {
	return skucatalog.Builtin(), "built-in", nil
}
