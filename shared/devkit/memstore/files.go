package memstore

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

var _ licensing.FileSweeper = (*Store)(nil)

// SetClock makes now date the files written from here on (time.Now by
// default), so tests can age them.
func (s *Store) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = now
}

// noteFile records a write of name; the caller holds s.mu.
func (s *Store) noteFile(name string, size int64) {
	if s.fileInfo == nil {
		s.fileInfo = map[string]licensing.FileInfo{}
	}
	now := time.Now
	if s.clock != nil {
		now = s.clock
	}
	s.version++
	s.fileInfo[name] = licensing.FileInfo{Name: name, Size: size, Modified: now().UTC(), ETag: strconv.FormatUint(s.version, 10)}
}

// ListFiles calls fn with every file whose name starts with prefix, in name
// order.
func (s *Store) ListFiles(ctx context.Context, prefix string, fn func(licensing.FileInfo) error) error {
	if err := ctx.Err(); err != nil {
		return unavailable("memstore.listFiles", err)
	}
	s.mu.Lock()
	var list []licensing.FileInfo
	for name, info := range s.fileInfo {
		if strings.HasPrefix(name, prefix) {
			list = append(list, info)
		}
	}
	s.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	for _, info := range list {
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}

// DeleteFile removes name if its version is still etag ("" for any).
func (s *Store) DeleteFile(ctx context.Context, name, etag string) error {
	const op = "memstore.deleteFile"
	if err := ctx.Err(); err != nil {
		return unavailable(op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	info, ok := s.fileInfo[name]
	switch {
	case !ok:
		return licensing.Errorf(op, licensing.NotFound, "There is no file %q.", name)
	case etag != "" && etag != info.ETag:
		return licensing.Errorf(op, licensing.Stale, "The file %q was written again since it was listed.", name)
	}
	delete(s.files, name)
	delete(s.fileInfo, name)
	return nil
}
