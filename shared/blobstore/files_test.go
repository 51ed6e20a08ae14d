package blobstore

import (
	"testing"

	"github.com/shared-tenant/licensetrack/shared/devkit/storetest"
)

func TestFileSweeperConformance(t *testing.T) {
	storetest.TestFileSweeper(t, func(t *testing.T) storetest.Files { return newStore(t) })
}
