package memstore_test

import (
	"testing"

	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/devkit/storetest"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

func TestSnapJobStore(t *testing.T) {
	storetest.TestSnapJobStore(t, func(t *testing.T) licensing.SnapJobStore { return memstore.New() })
}
