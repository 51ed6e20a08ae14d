package memstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sort"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

type storedSnapshot struct {
	snap  licensing.Snapshot
	usage []licensing.Usage
}

// PublishSnapshot stores snap and makes it the latest unless a newer one is.
func (s *Store) PublishSnapshot(ctx context.Context, snap licensing.Snapshot, usage []licensing.Usage) error {
	if err := ctx.Err(); err != nil {
		return unavailable("memstore.publishSnapshot", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snapshots[snap.ID] = storedSnapshot{snap: snap, usage: append([]licensing.Usage(nil), usage...)}
	if cur, ok := s.snapshots[s.latest]; !ok || !cur.snap.Taken.After(snap.Taken) {
		s.latest = snap.ID
	}
	return nil
}

// LatestSnapshot returns the newest published snapshot, or NotFound.
func (s *Store) LatestSnapshot(ctx context.Context) (licensing.Snapshot, error) {
	s.mu.Lock()
	id := s.latest
	s.mu.Unlock()
	if id == "" {
		return licensing.Snapshot{}, licensing.Errorf("memstore.latestSnapshot", licensing.NotFound, "No usage snapshot has been taken yet.")
	}
	return s.GetSnapshot(ctx, id)
}

// GetSnapshot returns snapshot id, or NotFound.
func (s *Store) GetSnapshot(ctx context.Context, id string) (licensing.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.snapshots[id]
	if !ok {
		return licensing.Snapshot{}, licensing.Errorf("memstore.getSnapshot", licensing.NotFound, "There is no snapshot %q.", id)
	}
	return st.snap, nil
}

// ListSnapshots returns the snapshots taken in [from, to), oldest first.
func (s *Store) ListSnapshots(ctx context.Context, from, to time.Time) ([]licensing.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []licensing.Snapshot
	for _, st := range s.snapshots {
		t := st.snap.Taken
		if (from.IsZero() || !t.Before(from)) && (to.IsZero() || t.Before(to)) {
			out = append(out, st.snap)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Taken.Before(out[j].Taken) })
	return out, nil
}

// SnapshotUsage returns the usage of snapshot id (empty when unknown).
func (s *Store) SnapshotUsage(ctx context.Context, id string) ([]licensing.Usage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]licensing.Usage(nil), s.snapshots[id].usage...), nil
}

// Create starts an in-memory file, visible once Close returns nil.
func (s *Store) Create(ctx context.Context, name, contentType string) (licensing.FileWriter, error) {
	return &fileWriter{s: s, name: name}, nil
}

// Open reads a file, or NotFound.
func (s *Store) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.files[name]
	if !ok {
		return nil, licensing.Errorf("memstore.open", licensing.NotFound, "There is no file %q.", name)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// Files returns the names of the stored files.
func (s *Store) Files() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for n := range s.files {
		names = append(names, n)
	}
	return names
}

type fileWriter struct {
	s       *Store
	name    string
	buf     bytes.Buffer
	aborted bool
}

func (w *fileWriter) Write(p []byte) (int, error) {
	if w.aborted {
		return 0, errors.New("memstore: write after abort")
	}
	return w.buf.Write(p)
}

func (w *fileWriter) Close() error {
	if w.aborted {
		return errors.New("memstore: close after abort")
	}
	w.s.mu.Lock()
	w.s.files[w.name] = append([]byte(nil), w.buf.Bytes()...)
	w.s.noteFile(w.name, int64(w.buf.Len()))
	w.s.mu.Unlock()
	return nil
}

func (w *fileWriter) Abort(error) { w.aborted = true }
