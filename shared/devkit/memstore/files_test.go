package memstore_test

import (
	"testing"

	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/devkit/storetest"
)

func TestFileSweeper(t *testing.T) {
	storetest.TestFileSweeper(t, func(t *testing.T) storetest.Files { return memstore.New() })
}
