package renewals

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// purchaseGroup is the lines of one agency that end on one day and are due
// for the reminder of one threshold: one mail.
type purchaseGroup struct {
	agency  string
	termEnd licensing.Date
	due     int
	// lines carry their quantity after their corrections.
	lines []licensing.Purchase
}

// purchaseReminders reminds each agency of its purchase lines before their
// term ends. A line is reminded of when it is a base line (not a
// correction) whose total after its corrections is above zero, is active,
// ends today or later, and is not replaced by another line (a renewal: the
// agency renewed already). It is due at the smallest threshold at or above
// the days left; lines of one agency ending on one day at one threshold
// share a mail.
func (r *reminderRun) purchaseReminders(ctx context.Context) {
	type key struct {
		agency  string
		termEnd licensing.Date
		due     int
	}
	groups := map[key]*purchaseGroup{}
	for _, p := range renewable(r.purchases, r.on) {
		due, ok := dueThreshold(r.s.cfg.Thresholds, r.on.DaysUntil(p.TermEnd))
		if !ok {
			continue
		}
		k := key{p.Agency, p.TermEnd, due}
		g := groups[k]
		if g == nil {
			g = &purchaseGroup{agency: p.Agency, termEnd: p.TermEnd, due: due}
			groups[k] = g
		}
		g.lines = append(g.lines, p)
	}
	list := make([]*purchaseGroup, 0, len(groups))
	for _, g := range groups {
		list = append(list, g)
	}
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.agency != b.agency {
			return a.agency < b.agency
		}
		return a.termEnd.Before(b.termEnd)
	})
	for _, g := range list {
		r.purchaseReminder(ctx, g)
	}
}

// renewable returns the lines of purchases that still need renewing on day
// on, each with its quantity after its corrections: base lines (not
// corrections) that are active, end on or after on, are not replaced by a
// renewal, and total more than zero.
func renewable(purchases []licensing.Purchase, on licensing.Date) []licensing.Purchase {
	type ref struct{ agency, id string }
	replaced := map[ref]bool{}
	corrections := map[ref]int{}
	for _, p := range purchases {
		for _, id := range p.Replaces {
			replaced[ref{p.Agency, id}] = true
		}
		if p.Corrects != "" && p.ActivatedAt != nil {
			corrections[ref{p.Agency, p.Corrects}] += p.Quantity
		}
	}
	var out []licensing.Purchase
	for _, p := range purchases {
		if p.Corrects != "" || p.Source == licensing.SourceCorrection || p.ActivatedAt == nil ||
			p.TermEnd.IsZero() || p.TermEnd.Before(on) || replaced[ref{p.Agency, p.ID}] {
			continue
		}
		p.Quantity += corrections[ref{p.Agency, p.ID}]
		if p.Quantity > 0 {
			out = append(out, p)
		}
	}
	return out
}

// purchaseReminder mails group g's reminder, and records the earlier
// thresholds it passed over.
func (r *reminderRun) purchaseReminder(ctx context.Context, g *purchaseGroup) {
	key := func(t int) string { return fmt.Sprintf("mail:renewal.%s.%s.%dd", g.agency, g.termEnd, t) }
	dueOn := g.termEnd.AddDays(-g.due)
	a, known := r.agencies[g.agency]
	to, cc := a.Contacts, r.s.cfg.CentralIT
	if len(to) == 0 {
		to, cc = r.s.cfg.CentralIT, nil
	}
	rem := Reminder{Key: key(g.due), Kind: KindPurchase, To: to, Cc: cc,
		Subject: fmt.Sprintf("%s: licenses end on %s (%d-day renewal reminder)", g.agency, g.termEnd, g.due),
		Late:    r.on.After(dueOn) && r.linesActiveOn(g.lines, dueOn)}
	if !known {
		r.note(fmt.Sprintf("agency %s of the ledger has no configuration; its reminder goes to central IT", g.agency))
	}
	sent := r.send(ctx, rem, func(context.Context) (licensing.MailMessage, error) {
		return licensing.MailMessage{Text: r.purchaseText(g, a, rem.Late, dueOn)}, nil
	})
	if !sent {
		return
	}
	var earlier []earlierReminder
	for _, t := range earlierThresholds(r.s.cfg.Thresholds, g.due) {
		if d := g.termEnd.AddDays(-t); r.linesActiveOn(g.lines, d) {
			earlier = append(earlier, earlierReminder{key: key(t), due: d})
		}
	}
	r.passedOver(ctx, KindPurchase, rem, earlier)
}

// linesActiveOn reports whether any of lines was active, and its term
// started, by day d: a reminder due that day could have been sent then.
func (r *reminderRun) linesActiveOn(lines []licensing.Purchase, d licensing.Date) bool {
	for _, p := range lines {
		if p.ActivatedAt != nil && !r.dateOf(*p.ActivatedAt).After(d) && !p.TermStart.After(d) {
			return true
		}
	}
	return false
}

// dateOf is the day of t in the configured time zone.
func (r *reminderRun) dateOf(t time.Time) licensing.Date {
	return licensing.DateOf(t, r.s.cfg.Location)
}
