package storageaccount

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/go-cmp/cmp"
)

// testKey is a made-up account key (valid base64) that must never appear in
// any output.
const testKey = "c2VjcmV0LWtleS1kby1ub3QtcHJpbnQtdGhpcy12YWx1ZS0wMTIzNDU2Nzg5YWJjZGVm"

// view is what the tests compare: the exported fields and the credential kind.
type view struct {
	Name, Blob, Queue, Table, Auth string
	HasKey, HasSAS, HasCred        bool
}

func viewOf(a Account) view {
	return view{a.Name, a.BlobEndpoint, a.QueueEndpoint, a.TableEndpoint, a.auth, a.key != "", a.sas != "", a.cred != nil}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		conn string
		want view
	}{
		{
			name: "development storage",
			conn: "UseDevelopmentStorage=true",
			want: view{Name: "devstoreaccount1", Blob: "http://127.0.0.1:10000/devstoreaccount1", Queue: "http://127.0.0.1:10001/devstoreaccount1", Table: "http://127.0.0.1:10002/devstoreaccount1", Auth: authDevelopment, HasKey: true},
		},
		{
			name: "development storage, any case, proxy ignored, trailing semicolon",
			conn: " usedevelopmentstorage=TRUE;DevelopmentStorageProxyUri=http://ipv4.fiddler; ",
			want: view{Name: "devstoreaccount1", Blob: "http://127.0.0.1:10000/devstoreaccount1", Queue: "http://127.0.0.1:10001/devstoreaccount1", Table: "http://127.0.0.1:10002/devstoreaccount1", Auth: authDevelopment, HasKey: true},
		},
		{
			name: "account key with defaults",
			conn: "AccountName=myacct;AccountKey=" + testKey,
			want: view{Name: "myacct", Blob: "https://myacct.blob.core.windows.net", Queue: "https://myacct.queue.core.windows.net", Table: "https://myacct.table.core.windows.net", Auth: authSharedKey, HasKey: true},
		},
		{
			name: "portal form",
			conn: "DefaultEndpointsProtocol=https;AccountName=myacct;AccountKey=" + testKey + ";EndpointSuffix=core.usgovcloudapi.net",
			want: view{Name: "myacct", Blob: "https://myacct.blob.core.usgovcloudapi.net", Queue: "https://myacct.queue.core.usgovcloudapi.net", Table: "https://myacct.table.core.usgovcloudapi.net", Auth: authSharedKey, HasKey: true},
		},
		{
			name: "http protocol",
			conn: "DefaultEndpointsProtocol=http;AccountName=myacct;AccountKey=" + testKey,
			want: view{Name: "myacct", Blob: "http://myacct.blob.core.windows.net", Queue: "http://myacct.queue.core.windows.net", Table: "http://myacct.table.core.windows.net", Auth: authSharedKey, HasKey: true},
		},
		{
			name: "explicit Azurite endpoints with the development key",
			conn: "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + devAccountKey + ";BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1/;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;",
			want: view{Name: "devstoreaccount1", Blob: "http://127.0.0.1:10000/devstoreaccount1", Queue: "http://127.0.0.1:10001/devstoreaccount1", Table: "http://127.0.0.1:10002/devstoreaccount1", Auth: authSharedKey, HasKey: true},
		},
		{
			name: "one explicit endpoint, the others derived",
			conn: "AccountName=myacct;AccountKey=" + testKey + ";BlobEndpoint=https://cdn.example.org",
			want: view{Name: "myacct", Blob: "https://cdn.example.org", Queue: "https://myacct.queue.core.windows.net", Table: "https://myacct.table.core.windows.net", Auth: authSharedKey, HasKey: true},
		},
		{
			name: "shared access signature with endpoints and no name",
			conn: "BlobEndpoint=https://myacct.blob.core.windows.net/;TableEndpoint=https://myacct.table.core.windows.net;SharedAccessSignature=?sv=2022-11-02&ss=bqt&sig=abc%3D",
			want: view{Blob: "https://myacct.blob.core.windows.net", Table: "https://myacct.table.core.windows.net", Auth: authSAS, HasSAS: true},
		},
		{
			name: "file endpoint ignored",
			conn: "AccountName=myacct;AccountKey=" + testKey + ";FileEndpoint=https://myacct.file.core.windows.net",
			want: view{Name: "myacct", Blob: "https://myacct.blob.core.windows.net", Queue: "https://myacct.queue.core.windows.net", Table: "https://myacct.table.core.windows.net", Auth: authSharedKey, HasKey: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse(tt.conn)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, viewOf(a)); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		conn string
		want string // a part of the error message
	}{
		{"empty", "  ", "empty"},
		{"part without equals", "AccountName=myacct;" + testKey, "part 2 of the storage connection string is not key=value"},
		{"unknown key", "AccountName=myacct;AcountKey=" + testKey, "unknown key in part 2"},
		{"duplicate key", "AccountName=a1b2c;AccountName=a1b2c;AccountKey=" + testKey, "AccountName twice"},
		{"development storage false", "UseDevelopmentStorage=false", "must be true"},
		{"development storage with other keys", "UseDevelopmentStorage=true;AccountName=myacct", "cannot be combined"},
		{"bad account name", "AccountName=My_Account;AccountKey=" + testKey, "not a storage account name"},
		{"key not base64", "AccountName=myacct;AccountKey=not*base64*" + testKey, "AccountKey in the storage connection string is not valid base64"},
		{"empty key", "AccountName=myacct;AccountKey=", "AccountKey in the storage connection string is empty"},
		{"key without name", "AccountKey=" + testKey, "AccountKey without AccountName"},
		{"no credential", "AccountName=myacct", "neither AccountKey nor SharedAccessSignature"},
		{"key and SAS", "AccountName=myacct;AccountKey=" + testKey + ";SharedAccessSignature=sv=1&sig=2", "both AccountKey and SharedAccessSignature"},
		{"bad protocol", "DefaultEndpointsProtocol=ftp;AccountName=myacct;AccountKey=" + testKey, "must be https or http"},
		{"bad suffix", "AccountName=myacct;AccountKey=" + testKey + ";EndpointSuffix=evil.example/x", "EndpointSuffix"},
		{"relative endpoint", "AccountName=myacct;AccountKey=" + testKey + ";BlobEndpoint=myacct.blob.core.windows.net", "BlobEndpoint in the storage connection string must be an http or https URL"},
		{"endpoint with query", "SharedAccessSignature=sv=1&sig=2;TableEndpoint=https://x.table.core.windows.net/?sig=3", "TableEndpoint in the storage connection string must not carry a query"},
		{"SAS without anywhere to go", "SharedAccessSignature=sv=1&sig=2", "needs AccountName, or BlobEndpoint"},
		{"bad SAS", "AccountName=myacct;SharedAccessSignature=sig=%zz", "not a URL query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse(tt.conn)
			if err == nil {
				t.Fatalf("Parse = %v, want an error containing %q", a, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %q, want it to contain %q", err, tt.want)
			}
			for _, secret := range []string{testKey, "sig=2", "sig=3", "%zz"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("Parse error %q leaks %q", err, secret)
				}
			}
		})
	}
}

// fakeCredential is a token credential that is never asked for a token in
// these tests.
type fakeCredential struct{}

func (fakeCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{}, fmt.Errorf("no tokens here")
}

func TestFromIdentity(t *testing.T) {
	tests := []struct {
		name              string
		account, clientID string
		want              view
		wantRedacted      string
	}{
		{
			name:         "system-assigned",
			account:      "prodlicenses",
			want:         view{Name: "prodlicenses", Blob: "https://prodlicenses.blob.core.windows.net", Queue: "https://prodlicenses.queue.core.windows.net", Table: "https://prodlicenses.table.core.windows.net", Auth: authIdentity, HasCred: true},
			wantRedacted: "storage account prodlicenses with managed identity: blob https://prodlicenses.blob.core.windows.net, queue https://prodlicenses.queue.core.windows.net, table https://prodlicenses.table.core.windows.net",
		},
		{
			name:         "user-assigned",
			account:      " prodlicenses ",
			clientID:     "0b5c9f0e-1d7a-4a51-9c4e-8a2a3e0c6f11",
			want:         view{Name: "prodlicenses", Blob: "https://prodlicenses.blob.core.windows.net", Queue: "https://prodlicenses.queue.core.windows.net", Table: "https://prodlicenses.table.core.windows.net", Auth: authIdentity, HasCred: true},
			wantRedacted: "storage account prodlicenses with managed identity (client id 0b5c9f0e-1d7a-4a51-9c4e-8a2a3e0c6f11): blob https://prodlicenses.blob.core.windows.net, queue https://prodlicenses.queue.core.windows.net, table https://prodlicenses.table.core.windows.net",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := FromIdentity(tt.account, tt.clientID, fakeCredential{})
			if diff := cmp.Diff(tt.want, viewOf(a)); diff != "" {
				t.Errorf("FromIdentity (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRedacted, a.Redacted()); diff != "" {
				t.Errorf("Redacted (-want +got):\n%s", diff)
			}
			if _, err := a.TableService(); err != nil {
				t.Errorf("TableService: %v", err)
			}
			if _, err := a.BlobService(); err != nil {
				t.Errorf("BlobService: %v", err)
			}
			if _, err := a.QueueService(); err != nil {
				t.Errorf("QueueService: %v", err)
			}
		})
	}
}

func TestManagedIdentity(t *testing.T) {
	for _, id := range []string{"", "0b5c9f0e-1d7a-4a51-9c4e-8a2a3e0c6f11"} {
		t.Run("client id "+id, func(t *testing.T) {
			cred, err := ManagedIdentity(id)
			if err != nil || cred == nil {
				t.Fatalf("ManagedIdentity(%q) = %v, %v; want a credential", id, cred, err)
			}
		})
	}
}

func TestRedactedNeverShowsSecrets(t *testing.T) {
	tests := []struct {
		name    string
		conn    string
		secrets []string
		want    string
	}{
		{
			name:    "account key",
			conn:    "AccountName=myacct;AccountKey=" + testKey,
			secrets: []string{testKey},
			want:    "storage account myacct with shared key: blob https://myacct.blob.core.windows.net, queue https://myacct.queue.core.windows.net, table https://myacct.table.core.windows.net",
		},
		{
			name:    "shared access signature",
			conn:    "BlobEndpoint=https://myacct.blob.core.windows.net;SharedAccessSignature=sv=2022-11-02&sig=SECRETSIG",
			secrets: []string{"SECRETSIG"},
			want:    "storage account (unnamed) with shared access signature: blob https://myacct.blob.core.windows.net, queue (none), table (none)",
		},
		{
			name:    "development",
			conn:    "UseDevelopmentStorage=true",
			secrets: []string{devAccountKey},
			want:    "storage account devstoreaccount1 with development storage: blob http://127.0.0.1:10000/devstoreaccount1, queue http://127.0.0.1:10001/devstoreaccount1, table http://127.0.0.1:10002/devstoreaccount1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse(tt.conn)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, a.Redacted()); diff != "" {
				t.Errorf("Redacted (-want +got):\n%s", diff)
			}
			for _, printed := range []string{a.Redacted(), fmt.Sprint(a), fmt.Sprintf("%v %+v %#v %s", a, a, a, &a)} {
				for _, s := range tt.secrets {
					if strings.Contains(printed, s) {
						t.Errorf("printed account %q shows a secret", printed)
					}
				}
			}
		})
	}
}

func TestServiceWithoutEndpoint(t *testing.T) {
	a, err := Parse("BlobEndpoint=https://myacct.blob.core.windows.net;SharedAccessSignature=sv=1&sig=2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.BlobService(); err != nil {
		t.Errorf("BlobService: %v", err)
	}
	_, err = a.TableService()
	if err == nil || !strings.Contains(err.Error(), "TableEndpoint") {
		t.Errorf("TableService error = %v, want one naming TableEndpoint", err)
	}
	_, err = a.QueueService()
	if err == nil || !strings.Contains(err.Error(), "QueueEndpoint") {
		t.Errorf("QueueService error = %v, want one naming QueueEndpoint", err)
	}
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{{"prodlicenses", true}, {"ab", false}, {"Prod", false}, {"a-b-c", false}, {strings.Repeat("a", 25), false}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidateName(tt.name) == nil; got != tt.ok {
				t.Errorf("ValidateName(%q) ok = %v, want %v", tt.name, got, tt.ok)
			}
		})
	}
}
