package usage

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Retention says how much of the snapshots and report files Retain keeps.
type Retention struct {
	// Keep is how many of the newest published snapshots keep their files
	// (SNAPSHOT_RETENTION); 0 means DefaultSnapshotRetention.
	Keep int
	// Snapshots and Deliveries delete snapshot rows and delivery records;
	// Retain does nothing without them or without the Config's Sweeper.
	Snapshots  licensing.SnapshotPruner
	Deliveries licensing.DeliveryPruner
}

const (
	// DefaultSnapshotRetention is how many published snapshots keep their
	// files by default.
	DefaultSnapshotRetention = 8
	// summaryMonths is how long a snapshot's meta row (its counts) and its
	// usage rows outlive its files. The true-up worksheet (shared/renewals)
	// reads every snapshot taken from the enrollment's last anniversary to
	// the day it is prepared: the meta rows' LicensedUsers for the peak and
	// AgencyUsers for the agency split, and each snapshot's usage rows for
	// the agencies that used more than they bought. That is a year, and a
	// worksheet may be prepared after the anniversary has passed; 13 months
	// covers both. The rows count agencies and products, not users, so
	// they stay small on a large tenant; the files, which hold every user,
	// are what retention deletes early.
	summaryMonths = 13
	// resumableFor is how long a report run that has not mailed every
	// report keeps its snapshot: it may resume, and a resumed run reports
	// from the users of its own snapshot. A run that stays unfinished longer
	// (an agency without contacts, a mail left unconfirmed) would otherwise
	// keep a snapshot from every payroll Monday for ever.
	resumableFor = 35 * 24 * time.Hour
	// abandonedAfter is how long the files of a snapshot that was never
	// published (a snapshot job that died before its merge) are left
	// alone: a job under way writes them for minutes, not days.
	abandonedAfter = 48 * time.Hour
	// signInPassesKept is how many of the newest sign-in passes are kept.
	signInPassesKept = 2

	snapshotPrefix = "snapshots/"
	signInPrefix   = "signins/"
	payrollPrefix  = "reports/payroll/"
)

// RetentionOptions tunes Retain.
type RetentionOptions struct {
	// DryRun lists what would be deleted and deletes nothing.
	DryRun bool
}

// RetentionResult says what Retain deleted, or would delete in a dry run.
type RetentionResult struct {
	DryRun bool `json:"dryRun"`
	// Kept are the snapshots whose files are kept, oldest first.
	Kept []string `json:"kept"`
	// Pruned are the snapshots whose files were deleted; their counts stay.
	Pruned []string `json:"pruned"`
	// Deleted are the snapshots deleted whole: older than 13 months.
	Deleted []string `json:"deleted"`
	// Runs are the report runs whose files and delivery records were
	// deleted.
	Runs []string `json:"runs"`
	// Abandoned are the folders (snapshots/{id}, signins/{id}) of jobs
	// that never finished whose files were deleted.
	Abandoned []string `json:"abandoned"`
	// Files are the files deleted, and Bytes their size.
	Files []string `json:"files"`
	Bytes int64    `json:"bytes"`
}

// reportRun is what Retain knows of one report run from its delivery
// records.
type reportRun struct {
	name     string
	snapshot string
	// resumable: not every report was mailed, and the run is recent.
	resumable bool
	rows      []licensing.Delivery
}

// Retain bounds what snapshots and reports keep in storage. The newest
// Keep published snapshots keep everything, as do the one the latest
// pointer names and the ones report runs that may resume refer to. Every
// other snapshot loses its files (snapshots/{id}/...) and is marked pruned,
// its counts kept for the true-up; one older than 13 months is deleted
// whole. Report runs on a snapshot no longer kept lose their files and
// delivery records, never-published snapshot files older than two days go,
// and of the sign-in passes the newest two stay.
//
// Every deletion is of a file or a row by name, and a missing one is no
// error, so two runs at once, or a run after one that died, delete each
// thing once between them. Files go first and the rows that lead to them
// last: a run cut short leaves rows pointing at files that are gone, which
// the next run finds and finishes, never a file that no row leads to.
func (s *Service) Retain(ctx context.Context, opts RetentionOptions, log *slog.Logger) (RetentionResult, error) {
	res := RetentionResult{DryRun: opts.DryRun}
	r := s.cfg.Retention
	if r.Snapshots == nil || r.Deliveries == nil || s.cfg.Sweeper == nil || s.cfg.Snapshots == nil {
		return res, licensing.Errorf("retention", licensing.Internal, "Retention is not configured.")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := s.now().UTC()
	snaps, err := s.cfg.Snapshots.ListSnapshots(ctx, time.Time{}, time.Time{})
	if err != nil {
		return res, err
	}
	runs, err := s.reportRuns(ctx, now)
	if err != nil {
		return res, err
	}
	keep, err := s.keptSnapshots(ctx, snaps, runs)
	if err != nil {
		return res, err
	}
	files, err := s.listGroups(ctx, snapshotPrefix)
	if err != nil {
		return res, err
	}
	d := &deleter{s: s, res: &res, log: log, now: now}
	published := map[string]bool{}
	for _, sn := range snaps {
		published[sn.ID] = true
		if err := d.snapshot(ctx, sn, keep[sn.ID], files[sn.ID], now); err != nil {
			return res, err
		}
	}
	for _, run := range runs {
		if err := d.run(ctx, run, keep); err != nil {
			return res, err
		}
	}
	if err := d.abandoned(ctx, files, published, snapshotPrefix); err != nil {
		return res, err
	}
	passes := map[string]bool{}
	for _, sn := range snaps {
		if keep[sn.ID] && sn.SignInPass != "" {
			passes[sn.SignInPass] = true
		}
	}
	if err := d.signInPasses(ctx, passes); err != nil {
		return res, err
	}
	log.Info("retention done", "dryRun", opts.DryRun, "kept", len(res.Kept), "pruned", len(res.Pruned), "deleted", len(res.Deleted),
		"runs", len(res.Runs), "abandoned", len(res.Abandoned), "files", len(res.Files), "bytesFreed", res.Bytes)
	return res, nil
}

// reportRuns reads every report run's delivery records: which snapshot it
// reports on, and whether it may resume.
func (s *Service) reportRuns(ctx context.Context, now time.Time) ([]reportRun, error) {
	names, err := s.cfg.Retention.Deliveries.ListDeliveryRuns(ctx)
	if err != nil {
		return nil, err
	}
	var runs []reportRun
	for _, name := range names {
		rows, err := s.cfg.Deliveries.ListDeliveries(ctx, name)
		if err != nil {
			return nil, err
		}
		run := reportRun{name: name, rows: rows}
		mailed, reports := true, 0
		var taken time.Time
		for _, d := range rows {
			if d.Key == snapshotKey {
				run.snapshot, taken = d.File, d.At
				continue
			}
			reports++
			mailed = mailed && d.State == licensing.DeliveryMailed
		}
		run.resumable = run.snapshot != "" && !(mailed && reports > 0) && now.Sub(taken) < resumableFor
		runs = append(runs, run)
	}
	return runs, nil
}

// keptSnapshots returns the ids of the snapshots whose files stay: the
// newest Keep, the latest, and those of runs that may resume.
func (s *Service) keptSnapshots(ctx context.Context, snaps []licensing.Snapshot, runs []reportRun) (map[string]bool, error) {
	n := s.cfg.Retention.Keep
	if n <= 0 {
		n = DefaultSnapshotRetention
	}
	keep := map[string]bool{}
	for i := max(0, len(snaps)-n); i < len(snaps); i++ {
		keep[snaps[i].ID] = true
	}
	latest, err := s.cfg.Snapshots.LatestSnapshot(ctx)
	switch {
	case err == nil:
		keep[latest.ID] = true
	case licensing.ErrorCode(err) != licensing.NotFound:
		return nil, err
	}
	for _, r := range runs {
		if r.resumable {
			keep[r.snapshot] = true
		}
	}
	return keep, nil
}

// listGroups lists the files under prefix by the name's next part (a
// snapshot id under snapshots/).
func (s *Service) listGroups(ctx context.Context, prefix string) (map[string][]licensing.FileInfo, error) {
	groups := map[string][]licensing.FileInfo{}
	err := s.cfg.Sweeper.ListFiles(ctx, prefix, func(f licensing.FileInfo) error {
		id, _, _ := strings.Cut(strings.TrimPrefix(f.Name, prefix), "/")
		groups[id] = append(groups[id], f)
		return nil
	})
	return groups, err
}

// deleter deletes (or, in a dry run, lists) for one Retain.
type deleter struct {
	s   *Service
	res *RetentionResult
	log *slog.Logger
	now time.Time
}

// files deletes fs, skipping a file another run deleted first or one
// written again since it was listed, and returns the bytes freed.
func (d *deleter) files(ctx context.Context, fs []licensing.FileInfo) (int64, error) {
	var freed int64
	for _, f := range fs {
		if !d.res.DryRun {
			err := d.s.cfg.Sweeper.DeleteFile(ctx, f.Name, f.ETag)
			switch licensing.ErrorCode(err) {
			case "":
			case licensing.NotFound, licensing.Stale:
				continue
			default:
				return freed, err
			}
		}
		d.res.Files = append(d.res.Files, f.Name)
		freed += f.Size
	}
	d.res.Bytes += freed
	return freed, nil
}

// snapshot keeps sn, prunes it (files deleted, meta row marked), or, past
// summaryMonths, deletes it whole (files, then usage and meta rows).
func (d *deleter) snapshot(ctx context.Context, sn licensing.Snapshot, kept bool, fs []licensing.FileInfo, now time.Time) error {
	expired := sn.Taken.Before(now.AddDate(0, -summaryMonths, 0))
	switch {
	case kept:
		d.res.Kept = append(d.res.Kept, sn.ID)
		return nil
	case !expired && !sn.Pruned.IsZero() && len(fs) == 0:
		return nil
	}
	freed, err := d.files(ctx, fs)
	if err != nil {
		return err
	}
	if expired {
		d.res.Deleted = append(d.res.Deleted, sn.ID)
		if !d.res.DryRun {
			if err := d.s.cfg.Retention.Snapshots.DeleteSnapshot(ctx, sn.ID); err != nil {
				return err
			}
		}
		d.log.Info("snapshot deleted", "snapshot", sn.ID, "taken", sn.Taken, "files", len(fs), "bytesFreed", freed, "dryRun", d.res.DryRun)
		return nil
	}
	d.res.Pruned = append(d.res.Pruned, sn.ID)
	if !d.res.DryRun {
		if err := d.s.cfg.Retention.Snapshots.MarkSnapshotPruned(ctx, sn.ID, now); err != nil && licensing.ErrorCode(err) != licensing.NotFound {
			return err
		}
	}
	d.log.Info("snapshot pruned", "snapshot", sn.ID, "taken", sn.Taken, "files", len(fs), "bytesFreed", freed, "dryRun", d.res.DryRun)
	return nil
}

// run deletes a report run on a snapshot no longer kept: its files (those
// its records name, and everything under a payroll run's folder), then its
// delivery records, the one naming its snapshot last.
func (d *deleter) run(ctx context.Context, run reportRun, keep map[string]bool) error {
	if run.snapshot == "" || run.resumable || keep[run.snapshot] {
		return nil
	}
	var fs []licensing.FileInfo
	seen := map[string]bool{}
	if date, ok := strings.CutPrefix(run.name, "payroll-"); ok {
		if err := d.s.cfg.Sweeper.ListFiles(ctx, payrollPrefix+date+"/", func(f licensing.FileInfo) error {
			seen[f.Name] = true
			fs = append(fs, f)
			return nil
		}); err != nil {
			return err
		}
	}
	for _, row := range run.rows {
		if strings.HasPrefix(row.File, "reports/") && !seen[row.File] {
			// Not listed: gone already, or outside the run's folder.
			if err := d.s.cfg.Sweeper.ListFiles(ctx, row.File, func(f licensing.FileInfo) error {
				if f.Name == row.File {
					fs = append(fs, f)
				}
				return nil
			}); err != nil {
				return err
			}
		}
	}
	freed, err := d.files(ctx, fs)
	if err != nil {
		return err
	}
	rows := append([]licensing.Delivery(nil), run.rows...)
	sort.SliceStable(rows, func(i, j int) bool { return rows[j].Key == snapshotKey && rows[i].Key != snapshotKey })
	if !d.res.DryRun {
		for _, row := range rows {
			if err := d.s.cfg.Retention.Deliveries.DeleteDelivery(ctx, run.name, row.Key); err != nil {
				return err
			}
		}
	}
	d.res.Runs = append(d.res.Runs, run.name)
	d.log.Info("report run removed", "run", run.name, "snapshot", run.snapshot, "files", len(fs), "records", len(rows), "bytesFreed", freed, "dryRun", d.res.DryRun)
	return nil
}

// abandoned deletes the files of each job (under prefix, by id) that never
// published (not in published) once every one of them is older than
// abandonedAfter: a snapshot job that died before its merge, or the parts
// a sign-in pass left.
func (d *deleter) abandoned(ctx context.Context, groups map[string][]licensing.FileInfo, published map[string]bool, prefix string) error {
	ids := make([]string, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fs := groups[id]
		if published[id] || writtenAfter(fs, d.now.Add(-abandonedAfter)) {
			continue
		}
		freed, err := d.files(ctx, fs)
		if err != nil {
			return err
		}
		d.res.Abandoned = append(d.res.Abandoned, prefix+id)
		d.log.Info("abandoned job files deleted", "job", prefix+id, "files", len(fs), "bytesFreed", freed, "dryRun", d.res.DryRun)
	}
	return nil
}

// writtenAfter reports whether a file of fs was written after t.
func writtenAfter(fs []licensing.FileInfo, t time.Time) bool {
	for _, f := range fs {
		if f.Modified.After(t) {
			return true
		}
	}
	return false
}

// signInPasses deletes every sign-in pass but the newest two and those
// a kept snapshot took its sign-ins from (ids in kept).
func (d *deleter) signInPasses(ctx context.Context, kept map[string]bool) error {
	var passes []licensing.FileInfo
	parts := map[string][]licensing.FileInfo{}
	if err := d.s.cfg.Sweeper.ListFiles(ctx, signInPrefix, func(f licensing.FileInfo) error {
		rest := strings.TrimPrefix(f.Name, signInPrefix)
		if id, _, ok := strings.Cut(rest, "/"); ok {
			// A part of a pass: signins/{id}/parts/...
			parts[id] = append(parts[id], f)
		} else if id, _, _ := strings.Cut(rest, "."); !kept[id] {
			passes = append(passes, f)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := d.abandoned(ctx, parts, nil, signInPrefix); err != nil {
		return err
	}
	sort.Slice(passes, func(i, j int) bool {
		if !passes[i].Modified.Equal(passes[j].Modified) {
			return passes[i].Modified.After(passes[j].Modified)
		}
		return passes[i].Name > passes[j].Name
	})
	if len(passes) <= signInPassesKept {
		return nil
	}
	old := passes[signInPassesKept:]
	freed, err := d.files(ctx, old)
	if err == nil && len(old) > 0 {
		d.log.Info("old sign-in passes deleted", "files", len(old), "bytesFreed", freed, "dryRun", d.res.DryRun)
	}
	return err
}

// WriteText prints what Retain did (or would do): a line per snapshot and
// report run, the files, and a summary.
func (r RetentionResult) WriteText(w io.Writer) error {
	gone, verb := "deleted", "deleted"
	if r.DryRun {
		gone, verb = "would be deleted", "would delete"
	}
	var b strings.Builder
	for _, id := range r.Pruned {
		fmt.Fprintf(&b, "  snapshot %s: files %s, counts kept\n", id, gone)
	}
	for _, id := range r.Deleted {
		fmt.Fprintf(&b, "  snapshot %s: %s (older than %d months)\n", id, gone, summaryMonths)
	}
	for _, run := range r.Runs {
		fmt.Fprintf(&b, "  report run %s: files and delivery records %s\n", run, gone)
	}
	for _, id := range r.Abandoned {
		fmt.Fprintf(&b, "  abandoned job %s: files %s\n", id, gone)
	}
	for _, f := range r.Files {
		fmt.Fprintf(&b, "    %s\n", f)
	}
	fmt.Fprintf(&b, "retention: %d snapshot(s) kept, %d pruned, %d deleted, %d report run(s) and %d abandoned job(s) removed; %s %d file(s), %s\n",
		len(r.Kept), len(r.Pruned), len(r.Deleted), len(r.Runs), len(r.Abandoned), verb, len(r.Files), byteSize(r.Bytes))
	_, err := io.WriteString(w, b.String())
	return err
}

// byteSize writes n bytes in the largest unit below it.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// RetentionFunction names the daily function and its run records.
const RetentionFunction = "Retention"

// RetentionRun runs Retain as a job and records the run; a dry run writes
// nothing, not even the run's record.
func (s *Service) RetentionRun(ctx context.Context, trigger string, opts RetentionOptions, log *slog.Logger) (RetentionResult, error) {
	if opts.DryRun {
		return s.Retain(ctx, opts, log)
	}
	run := s.cfg.Runs.Start(ctx, RetentionFunction, trigger, log)
	res, err := s.Retain(ctx, opts, log)
	run.Add("snapshots kept", len(res.Kept))
	run.Add("snapshots pruned", len(res.Pruned))
	run.Add("snapshots deleted", len(res.Deleted))
	run.Add("report runs removed", len(res.Runs))
	run.Add("files deleted", len(res.Files))
	run.Finish(ctx, err, false, byteSize(res.Bytes)+" freed")
	return res, err
}
