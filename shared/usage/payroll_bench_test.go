package usage_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
	"github.com/shared-tenant/licensetrack/shared/xlsx"
)

// synthDirectory is a directory of n users spread over agencies, generated
// on the fly: every user has E3, every fifth Visio (by group), every
// fiftieth is disabled.
type synthDirectory struct{ users, agencies int }

func (d synthDirectory) SubscribedSkus(context.Context) ([]licensing.TenantSku, error) {
	return []licensing.TenantSku{{SkuID: fakes.SkuE3, PartNumber: "ENTERPRISEPACK", Enabled: d.users, Consumed: d.users},
		{SkuID: fakes.SkuVisio, PartNumber: "VISIOCLIENT", Enabled: d.users / 5, Consumed: d.users / 5}}, nil
}
func (d synthDirectory) Subscriptions(context.Context) ([]licensing.TenantSubscription, error) {
	return nil, nil
}
func (d synthDirectory) GroupUserMembers(context.Context, string, func(licensing.GroupMember) error) error {
	return nil
}
func (d synthDirectory) ReadUsers(_ context.Context, _ licensing.UserQuery, fn func(licensing.DirectoryUser) error) (licensing.UserReadResult, error) {
	signIn := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < d.users; i++ {
		u := licensing.DirectoryUser{ID: fmt.Sprintf("u%07d", i), UserPrincipalName: fmt.Sprintf("user%07d@agency%03d.example.gov", i, i%d.agencies),
			DisplayName: fmt.Sprintf("User %d", i), Department: fmt.Sprintf("Agency %03d", i%d.agencies), AccountEnabled: i%50 != 0, LastSignIn: &signIn,
			Licenses: []licensing.UserLicense{{SkuID: fakes.SkuE3, Direct: true}}}
		if i%5 == 0 {
			u.Licenses = append(u.Licenses, licensing.UserLicense{SkuID: fakes.SkuVisio, Groups: []string{"g-visio"}})
		}
		if err := fn(u); err != nil {
			return licensing.UserReadResult{}, err
		}
	}
	return licensing.UserReadResult{Full: true, Users: d.users, DeltaLink: "synthetic"}, nil
}

// diskFiles keeps files in a folder, committing each on Close.
type diskFiles struct{ dir string }

type diskFile struct {
	*os.File
	final string
}

func (d diskFiles) Create(_ context.Context, name, _ string) (licensing.FileWriter, error) {
	final := filepath.Join(d.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(final), ".part-*")
	if err != nil {
		return nil, err
	}
	return &diskFile{File: f, final: final}, nil
}

func (f *diskFile) Close() error {
	if err := f.File.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), f.final)
}

func (f *diskFile) Abort(error) { f.File.Close(); os.Remove(f.Name()) }

func (d diskFiles) Open(_ context.Context, name string) (io.ReadCloser, error) {
	f, err := os.Open(filepath.Join(d.dir, filepath.FromSlash(name)))
	if os.IsNotExist(err) {
		return nil, licensing.Errorf("diskFiles.open", licensing.NotFound, "no %s", name)
	}
	return f, err
}

// discardMail counts messages and reads their attachments to the end.
type discardMail struct{ sent atomic.Int64 }

func (m *discardMail) Send(ctx context.Context, msg licensing.MailMessage) error {
	for _, a := range msg.Attachments {
		rc, err := a.Open(ctx)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, rc)
		rc.Close()
	}
	m.sent.Add(1)
	return nil
}

// benchPayroll is a usage service on a synthetic tenant of users over
// agencies (each with an E3 line of 98% of its users), its store and its
// mail, with the workbooks on disk in dir.
func benchPayroll(b *testing.B, users, agencies int, dir string) (*usage.Service, *memstore.Store, *discardMail) {
	ctx := context.Background()
	store := memstore.New()
	mail := &discardMail{}
	auth := licensing.NewAuthorizer(store, []string{fakes.Admin}, false)
	agencyAdmin := licensing.NewAgencyAdmin(store, auth, nil)
	svc := usage.NewService(usage.Config{
		Auth: auth, Runs: licensing.NewRuns(store, auth, nil, nil),
		Agencies: store, Snapshots: store, Purchases: store, Deliveries: store, Files: diskFiles{dir},
		Directory: synthDirectory{users: users, agencies: agencies}, Mailer: mail, Reports: xlsx.NewReportWriter(),
		Catalog: fakes.BuiltinCatalog{}, CentralIT: []string{"it@it.example.gov"}, Effects: licensing.NewEffects(store, nil, 0),
	})
	admin := &licensing.Principal{Name: fakes.Admin}
	now := time.Now()
	var lines []licensing.Purchase
	for i := 0; i < agencies; i++ {
		id := fmt.Sprintf("A%03d", i)
		a := licensing.Agency{ID: id, Name: "Agency " + id, Contacts: []string{"x@a.example.gov"},
			Attribution: licensing.AttributionRule{Attribute: licensing.AttrDepartment, Values: []string{fmt.Sprintf("Agency %03d", i)}}}
		if _, _, err := agencyAdmin.PutAgency(ctx, admin, id, a, licensing.Precondition{}); err != nil {
			b.Fatal(err)
		}
		lines = append(lines, licensing.Purchase{ID: "p" + id, Agency: id, SkuID: fakes.SkuE3, Quantity: users / agencies * 98 / 100,
			TermStart: licensing.NewDate(2026, 7, 1), TermEnd: licensing.NewDate(2027, 6, 30), PONumber: "PO-" + id, ActivatedAt: &now})
	}
	if _, err := store.AddPurchases(ctx, lines, "bench", "bench"); err != nil {
		b.Fatal(err)
	}
	return svc, store, mail
}

// BenchmarkPayrollReport runs a whole payroll report: the snapshot of
// PAYROLL_BENCH_USERS users (default 100000) over 200 agencies, one
// workbook per agency streamed to disk, the enterprise summary, and the
// mail. It reports the total time, the snapshot's share, and the peak
// resident memory of the process. Run with -benchtime 1x.
func BenchmarkPayrollReport(b *testing.B) {
	users, agencies := 100000, 200
	if v, err := strconv.Atoi(os.Getenv("PAYROLL_BENCH_USERS")); err == nil && v > 0 {
		users = v
	}
	ctx := context.Background()
	for b.Loop() {
		svc, store, mail := benchPayroll(b, users, agencies, b.TempDir())
		start := time.Now()
		res, err := svc.PayrollReport(ctx, licensing.NewDate(2026, 11, 23), usage.PayrollOptions{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		total := time.Since(start)
		if res.Written != agencies+1 || mail.sent.Load() != int64(agencies+1) {
			b.Fatalf("result %+v, %d mails", res, mail.sent.Load())
		}
		snap, _ := store.LatestSnapshot(ctx)
		d, _ := time.ParseDuration(snap.Duration)
		b.ReportMetric(total.Seconds(), "total-s")
		b.ReportMetric(d.Seconds(), "snapshot-s")
		b.ReportMetric(float64(users), "users")
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MB")
	}
}
