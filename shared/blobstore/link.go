package blobstore

import (
	"context"
	"net/url"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/shared-tenant/licensetrack/shared/azerr"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

var _ licensing.Linker = (*Store)(nil)

// Link returns a read-only URL of the blob name that works for ttl, for a
// browser to download a file the Functions host cannot serve as binary. With
// an account key it is a service SAS; with a managed identity, a user
// delegation SAS (the identity needs Storage Blob Data Reader, or more, and
// the right to get a user delegation key).
func (s *Store) Link(ctx context.Context, name string, ttl time.Duration) (string, error) {
	const op = "blobstore.link"
	if err := checkName(op, name); err != nil {
		return "", err
	}
	now := time.Now().UTC().Add(-5 * time.Minute) // clock skew
	expiry := now.Add(ttl + 5*time.Minute)
	perms := sas.BlobPermissions{Read: true}
	b := s.blob(name)
	if u, err := b.GetSASURL(perms, expiry, nil); err == nil {
		return u, nil
	}
	udc, err := s.client.ServiceClient().GetUserDelegationCredential(ctx, service.KeyInfo{
		Start: to.Ptr(now.Format(sas.TimeFormat)), Expiry: to.Ptr(expiry.Format(sas.TimeFormat)),
	}, nil)
	if err != nil {
		return "", azerr.Translate(op, "a download link", err)
	}
	q, err := sas.BlobSignatureValues{
		Protocol: sas.ProtocolHTTPS, StartTime: now, ExpiryTime: expiry, Permissions: perms.String(),
		ContainerName: s.container, BlobName: name,
	}.SignWithUserDelegation(udc)
	if err != nil {
		return "", licensing.Wrap(op, licensing.Internal, "", err)
	}
	u, err := url.Parse(b.URL())
	if err != nil {
		return "", licensing.Wrap(op, licensing.Internal, "", err)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}
