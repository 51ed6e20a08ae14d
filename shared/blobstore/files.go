package blobstore

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/shared-tenant/licensetrack/shared/azerr"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

var _ licensing.FileSweeper = (*Store)(nil)

// ListFiles calls fn with every blob whose name starts with prefix, in name
// order. It implements licensing.FileSweeper.
func (s *Store) ListFiles(ctx context.Context, prefix string, fn func(licensing.FileInfo) error) error {
	return s.List(ctx, prefix, func(b BlobInfo) error {
		return fn(licensing.FileInfo{Name: b.Name, Size: b.Size, Modified: b.LastModified, ETag: b.ETag})
	})
}

// DeleteFile removes the blob name if its ETag is still etag (any when
// etag is ""): a blob written again since it was listed is Stale and stays.
// A missing blob is NotFound. It implements licensing.FileSweeper.
func (s *Store) DeleteFile(ctx context.Context, name, etag string) error {
	const op = "blobstore.deleteFile"
	if err := checkName(op, name); err != nil {
		return err
	}
	var opts *azblob.DeleteBlobOptions
	if etag != "" {
		tag := azcore.ETag(etag)
		opts = &azblob.DeleteBlobOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &tag}}}
	}
	_, err := s.client.DeleteBlob(ctx, s.container, name, opts)
	return azerr.Translate(op, "blob "+name, err)
}
