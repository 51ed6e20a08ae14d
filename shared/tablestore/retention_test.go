package tablestore

import (
	"testing"

	"github.com/shared-tenant/licensetrack/shared/devkit/storetest"
)

func TestRetentionStoreConformance(t *testing.T) {
	storetest.TestRetentionStore(t, func(t *testing.T) storetest.RetentionStore { return newStore(t) })
}
