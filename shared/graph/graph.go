// Package graph is the Microsoft Graph adapter: it implements
// licensing.Directory with msgraph-sdk-go and translates Graph's failures into
// the domain's error codes. It is the only package of the project that
// imports the Graph SDK (a cold build of it costs minutes and gigabytes).
//
// Requests go through the SDK's middleware pipeline with its retry handler
// configured to honour Retry-After within this adapter's bounded wait; what
// the SDK gives up on (and throttling without Retry-After) is retried here
// with exponential backoff, still within the bound, and then reported as
// licensing.Unavailable. Every HTTP request, retries included, is counted so
// that a run can report how many it made.
package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	absauth "github.com/microsoft/kiota-abstractions-go/authentication"
	kiotaazure "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Authentication modes of Config.Auth.
const (
	AuthManagedIdentity = "managed-identity"
	AuthClientSecret    = "client-secret"
	AuthNone            = "none"
)

// DefaultBaseURL is Graph v1.0 in the global cloud.
const DefaultBaseURL = "https://graph.microsoft.com/v1.0"

// Defaults of Config.
const (
	DefaultMaxRetryWait = 2 * time.Minute
	DefaultRetryDelay   = 2 * time.Second
	DefaultTimeout      = 100 * time.Second
)

// Config configures a Client.
type Config struct {
	// BaseURL is Graph's root, DefaultBaseURL when empty.
	BaseURL string
	// Auth is AuthManagedIdentity, AuthClientSecret or AuthNone. AuthNone
	// sends no token and is accepted only for a loopback BaseURL (the fake).
	Auth string
	// TenantID, ClientID and ClientSecret identify the app. ClientID selects
	// a user-assigned managed identity; empty means the system-assigned one.
	TenantID     string
	ClientID     string
	ClientSecret string
	// Credential, when set, is used instead of building one from Auth (for
	// an azidentity credential the caller built itself).
	Credential azcore.TokenCredential
	// HTTPClient provides the transport and timeout; a default client with
	// DefaultTimeout when nil.
	HTTPClient *http.Client
	// Timeout bounds one HTTP request to Graph, its body included; a request
	// that runs out fails like a network error (retried within MaxRetryWait,
	// then Unavailable). When zero: HTTPClient's Timeout if HTTPClient is
	// set, else DefaultTimeout.
	Timeout time.Duration
	// MaxRetryWait bounds how long one request may spend waiting for
	// throttling (429) or an unavailable service (503, 504, network) to pass,
	// over all its retries (DefaultMaxRetryWait when zero). A Retry-After
	// longer than what is left fails the request at once as Unavailable.
	MaxRetryWait time.Duration
	// RetryDelay is the first backoff for a failure without Retry-After; it
	// doubles on each retry, capped at a quarter of MaxRetryWait
	// (DefaultRetryDelay when zero).
	RetryDelay time.Duration
	// Logger receives retries and degradations; slog.Default() when nil.
	Logger *slog.Logger
}

// Client reads the tenant's directory through Microsoft Graph. It is safe for
// concurrent use.
type Client struct {
	cfg      Config
	base     string
	svc      *msgraphsdk.GraphServiceClient
	log      *slog.Logger
	requests atomic.Int64
}

var _ licensing.Directory = (*Client)(nil)

// New returns a Client for cfg. It fails when the configuration is unusable:
// an unknown Auth mode, AuthNone against a non-loopback URL, a malformed
// BaseURL, or missing identifiers for the chosen Auth.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.MaxRetryWait <= 0 {
		cfg.MaxRetryWait = DefaultMaxRetryWait
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = DefaultRetryDelay
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("graph: base URL %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	auth, err := authProvider(cfg, u)
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, base: cfg.BaseURL, log: cfg.Logger}
	adapter, err := msgraphsdk.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, nil, nil, c.httpClient())
	if err != nil {
		return nil, fmt.Errorf("graph: request adapter: %w", err)
	}
	adapter.SetBaseUrl(cfg.BaseURL)
	c.svc = msgraphsdk.NewGraphServiceClient(adapter)
	return c, nil
}

// authProvider builds the SDK's authentication provider for cfg.
func authProvider(cfg Config, base *url.URL) (absauth.AuthenticationProvider, error) {
	cred := cfg.Credential
	switch cfg.Auth {
	case AuthNone:
		if !isLoopback(base.Hostname()) {
			return nil, fmt.Errorf("graph: GRAPH_AUTH=none sends no token and is only for a local fake Graph on a loopback address, not %s; use managed-identity or client-secret", base.Host)
		}
		return &absauth.AnonymousAuthenticationProvider{}, nil
	case AuthManagedIdentity:
		if cred == nil {
			var opts azidentity.ManagedIdentityCredentialOptions
			if cfg.ClientID != "" {
				opts.ID = azidentity.ClientID(cfg.ClientID)
			}
			mi, err := azidentity.NewManagedIdentityCredential(&opts)
			if err != nil {
				return nil, fmt.Errorf("graph: managed identity credential: %w", err)
			}
			cred = mi
		}
	case AuthClientSecret:
		if cred == nil {
			var missing []string
			for _, f := range []struct{ name, v string }{{"AZURE_TENANT_ID", cfg.TenantID}, {"AZURE_CLIENT_ID", cfg.ClientID}, {"AZURE_CLIENT_SECRET", cfg.ClientSecret}} {
				if f.v == "" {
					missing = append(missing, f.name)
				}
			}
			if len(missing) > 0 {
				return nil, fmt.Errorf("graph: client-secret authentication needs %s", strings.Join(missing, ", "))
			}
			cs, err := azidentity.NewClientSecretCredential(cfg.TenantID, cfg.ClientID, cfg.ClientSecret, nil)
			if err != nil {
				return nil, fmt.Errorf("graph: client secret credential: %w", err)
			}
			cred = cs
		}
	default:
		return nil, fmt.Errorf("graph: authentication %q is not one of %s, %s, %s", cfg.Auth, AuthManagedIdentity, AuthClientSecret, AuthNone)
	}
	// The scope follows the host, so that national clouds
	// (graph.microsoft.us, ...) get a token for themselves.
	scope := "https://" + base.Hostname() + "/.default"
	p, err := kiotaazure.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cred, []string{scope}, []string{base.Hostname()})
	if err != nil {
		return nil, fmt.Errorf("graph: authentication provider: %w", err)
	}
	return p, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// httpClient builds the SDK's HTTP client: Graph's default middleware with
// the retry handler bounded by this client's retry budget, over a transport
// that counts requests.
func (c *Client) httpClient() *http.Client {
	parent, timeout := c.transport()
	opts := msgraphsdk.GetDefaultClientOptions()
	mws := msgraphcore.GetDefaultMiddlewaresWithOptions(&opts)
	for i, m := range mws {
		switch m.(type) {
		case *khttp.RetryHandler, khttp.RetryHandler:
			mws[i] = khttp.NewRetryHandlerWithOptions(khttp.RetryHandlerOptions{
				MaxRetries:  3,
				ShouldRetry: sdkShouldRetry,
			})
		}
	}
	return &http.Client{
		Transport: khttp.NewCustomTransportWithParentTransport(&countingTransport{next: parent, total: &c.requests}, mws...),
		Timeout:   timeout,
	}
}

// transport returns the transport requests go out on and the timeout of one
// request.
func (c *Client) transport() (http.RoundTripper, time.Duration) {
	parent := http.DefaultTransport
	timeout := DefaultTimeout
	if c.cfg.HTTPClient != nil {
		if c.cfg.HTTPClient.Transport != nil {
			parent = c.cfg.HTTPClient.Transport
		}
		timeout = c.cfg.HTTPClient.Timeout
	}
	if c.cfg.Timeout > 0 {
		timeout = c.cfg.Timeout
	}
	return parent, timeout
}

// Requests returns how many HTTP requests the client has made so far,
// retries included.
func (c *Client) Requests() int { return int(c.requests.Load()) }

// countingTransport counts every request that reaches the network: the
// client's total, and the operation's own count when the context carries one.
type countingTransport struct {
	next  http.RoundTripper
	total *atomic.Int64
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.total.Add(1)
	if n, ok := req.Context().Value(opCounterKey{}).(*atomic.Int64); ok {
		n.Add(1)
	}
	return t.next.RoundTrip(req)
}

type opCounterKey struct{}

// withCounter returns a context whose requests are counted in n.
func withCounter(ctx context.Context, n *atomic.Int64) context.Context {
	return context.WithValue(ctx, opCounterKey{}, n)
}

// errNoLink is returned when a delta page carries neither a next nor a delta link.
var errNoLink = errors.New("graph: delta page without @odata.nextLink or @odata.deltaLink")
