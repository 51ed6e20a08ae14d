package usage

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// OverUse is one agency using more of a product than it bought.
type OverUse struct {
	Agency     string `json:"agency"`
	AgencyName string `json:"agencyName"`
	SkuID      string `json:"skuId"`
	PartNumber string `json:"skuPartNumber"`
	Product    string `json:"product"`
	Purchased  int    `json:"purchased"`
	InUse      int    `json:"inUse"`
	Over       int    `json:"overBy"`
	// Reclaimable counts the disabled or inactive users holding it, who
	// could give a license back before buying more.
	Reclaimable int `json:"reclaimable"`
}

// AuditResult says what a usage audit found and sent.
type AuditResult struct {
	Run      string         `json:"run"`
	Date     licensing.Date `json:"date"`
	Snapshot string         `json:"snapshot"`
	Over     []OverUse      `json:"over"`
	Mailed   int            `json:"mailsSent"`
	Skipped  int            `json:"alreadyDelivered"`
	// Unconfirmed lists the mails whose sending was cut short: they may
	// not have gone, and are not sent again.
	Unconfirmed []string `json:"unconfirmed,omitempty"`
	// Chargeback is the month whose chargeback workbook went to central
	// IT with this run's mail; empty when that mail was not sent now.
	Chargeback string `json:"chargeback,omitempty"`
	// Notes say what the audit could not see (sign-in activity).
	Notes []string `json:"notes,omitempty"`
}

// maxListed bounds the reclaim candidates listed in one agency's mail.
const maxListed = 200

// UsageAudit is the monthly over-consumption audit: the tenant cannot fence
// agencies' seats apart, so it checks that no agency uses licenses another
// agency paid for. It uses a snapshot taken today, or
// takes one, lists every agency and product in use beyond what was bought,
// and mails central IT the whole list and each over-consuming agency its
// part with what to do: buy the difference, or reclaim licenses from the
// disabled and inactive users it lists. Deliveries are recorded per month,
// so a retried run mails nobody twice. Central IT's mail carries the
// chargeback workbook of the month before (see Chargeback).
func (s *Service) UsageAudit(ctx context.Context, log *slog.Logger) (AuditResult, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := s.now().UTC()
	today := licensing.DateOf(now, s.cfg.Reporting.Calendar.Location)
	run := "audit-" + today.Time().Format("2006-01")
	res := AuditResult{Run: run, Date: today}
	if err := s.auditOnRecentSnapshot(ctx, run, now, log); err != nil {
		return res, err
	}
	done, snap, rd, err := s.startReportRun(ctx, run, today, log)
	if err != nil {
		return res, err
	}
	res.Snapshot = snap.ID
	signIn := signInNote(snap)
	if signIn != "" {
		res.Notes = append(res.Notes, signIn)
	}
	over := map[string]map[string]bool{}
	for _, a := range rd.agencies {
		for sku, u := range rd.usage[a.ID] {
			bought := rd.ents[a.ID][sku]
			if n := licensing.OverBy(bought, u.Users); n > 0 {
				p := rd.productOf(sku)
				res.Over = append(res.Over, OverUse{Agency: a.ID, AgencyName: a.Name, SkuID: sku, PartNumber: p.PartNumber, Product: p.Name,
					Purchased: bought, InUse: u.Users, Over: n})
				if over[a.ID] == nil {
					over[a.ID] = map[string]bool{}
				}
				over[a.ID][sku] = true
			}
		}
	}
	sort.Slice(res.Over, func(i, j int) bool {
		if res.Over[i].Agency != res.Over[j].Agency {
			return res.Over[i].Agency < res.Over[j].Agency
		}
		return res.Over[i].Product < res.Over[j].Product
	})
	candidates, counts, err := s.reclaimCandidates(ctx, snap, rd, over)
	if err != nil {
		return res, err
	}
	for i := range res.Over {
		res.Over[i].Reclaimable = counts[res.Over[i].Agency][res.Over[i].SkuID]
	}

	send := func(key string, m licensing.MailMessage) error {
		switch done[key].State {
		case licensing.DeliveryMailed:
			res.Skipped++
			return nil
		case licensing.DeliveryMailing, licensing.DeliveryUnconfirmed:
			res.Unconfirmed = append(res.Unconfirmed, key)
			return nil
		}
		m.ID, m.Date = run+"."+key, now
		d := licensing.Delivery{Run: run, Key: key}
		outcome, err := s.mailOnce(ctx, &d, m, false)
		if tally(outcome, &res.Mailed, &res.Skipped) {
			res.Unconfirmed = append(res.Unconfirmed, key)
		}
		return err
	}
	central := s.auditSummaryMail(res, snap)
	switch done["central-it"].State {
	case licensing.DeliveryMailed, licensing.DeliveryMailing, licensing.DeliveryUnconfirmed:
		// Not sent again: the workbook is not written either.
	default:
		// The chargeback of the month that ended goes with it: written
		// again, the same, by a retried run, and mailed once with the
		// mail (its effect key).
		if _, ok := s.cfg.Reports.(licensing.ChargebackWriter); ok {
			att, c, err := s.chargebackAttachment(ctx, run, licensing.MonthOf(today).Prev())
			if err != nil {
				return res, err
			}
			central.Attachments = append(central.Attachments, att)
			central.Text += chargebackText(c)
			res.Chargeback = c.Month.String()
		} else {
			res.Notes = append(res.Notes, "the report writer writes no chargeback workbook: central IT's mail goes without it")
		}
	}
	if err := send("central-it", central); err != nil {
		return res, err
	}
	for _, a := range rd.agencies {
		if len(over[a.ID]) == 0 {
			continue
		}
		var rows []OverUse
		for _, o := range res.Over {
			if o.Agency == a.ID {
				rows = append(rows, o)
			}
		}
		if err := send(a.ID, s.auditAgencyMail(a, rows, candidates[a.ID], today, signIn)); err != nil {
			return res, err
		}
	}
	log.Info("usage audit", "over", len(res.Over), "mailed", res.Mailed, "alreadyDelivered", res.Skipped, "unconfirmed", len(res.Unconfirmed))
	return res, nil
}

// reclaimCandidates finds, for the over-consuming agencies and products,
// the disabled and inactive users holding them: at most maxListed per
// agency are kept, all are counted.
func (s *Service) reclaimCandidates(ctx context.Context, snap licensing.Snapshot, rd *reportData, over map[string]map[string]bool) (map[string][]licensing.UserLine, map[string]map[string]int, error) {
	lists := map[string][]licensing.UserLine{}
	counts := map[string]map[string]int{}
	if len(over) == 0 {
		return lists, counts, nil
	}
	cutoff := time.Time{}
	if s.cfg.Reporting.InactiveDays > 0 {
		cutoff = snap.Taken.AddDate(0, 0, -s.cfg.Reporting.InactiveDays)
	}
	err := s.ReadSnapshotUsers(ctx, snap, func(u licensing.SnapshotUser) error {
		skus := over[u.Agency]
		if len(skus) == 0 || !u.Licensed() {
			return nil
		}
		line := s.userLine(u, rd, snap.SignInAvailable, cutoff)
		if line.Reclaim == "" {
			return nil
		}
		holds := false
		for _, l := range u.Licenses {
			if skus[l.SkuID] && l.Error == "" {
				if counts[u.Agency] == nil {
					counts[u.Agency] = map[string]int{}
				}
				counts[u.Agency][l.SkuID]++
				holds = true
			}
		}
		if holds && len(lists[u.Agency]) < maxListed {
			lists[u.Agency] = append(lists[u.Agency], line)
		}
		return nil
	})
	return lists, counts, err
}

func (s *Service) auditSummaryMail(res AuditResult, snap licensing.Snapshot) licensing.MailMessage {
	var b strings.Builder
	fmt.Fprintf(&b, "Monthly license audit, %s (data as of %s).\n\n", res.Date, s.mailTime(snap.Taken))
	if len(res.Over) == 0 {
		b.WriteString("No agency uses more licenses than it bought.\n")
	} else {
		fmt.Fprintf(&b, "%d agency-product pairs are over what was bought:\n\n", len(res.Over))
		fmt.Fprintf(&b, "  %-8s %-36s %9s %7s %7s %11s\n", "Agency", "Product", "Purchased", "In use", "Over by", "Reclaimable")
		for _, o := range res.Over {
			fmt.Fprintf(&b, "  %-8s %-36s %9d %7d %7d %11d\n", o.Agency, licensing.TruncateTo(o.Product, 36), o.Purchased, o.InUse, o.Over, o.Reclaimable)
		}
		b.WriteString("\nEach of these agencies was sent its part, with the disabled and inactive users it could reclaim licenses from.\n")
	}
	fmt.Fprintf(&b, "\nLicensed users matching no agency: %d; matching several: %d (see the payroll enterprise summary).\n", snap.Unattributed, snap.Conflicts)
	b.WriteString(s.overviewPageText())
	b.WriteString(signInMailText(signInNote(snap)))
	return licensing.MailMessage{To: s.cfg.CentralIT, Subject: fmt.Sprintf("License audit %s: %d over", res.Date.Time().Format("2006-01"), len(res.Over)), Text: b.String()}
}

func (s *Service) auditAgencyMail(a licensing.Agency, rows []OverUse, candidates []licensing.UserLine, on licensing.Date, signIn string) licensing.MailMessage {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s) uses more licenses than it bought, as of %s:\n\n", a.Name, a.ID, on)
	for _, o := range rows {
		fmt.Fprintf(&b, "  %-36s bought %d, in use %d: over by %d\n", licensing.TruncateTo(o.Product, 36), o.Purchased, o.InUse, o.Over)
	}
	b.WriteString("\nThese licenses belong to other agencies. Please either buy the difference (send the purchase order\n" +
		"to central IT as for any purchase), or reclaim licenses from users who do not need them:\n\n")
	if len(candidates) == 0 {
		b.WriteString("  No disabled or inactive users hold them; buying is the way to go.\n")
	}
	for _, u := range candidates {
		fmt.Fprintf(&b, "  %-45s %s\n", licensing.TruncateTo(u.UserPrincipalName, 45), u.Reclaim)
	}
	if len(candidates) == maxListed {
		fmt.Fprintf(&b, "  (the first %d are listed; the payroll report's Users sheet has them all)\n", maxListed)
	}
	b.WriteString(s.agencyPageText(a.ID))
	b.WriteString(signInMailText(signIn))
	return licensing.MailMessage{To: a.Contacts, Subject: fmt.Sprintf("Action needed: %s uses more licenses than it bought", a.ID), Text: b.String()}
}

// auditSnapshotAge is how old the latest snapshot may be for the audit to
// report on it rather than read the tenant: a payroll run every two weeks
// publishes a full one, with sign-ins from the latest pass.
const auditSnapshotAge = 16 * 24 * time.Hour

// auditOnRecentSnapshot makes the latest snapshot the audit run's own when
// full snapshots are read as split work (a tenant too large to read in
// one invocation) and that snapshot is recent: the audit then reads no
// user from the directory. Otherwise the run takes its snapshot as before.
func (s *Service) auditOnRecentSnapshot(ctx context.Context, run string, now time.Time, log *slog.Logger) error {
	if s.cfg.Split.Jobs == nil {
		return nil
	}
	done, err := s.deliveries(ctx, run)
	if err != nil {
		return err
	}
	if _, ok := done[snapshotKey]; ok {
		return nil
	}
	latest, err := s.cfg.Snapshots.LatestSnapshot(ctx)
	if licensing.ErrorCode(err) == licensing.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if now.Sub(latest.Taken) > auditSnapshotAge {
		log.Warn("the latest snapshot is too old for the audit; reading the tenant", "snapshot", latest.ID, "taken", latest.Taken)
		return nil
	}
	log.Info("the audit reports on the latest snapshot", "snapshot", latest.ID, "taken", latest.Taken)
	return s.cfg.Deliveries.PutDelivery(ctx, licensing.Delivery{Run: run, Key: snapshotKey, State: "taken", File: latest.ID, At: now})
}
