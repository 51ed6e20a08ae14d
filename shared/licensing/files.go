package licensing

import (
	"context"
	"time"
)

// FileInfo describes a stored file.
type FileInfo struct {
	Name     string
	Size     int64
	Modified time.Time
	// ETag is the store's version of the file: it changes with every write.
	ETag string
}

// FileSweeper lists and removes stored files, for the sweeps that remove
// files nothing refers to any more.
type FileSweeper interface {
	// ListFiles calls fn with every file whose name starts with prefix. An
	// error from fn stops the listing and is returned as it is.
	ListFiles(ctx context.Context, prefix string, fn func(FileInfo) error) error
	// DeleteFile removes the file name if its version is still etag (any
	// version when etag is ""): a file written again since it was listed is
	// Stale and stays. A missing file is NotFound.
	DeleteFile(ctx context.Context, name, etag string) error
}
