package memstore_test

import (
	"testing"

	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/devkit/storetest"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

func TestAgencyStore(t *testing.T) {
	storetest.TestAgencyStore(t, func(t *testing.T) licensing.AgencyStore { return memstore.New() })
}

func TestRunStore(t *testing.T) {
	storetest.TestRunStore(t, func(t *testing.T) licensing.RunStore { return memstore.New() })
}

func TestSnapshotStore(t *testing.T) {
	storetest.TestSnapshotStore(t, func(t *testing.T) licensing.SnapshotStore { return memstore.New() })
}

func TestRequestStore(t *testing.T) {
	storetest.TestRequestStore(t, func(t *testing.T) licensing.RequestStore { return memstore.New() })
}

func TestPurchaseStore(t *testing.T) {
	storetest.TestPurchaseStore(t, func(t *testing.T) licensing.PurchaseStore { return memstore.New() })
}

func TestDeliveries(t *testing.T) {
	storetest.TestDeliveries(t, func(t *testing.T) licensing.Deliveries { return memstore.New() })
}

func TestEffectStore(t *testing.T) {
	storetest.TestEffectStore(t, func(t *testing.T) licensing.EffectStore { return memstore.New() })
}

func TestProvisioningStore(t *testing.T) {
	storetest.TestProvisioningStore(t, func(t *testing.T) licensing.ProvisioningStore { return memstore.New() })
}
