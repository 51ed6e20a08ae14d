package main

import (
	"context"
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
