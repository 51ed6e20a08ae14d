package memstore_test

import (
	"testing"

	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/devkit/storetest"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

func TestEnrollmentStore(t *testing.T) {
	storetest.TestEnrollmentStore(t, func(t *testing.T) licensing.EnrollmentStore { return memstore.New() })
}
