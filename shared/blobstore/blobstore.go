// Package blobstore keeps files (purchase-order documents, reports, outgoing
// mail) in one Azure Blob Storage container, on azblob.
//
// Uploads stream: a blob of any size goes up in blocks of bounded memory,
// and its SHA-256 is computed on the way and kept in the blob's metadata.
// Every SDK or network failure is translated at this package's edge into a
// *licensing.Error by package azerr; in addition a create-only upload that
// finds the blob is Conflict, whichever status the service chose to say so.
package blobstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/shared-tenant/licensetrack/shared/azerr"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Upload tuning: at most blockSize × concurrency bytes are buffered.
const (
	blockSize   = 2 << 20
	concurrency = 4
)

// shaKey is the metadata key under which Put records the SHA-256.
const shaKey = "sha256"

// Store keeps blobs in one container.
type Store struct {
	client    *azblob.Client
	container string
}

// BlobInfo describes a stored blob.
type BlobInfo struct {
	Name        string
	Size        int64
	ETag        string
	ContentType string
	// SHA256 is the hex SHA-256 of the content, computed by Put; empty for
	// a blob written by other means.
	SHA256       string
	LastModified time.Time
	// Metadata holds the caller's metadata, keys in lower case.
	Metadata map[string]string
}

// PutOptions tune Put.
type PutOptions struct {
	// ContentType is stored with the blob (application/octet-stream when
	// empty).
	ContentType string
	// IfNoneMatch makes the upload create-only: an existing blob is
	// Conflict and stays as it was.
	IfNoneMatch bool
	// Metadata is stored with the blob: keys are letters, digits and '_'
	// not starting with a digit (compared without case); values printable
	// ASCII.
	Metadata map[string]string
}

// New returns a Store on container in the account of client. Call Init
// once before use.
func New(client *azblob.Client, container string) *Store {
	return &Store{client: client, container: container}
}

var containerPattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,62}$`)

// Init creates the container when it does not exist yet.
func (s *Store) Init(ctx context.Context) error {
	const op = "blobstore.init"
	if !containerPattern.MatchString(s.container) {
		return licensing.Errorf(op, licensing.Internal, "The container name is not usable: 3 to 63 lower-case letters, digits and single dashes.")
	}
	_, err := s.client.CreateContainer(ctx, s.container, nil)
	if err != nil && azerr.Classify(err) != licensing.Conflict {
		return azerr.Translate(op, "container "+s.container, err)
	}
	return nil
}

// checkName rejects names that could escape a prefix or confuse the
// service: empty, over 1024 bytes, starting with '/', containing "..", a
// backslash or control characters.
func checkName(op, name string) error {
	bad := name == "" || len(name) > 1024 || strings.HasPrefix(name, "/") ||
		strings.Contains(name, "..") || strings.Contains(name, `\`) ||
		strings.IndexFunc(name, unicode.IsControl) >= 0
	if bad {
		return licensing.Errorf(op, licensing.Invalid, "A blob name must be 1 to 1024 characters, not start with '/', and contain no '..', '\\' or control characters.")
	}
	return nil
}

var metaKeyPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

func checkMetadata(op string, md map[string]string) (map[string]*string, error) {
	out := make(map[string]*string, len(md)+1)
	for k, v := range md {
		lk := strings.ToLower(k)
		if !metaKeyPattern.MatchString(k) || lk == shaKey {
			return nil, licensing.Errorf(op, licensing.Invalid, "Metadata key %q must be letters, digits and '_', not start with a digit, and not be %q.", truncate(k), shaKey)
		}
		for _, r := range v {
			if r < 0x20 || r > 0x7e {
				return nil, licensing.Errorf(op, licensing.Invalid, "The value of metadata key %q must be printable ASCII.", k)
			}
		}
		v := v
		out[lk] = &v
	}
	return out, nil
}

// hashingReader hashes and counts what is read through it.
type hashingReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	return n, err
}

// Put uploads r to the blob name, streaming, and returns its size, ETag and
// SHA-256. With opts.IfNoneMatch an existing blob is Conflict.
func (s *Store) Put(ctx context.Context, name string, r io.Reader, opts PutOptions) (BlobInfo, error) {
	const op = "blobstore.put"
	if err := checkName(op, name); err != nil {
		return BlobInfo{}, err
	}
	md, err := checkMetadata(op, opts.Metadata)
	if err != nil {
		return BlobInfo{}, err
	}
	what := "blob " + name
	if opts.IfNoneMatch {
		// Refuse early rather than upload every block first; the
		// condition on the commit below still settles a race.
		switch exists, err := s.exists(ctx, name); {
		case err != nil:
			return BlobInfo{}, azerr.Translate(op, what, err)
		case exists:
			return BlobInfo{}, licensing.Errorf(op, licensing.Conflict, "%s exists already.", capitalize(what))
		}
	}
	ct := opts.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	hr := &hashingReader{r: r, h: sha256.New()}
	// The hash is only known once the content is read, so it is set on the
	// blob after the upload, conditional on the upload's ETag.
	uo := &azblob.UploadStreamOptions{
		BlockSize:   blockSize,
		Concurrency: concurrency,
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: &ct},
		Metadata:    md,
	}
	if opts.IfNoneMatch {
		any := azcore.ETagAny
		uo.AccessConditions = &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: &any}}
	}
	resp, err := s.client.UploadStream(ctx, s.container, name, hr, uo)
	if err != nil {
		if opts.IfNoneMatch {
			if c := azerr.Classify(err); c == licensing.Conflict || c == licensing.Stale {
				return BlobInfo{}, licensing.Wrap(op, licensing.Conflict, capitalize(what)+" exists already.", err)
			}
		}
		return BlobInfo{}, azerr.Translate(op, what, err)
	}
	sum := hex.EncodeToString(hr.h.Sum(nil))
	withSum := make(map[string]*string, len(md)+1)
	for k, v := range md {
		withSum[k] = v
	}
	withSum[shaKey] = &sum
	mresp, err := s.blob(name).SetMetadata(ctx, withSum, &blob.SetMetadataOptions{
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: resp.ETag}},
	})
	if err != nil {
		return BlobInfo{}, azerr.Translate(op, what, err)
	}
	info := BlobInfo{
		Name:        name,
		Size:        hr.n,
		ContentType: ct,
		SHA256:      sum,
		Metadata:    lowerMetadata(md),
	}
	if mresp.ETag != nil {
		info.ETag = string(*mresp.ETag)
	}
	if mresp.LastModified != nil {
		info.LastModified = mresp.LastModified.UTC()
	}
	return info, nil
}

func (s *Store) blob(name string) *blob.Client {
	return s.client.ServiceClient().NewContainerClient(s.container).NewBlobClient(name)
}

// Get opens the blob name for reading; the caller closes the reader. A
// missing blob is NotFound. Reads resume after a dropped connection.
func (s *Store) Get(ctx context.Context, name string) (io.ReadCloser, BlobInfo, error) {
	const op = "blobstore.get"
	if err := checkName(op, name); err != nil {
		return nil, BlobInfo{}, err
	}
	resp, err := s.client.DownloadStream(ctx, s.container, name, nil)
	if err != nil {
		return nil, BlobInfo{}, azerr.Translate(op, "blob "+name, err)
	}
	info := BlobInfo{Name: name, Metadata: map[string]string{}}
	if resp.ContentLength != nil {
		info.Size = *resp.ContentLength
	}
	if resp.ETag != nil {
		info.ETag = string(*resp.ETag)
	}
	if resp.ContentType != nil {
		info.ContentType = *resp.ContentType
	}
	if resp.LastModified != nil {
		info.LastModified = resp.LastModified.UTC()
	}
	info.SHA256, info.Metadata = splitMetadata(resp.Metadata)
	return &errReader{op: op, what: "blob " + name, rc: resp.NewRetryReader(ctx, nil)}, info, nil
}

// errReader translates the errors of reading a blob's content.
type errReader struct {
	op, what string
	rc       io.ReadCloser
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.rc.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = azerr.Translate(e.op, e.what, err)
	}
	return n, err
}

func (e *errReader) Close() error { return e.rc.Close() }

// Delete removes the blob name; a missing blob is NotFound.
func (s *Store) Delete(ctx context.Context, name string) error {
	const op = "blobstore.delete"
	if err := checkName(op, name); err != nil {
		return err
	}
	_, err := s.client.DeleteBlob(ctx, s.container, name, nil)
	return azerr.Translate(op, "blob "+name, err)
}

// Exists reports whether the blob name exists.
func (s *Store) Exists(ctx context.Context, name string) (bool, error) {
	const op = "blobstore.exists"
	if err := checkName(op, name); err != nil {
		return false, err
	}
	ok, err := s.exists(ctx, name)
	return ok, azerr.Translate(op, "blob "+name, err)
}

func (s *Store) exists(ctx context.Context, name string) (bool, error) {
	_, err := s.blob(name).GetProperties(ctx, nil)
	if azerr.Classify(err) == licensing.NotFound {
		return false, nil
	}
	return err == nil, err
}

// List calls fn with every blob whose name starts with prefix, in name
// order. An error from fn stops the listing and is returned as it is.
func (s *Store) List(ctx context.Context, prefix string, fn func(BlobInfo) error) error {
	const op = "blobstore.list"
	opts := &container.ListBlobsFlatOptions{Include: container.ListBlobsInclude{Metadata: true}}
	if prefix != "" {
		opts.Prefix = &prefix
	}
	pager := s.client.NewListBlobsFlatPager(s.container, opts)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return azerr.Translate(op, "the blobs under "+prefix, err)
		}
		if page.Segment == nil {
			continue
		}
		for _, it := range page.Segment.BlobItems {
			if it.Name == nil {
				continue
			}
			info := BlobInfo{Name: *it.Name}
			if p := it.Properties; p != nil {
				if p.ContentLength != nil {
					info.Size = *p.ContentLength
				}
				if p.ETag != nil {
					info.ETag = string(*p.ETag)
				}
				if p.ContentType != nil {
					info.ContentType = *p.ContentType
				}
				if p.LastModified != nil {
					info.LastModified = p.LastModified.UTC()
				}
			}
			info.SHA256, info.Metadata = splitMetadata(it.Metadata)
			if err := fn(info); err != nil {
				return err
			}
		}
	}
	return nil
}

// splitMetadata separates the recorded SHA-256 from the caller's metadata
// and lower-cases the keys (the service compares them without case, and
// headers come back in canonical case).
func splitMetadata(md map[string]*string) (sum string, rest map[string]string) {
	rest = map[string]string{}
	for k, v := range md {
		if v == nil {
			continue
		}
		if strings.EqualFold(k, shaKey) {
			sum = *v
			continue
		}
		rest[strings.ToLower(k)] = *v
	}
	return sum, rest
}

func lowerMetadata(md map[string]*string) map[string]string {
	out := map[string]string{}
	for k, v := range md {
		out[strings.ToLower(k)] = *v
	}
	return out
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
