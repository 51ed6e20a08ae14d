package memstore_test

import (
	"testing"

	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/devkit/storetest"
)

func TestRetentionStore(t *testing.T) {
	storetest.TestRetentionStore(t, func(t *testing.T) storetest.RetentionStore { return memstore.New() })
}
