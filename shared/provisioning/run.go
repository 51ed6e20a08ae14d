package provisioning

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
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

// Run provisions the delegated groups of every agency (or of opts.Agency)
// in this process: a run on demand, from the command line or the demo. A
// dry run reads the tenant's SKUs, the purchases and each group's members
// and returns the plan of every group (see plan), writing nothing. Any
// other run is split as the hourly one is (see Start), one piece per
// agency, and the pieces run here one after the other through a
// licensing.LocalQueue; the result gathers what each did.
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
	q := &licensing.LocalQueue{}
	p, err := s.start(ctx, q, opts, &res, log)
	if err != nil || q.Sent() == 0 {
		return res, err
	}
	err = s.drainLocal(ctx, q, &res, log)
	sort.Slice(res.Agencies, func(i, j int) bool { return res.Agencies[i].Agency < res.Agencies[j].Agency })
	if pr, perr := s.progressOf(ctx, p); perr == nil {
		res.Progress = pr.String()
	}
	return res, err
}

// provisionAgency provisions one agency's delegated groups: it plans every
// group, makes the removals and assignments in batches of 20, reads the
// changed groups back for errors the directory records, remembers the
// members and mails the notices that changed. The caller holds the
// agency's lease. It returns what the piece did, for the run's record.
func (s *Service) provisionAgency(ctx context.Context, agency string, res *Result, log *slog.Logger) (pieceRecord, error) {
	works, err := s.prepare(ctx, Options{Agency: agency}, res, log)
	if err == nil {
		err = s.execute(ctx, works, res, log)
	}
	if err == nil {
		err = s.settle(ctx, works, res, log)
	}
	summarize(works)
	rec := pieceRecord{Groups: len(works), Batches: res.Batches, Mailed: res.Mailed, Detail: strings.Join(res.Notes, "; ")}
	for _, w := range works {
		rec.Added += w.res.Added
		rec.Removed += w.res.Removed
		rec.Waitlisted += w.res.Waiting
		rec.Errors += w.res.Errors
	}
	log.Info("provisioning: agency finished", "groups", rec.Groups, "added", rec.Added, "removed", rec.Removed,
		"waitlisted", rec.Waitlisted, "errors", rec.Errors, "writeBatches", rec.Batches, "mailed", rec.Mailed)
	return rec, err
}

// prepare reads what the run needs and plans every group.
func (s *Service) prepare(ctx context.Context, opts Options, res *Result, log *slog.Logger) ([]*work, error) {
	agencies, err := s.agencies(ctx, opts.Agency)
	if err != nil {
		return nil, err
	}
	var filter licensing.PurchaseFilter
	if opts.Agency != "" {
		filter.Agency = licensing.NormalizeAgencyID(opts.Agency)
	}
	purchases, err := s.cfg.Purchases.ListPurchases(ctx, filter)
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
			if opts.Agency != "" {
				// One agency: its own grants and its members', not every
				// agency's.
				if w.in.grants, err = s.grantsFor(ctx, sku.SkuID, a.ID, w.in.members); err != nil {
					return nil, err
				}
			} else {
				if _, ok := grants[sku.SkuID]; !ok {
					if grants[sku.SkuID], err = s.grants(ctx, sku.SkuID); err != nil {
						return nil, err
					}
					byAgency[sku.SkuID] = grantsByAgency(grants[sku.SkuID])
				}
				w.in.grants, w.in.byAgency = grants[sku.SkuID], byAgency[sku.SkuID]
			}
			w.plan = plan(w.in)
			pr.Plan = w.plan.actions
			works = append(works, w)
			log.Info("provisioning: group planned", "agency", a.ID, "sku", sku.PartNumber, "members", len(w.in.members), "cap", pr.Cap)
		}
	}
	return works, nil
}

// agencies returns every agency, or only the one named by id: an unknown
// id is NotFound.
func (s *Service) agencies(ctx context.Context, id string) ([]licensing.Agency, error) {
	if id == "" {
		return s.cfg.Agencies.ListAgencies(ctx)
	}
	id = licensing.NormalizeAgencyID(id)
	a, err := s.cfg.Agencies.GetAgency(ctx, id)
	if licensing.ErrorCode(err) == licensing.NotFound {
		return nil, licensing.Wrap("provisioning.run", licensing.NotFound, fmt.Sprintf("There is no agency %q.", id), err)
	}
	if err != nil {
		return nil, err
	}
	return []licensing.Agency{a}, nil
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

// grantsFor returns agency's grants of sku and those of its group's
// members, by user id.
func (s *Service) grantsFor(ctx context.Context, sku, agency string, members []licensing.GroupMember) (map[string]licensing.LicenseGrant, error) {
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	list, err := s.cfg.Seats.GrantsFor(ctx, sku, agency, ids)
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
