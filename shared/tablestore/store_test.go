package tablestore

import (
	"context"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/devkit/azuritetest"
	"github.com/shared-tenant/licensetrack/shared/devkit/storetest"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// newStore returns a Store on fresh tables in Azurite, deleted after the test.
func newStore(t *testing.T) *Store {
	t.Helper()
	svc := azuritetest.TableService(t)
	s := New(svc, Options{TablePrefix: azuritetest.Name(t, "ts")})
	if err := s.Init(context.Background()); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return s
}

func TestAgencyStoreConformance(t *testing.T) {
	storetest.TestAgencyStore(t, func(t *testing.T) licensing.AgencyStore { return newStore(t) })
}

func TestRunStoreConformance(t *testing.T) {
	storetest.TestRunStore(t, func(t *testing.T) licensing.RunStore { return newStore(t) })
}

func TestSnapshotStoreConformance(t *testing.T) {
	storetest.TestSnapshotStore(t, func(t *testing.T) licensing.SnapshotStore { return newStore(t) })
}

func TestRequestStoreConformance(t *testing.T) {
	storetest.TestRequestStore(t, func(t *testing.T) licensing.RequestStore { return newStore(t) })
}

func TestPurchaseStoreConformance(t *testing.T) {
	storetest.TestPurchaseStore(t, func(t *testing.T) licensing.PurchaseStore { return newStore(t) })
}

func TestDeliveriesConformance(t *testing.T) {
	storetest.TestDeliveries(t, func(t *testing.T) licensing.Deliveries { return newStore(t) })
}

func TestEffectStore(t *testing.T) {
	storetest.TestEffectStore(t, func(t *testing.T) licensing.EffectStore { return newStore(t) })
}

func TestProvisioningStoreConformance(t *testing.T) {
	storetest.TestProvisioningStore(t, func(t *testing.T) licensing.ProvisioningStore { return newStore(t) })
}
