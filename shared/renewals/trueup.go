package renewals

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

const opTrueUp = "renewals.trueUp"

// TrueUpOptions say for which day a worksheet is prepared and which count it
// reports.
type TrueUpOptions struct {
	// On is the day the worksheet is prepared for; the zero Date is today
	// (in the configured time zone).
	On licensing.Date
	// Current, when set, is the qualified count to report instead of the
	// peak of licensed users since the last anniversary.
	Current *int
}

// Worksheet prepares the true-up (or annual order) of enrollment number:
// the window, the count, the order with a reason per line, how the
// increment splits across agencies and which agencies bought less than they
// used. It writes nothing. Admins only; an unknown enrollment is NotFound, a
// given current count outside 0..licensing.MaxQualifiedCount is Invalid.
func (s *Service) Worksheet(ctx context.Context, caller *licensing.Principal, number string, opts TrueUpOptions) (licensing.TrueUpWorksheet, error) {
	if _, err := s.cfg.Auth.RequireAdmin(ctx, opTrueUp, caller); err != nil {
		return licensing.TrueUpWorksheet{}, err
	}
	return s.PrepareWorksheet(ctx, number, opts)
}

// PrepareWorksheet is Worksheet for the command line, whose operator holds
// the storage account's access already: it checks no caller.
func (s *Service) PrepareWorksheet(ctx context.Context, number string, opts TrueUpOptions) (licensing.TrueUpWorksheet, error) {
	if err := checkCurrent(opts.Current); err != nil {
		return licensing.TrueUpWorksheet{}, err
	}
	number = strings.TrimSpace(number)
	if !licensing.ValidEnrollmentNumber(number) {
		return licensing.TrueUpWorksheet{}, licensing.Errorf(opTrueUp, licensing.NotFound, "There is no enrollment %q.", licensing.Truncate(number))
	}
	e, err := s.cfg.Enrollments.GetEnrollment(ctx, number)
	if err != nil {
		return licensing.TrueUpWorksheet{}, err
	}
	on := opts.On
	if on.IsZero() {
		on = s.today()
	}
	return s.worksheet(ctx, e, on, opts.Current)
}

// WriteWorksheet writes ws as a workbook a finance office can file.
func (s *Service) WriteWorksheet(w io.Writer, ws licensing.TrueUpWorksheet) error {
	if s.cfg.Worksheets == nil {
		return licensing.Errorf(opTrueUp, licensing.Internal, "True-up workbooks are not configured.")
	}
	return s.cfg.Worksheets.WriteTrueUp(w, ws)
}

// True-up workbooks are written with the ad-hoc workbooks, under
// reports/adhoc/{link expiry}/, whose expired files the usage workflow's
// workbook sweep (ActivationSweep) deletes.
const (
	workbookDir    = "reports/adhoc/"
	workbookExpiry = "20060102T150405Z"
)

// WorksheetWorkbook prepares the worksheet as Worksheet does, writes its
// workbook to Files as reports/adhoc/{link expiry}/{random}/
// true-up-{number}-{on}.xlsx (so a browser saves it under that name), and
// returns a read-only link to it valid for ttl, the file's name and the
// worksheet. A failed write leaves no file.
func (s *Service) WorksheetWorkbook(ctx context.Context, caller *licensing.Principal, number string, opts TrueUpOptions, ttl time.Duration) (link, file string, ws licensing.TrueUpWorksheet, err error) {
	if s.cfg.Files == nil || s.cfg.Links == nil || s.cfg.Worksheets == nil {
		return "", "", ws, licensing.Errorf(opTrueUp, licensing.Internal, "True-up workbooks are not configured.")
	}
	if ws, err = s.Worksheet(ctx, caller, number, opts); err != nil {
		return "", "", ws, err
	}
	file = fmt.Sprintf("%s%s/%s/true-up-%s-%s.xlsx", workbookDir, s.cfg.Now().Add(ttl).UTC().Format(workbookExpiry),
		licensing.RandomID()[:12], ws.Enrollment, ws.On)
	w, err := s.cfg.Files.Create(ctx, file, xlsxType)
	if err != nil {
		return "", "", ws, err
	}
	if err := s.cfg.Worksheets.WriteTrueUp(w, ws); err != nil {
		w.Abort(err)
		return "", "", ws, licensing.Wrap(opTrueUp, licensing.Internal, "The true-up workbook could not be written.", err)
	}
	if err := w.Close(); err != nil {
		return "", "", ws, err
	}
	link, err = s.cfg.Links.Link(ctx, file, ttl)
	return link, file, ws, err
}

// checkCurrent refuses a given current count outside 0..MaxQualifiedCount.
func checkCurrent(current *int) error {
	if current == nil || (*current >= 0 && *current <= licensing.MaxQualifiedCount) {
		return nil
	}
	return &licensing.Error{Op: opTrueUp, Code: licensing.Invalid, Message: "The current count has 1 problem; see fields.",
		Fields: []licensing.FieldError{{Field: "current", Message: fmt.Sprintf("must be a whole number from 0 to %d: the qualified users to report", licensing.MaxQualifiedCount)}}}
}

// worksheet prepares enrollment e's true-up on day on; current, when not
// nil, replaces the peak of licensed users as the current count.
func (s *Service) worksheet(ctx context.Context, e licensing.Enrollment, on licensing.Date, current *int) (licensing.TrueUpWorksheet, error) {
	ws := licensing.TrueUpWorksheet{
		Enrollment: e.Number, Kind: e.Kind, Anniversary: e.Anniversary, On: on,
		Window: licensing.WindowOf(e.Anniversary, on), LastReported: e.LastReported,
		Order: []licensing.OrderLine{}, AfterAnniversary: []licensing.OrderLine{},
		Agencies: []licensing.AgencyShare{}, Uncovered: []licensing.Uncovered{},
		Prepared: s.cfg.Now().UTC(),
	}
	if err := checkCurrent(current); err != nil {
		return ws, err
	}
	from := e.LastAnniversary()
	if on.Before(from) {
		return ws, &licensing.Error{Op: opTrueUp, Code: licensing.Invalid, Message: "The date has 1 problem; see fields.",
			Fields: []licensing.FieldError{{Field: "on", Message: fmt.Sprintf("must be %s or later: the true-up due by %s accounts for the year from %s", from, e.Anniversary, from)}}}
	}
	snaps, err := s.cfg.Snapshots.ListSnapshots(ctx, s.midnight(from), s.midnight(on.AddDays(1)))
	if err != nil {
		return ws, err
	}
	s.drawPeak(&ws, snaps)
	switch {
	case current != nil:
		ws.Current, ws.CurrentFrom = *current, licensing.CurrentGiven
	case len(snaps) == 0:
		return ws, &licensing.Error{Op: opTrueUp, Code: licensing.Invalid,
			Message: fmt.Sprintf("No usage snapshot was taken from %s to %s, so there is no peak of licensed users to report; pass current=N, the qualified count, or take a snapshot first.", from, on),
			Fields:  []licensing.FieldError{{Field: "current", Message: fmt.Sprintf("is required: no usage snapshot was taken from %s to %s", from, on)}}}
	default:
		ws.Current, ws.CurrentFrom = ws.Peak, licensing.CurrentPeak
	}
	ws.Increment, ws.Order, ws.AfterAnniversary = orderOf(e, ws.Current)
	if e.Kind == licensing.EnrollmentEnterprise && ws.Increment == 0 && len(e.Reservations) == 0 && len(e.Transitions) == 0 {
		ws.UpdateStatement = true
		ws.Notes = append(ws.Notes, fmt.Sprintf("Nothing is ordered: the qualified count did not grow past the %d last reported, and no online service was reserved or transitioned. The signed update statement (a zero-usage order) is still due by %s.", e.LastReported, ws.Window.Closes))
	}
	if on.After(e.Anniversary) {
		ws.Notes = append(ws.Notes, fmt.Sprintf("The anniversary %s has passed: record this true-up on the enrollment (lastReported %d and the next anniversary, %s).", e.Anniversary, ws.Current, e.Anniversary.AddYears(1)))
	}
	s.splitAgencies(&ws, snaps)
	if err := s.findUncovered(ctx, &ws, snaps); err != nil {
		return ws, err
	}
	if err := s.nameAgencies(ctx, &ws); err != nil {
		return ws, err
	}
	return ws, nil
}

// midnight returns the start of day d in the configured time zone.
func (s *Service) midnight(d licensing.Date) time.Time {
	t := d.Time()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, s.cfg.Location)
}

// drawPeak sets the peak of licensed users across snaps (the earliest
// snapshot of the highest count) and the newest snapshot's count.
func (s *Service) drawPeak(ws *licensing.TrueUpWorksheet, snaps []licensing.Snapshot) {
	ws.Snapshots = len(snaps)
	var peak, latest *licensing.Snapshot
	for i := range snaps {
		sn := &snaps[i]
		if peak == nil || sn.LicensedUsers > peak.LicensedUsers || (sn.LicensedUsers == peak.LicensedUsers && sn.Taken.Before(peak.Taken)) {
			peak = sn
		}
		if latest == nil || sn.Taken.After(latest.Taken) {
			latest = sn
		}
	}
	if peak != nil {
		ws.Peak, ws.PeakOn = peak.LicensedUsers, licensing.DateOf(peak.Taken, s.cfg.Location)
		ws.Latest, ws.LatestOn = latest.LicensedUsers, licensing.DateOf(latest.Taken, s.cfg.Location)
	}
}

// serviceTotal is one online service's reservations or transitions of the
// year, summed.
type serviceTotal struct {
	name  string
	qty   int
	dates []licensing.Date
}

// serviceKey compares service names without case or surrounding spaces.
func serviceKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// sumServices sums changes per service, in the order each service is first
// listed.
func sumServices(changes []licensing.ServiceChange) []*serviceTotal {
	var out []*serviceTotal
	by := map[string]*serviceTotal{}
	for _, c := range changes {
		k := serviceKey(c.Service)
		t := by[k]
		if t == nil {
			t = &serviceTotal{name: strings.TrimSpace(c.Service)}
			by[k] = t
			out = append(out, t)
		}
		t.qty += c.Quantity
		t.dates = append(t.dates, c.Date)
	}
	return out
}

// covers reports whether platform product p is covered by service.
func covers(p licensing.PlatformProduct, service string) bool {
	k := serviceKey(service)
	for _, c := range p.CoveredBy {
		if serviceKey(c) == k {
			return true
		}
	}
	return false
}

// orderOf returns the increment and the order lines of enrollment e with
// current qualified users: the order due in the window, and the changes
// that take effect at the anniversary.
func orderOf(e licensing.Enrollment, current int) (increment int, order, after []licensing.OrderLine) {
	reserved, transitioned := sumServices(e.Reservations), sumServices(e.Transitions)
	order, after = []licensing.OrderLine{}, []licensing.OrderLine{}
	annual := e.Kind == licensing.EnrollmentSubscription
	increment = max(0, current-e.LastReported)
	if annual {
		increment = current
	}
	for _, p := range e.PlatformProducts {
		deduct, by := 0, []string{}
		for _, r := range reserved {
			if covers(p, r.name) {
				deduct += r.qty
				by = append(by, r.name)
			}
		}
		qty := max(0, increment-deduct)
		less := ""
		if deduct > 0 {
			verb := "covers"
			if len(by) > 1 {
				verb = "cover"
			}
			less = fmt.Sprintf(", less the %d reserved users of %s, which %s %s", deduct, joinList(by), verb, strings.TrimSpace(p.Name))
		}
		switch {
		case annual:
			order = append(order, licensing.OrderLine{Product: strings.TrimSpace(p.Name), Quantity: qty, Kind: licensing.LineAnnual,
				Reason: fmt.Sprintf("The annual order counts every qualified user (%d)%s.", current, less)})
		case qty > 0:
			order = append(order, licensing.OrderLine{Product: strings.TrimSpace(p.Name), Quantity: qty, Kind: licensing.LineIncrement,
				Reason: fmt.Sprintf("The qualified count grew by %d since the last true-up (from %d to %d)%s.", increment, e.LastReported, current, less)})
		}
	}
	for _, r := range reserved {
		order = append(order, licensing.OrderLine{Product: r.name, Quantity: r.qty, Kind: licensing.LineReservation,
			Reason: fmt.Sprintf("%d users were reserved during the year (%s) and are reconciled at this true-up.", r.qty, onDates(r.dates))})
		for _, p := range e.PlatformProducts {
			if p.Bridge != "" && covers(p, r.name) {
				order = append(order, bridgeLine(p, r, fmt.Sprintf("The %d reserved users of %s", r.qty, r.name)))
			}
		}
	}
	for _, t := range transitioned {
		order = append(order, licensing.OrderLine{Product: t.name, Quantity: t.qty, Kind: licensing.LineTransitionPeriod,
			Reason: fmt.Sprintf("%d users moved from the platform products to %s during the year (%s); this line covers them until the anniversary on %s.", t.qty, t.name, onDates(t.dates), e.Anniversary)})
		after = append(after, licensing.OrderLine{Product: t.name, Quantity: t.qty, Kind: licensing.LineSubscription,
			Reason: fmt.Sprintf("From the anniversary on %s the %d transitioned users need the full %s subscription.", e.Anniversary, t.qty, t.name)})
		for _, p := range e.PlatformProducts {
			if !covers(p, t.name) {
				continue
			}
			if p.Bridge != "" {
				after = append(after, bridgeLine(p, t, fmt.Sprintf("From the anniversary the %d users moved to %s", t.qty, t.name)))
			}
			after = append(after, licensing.OrderLine{Product: strings.TrimSpace(p.Name), Quantity: -t.qty, Kind: licensing.LineReduction,
				Reason: fmt.Sprintf("From the anniversary %d fewer users need %s: %s covers the users moved to it.", t.qty, strings.TrimSpace(p.Name), t.name)})
		}
	}
	for _, r := range e.Reductions {
		after = append(after, licensing.OrderLine{Product: strings.TrimSpace(r.Product), Quantity: -r.Quantity, Kind: licensing.LineReduction,
			Reason: fmt.Sprintf("The count of %s is lowered by %d from the anniversary on %s, as recorded on %s.", strings.TrimSpace(r.Product), r.Quantity, e.Anniversary, r.Date)})
	}
	return increment, order, after
}

// bridgeLine is the bridge of platform product p for the users of service
// total t, whom who describes.
func bridgeLine(p licensing.PlatformProduct, t *serviceTotal, who string) licensing.OrderLine {
	return licensing.OrderLine{Product: strings.TrimSpace(p.Bridge), Quantity: t.qty, Kind: licensing.LineBridge,
		Reason: fmt.Sprintf("%s need %s for the part of %s that %s does not include.", who, strings.TrimSpace(p.Bridge), strings.TrimSpace(p.Name), t.name)}
}

// onDates says "on 2026-05-02" or "on 2026-05-02, 2026-06-01 and
// 2026-09-01".
func onDates(dates []licensing.Date) string {
	list := make([]string, len(dates))
	for i, d := range dates {
		list[i] = d.String()
	}
	return "on " + joinList(list)
}

// joinList joins "a", "a and b", "a, b and c".
func joinList(list []string) string {
	if len(list) < 2 {
		return strings.Join(list, "")
	}
	return strings.Join(list[:len(list)-1], ", ") + " and " + list[len(list)-1]
}

// splitAgencies charges the increment to the agencies in proportion to each
// one's peak of licensed users across snaps (the pseudo-agencies of
// unattributed and conflicting users included), by the largest-remainder
// method, so that the shares add up to the increment exactly.
func (s *Service) splitAgencies(ws *licensing.TrueUpWorksheet, snaps []licensing.Snapshot) {
	peaks, skipped := map[string]int{}, 0
	for _, sn := range snaps {
		if sn.AgencyUsers == nil {
			skipped++
			continue
		}
		for a, n := range sn.AgencyUsers {
			peaks[a] = max(peaks[a], n)
		}
	}
	if skipped > 0 {
		verb := "were"
		if skipped == 1 {
			verb = "was"
		}
		ws.Notes = append(ws.Notes, fmt.Sprintf("%s %s taken before licensed users were counted per agency: left out of the agency split.", licensing.Plural(skipped, "usage snapshot"), verb))
	}
	total := 0
	for _, n := range peaks {
		total += n
	}
	if total == 0 {
		ws.Notes = append(ws.Notes, fmt.Sprintf("The increment is not split across agencies: no usage snapshot from %s to %s counts licensed users per agency.", ws.Anniversary.AddYears(-1), ws.On))
		return
	}
	for a, n := range peaks {
		ws.Agencies = append(ws.Agencies, licensing.AgencyShare{Agency: a, Peak: n})
	}
	ws.Agencies = largestRemainder(ws.Increment, total, ws.Agencies)
}

// largestRemainder gives each row the whole part of its quota of n
// (n × peak / total), then one more to the rows with the largest remainders
// (ties by agency id) until the shares add up to n.
func largestRemainder(n, total int, rows []licensing.AgencyShare) []licensing.AgencyShare {
	rem := make([]int64, len(rows))
	given := 0
	for i := range rows {
		q := int64(n) * int64(rows[i].Peak)
		rows[i].Share = int(q / int64(total))
		rem[i] = q % int64(total)
		given += rows[i].Share
	}
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool {
		if rem[idx[a]] != rem[idx[b]] {
			return rem[idx[a]] > rem[idx[b]]
		}
		return rows[idx[a]].Agency < rows[idx[b]].Agency
	})
	for k := 0; k < n-given; k++ {
		rows[idx[k]].Share++
	}
	return rows
}

// isPseudoAgency reports whether id is the bucket of unattributed or
// conflicting users.
func isPseudoAgency(id string) bool {
	return id == licensing.Unattributed || id == licensing.Conflicted
}

// nameAgencies names the agencies of the split from the agency store, adds
// the agencies without licensed users (peak and share 0), and orders the
// rows by agency id, the unattributed and conflicting users last.
func (s *Service) nameAgencies(ctx context.Context, ws *licensing.TrueUpWorksheet) error {
	if len(ws.Agencies) == 0 {
		return nil
	}
	agencies, err := s.cfg.Agencies.ListAgencies(ctx)
	if err != nil {
		return err
	}
	seen := map[string]int{}
	for i, a := range ws.Agencies {
		seen[a.Agency] = i
	}
	for _, a := range agencies {
		i, ok := seen[a.ID]
		if !ok {
			i = len(ws.Agencies)
			ws.Agencies = append(ws.Agencies, licensing.AgencyShare{Agency: a.ID})
		}
		ws.Agencies[i].Name = a.Name
	}
	for i, a := range ws.Agencies {
		switch a.Agency {
		case licensing.Unattributed:
			ws.Agencies[i].Name = "Users no agency's rule matches"
		case licensing.Conflicted:
			ws.Agencies[i].Name = "Users several agencies' rules match"
		}
	}
	rank := func(id string) int {
		switch id {
		case licensing.Unattributed:
			return 1
		case licensing.Conflicted:
			return 2
		}
		return 0
	}
	sort.Slice(ws.Agencies, func(i, j int) bool {
		a, b := ws.Agencies[i].Agency, ws.Agencies[j].Agency
		if rank(a) != rank(b) {
			return rank(a) < rank(b)
		}
		return a < b
	})
	return nil
}

// findUncovered lists, per agency and product, the snapshot where the
// agency's use exceeded its purchases in force that day by the most.
func (s *Service) findUncovered(ctx context.Context, ws *licensing.TrueUpWorksheet, snaps []licensing.Snapshot) error {
	if len(snaps) == 0 {
		return nil
	}
	purchases, err := s.cfg.Purchases.ListPurchases(ctx, licensing.PurchaseFilter{})
	if err != nil {
		return err
	}
	parts := map[string]string{}
	for _, p := range purchases {
		if p.PartNumber != "" {
			parts[strings.ToLower(p.SkuID)] = p.PartNumber
		}
	}
	type key = [2]string
	ents := newEntitlements(purchases, s.cfg.Terms)
	worst := map[key]*licensing.Uncovered{}
	for _, sn := range snaps {
		for _, t := range sn.Tenant {
			if t.PartNumber != "" {
				parts[strings.ToLower(t.SkuID)] = t.PartNumber
			}
		}
		usage, err := s.cfg.Snapshots.SnapshotUsage(ctx, sn.ID)
		if err != nil {
			return err
		}
		day := licensing.DateOf(sn.Taken, s.cfg.Location)
		bought := ents.on(day)
		for _, u := range usage {
			if isPseudoAgency(u.Agency) {
				continue
			}
			k := key{u.Agency, strings.ToLower(u.SkuID)}
			short := u.Users - bought[k]
			if short <= 0 || (worst[k] != nil && worst[k].Short >= short) {
				continue
			}
			worst[k] = &licensing.Uncovered{Agency: u.Agency, SkuID: k[1], Peak: u.Users, PeakOn: day, Purchased: bought[k], Short: short}
		}
	}
	names, _ := licensing.ProductNames(ctx, s.cfg.Catalog)
	for _, u := range worst {
		p := names.Product(u.SkuID, parts[u.SkuID])
		u.PartNumber, u.Product = p.PartNumber, p.Name
		ws.Uncovered = append(ws.Uncovered, *u)
	}
	sort.Slice(ws.Uncovered, func(i, j int) bool {
		a, b := ws.Uncovered[i], ws.Uncovered[j]
		if a.Agency != b.Agency {
			return a.Agency < b.Agency
		}
		if a.Product != b.Product {
			return a.Product < b.Product
		}
		return a.SkuID < b.SkuID
	})
	return nil
}

// entitlements answers licensing.EntitlementsOn for many days, working it
// out once per stretch of days in which no line starts or stops counting:
// a line counts from its term start (a renewal's term start ends the line
// it renews) to its term end plus the grace days.
type entitlements struct {
	lines []licensing.Purchase
	terms licensing.Terms
	// bounds are the days on which a line starts or stops counting, in
	// order.
	bounds []licensing.Date
	// by holds the entitlements of each stretch (the number of bounds on or
	// before its days), by agency and lower-case SKU id.
	by map[int]map[[2]string]int
}

func newEntitlements(lines []licensing.Purchase, terms licensing.Terms) *entitlements {
	e := &entitlements{lines: lines, terms: terms, by: map[int]map[[2]string]int{}}
	seen := map[licensing.Date]bool{}
	add := func(d licensing.Date) {
		if !d.IsZero() && !seen[d] {
			seen[d] = true
			e.bounds = append(e.bounds, d)
		}
	}
	for _, p := range lines {
		add(p.TermStart)
		if !p.TermEnd.IsZero() {
			add(p.TermEnd.AddDays(max(terms.GraceDays, 0) + 1))
		}
	}
	sort.Slice(e.bounds, func(i, j int) bool { return e.bounds[i].Before(e.bounds[j]) })
	return e
}

// on returns the entitlements on day d by agency and lower-case SKU id.
func (e *entitlements) on(d licensing.Date) map[[2]string]int {
	stretch := sort.Search(len(e.bounds), func(i int) bool { return e.bounds[i].After(d) })
	if m, ok := e.by[stretch]; ok {
		return m
	}
	m := map[[2]string]int{}
	for _, ent := range licensing.EntitlementsOn(e.lines, d, e.terms) {
		m[[2]string{ent.Agency, strings.ToLower(ent.SkuID)}] = ent.Quantity
	}
	e.by[stretch] = m
	return m
}
