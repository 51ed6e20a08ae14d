package usage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Ad-hoc workbooks are written for one download link each. A workbook's
// name carries when its link expires:
// reports/adhoc/{expiry, 20060102T150405Z}/{agency}-{id}.xlsx. Once the link
// has expired nobody can read the file, so it is deleted: by the next
// workbook request (a few at a time) and by SweepWorkbooks, which the
// ActivationSweep timer runs every 15 minutes.
const (
	adhocPrefix  = "reports/adhoc/"
	expiryLayout = "20060102T150405Z"
	// linkGrace is how long a workbook outlives its link: a download that
	// started just before the link expired is not cut off, and the clocks
	// of this service and of the storage may differ a little.
	linkGrace = 5 * time.Minute
	// undatedAge is how long a workbook whose name carries no expiry
	// (written before names did, with 15-minute links) is kept after it
	// was written.
	undatedAge = 24 * time.Hour
	// requestSweepMax is the most expired workbooks a workbook request
	// deletes, so that a backlog never slows a request down; the timer
	// deletes the rest.
	requestSweepMax = 20
)

// WorkbookSweep says what SweepWorkbooks deleted.
type WorkbookSweep struct {
	// Deleted are the names of the workbooks deleted.
	Deleted []string
}

// workbookName returns the name of a new ad-hoc workbook for key whose
// link expires at expires.
func (s *Service) workbookName(key string, expires time.Time) string {
	return fmt.Sprintf("%s%s/%s-%s.xlsx", adhocPrefix, expires.UTC().Format(expiryLayout), key, s.newID()[:8])
}

// workbookGoesAt returns when the ad-hoc workbook f may be deleted: when
// its link has expired, plus linkGrace, or, for a name without an expiry,
// undatedAge after it was written.
func workbookGoesAt(f licensing.FileInfo) time.Time {
	dir, _, ok := strings.Cut(strings.TrimPrefix(f.Name, adhocPrefix), "/")
	if ok {
		if t, err := time.Parse(expiryLayout, dir); err == nil {
			return t.Add(linkGrace)
		}
	}
	return f.Modified.Add(undatedAge)
}

// SweepWorkbooks deletes every ad-hoc workbook whose download link has
// expired, logging each deletion. A workbook that another sweep deleted
// first is left to it; an error stops the sweep, and the next one deletes
// what this one left. Without a Sweeper it does nothing.
func (s *Service) SweepWorkbooks(ctx context.Context, log *slog.Logger) (WorkbookSweep, error) {
	return s.sweepWorkbooks(ctx, log, 0)
}

// errEnough stops a listing that has found what it needs.
var errEnough = errors.New("usage: enough expired workbooks found")

// sweepWorkbooks deletes at most max expired workbooks (every one when max
// is 0).
func (s *Service) sweepWorkbooks(ctx context.Context, log *slog.Logger, max int) (WorkbookSweep, error) {
	var res WorkbookSweep
	if s.cfg.Sweeper == nil {
		return res, nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := s.now()
	var expired []licensing.FileInfo
	err := s.cfg.Sweeper.ListFiles(ctx, adhocPrefix, func(f licensing.FileInfo) error {
		if now.Before(workbookGoesAt(f)) {
			return nil
		}
		expired = append(expired, f)
		if max > 0 && len(expired) >= max {
			return errEnough
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return res, err
	}
	for _, f := range expired {
		err := s.cfg.Sweeper.DeleteFile(ctx, f.Name, f.ETag)
		switch code := licensing.ErrorCode(err); {
		case err == nil:
			log.Info("expired workbook deleted", "file", f.Name, "size", f.Size, "written", f.Modified)
			res.Deleted = append(res.Deleted, f.Name)
		case code == licensing.NotFound, code == licensing.Stale:
			// Another sweep deleted it first, or it was written again
			// since it was listed: the next sweep judges it again.
		default:
			return res, err
		}
	}
	return res, nil
}
