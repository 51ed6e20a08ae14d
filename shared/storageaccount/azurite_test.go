package storageaccount_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/shared-tenant/licensetrack/shared/devkit/azuritetest"
	"github.com/shared-tenant/licensetrack/shared/storageaccount"
)

// devKey is Azurite's published development key.
const devKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// TestFormsReachAzurite checks that each connection string form gives
// clients that work against Azurite.
func TestFormsReachAzurite(t *testing.T) {
	dev := azuritetest.Account(t)
	ctx := context.Background()
	name := azuritetest.Name(t, "forms")

	// Shared access signatures made with the development key, allowing
	// http as Azurite speaks it.
	key, err := aztables.NewSharedKeyCredential(storageaccount.DevAccountName, devKey)
	if err != nil {
		t.Fatal(err)
	}
	tableQP, err := aztables.AccountSASSignatureValues{
		Protocol:      aztables.SASProtocolHTTPSandHTTP,
		Permissions:   aztables.AccountSASPermissions{Read: true, Write: true, Add: true, Create: true, List: true, Delete: true, Update: true}.String(),
		Services:      "t",
		ResourceTypes: aztables.AccountSASResourceTypes{Service: true, Container: true, Object: true}.String(),
		StartTime:     time.Now().Add(-time.Minute).UTC(),
		ExpiryTime:    time.Now().Add(time.Hour).UTC(),
	}.Sign(key)
	if err != nil {
		t.Fatal(err)
	}
	tableSAS := "http://x/?" + tableQP.Encode()
	bsvc, err := dev.BlobService()
	if err != nil {
		t.Fatal(err)
	}
	blobSAS, err := bsvc.ServiceClient().GetSASURL(sas.AccountResourceTypes{Service: true, Container: true, Object: true},
		sas.AccountPermissions{Read: true, Write: true, Create: true, List: true, Delete: true}, time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	query := func(u string) string {
		p, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		return p.RawQuery
	}

	tests := []struct {
		name string
		conn string
	}{
		{"development shorthand", "UseDevelopmentStorage=true"},
		{"explicit endpoints with key", "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + devKey +
			";BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"},
		{"table SAS", "TableEndpoint=" + storageaccount.DevTableEndpoint + ";SharedAccessSignature=" + query(tableSAS)},
		{"blob SAS", "BlobEndpoint=" + storageaccount.DevBlobEndpoint + ";SharedAccessSignature=?" + query(blobSAS)},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := storageaccount.Parse(tt.conn)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			suffix := string(rune('a' + i))
			worked := 0
			if a.TableEndpoint != "" {
				svc, err := a.TableService()
				if err != nil {
					t.Fatal(err)
				}
				if _, err := svc.CreateTable(ctx, name+suffix, nil); err != nil {
					t.Errorf("CreateTable: %v", err)
				}
				worked++
			}
			if a.BlobEndpoint != "" {
				c, err := a.BlobService()
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.CreateContainer(ctx, name+suffix, nil); err != nil {
					t.Errorf("CreateContainer: %v", err)
				}
				worked++
			}
			if a.QueueEndpoint != "" {
				c, err := a.QueueService()
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.CreateQueue(ctx, name+suffix, nil); err != nil {
					t.Errorf("CreateQueue: %v", err)
				}
				worked++
			}
			if worked == 0 {
				t.Errorf("no service to try")
			}
		})
	}
}
