package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
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
				strings.Join(a.tableNames(), ", "), strings.Join(a.containerNames(), ", "), strings.Join(a.queueNames(), ", "))
			return nil
		},
	},
	"snapshot": {
		about: "read license use from Graph and publish a usage snapshot [--full] [--sign-in]",
		run:   snapshotJob,
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
			res, err := a.svc.AuditRun(ctx, "cli", a.log)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "usage audit %s on snapshot %s: %d agency-product pairs over, %d mails sent, %d already sent\n",
				res.Date, res.Snapshot, len(res.Over), res.Mailed, res.Skipped)
			for _, o := range res.Over {
				fmt.Fprintf(out, "  %-8s %-36s bought %6d  in use %6d  over by %5d  reclaimable %5d\n", o.Agency, truncateText(o.Product, 36), o.Purchased, o.InUse, o.Over, o.Reclaimable)
			}
			return nil
		},
	},
	"activation-sweep": {
		about: "mark the requests whose steps failed every retry (activation-steps-poison) as failed and tell central IT",
		run: func(ctx context.Context, a *app, args []string, out io.Writer) error {
			if len(args) > 0 {
				return usageError{"activation-sweep takes no arguments"}
			}
			n, err := a.svc.SweepPoisoned(ctx, a.log)
			fmt.Fprintf(out, "%d poisoned activation message(s) handled\n", n)
			return err
		},
	},
}

// activationStepsJob runs activation steps from the queue in this process:
// each message's step, then its successors queued, then the message
// deleted; a step that fails with a retryable error is left for the host.
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
	done, failed := 0, 0
	for {
		msgs, err := a.queues.Receive(ctx, a.stepsQueue, 16, 5*time.Minute)
		if err != nil {
			return err
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			var st licensing.Step
			if err := json.Unmarshal([]byte(m.Text), &st); err != nil {
				fmt.Fprintf(out, "  skipped a message that is not a step: %.80q\n", m.Text)
				failed++
				continue
			}
			next, err := a.svc.RunStep(ctx, st, a.log)
			if err != nil && licensing.Retryable(err) {
				fmt.Fprintf(out, "  %s %s: %v (left for a retry)\n", st.SR, st.Step, licensing.ErrorMessage(err))
				failed++
				continue
			}
			for _, n := range next {
				b, _ := json.Marshal(n)
				if err := a.queues.Enqueue(ctx, a.stepsQueue, string(b), 0); err != nil {
					return err
				}
			}
			if err := a.queues.Delete(ctx, a.stepsQueue, m.ID, m.PopReceipt); err != nil {
				return err
			}
			if err != nil {
				fmt.Fprintf(out, "  %s %s: %s (dropped)\n", st.SR, st.Step, licensing.ErrorMessage(err))
			} else {
				fmt.Fprintf(out, "  %s %s done\n", st.SR, st.Step)
			}
			done++
		}
		if !*drain {
			break
		}
	}
	fmt.Fprintf(out, "%d step(s) run, %d left for a retry\n", done, failed)
	return nil
}

// snapshotJob takes a snapshot and prints what an administrator checks: how
// much was read, what it cost in Graph requests, and who is not attributed.
func snapshotJob(ctx context.Context, a *app, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("snapshot", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	full := fs.Bool("full", false, "read every user even when an incremental read is possible")
	signIn := fs.Bool("sign-in", false, "read last sign-in activity (needs Entra ID P1; makes the read a full one)")
	if err := fs.Parse(args); err != nil {
		return usageError{"snapshot: " + err.Error()}
	}
	if err := a.initStorage(ctx); err != nil {
		return err
	}
	run := a.svc.StartRun(ctx, "snapshot", "cli", a.log)
	before := a.graph.Requests()
	started := time.Now()
	snap, err := a.svc.TakeSnapshot(ctx, licensing.SnapshotOptions{Full: *full, SignIn: *signIn}, a.log)
	requests := a.graph.Requests() - before
	if err == nil {
		run.Add("users", snap.Users)
		run.Add("licensed users", snap.LicensedUsers)
		run.Add("unattributed", snap.Unattributed)
		run.Add("conflicts", snap.Conflicts)
		run.Add("graph requests", requests)
	}
	run.Finish(ctx, err, false, "")
	if err != nil {
		return err
	}
	return printSnapshot(ctx, a, out, snap, requests, time.Since(started))
}

func printSnapshot(ctx context.Context, a *app, out io.Writer, snap licensing.Snapshot, requests int, took time.Duration) error {
	kind := "full read"
	if !snap.Full {
		kind = fmt.Sprintf("incremental: %d changes merged into %s", snap.Changes, snap.Base)
	}
	signIn := "read"
	if !snap.SignInAvailable {
		signIn = "not read"
	}
	fmt.Fprintf(out, "snapshot %s published (%s)\n", snap.ID, kind)
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  users read\t%d (%d licensed)\n", snap.Users, snap.LicensedUsers)
	fmt.Fprintf(tw, "  Graph requests\t%d (%d to read users)\n", requests, snap.Requests)
	fmt.Fprintf(tw, "  agencies\t%d\n", snap.Agencies)
	fmt.Fprintf(tw, "  unattributed\t%d licensed users match no agency\n", snap.Unattributed)
	fmt.Fprintf(tw, "  conflicts\t%d licensed users match several agencies\n", snap.Conflicts)
	fmt.Fprintf(tw, "  last sign-in\t%s\n", signIn)
	fmt.Fprintf(tw, "  duration\t%s\n", took.Round(time.Millisecond))
	tw.Flush()
	for _, n := range snap.Notes {
		fmt.Fprintf(out, "  note: %s\n", n)
	}

	catalog, where, err := a.catalog.Refresh(ctx)
	if err != nil {
		return err
	}
	usage, err := a.tables.SnapshotUsage(ctx, snap.ID)
	if err != nil {
		return err
	}
	attributed := map[string]int{}
	for _, u := range usage {
		if u.Agency != licensing.Unattributed && u.Agency != licensing.Conflicted {
			attributed[u.SkuID] += u.Users
		}
	}
	fmt.Fprintf(out, "\n  %s\n", where)
	tw = tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  PRODUCT\tPART NUMBER\tPREPAID\tCONSUMED\tATTRIBUTED")
	tenant := append([]licensing.TenantSku(nil), snap.Tenant...)
	sort.Slice(tenant, func(i, j int) bool { return tenant[i].Consumed > tenant[j].Consumed })
	for _, t := range tenant {
		p := catalog.Product(t.SkuID, t.PartNumber)
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\n", p.Name, t.PartNumber, t.Enabled, t.Consumed, attributed[t.SkuID])
	}
	return tw.Flush()
}

// payrollJob runs the payroll report: for the calendar's date when run on a
// payroll Monday, or for --date (a missed one).
func payrollJob(ctx context.Context, a *app, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("payroll-report", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dateFlag := fs.String("date", "", "the payroll date to report (2006-01-02); default: today, when it is a payroll Monday")
	resend := fs.String("resend", "", "comma-separated agency ids (or enterprise-summary) to mail again")
	if err := fs.Parse(args); err != nil {
		return usageError{"payroll-report: " + err.Error()}
	}
	var date licensing.Date
	if *dateFlag != "" {
		d, err := licensing.ParseDate(*dateFlag)
		if err != nil {
			return usageError{"payroll-report --date: " + err.Error()}
		}
		date = d
	}
	var opts licensing.PayrollOptions
	for _, r := range strings.Split(*resend, ",") {
		if r = strings.TrimSpace(r); r != "" {
			opts.Resend = append(opts.Resend, r)
		}
	}
	if err := a.initStorage(ctx); err != nil {
		return err
	}
	res, err := a.svc.PayrollRun(ctx, "cli", date, false, opts, a.log)
	if res.Run == "" && err == nil {
		fmt.Fprintf(out, "%s is not a payroll Monday: nothing to do (use --date to report a given date)\n", res.Date)
		return nil
	}
	fmt.Fprintf(out, "payroll reports %s (snapshot %s): %d agencies, %d files written, %d mails sent, %d already delivered, %d over-consuming\n",
		res.Date, res.Snapshot, res.Agencies, res.Written, res.Mailed, res.Skipped, res.Over)
	for _, n := range res.Notes {
		fmt.Fprintf(out, "  note: %s\n", n)
	}
	return err
}
