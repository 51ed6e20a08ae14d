package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Files is a file store that also lists and removes its files.
type Files interface {
	licensing.FileStore
	licensing.FileSweeper
}

// TestFileSweeper checks listing and conditional removal of files:
// prefixes, name order, versions that change with every write, and a
// removal that refuses a file written again since it was listed.
func TestFileSweeper(t *testing.T, newStore func(t *testing.T) Files) {
	ctx := context.Background()
	s := newStore(t)
	write := func(name, content string) {
		t.Helper()
		w, err := s.Create(ctx, name, "application/pdf")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	list := func(prefix string) map[string]licensing.FileInfo {
		t.Helper()
		out := map[string]licensing.FileInfo{}
		var order []string
		if err := s.ListFiles(ctx, prefix, func(f licensing.FileInfo) error {
			out[f.Name] = f
			order = append(order, f.Name)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(order); i++ {
			if order[i-1] >= order[i] {
				t.Errorf("ListFiles order: %v", order)
			}
		}
		return out
	}
	write("documents/DOA/DOA-01/b.pdf", "%PDF-1.7 b")
	write("documents/DOA/DOA-01/a.pdf", "%PDF-1.7 a")
	write("reports/x.xlsx", "x")
	aborted, err := s.Create(ctx, "documents/DOA/DOA-01/aborted.pdf", "application/pdf")
	if err != nil {
		t.Fatal(err)
	}
	aborted.Write([]byte("half"))
	aborted.Abort(errors.New("stopped"))

	docs := list("documents/")
	if len(docs) != 2 {
		t.Fatalf("ListFiles(documents/) = %v, want the two written documents", docs)
	}
	a := docs["documents/DOA/DOA-01/a.pdf"]
	if a.Size != 10 || a.ETag == "" || a.Modified.IsZero() {
		t.Errorf("listed %+v, want size 10 with a version and a time", a)
	}
	stop := errors.New("stop")
	if err := s.ListFiles(ctx, "", func(licensing.FileInfo) error { return stop }); err != stop {
		t.Errorf("ListFiles returned %v, want the callback's error as it is", err)
	}

	// A file written again since it was listed stays.
	write("documents/DOA/DOA-01/a.pdf", "%PDF-1.7 again")
	again := list("documents/DOA/DOA-01/a")["documents/DOA/DOA-01/a.pdf"]
	if again.ETag == a.ETag {
		t.Errorf("the version did not change with a write: %q", a.ETag)
	}
	if err := s.DeleteFile(ctx, a.Name, a.ETag); licensing.ErrorCode(err) != licensing.Stale {
		t.Errorf("DeleteFile with the listed version of a rewritten file: %v, want stale", err)
	}
	if rc, err := s.Open(ctx, a.Name); err != nil {
		t.Errorf("the rewritten file is gone: %v", err)
	} else {
		rc.Close()
	}
	if err := s.DeleteFile(ctx, a.Name, again.ETag); err != nil {
		t.Errorf("DeleteFile with the current version: %v", err)
	}
	if _, err := s.Open(ctx, a.Name); licensing.ErrorCode(err) != licensing.NotFound {
		t.Errorf("Open after DeleteFile: %v, want not-found", err)
	}
	if err := s.DeleteFile(ctx, a.Name, ""); licensing.ErrorCode(err) != licensing.NotFound {
		t.Errorf("DeleteFile of a missing file: %v, want not-found", err)
	}
	if err := s.DeleteFile(ctx, "reports/x.xlsx", ""); err != nil {
		t.Errorf("DeleteFile of any version: %v", err)
	}
	if left := list(""); len(left) != 1 || left["documents/DOA/DOA-01/b.pdf"].Name == "" {
		t.Errorf("left after the removals: %v", left)
	}
}
