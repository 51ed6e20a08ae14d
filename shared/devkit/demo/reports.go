package demo

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/shared-tenant/licensetrack/shared/blobstore"
	"github.com/shared-tenant/licensetrack/shared/config"
	"github.com/shared-tenant/licensetrack/shared/devkit/funchost"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// demoPayroll runs the payroll report of the latest payroll Monday over the
// demo tenant and the demo purchases, copies the workbooks to ./out/, prints
// a table of each agency's purchased, in use and over, and then fires the
// weekly timer through the harness to show that a second run mails nobody
// twice.
func demoPayroll(ctx context.Context, cfg config.Config, a Env, host *funchost.Host, api *demoClient, out io.Writer, step func(string, ...any)) error {
	cal := cfg.Reporting.Calendar()
	date := licensing.DateOf(time.Now(), cal.Location)
	for i := 0; i < cal.IntervalDays && !cal.IsPayrollDay(date); i++ {
		date = date.AddDays(-1)
	}
	step("payroll report for payroll Monday %s (the latest one): a fresh snapshot, one workbook per agency, the enterprise summary, mail", date)
	started := time.Now()
	// The run's pieces (the plan, one per agency, the summary) go through
	// a queue in this process, four at a time.
	q := &licensing.LocalQueue{}
	svc := a.Usage.WithWork(q)
	res, err := svc.PayrollRun(ctx, "demo", date, false, usage.PayrollOptions{}, a.Log)
	if err != nil {
		return err
	}
	if err := svc.DrainLocal(ctx, q, 4, a.Log); err != nil {
		return err
	}
	progress, err := svc.PayrollProgress(ctx, date)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "    %s (snapshot %s; %d pieces of work), in %s\n", progress, res.Snapshot, q.Sent(), time.Since(started).Round(time.Millisecond))

	dir := filepath.Join("out", "payroll-"+date.String())
	n, err := copyBlobs(ctx, a.Blobs, fmt.Sprintf("reports/payroll/%s/", date), dir)
	if err != nil {
		return err
	}
	step("copied %d workbooks to %s/ (open %s/DOT.xlsx, an agency over its Office 365 E3, and enterprise-summary.xlsx)", n, dir, dir)

	var rep licenseReport
	if err := api.decode(ctx, http.MethodGet, "/reports/licenses?format=json", &rep); err != nil {
		return err
	}
	step("GET /api/reports/licenses -> purchased against in use per agency (snapshot %s):", rep.Snapshot)
	printAgencyTable(out, rep)

	inv, err := host.FireTimer(ctx, "PayrollReport", false)
	if err != nil {
		return err
	}
	last := ""
	if len(inv.Logs) > 0 {
		last = inv.Logs[len(inv.Logs)-1]
	}
	step("the PayrollReport timer fired through the harness: succeeded=%v; %s", inv.Succeeded, licensing.TruncateTo(last, 160))
	return nil
}

// licenseReport is the part of GET /api/reports/licenses the demo prints.
type licenseReport struct {
	Snapshot string `json:"snapshot"`
	Agencies []struct {
		Agency string `json:"agency"`
		// Bucket marks the unattributed and conflicting users' rows.
		Bucket   string `json:"bucket"`
		Products []struct {
			PartNumber string `json:"skuPartNumber"`
			Purchased  int    `json:"purchased"`
			InUse      int    `json:"inUse"`
			Status     string `json:"status"`
		} `json:"products"`
	} `json:"agencies"`
}

// printAgencyTable prints each agency's totals: purchased, in use, and the
// seats used beyond what was bought.
func printAgencyTable(out io.Writer, rep licenseReport) {
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "AGENCY\tPURCHASED\tIN USE\tOVER\tPRODUCTS OVER\t")
	agencies := rep.Agencies
	sort.Slice(agencies, func(i, j int) bool { return agencies[i].Agency < agencies[j].Agency })
	var tp, tu, to int
	for _, a := range agencies {
		if a.Bucket != "" {
			continue
		}
		var p, u, o int
		var names []string
		for _, l := range a.Products {
			p += l.Purchased
			u += l.InUse
			if l.Status == licensing.ProductOver {
				o += licensing.OverBy(l.Purchased, l.InUse)
				names = append(names, l.PartNumber)
			}
		}
		tp, tu, to = tp+p, tu+u, to+o
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t\n", a.Agency, p, u, o, licensing.TruncateTo(joinOr(names, "-"), 40))
	}
	fmt.Fprintf(tw, "TOTAL\t%d\t%d\t%d\t\t\n", tp, tu, to)
	tw.Flush()
}

func joinOr(s []string, def string) string {
	if len(s) == 0 {
		return def
	}
	out := s[0]
	for _, x := range s[1:] {
		out += ", " + x
	}
	return out
}

// copyBlobs copies the blobs under prefix to dir, returning how many.
func copyBlobs(ctx context.Context, s *blobstore.Store, prefix, dir string) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	n := 0
	err := s.List(ctx, prefix, func(b blobstore.BlobInfo) error {
		rc, err := s.Open(ctx, b.Name)
		if err != nil {
			return err
		}
		defer rc.Close()
		f, err := os.Create(filepath.Join(dir, filepath.Base(b.Name)))
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, rc); err != nil {
			f.Close()
			return err
		}
		n++
		return f.Close()
	})
	return n, err
}
