package blobstore

import (
	"context"
	"errors"
	"io"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

var _ licensing.FileStore = (*Store)(nil)

// Writer streams one blob. The blob's blocks are staged as they are written
// and committed by Close, so readers see the blob only once Close has
// returned nil; after Abort, or a failed Close, the name keeps whatever it
// held before (usually nothing).
type Writer struct {
	pw   *io.PipeWriter
	done chan struct{}
	info BlobInfo
	err  error
}

// Create starts writing the blob name with the given content type. It
// implements licensing.FileStore.
func (s *Store) Create(ctx context.Context, name, contentType string) (licensing.FileWriter, error) {
	if err := checkName("blobstore.create", name); err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	w := &Writer{pw: pw, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		w.info, w.err = s.Put(ctx, name, pr, PutOptions{ContentType: contentType})
		// Unblock a writer still writing when the upload gave up.
		pr.CloseWithError(errUploadEnded(w.err))
	}()
	return w, nil
}

func errUploadEnded(err error) error {
	if err != nil {
		return err
	}
	return errors.New("blobstore: the upload has already finished")
}

// Write sends p to the upload.
func (w *Writer) Write(p []byte) (int, error) { return w.pw.Write(p) }

// Close ends the content and waits for the blob to be committed.
func (w *Writer) Close() error {
	w.pw.Close()
	<-w.done
	return w.err
}

// Abort stops the upload without committing anything.
func (w *Writer) Abort(cause error) {
	if cause == nil {
		cause = errors.New("aborted")
	}
	w.pw.CloseWithError(cause)
	<-w.done
}

// Info describes the committed blob (after Close returned nil).
func (w *Writer) Info() BlobInfo { return w.info }

// Open returns a reader of the blob name; NotFound when it does not exist.
func (s *Store) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	rc, _, err := s.Get(ctx, name)
	return rc, err
}
