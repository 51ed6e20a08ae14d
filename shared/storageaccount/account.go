// Package storageaccount turns the app's storage settings into Azure Storage
// SDK clients for Table, Blob and Queue storage.
//
// Two forms of setting are understood, the same the Functions host reads:
// a connection string in AzureWebJobsStorage (Parse), including the shorthand
// UseDevelopmentStorage=true that the Go SDKs reject and that this package
// expands to Azurite's well-known account; and the identity-based
// AzureWebJobsStorage__accountName with an optional __clientId
// (FromIdentity), where the clients authenticate with a managed identity.
//
// Nothing in this package prints an account key or a shared access
// signature: errors name the part of the setting that is wrong, and
// Redacted describes an Account for the logs.
package storageaccount

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
)

// Azurite's well-known development account, published in its README.
const (
	DevAccountName = "devstoreaccount1"
	devAccountKey  = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	// DevBlobEndpoint, DevQueueEndpoint and DevTableEndpoint are where
	// Azurite answers by default.
	DevBlobEndpoint  = "http://127.0.0.1:10000/" + DevAccountName
	DevQueueEndpoint = "http://127.0.0.1:10001/" + DevAccountName
	DevTableEndpoint = "http://127.0.0.1:10002/" + DevAccountName
)

const defaultEndpointSuffix = "core.windows.net"

// Credential kinds, as Redacted reports them.
const (
	authSharedKey   = "shared key"
	authSAS         = "shared access signature"
	authIdentity    = "managed identity"
	authDevelopment = "development storage"
)

// Account is a storage account and how to reach it: the service endpoints
// and one credential (an account key, a shared access signature or a token
// credential). Its String and GoString methods redact the secrets, so an
// Account printed by mistake leaks nothing.
type Account struct {
	// Name is the account name; empty only for a connection string that
	// gives explicit endpoints and a shared access signature.
	Name string
	// BlobEndpoint, QueueEndpoint and TableEndpoint are the service URLs,
	// without a trailing slash and without any query. An empty one means
	// the setting did not say where that service is.
	BlobEndpoint  string
	QueueEndpoint string
	TableEndpoint string

	auth     string
	key      string // base64 account key
	sas      string // shared access signature, without the leading '?'
	clientID string
	cred     azcore.TokenCredential
	timeouts Timeouts
}

// Development returns Azurite's development account at its default
// endpoints: what UseDevelopmentStorage=true stands for.
func Development() Account {
	return Account{
		Name:          DevAccountName,
		BlobEndpoint:  DevBlobEndpoint,
		QueueEndpoint: DevQueueEndpoint,
		TableEndpoint: DevTableEndpoint,
		auth:          authDevelopment,
		key:           devAccountKey,
	}
}

// accountNamePattern is Azure's rule for storage account names.
var accountNamePattern = regexp.MustCompile(`^[a-z0-9]{3,24}$`)

// connection string keys, lower-cased (keys are matched without case).
const (
	kUseDev    = "usedevelopmentstorage"
	kDevProxy  = "developmentstorageproxyuri"
	kDevProxy2 = "developmentproxyuri"
	kProtocol  = "defaultendpointsprotocol"
	kName      = "accountname"
	kKey       = "accountkey"
	kSuffix    = "endpointsuffix"
	kSAS       = "sharedaccesssignature"
	kBlob      = "blobendpoint"
	kQueue     = "queueendpoint"
	kTable     = "tableendpoint"
	kFile      = "fileendpoint"
)

// keyNames gives the spelling used in messages.
var keyNames = map[string]string{
	kUseDev: "UseDevelopmentStorage", kDevProxy: "DevelopmentStorageProxyUri", kDevProxy2: "DevelopmentProxyUri",
	kProtocol: "DefaultEndpointsProtocol", kName: "AccountName", kKey: "AccountKey", kSuffix: "EndpointSuffix",
	kSAS: "SharedAccessSignature", kBlob: "BlobEndpoint", kQueue: "QueueEndpoint", kTable: "TableEndpoint",
	kFile: "FileEndpoint",
}

// Parse reads a storage connection string: either UseDevelopmentStorage=true,
// or key=value pairs separated by semicolons among AccountName, AccountKey,
// DefaultEndpointsProtocol (https by default), EndpointSuffix
// (core.windows.net by default), BlobEndpoint, QueueEndpoint, TableEndpoint
// and SharedAccessSignature. Keys are matched without case; FileEndpoint and
// DevelopmentStorageProxyUri are accepted and ignored. The error says what is
// wrong without repeating any secret.
func Parse(conn string) (Account, error) {
	conn = strings.TrimSpace(conn)
	if conn == "" {
		return Account{}, errors.New("the storage connection string is empty")
	}
	kv := map[string]string{}
	for i, part := range strings.Split(conn, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		// The part is not echoed: it may be a piece of a key.
		if !ok {
			return Account{}, fmt.Errorf("part %d of the storage connection string is not key=value", i+1)
		}
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.TrimSpace(v)
		name, known := keyNames[k]
		if !known {
			return Account{}, fmt.Errorf("the storage connection string has an unknown key in part %d; known keys are AccountName, AccountKey, DefaultEndpointsProtocol, EndpointSuffix, BlobEndpoint, QueueEndpoint, TableEndpoint, SharedAccessSignature and UseDevelopmentStorage", i+1)
		}
		if _, dup := kv[k]; dup {
			return Account{}, fmt.Errorf("the storage connection string gives %s twice", name)
		}
		kv[k] = v
	}
	delete(kv, kDevProxy)
	delete(kv, kDevProxy2)
	delete(kv, kFile)

	if v, ok := kv[kUseDev]; ok {
		if !strings.EqualFold(v, "true") {
			return Account{}, errors.New("UseDevelopmentStorage in the storage connection string must be true when given")
		}
		if len(kv) > 1 {
			return Account{}, errors.New("UseDevelopmentStorage=true cannot be combined with other keys in the storage connection string")
		}
		return Development(), nil
	}

	a := Account{Name: kv[kName]}
	if a.Name != "" && !accountNamePattern.MatchString(a.Name) {
		return Account{}, fmt.Errorf("AccountName %q in the storage connection string is not a storage account name (3 to 24 lower-case letters and digits)", a.Name)
	}
	key, hasKey := kv[kKey]
	sas, hasSAS := kv[kSAS]
	switch {
	case hasKey && hasSAS:
		return Account{}, errors.New("the storage connection string gives both AccountKey and SharedAccessSignature; give one")
	case hasKey:
		if key == "" {
			return Account{}, errors.New("AccountKey in the storage connection string is empty")
		}
		if _, err := base64.StdEncoding.DecodeString(key); err != nil {
			return Account{}, errors.New("AccountKey in the storage connection string is not valid base64 (copy it again from the portal's Access keys)")
		}
		if a.Name == "" {
			return Account{}, errors.New("the storage connection string gives AccountKey without AccountName")
		}
		a.auth, a.key = authSharedKey, key
	case hasSAS:
		sas = strings.TrimPrefix(sas, "?")
		if sas == "" {
			return Account{}, errors.New("SharedAccessSignature in the storage connection string is empty")
		}
		if _, err := url.ParseQuery(sas); err != nil {
			return Account{}, errors.New("SharedAccessSignature in the storage connection string is not a URL query (sv=...&sig=...)")
		}
		a.auth, a.sas = authSAS, sas
	default:
		return Account{}, errors.New("the storage connection string has neither AccountKey nor SharedAccessSignature (or use UseDevelopmentStorage=true for Azurite)")
	}

	protocol := "https"
	if p, ok := kv[kProtocol]; ok {
		protocol = strings.ToLower(p)
		if protocol != "https" && protocol != "http" {
			return Account{}, fmt.Errorf("DefaultEndpointsProtocol in the storage connection string must be https or http, not %q", p)
		}
	}
	suffix := defaultEndpointSuffix
	if s, ok := kv[kSuffix]; ok {
		suffix = strings.Trim(s, ".")
		if suffix == "" || strings.ContainsAny(suffix, "/:?#@ ") {
			return Account{}, fmt.Errorf("EndpointSuffix %q in the storage connection string is not a domain like core.windows.net", s)
		}
	}
	for _, e := range []struct {
		key, service string
		dst          *string
	}{{kBlob, "blob", &a.BlobEndpoint}, {kQueue, "queue", &a.QueueEndpoint}, {kTable, "table", &a.TableEndpoint}} {
		if v, ok := kv[e.key]; ok {
			u, err := endpointURL(v)
			if err != nil {
				return Account{}, fmt.Errorf("%s in the storage connection string %v", keyNames[e.key], err)
			}
			*e.dst = u
			continue
		}
		if a.Name != "" {
			*e.dst = fmt.Sprintf("%s://%s.%s.%s", protocol, a.Name, e.service, suffix)
		}
	}
	if a.BlobEndpoint == "" && a.QueueEndpoint == "" && a.TableEndpoint == "" {
		return Account{}, errors.New("the storage connection string needs AccountName, or BlobEndpoint, QueueEndpoint and TableEndpoint")
	}
	return a, nil
}

// endpointURL checks an explicit endpoint and returns it without a trailing
// slash.
func endpointURL(v string) (string, error) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("must be an http or https URL such as https://myaccount.blob.core.windows.net")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", errors.New("must not carry a query, fragment or user; give a shared access signature in SharedAccessSignature")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// FromIdentity returns the account named accountName reached with the token
// credential cred, as the identity-based setting
// AzureWebJobsStorage__accountName describes it: the service URLs are
// https://{accountName}.{blob|queue|table}.core.windows.net. clientID is the
// user-assigned identity's client id from AzureWebJobsStorage__clientId, or
// empty for the system-assigned identity; it is only reported by Redacted
// (the caller builds cred with it, see ManagedIdentity).
func FromIdentity(accountName, clientID string, cred azcore.TokenCredential) Account {
	accountName = strings.TrimSpace(accountName)
	return Account{
		Name:          accountName,
		BlobEndpoint:  "https://" + accountName + ".blob." + defaultEndpointSuffix,
		QueueEndpoint: "https://" + accountName + ".queue." + defaultEndpointSuffix,
		TableEndpoint: "https://" + accountName + ".table." + defaultEndpointSuffix,
		auth:          authIdentity,
		clientID:      strings.TrimSpace(clientID),
		cred:          cred,
	}
}

// ValidateName reports whether name is a storage account name, with an error
// that says what a name looks like. FromIdentity does not check; the
// configuration calls this first.
func ValidateName(name string) error {
	if !accountNamePattern.MatchString(name) {
		return fmt.Errorf("storage account name %q must be 3 to 24 lower-case letters and digits", name)
	}
	return nil
}

// ManagedIdentity returns the managed identity credential of the app: the
// user-assigned identity with clientID, or the system-assigned identity when
// clientID is empty.
func ManagedIdentity(clientID string) (azcore.TokenCredential, error) {
	opts := &azidentity.ManagedIdentityCredentialOptions{}
	if id := strings.TrimSpace(clientID); id != "" {
		opts.ID = azidentity.ClientID(id)
	}
	cred, err := azidentity.NewManagedIdentityCredential(opts)
	if err != nil {
		return nil, fmt.Errorf("managed identity credential: %w", err)
	}
	return cred, nil
}

// Redacted describes the account for logs: name, kind of credential,
// user-assigned identity and endpoints, never a key or a signature.
func (a Account) Redacted() string {
	var b strings.Builder
	b.WriteString("storage account ")
	if a.Name != "" {
		b.WriteString(a.Name)
	} else {
		b.WriteString("(unnamed)")
	}
	b.WriteString(" with ")
	if a.auth == "" {
		b.WriteString("no credential")
	} else {
		b.WriteString(a.auth)
	}
	if a.clientID != "" {
		b.WriteString(" (client id " + a.clientID + ")")
	}
	fmt.Fprintf(&b, ": blob %s, queue %s, table %s", orNone(a.BlobEndpoint), orNone(a.QueueEndpoint), orNone(a.TableEndpoint))
	return b.String()
}

// String returns Redacted, so that printing an Account never shows a secret.
func (a Account) String() string { return a.Redacted() }

// GoString returns Redacted, for %#v.
func (a Account) GoString() string { return a.Redacted() }

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// withSAS appends the account's shared access signature to endpoint.
func (a Account) withSAS(endpoint string) string {
	return endpoint + "/?" + a.sas
}

func (a Account) endpoint(service, value string) (string, error) {
	if value == "" {
		return "", fmt.Errorf("the storage setting does not say where the %s service is: give AccountName or %sEndpoint", service, strings.ToUpper(service[:1])+service[1:])
	}
	return value, nil
}

// TableService returns a client for the account's Table service, whose
// calls are bounded by the account's Timeouts.
func (a Account) TableService() (*aztables.ServiceClient, error) {
	ep, err := a.endpoint("table", a.TableEndpoint)
	if err != nil {
		return nil, err
	}
	opts := &aztables.ClientOptions{ClientOptions: a.clientOptions()}
	switch {
	case a.cred != nil:
		return aztables.NewServiceClient(ep, a.cred, opts)
	case a.key != "":
		cred, err := aztables.NewSharedKeyCredential(a.Name, a.key)
		if err != nil {
			return nil, errors.New("the storage account key is not usable for the table service")
		}
		return aztables.NewServiceClientWithSharedKey(ep, cred, opts)
	case a.sas != "":
		return aztables.NewServiceClientWithNoCredential(a.withSAS(ep), opts)
	}
	return nil, errors.New("the storage account has no credential")
}

// BlobService returns a client for the account's Blob service, whose calls
// are bounded by the account's Timeouts.
func (a Account) BlobService() (*azblob.Client, error) {
	ep, err := a.endpoint("blob", a.BlobEndpoint)
	if err != nil {
		return nil, err
	}
	opts := &azblob.ClientOptions{ClientOptions: a.clientOptions()}
	switch {
	case a.cred != nil:
		return azblob.NewClient(ep, a.cred, opts)
	case a.key != "":
		cred, err := azblob.NewSharedKeyCredential(a.Name, a.key)
		if err != nil {
			return nil, errors.New("the storage account key is not usable for the blob service")
		}
		return azblob.NewClientWithSharedKeyCredential(ep, cred, opts)
	case a.sas != "":
		return azblob.NewClientWithNoCredential(a.withSAS(ep), opts)
	}
	return nil, errors.New("the storage account has no credential")
}

// QueueService returns a client for the account's Queue service, whose
// calls are bounded by the account's Timeouts.
func (a Account) QueueService() (*azqueue.ServiceClient, error) {
	ep, err := a.endpoint("queue", a.QueueEndpoint)
	if err != nil {
		return nil, err
	}
	opts := &azqueue.ClientOptions{ClientOptions: a.clientOptions()}
	switch {
	case a.cred != nil:
		return azqueue.NewServiceClient(ep, a.cred, opts)
	case a.key != "":
		cred, err := azqueue.NewSharedKeyCredential(a.Name, a.key)
		if err != nil {
			return nil, errors.New("the storage account key is not usable for the queue service")
		}
		return azqueue.NewServiceClientWithSharedKeyCredential(ep, cred, opts)
	case a.sas != "":
		return azqueue.NewServiceClientWithNoCredential(a.withSAS(ep), opts)
	}
	return nil, errors.New("the storage account has no credential")
}
