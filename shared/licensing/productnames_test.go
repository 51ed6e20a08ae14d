package licensing_test

import (
	"context"
	"errors"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

type failingSource struct{}

func (failingSource) Refresh(context.Context) (licensing.Catalog, string, error) {
	return nil, "", errors.New("unreachable")
}

// TestProductNamesFallsBackToPartNumbers: without a source, or with one that
// cannot be read, SKUs are named by part number, and the error is given.
func TestProductNamesFallsBackToPartNumbers(t *testing.T) {
	ctx := context.Background()
	c, err := licensing.ProductNames(ctx, nil)
	if err != nil || c.Product("id", "VISIOCLIENT").Name != "VISIOCLIENT" {
		t.Errorf("no source: %v, %v", c, err)
	}
	c, err = licensing.ProductNames(ctx, failingSource{})
	if err == nil || c.Product("id", "VISIOCLIENT").Name != "VISIOCLIENT" {
		t.Errorf("failing source: %v, %v", c, err)
	}
}
