package tablestore

import (
	"testing"

	"github.com/shared-tenant/licensetrack/shared/devkit/storetest"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

func TestSnapJobStoreConformance(t *testing.T) {
	storetest.TestSnapJobStore(t, func(t *testing.T) licensing.SnapJobStore { return newStore(t) })
}
