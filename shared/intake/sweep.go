package intake

import (
	"context"
	"log/slog"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// orphanAge is how long the sweep leaves a receiving request, or a document
// no request refers to, alone: far longer than a submission takes, so what
// a submission in progress wrote is never taken for left-overs.
const orphanAge = time.Hour

// OrphanSweep says what SweepOrphans removed.
type OrphanSweep struct {
	// Requests are the submissions that stayed receiving (failed half-way
	// and never retried), removed.
	Requests []string
	// Documents are the files under documents/ that no request referred
	// to, deleted.
	Documents []string
}

// SweepOrphans removes what failed submissions left behind, once it is
// older than an hour: requests still receiving (the submission failed after
// its claim and was not retried), then files under documents/ that no
// request refers to (those requests' documents, and documents whose request
// update failed when they were added to a request). Each removal is logged.
//
// Requests are read after the files are listed, and a file is deleted only
// if it was not written again since it was listed, so a document that a
// submission in progress writes, or a retry writes again, stays.
func (s *Service) SweepOrphans(ctx context.Context, log *slog.Logger) (OrphanSweep, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cutoff := s.now().Add(-orphanAge)
	var res OrphanSweep
	receiving, err := s.cfg.Requests.ListRequests(ctx, licensing.RequestFilter{Status: licensing.StatusReceiving})
	if err != nil {
		return res, err
	}
	for _, sr := range receiving {
		if sr.Updated.After(cutoff) {
			continue
		}
		if gone, err := removed(s.cfg.Requests.DeleteRequest(ctx, sr)); err != nil {
			return res, err
		} else if gone {
			log.Info("abandoned submission removed", "sr", sr.ID, "agency", sr.Agency, "po", sr.PONumber, "since", sr.Updated, "documents", len(sr.Documents))
			res.Requests = append(res.Requests, sr.ID)
		}
	}
	if s.cfg.Sweeper == nil {
		return res, nil
	}
	var old []licensing.FileInfo
	err = s.cfg.Sweeper.ListFiles(ctx, documentsPrefix, func(f licensing.FileInfo) error {
		if f.Modified.Before(cutoff) {
			old = append(old, f)
		}
		return nil
	})
	if err != nil || len(old) == 0 {
		return res, err
	}
	all, err := s.cfg.Requests.ListRequests(ctx, licensing.RequestFilter{})
	if err != nil {
		return res, err
	}
	referred := map[string]bool{}
	for _, sr := range all {
		for _, d := range sr.Documents {
			referred[d.Blob] = true
		}
	}
	for _, f := range old {
		if referred[f.Name] {
			continue
		}
		if gone, err := removed(s.cfg.Sweeper.DeleteFile(ctx, f.Name, f.ETag)); err != nil {
			return res, err
		} else if gone {
			log.Info("orphaned document deleted", "file", f.Name, "size", f.Size, "written", f.Modified)
			res.Documents = append(res.Documents, f.Name)
		}
	}
	return res, nil
}

// removed tells a removal that happened from one that found the thing
// changed (Stale: a retry wrote it again) or gone (NotFound), which are
// left; other errors are returned.
func removed(err error) (bool, error) {
	switch licensing.ErrorCode(err) {
	case "":
		return true, nil
	case licensing.Stale, licensing.NotFound:
		return false, nil
	}
	return false, err
}
