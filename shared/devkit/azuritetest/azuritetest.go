// Package azuritetest connects tests to a local Azurite, the Azure Storage
// emulator, and gives each test names of its own so that tests are isolated
// and may run in parallel.
//
// When Azurite does not answer, Account skips the test with a message saying
// how to start it, except under CI (CI=true) or with AZURITE_REQUIRED=1, when
// it fails the test instead: storage tests must never quietly stop running
// where they are expected to run.
package azuritetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/shared-tenant/licensetrack/shared/storageaccount"
)

// Addresses where Azurite listens: blob, queue, table.
var addrs = []string{"127.0.0.1:10000", "127.0.0.1:10001", "127.0.0.1:10002"}

const dialTimeout = time.Second

// Required reports whether the environment demands Azurite (CI=true or
// AZURITE_REQUIRED=1), turning a skip into a failure.
func Required() bool {
	return os.Getenv("CI") == "true" || os.Getenv("AZURITE_REQUIRED") == "1"
}

// Account returns Azurite's development account after checking that its
// blob, queue and table ports answer. When one does not, the test is skipped,
// or failed when Required.
func Account(t testing.TB) storageaccount.Account {
	t.Helper()
	for _, addr := range addrs {
		c, err := net.DialTimeout("tcp", addr, dialTimeout)
		if err != nil {
			msg := "Azurite is not answering on " + addr + " (" + err.Error() + "); start it with `make azurite` or `scripts/azurite.sh start`"
			if Required() {
				t.Fatal(msg + " (required here: CI=true or AZURITE_REQUIRED=1)")
			}
			t.Skip(msg)
		}
		c.Close()
	}
	return storageaccount.Development()
}

// TableService returns a client for Azurite's table service (see Account).
func TableService(t testing.TB) *aztables.ServiceClient {
	t.Helper()
	svc, err := Account(t).TableService()
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// BlobService returns a client for Azurite's blob service (see Account).
func BlobService(t testing.TB) *azblob.Client {
	t.Helper()
	c, err := Account(t).BlobService()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// QueueService returns a client for Azurite's queue service (see Account).
func QueueService(t testing.TB) *azqueue.ServiceClient {
	t.Helper()
	c, err := Account(t).QueueService()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Name returns a name unique to this test run, starting with prefix
// (lower-cased, keeping only letters and digits, at most 16 characters),
// followed by 12 random hex digits: lower-case letters and digits starting
// with a letter, at most 29 characters. It is valid as a table, container
// and queue name and leaves room for suffixes (a table prefix plus
// "Agencies", a queue plus "-poison").
//
// When the test ends, every table, container and queue in Azurite whose name
// starts with the returned name is deleted (problems are logged, not failed).
// Name needs Azurite and skips or fails like Account.
func Name(t testing.TB, prefix string) string {
	t.Helper()
	acct := Account(t)
	var b strings.Builder
	for _, r := range strings.ToLower(prefix) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9' && b.Len() > 0) {
			b.WriteRune(r)
		}
		if b.Len() == 16 {
			break
		}
	}
	if b.Len() == 0 {
		b.WriteString("t")
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	name := b.String() + hex.EncodeToString(rnd[:])
	t.Cleanup(func() { cleanup(t, acct, name) })
	return name
}

// cleanup deletes what a test created under name.
func cleanup(t testing.TB, acct storageaccount.Account, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if svc, err := acct.TableService(); err == nil {
		// Table names compare without case in the service but list as
		// created; the filter is a range on the name as created.
		filter := "TableName ge '" + name + "' and TableName lt '" + name + "~'"
		pager := svc.NewListTablesPager(&aztables.ListTablesOptions{Filter: &filter})
		var names []string
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Logf("azuritetest: listing tables to delete: %v", err)
				break
			}
			for _, tb := range page.Tables {
				if tb.Name != nil && strings.HasPrefix(strings.ToLower(*tb.Name), name) {
					names = append(names, *tb.Name)
				}
			}
		}
		for _, n := range names {
			if _, err := svc.DeleteTable(ctx, n, nil); err != nil {
				t.Logf("azuritetest: deleting table %s: %v", n, err)
			}
		}
	}
	if c, err := acct.BlobService(); err == nil {
		pager := c.NewListContainersPager(&azblob.ListContainersOptions{Prefix: &name})
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Logf("azuritetest: listing containers to delete: %v", err)
				break
			}
			for _, ci := range page.ContainerItems {
				if _, err := c.DeleteContainer(ctx, *ci.Name, nil); err != nil {
					t.Logf("azuritetest: deleting container %s: %v", *ci.Name, err)
				}
			}
		}
	}
	if c, err := acct.QueueService(); err == nil {
		pager := c.NewListQueuesPager(&azqueue.ListQueuesOptions{Prefix: &name})
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Logf("azuritetest: listing queues to delete: %v", err)
				break
			}
			for _, q := range page.Queues {
				if _, err := c.DeleteQueue(ctx, *q.Name, nil); err != nil {
					t.Logf("azuritetest: deleting queue %s: %v", *q.Name, err)
				}
			}
		}
	}
}
