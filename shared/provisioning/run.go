package provisioning

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// work is one delegated group in a run.
type work struct {
	agency licensing.Agency
	res    *ProductResult
	in     groupInput
	plan   groupPlan
	// wrote is set when a license of the group was (or may have been)
	// changed.
	wrote atomic.Bool
}

// seat returns the member's seat in the plan; a member no longer in the
// group (a removal for one who left) gets a scratch seat.
func (w *work) seat(id string) *licensing.SeatMember {
	if i, ok := w.plan.index[id]; ok {
		return &w.plan.seats[i]
	}
	return &licensing.SeatMember{}
}

// Run provisions the delegated groups of every agency (or of opts.Agency):
// it reads the tenant's SKUs, the purchases and each group's members, plans
// every group (see plan), and then, unless opts.DryRun, makes the removals
// and assignments in batches of 20 across all groups, reads the changed
// groups back for errors the directory records, remembers the members and
// mails the notices that changed. Two runs never act at once (a run lease);
// a run that finds another under way does nothing and says so.
func (s *Service) Run(ctx context.Context, opts Options, log *slog.Logger) (Result, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	res := Result{DryRun: opts.DryRun, AsOf: s.cfg.Now().UTC(), Agencies: []AgencyResult{}}
	if opts.DryRun {
		works, err := s.prepare(ctx, opts, &res, log)
		if err == nil {
			summarize(works)
		}
		return res, err
	}
	run := s.cfg.Runs.Start(ctx, Function, opts.Trigger, log)
	res.RunID = run.ID()
	release, busy, err := s.cfg.Effects.HoldRun(ctx, "run:"+Function, log)
	if err != nil || busy != "" {
		run.Finish(ctx, err, true, busy)
		if busy != "" {
			res.Notes = append(res.Notes, busy)
		}
		return res, err
	}
	defer release()
	works, err := s.prepare(ctx, opts, &res, log)
	if err == nil {
		err = s.execute(ctx, works, &res, log)
	}
	if err == nil {
		err = s.settle(ctx, works, &res, log)
	}
	summarize(works)
	var added, removed, waiting, failed int
	for _, w := range works {
		added += w.res.Added
		removed += w.res.Removed
		waiting += w.res.Waiting
		failed += w.res.Errors
	}
	run.Add("groups", len(works))
	run.Add("added", added)
	run.Add("removed", removed)
	run.Add("waitlisted", waiting)
	run.Add("errors", failed)
	run.Add("write batches", res.Batches)
	run.Add("mails sent", res.Mailed)
	run.Finish(ctx, err, false, strings.Join(res.Notes, "; "))
	log.Info("provisioning run finished", "run", res.RunID, "groups", len(works), "added", added, "removed", removed,
		"waitlisted", waiting, "errors", failed, "writeBatches", res.Batches, "mailed", res.Mailed)
	return res, err
}

// prepare reads what the run needs and plans every group.
func (s *Service) prepare(ctx context.Context, opts Options, res *Result, log *slog.Logger) ([]*work, error) {
	const op = "provisioning.run"
	agencies, err := s.cfg.Agencies.ListAgencies(ctx)
	if err != nil {
		return nil, err
	}
	if opts.Agency != "" {
		id := licensing.NormalizeAgencyID(opts.Agency)
		var one []licensing.Agency
		for _, a := range agencies {
			if a.ID == id {
				one = append(one, a)
			}
		}
		if len(one) == 0 {
			return nil, licensing.Errorf(op, licensing.NotFound, "There is no agency %q.", id)
		}
		agencies = one
	}
	purchases, err := s.cfg.Purchases.ListPurchases(ctx, licensing.PurchaseFilter{})
	if err != nil {
		return nil, err
	}
	skus, err := s.cfg.Directory.SubscribedSkus(ctx)
	if err != nil {
		return nil, err
	}
	free := map[string]*int{}
	for _, k := range skus {
		n := max(k.Enabled-k.Consumed, 0)
		free[k.SkuID] = &n
	}
	today := licensing.DateOf(res.AsOf, s.cfg.Location)
	grants := map[string]map[string]licensing.LicenseGrant{}
	byAgency := map[string]map[string][]string{}
	var works []*work
	for _, a := range agencies {
		if len(a.DelegatedGroups) == 0 {
			continue
		}
		ar := AgencyResult{Agency: a.ID}
		for _, dg := range a.DelegatedGroups {
			ar.Products = append(ar.Products, ProductResult{GroupID: strings.ToLower(dg.GroupID), PartNumber: dg.Product, Plan: []Action{}})
		}
		res.Agencies = append(res.Agencies, ar)
		results := res.Agencies[len(res.Agencies)-1].Products
		for i, dg := range a.DelegatedGroups {
			pr := &results[i]
			sku, ok := findSku(skus, dg.Product)
			if !ok {
				pr.Problem = fmt.Sprintf("The tenant has no SKU %q; check the product of this delegated group.", dg.Product)
				log.Warn("provisioning: unknown SKU", "agency", a.ID, "product", dg.Product)
				continue
			}
			pr.SkuID, pr.PartNumber = sku.SkuID, sku.PartNumber
			pr.Cap = licensing.EntitlementOf(purchases, a.ID, sku.SkuID, today, s.cfg.Terms)
			w := &work{agency: a, res: pr, in: groupInput{
				agency: a.ID, sku: sku, groupID: pr.GroupID, cap: pr.Cap, now: res.AsOf,
				defaultLocation: s.cfg.DefaultUsageLocation, free: free[sku.SkuID],
			}}
			if w.in.members, err = s.members(ctx, pr.GroupID); err != nil {
				if licensing.ErrorCode(err) != licensing.NotFound && licensing.ErrorCode(err) != licensing.Invalid {
					return nil, err
				}
				pr.Problem = licensing.ErrorMessage(err)
				log.Warn("provisioning: group not read", "agency", a.ID, "group", pr.GroupID, "error", err)
				continue
			}
			if w.in.known, err = s.known(ctx, a.ID, sku.SkuID); err != nil {
				return nil, err
			}
			if _, ok := grants[sku.SkuID]; !ok {
				if grants[sku.SkuID], err = s.grants(ctx, sku.SkuID); err != nil {
					return nil, err
				}
				byAgency[sku.SkuID] = grantsByAgency(grants[sku.SkuID])
			}
			w.in.grants, w.in.byAgency = grants[sku.SkuID], byAgency[sku.SkuID]
			w.plan = plan(w.in)
			pr.Plan = w.plan.actions
			works = append(works, w)
			log.Info("provisioning: group planned", "agency", a.ID, "sku", sku.PartNumber, "members", len(w.in.members), "cap", pr.Cap)
		}
	}
	return works, nil
}

// findSku finds the tenant's SKU named by product (a part number or a SKU
// id, any case).
func findSku(skus []licensing.TenantSku, product string) (licensing.TenantSku, bool) {
	product = strings.TrimSpace(product)
	for _, k := range skus {
		if strings.EqualFold(k.SkuID, product) || strings.EqualFold(k.PartNumber, product) {
			k.SkuID = strings.ToLower(k.SkuID)
			return k, true
		}
	}
	return licensing.TenantSku{}, false
}

func (s *Service) members(ctx context.Context, group string) ([]licensing.GroupMember, error) {
	var out []licensing.GroupMember
	err := s.cfg.Directory.GroupUserMembers(ctx, group, func(m licensing.GroupMember) error {
		out = append(out, m)
		return nil
	})
	return out, err
}

func (s *Service) known(ctx context.Context, agency, sku string) (map[string]licensing.SeatMember, error) {
	list, err := s.cfg.Seats.SeatMembers(ctx, agency, sku)
	if err != nil {
		return nil, err
	}
	out := make(map[string]licensing.SeatMember, len(list))
	for _, m := range list {
		out[m.UserID] = m
	}
	return out, nil
}

func (s *Service) grants(ctx context.Context, sku string) (map[string]licensing.LicenseGrant, error) {
	list, err := s.cfg.Seats.Grants(ctx, sku)
	if err != nil {
		return nil, err
	}
	out := make(map[string]licensing.LicenseGrant, len(list))
	for _, g := range list {
		out[g.UserID] = g
	}
	return out, nil
}

// summarize counts each group's plan and outcomes into its result.
func summarize(works []*work) {
	for _, w := range works {
		r := w.res
		r.Assigned, r.Elsewhere, r.Waiting, r.Errors = 0, 0, 0, 0
		for _, m := range w.plan.seats {
			switch m.State {
			case licensing.SeatAssigned:
				r.Assigned++
			case licensing.SeatElsewhere:
				r.Elsewhere++
			case licensing.SeatWaiting:
				r.Waiting++
			}
			if m.Error != "" {
				r.Errors++
			}
		}
		r.Added, r.Removed = 0, 0
		for _, a := range w.plan.actions {
			// A dry run's lines have no outcome: they count as planned.
			if a.Outcome != "" && a.Outcome != outcomeDone {
				continue
			}
			switch a.Kind {
			case Assign:
				r.Added++
			case Remove:
				r.Removed++
			}
		}
	}
}

// since formats a time for a notice.
func since(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
