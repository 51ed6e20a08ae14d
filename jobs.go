package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/provisioning"
	"github.com/shared-tenant/licensetrack/shared/renewals"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// job is one command-line job.
type job struct {
	about string
	run   func(ctx context.Context, a *app, args []string, out io.Writer) error
}

// jobs are the jobs "handler run" knows. Scheduled functions register their
// job here too, so an admin can run any of them by hand.
var jobs = map[string]job{
	"init-storage": {
		about: "create the tables, blob container and queues the app uses (idempotent)",
		run: func(ctx context.Context, a *app, args []string, out io.Writer) error {
			if len(args) > 0 {
				return usageError{"init-storage takes no arguments"}
			}
			if err := a.initStorage(ctx); err != nil {
				return err
			}
			fmt.Fprintf(out, "storage ready in %s: tables %s; container %s; queues %s\n", a.storageName,
				strings.Join(a.tables.TableNames(), ", "), a.container, strings.Join(a.queueNames(), ", "))
			return nil
		},
	},
	"snapshot": {
		about: "read license use from Graph and publish a usage snapshot: the changes since the latest one when it can, " +
			"else every user in SNAPSHOT_SEGMENTS segments read at once (at most 16) and merged, printing the segments read and users so far " +
			"[--full: every user even when the changes could be read] [--sign-in: first a sign-in pass over every user, then a full snapshot with it]",
		run: snapshotJob,
	},
	"activation-steps": {
		about: "run the queued activation steps now, as the host would [--drain: until the queue is empty]",
		run:   activationStepsJob,
	},
	"payroll-report": {
		about: "produce and mail the payroll-Monday reports [--date 2026-11-23] [--resend DOA,enterprise-summary]",
		run:   payrollJob,
	},
	"usage-audit": {
		about: "the monthly over-consumption audit: mail central IT and the over-consuming agencies",
		run: func(ctx context.Context, a *app, args []string, out io.Writer) error {
			if len(args) > 0 {
				return usageError{"usage-audit takes no arguments"}
			}
			if err := a.initStorage(ctx); err != nil {
				return err
			}
			res, err := a.usage.AuditRun(ctx, "cli", a.log)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "usage audit %s on snapshot %s: %d agency-product pairs over, %d mails sent, %d already sent\n",
				res.Date, res.Snapshot, len(res.Over), res.Mailed, res.Skipped)
			for _, o := range res.Over {
				fmt.Fprintf(out, "  %-8s %-36s bought %6d  in use %6d  over by %5d  reclaimable %5d\n", o.Agency, licensing.TruncateTo(o.Product, 36), o.Purchased, o.InUse, o.Over, o.Reclaimable)
			}
			return nil
		},
	},
	"provision-groups": {
		about: "license the members of each agency's delegated groups up to its entitlement [--dry-run: print the plan, write nothing] [--agency DOA]",
		run:   provisionJob,
	},
	"renewal-reminders": {
		about: "mail the reminders due today: purchase lines before their term ends, tenant subscriptions, true-up windows [--on 2027-04-01: as on that day]",
		run:   renewalRemindersJob,
	},
	"true-up": {
		about: "print an Enterprise Agreement enrollment's true-up worksheet --enrollment EA-1234567 [--current N] [--on 2027-01-15]",
		run:   trueUpJob,
	},
	"retention": {
		about: "delete the files of snapshots beyond the newest SNAPSHOT_RETENTION (their counts stay 13 months), old report runs, " +
			"abandoned snapshot parts and old sign-in passes [--dry-run: list what would go, delete nothing]",
		run: retentionJob,
	},
	"activation-sweep": {
		about: "mark the requests whose steps failed every retry (activation-steps-poison) as failed and tell central IT; " +
			"remove the submissions abandoned while receiving and the documents no request refers to, older than an hour; " +
			"delete the ad-hoc workbooks whose download links have expired",
		run: func(ctx context.Context, a *app, args []string, out io.Writer) error {
			if len(args) > 0 {
				return usageError{"activation-sweep takes no arguments"}
			}
			n, err := a.intake.SweepPoisoned(ctx, a.log)
			fmt.Fprintf(out, "%d poisoned activation message(s) handled\n", n)
			if err != nil {
				return err
			}
			res, err := a.intake.SweepOrphans(ctx, a.log)
			for _, id := range res.Requests {
				fmt.Fprintf(out, "  removed abandoned submission %s\n", id)
			}
			for _, name := range res.Documents {
				fmt.Fprintf(out, "  deleted %s\n", name)
			}
			fmt.Fprintf(out, "%d abandoned submission(s) removed, %d orphaned document(s) deleted\n", len(res.Requests), len(res.Documents))
			if err != nil {
				return err
			}
			wb, err := a.usage.SweepWorkbooks(ctx, a.log)
			for _, name := range wb.Deleted {
				fmt.Fprintf(out, "  deleted %s\n", name)
			}
			fmt.Fprintf(out, "%d expired workbook(s) deleted\n", len(wb.Deleted))
			return err
		},
	},
}

// activationStepsJob runs the queued activation steps in this process, with
// the queue function's retry policy.
func activationStepsJob(ctx context.Context, a *app, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("activation-steps", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	drain := fs.Bool("drain", false, "keep going until the queue is empty")
	if err := fs.Parse(args); err != nil {
		return usageError{"activation-steps: " + err.Error()}
	}
	if err := a.initStorage(ctx); err != nil {
		return err
	}
	res, err := a.intake.RunQueuedSteps(ctx, a.queues.Inbox(a.stepsQueue), *drain, a.log)
	for _, l := range res.Lines {
		fmt.Fprintf(out, "  %s\n", l)
	}
	fmt.Fprintf(out, "%d step(s) run, %d left for a retry\n", res.Done, res.Left)
	return err
}

// snapshotJob takes a snapshot in this process, printing a full read's
// progress, then what an administrator checks: how much was read, what it
// cost in Graph requests, and who is not attributed.
func snapshotJob(ctx context.Context, a *app, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("snapshot", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	full := fs.Bool("full", false, "read every user even when an incremental read is possible")
	signIn := fs.Bool("sign-in", false, "read a sign-in pass first (needs Entra ID P1; makes the read a full one)")
	if err := fs.Parse(args); err != nil {
		return usageError{"snapshot: " + err.Error()}
	}
	if err := a.initStorage(ctx); err != nil {
		return err
	}
	progress := func(p usage.SnapProgress) { fmt.Fprintf(out, "  %s\n", p) }
	sum, err := a.usage.SnapshotRunHere(ctx, "cli", usage.SnapshotOptions{Full: *full, SignIn: *signIn}, progress, a.log)
	if err != nil {
		return err
	}
	return sum.WriteText(out)
}

// payrollJob runs the payroll report: for the calendar's date when run on a
// payroll Monday, or for --date (a missed one), which must be a payroll
// Monday unless --force.
func payrollJob(ctx context.Context, a *app, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("payroll-report", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dateFlag := fs.String("date", "", "the payroll date to report (2006-01-02); default: today, when it is a payroll Monday")
	resend := fs.String("resend", "", "comma-separated agency ids (or enterprise-summary) to mail again")
	force := fs.Bool("force", false, "report --date even when it is not a payroll Monday")
	if err := fs.Parse(args); err != nil {
		return usageError{"payroll-report: " + err.Error()}
	}
	if *force && *dateFlag == "" {
		return usageError{"payroll-report: --force needs --date"}
	}
	var date licensing.Date
	if *dateFlag != "" {
		d, err := licensing.ParseDate(*dateFlag)
		if err != nil {
			return usageError{"payroll-report --date: " + err.Error()}
		}
		date = d
	}
	opts := usage.PayrollOptions{Force: *force}
	for _, r := range strings.Split(*resend, ",") {
		if r = strings.TrimSpace(r); r != "" {
			opts.Resend = append(opts.Resend, r)
		}
	}
	if err := a.initStorage(ctx); err != nil {
		return err
	}
	// The run's pieces go through a queue in this process, payrollParallel
	// at once, instead of the Work function's queue.
	q := &licensing.LocalQueue{}
	svc := a.usage.WithWork(q)
	res, err := svc.PayrollRun(ctx, "cli", date, false, opts, a.log)
	if res.Run == "" && licensing.ErrorCode(err) == licensing.Invalid {
		return usageError{"payroll-report --date: " + licensing.ErrorMessage(err) + " Add --force to report " + date.String() + " anyway."}
	}
	if res.Run == "" && err == nil {
		fmt.Fprintf(out, "%s is not a payroll Monday: nothing to do (use --date to report a given date)\n", res.Date)
		return nil
	}
	for _, n := range res.Notes {
		fmt.Fprintf(out, "  note: %s\n", n)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "payroll reports %s (snapshot %s): %d pieces queued\n", res.Date, res.Snapshot, q.Sent())
	return drainPayroll(ctx, svc, q, res.Date, out, a)
}

// payrollParallel is how many pieces of a payroll run the command line runs
// at once.
const payrollParallel = 4

// drainPayroll runs a payroll run's pieces in this process, printing its
// progress as every tenth agency finishes (looked at once a second) and at
// the end.
func drainPayroll(ctx context.Context, svc *usage.Service, q *licensing.LocalQueue, date licensing.Date, out io.Writer, a *app) error {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		printed := 0
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
			}
			if p, err := svc.PayrollProgress(ctx, date); err == nil && p.Finished()/10 != printed/10 && !p.Complete() {
				printed = p.Finished()
				fmt.Fprintf(out, "  %s\n", p)
			}
		}
	}()
	err := svc.DrainLocal(ctx, q, payrollParallel, a.log)
	close(stop)
	<-done
	p, perr := svc.PayrollProgress(ctx, date)
	if perr != nil {
		return errors.Join(err, perr)
	}
	fmt.Fprintf(out, "%s\n", p)
	return err
}

// provisionJob runs capped group provisioning, or with --dry-run prints its
// plan and writes nothing (not even the run's record).
func provisionJob(ctx context.Context, a *app, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("provision-groups", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dry := fs.Bool("dry-run", false, "print the plan with a reason per line and write nothing")
	agency := fs.String("agency", "", "provision one agency's groups only")
	if err := fs.Parse(args); err != nil {
		return usageError{"provision-groups: " + err.Error()}
	}
	if !*dry {
		if err := a.initStorage(ctx); err != nil {
			return err
		}
	}
	res, err := a.provisioning.Run(ctx, provisioning.Options{Agency: *agency, DryRun: *dry, Trigger: "cli"}, a.log)
	if werr := res.WriteText(out); err == nil {
		err = werr
	}
	return err
}

// renewalRemindersJob sends the reminders due today, or on --on (a missed
// day, or a look ahead), and prints what went out.
func renewalRemindersJob(ctx context.Context, a *app, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("renewal-reminders", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	onFlag := fs.String("on", "", "the day to remind as of (2006-01-02); default: today")
	if err := fs.Parse(args); err != nil {
		return usageError{"renewal-reminders: " + err.Error()}
	}
	var on licensing.Date
	if *onFlag != "" {
		d, err := licensing.ParseDate(*onFlag)
		if err != nil {
			return usageError{"renewal-reminders --on: " + err.Error()}
		}
		on = d
	}
	if err := a.initStorage(ctx); err != nil {
		return err
	}
	res, err := a.renewals.RemindersRun(ctx, "cli", on, a.log)
	if werr := res.WriteText(out); err == nil {
		err = werr
	}
	return err
}

// trueUpJob prints an enrollment's true-up worksheet: the window, the order
// with a reason per line, the changes at the anniversary and the agency
// split.
func trueUpJob(ctx context.Context, a *app, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("true-up", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	number := fs.String("enrollment", "", "the enrollment number (EA-1234567)")
	current := fs.Int("current", -1, "the current qualified count; default: the peak of licensed users since the last anniversary")
	onFlag := fs.String("on", "", "the day to prepare it as of (2006-01-02); default: today")
	if err := fs.Parse(args); err != nil {
		return usageError{"true-up: " + err.Error()}
	}
	if *number == "" {
		return usageError{"true-up: --enrollment is required (the enrollment number, as PUT /api/enrollments/{number} recorded it)"}
	}
	var opts renewals.TrueUpOptions
	if *onFlag != "" {
		d, err := licensing.ParseDate(*onFlag)
		if err != nil {
			return usageError{"true-up --on: " + err.Error()}
		}
		opts.On = d
	}
	if *current >= 0 {
		opts.Current = current
	}
	ws, err := a.renewals.PrepareWorksheet(ctx, *number, opts)
	if err != nil {
		return err
	}
	return renewals.WriteWorksheetText(out, ws)
}

// retentionJob deletes what retention lets go, or with --dry-run lists it
// and deletes nothing.
func retentionJob(ctx context.Context, a *app, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("retention", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dry := fs.Bool("dry-run", false, "list what would be deleted and delete nothing")
	if err := fs.Parse(args); err != nil {
		return usageError{"retention: " + err.Error()}
	}
	if !*dry {
		if err := a.initStorage(ctx); err != nil {
			return err
		}
	}
	res, err := a.usage.RetentionRun(ctx, "cli", usage.RetentionOptions{DryRun: *dry}, a.log)
	if werr := res.WriteText(out); err == nil {
		err = werr
	}
	return err
}
