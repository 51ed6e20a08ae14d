package provisioning

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// maxLinesShown bounds the plan lines a real run prints per group (a dry
// run prints them all).
const maxLinesShown = 50

// WriteText prints a run for an administrator: per agency and product the
// cap, assigned, licensed elsewhere, waitlisted, added, removed and errors;
// then the plan's lines with their reasons (every line in a dry run; the
// changes and skips, with their outcomes, in a run).
func (r Result) WriteText(out io.Writer) error {
	var w strings.Builder
	kind := "provisioning run " + r.RunID
	if r.DryRun {
		kind = "provisioning dry run (nothing written)"
	}
	groups := 0
	for _, a := range r.Agencies {
		groups += len(a.Products)
	}
	fmt.Fprintf(&w, "%s as of %s: %d agencies, %d groups, %d write requests, %d mails sent\n",
		kind, r.AsOf.UTC().Format(time.RFC3339), len(r.Agencies), groups, r.Batches, r.Mailed)
	for _, a := range r.Agencies {
		for _, p := range a.Products {
			fmt.Fprintf(&w, "%-8s %-24s group %s: ", a.Agency, p.PartNumber, p.GroupID)
			if p.Problem != "" {
				fmt.Fprintf(&w, "not provisioned: %s\n", p.Problem)
				continue
			}
			fmt.Fprintf(&w, "cap %d, assigned %d, licensed elsewhere %d, waitlisted %d, added %d, removed %d, errors %d\n",
				p.Cap, p.Assigned, p.Elsewhere, p.Waiting, p.Added, p.Removed, p.Errors)
			shown := 0
			for _, l := range p.Plan {
				if !r.DryRun && (l.Kind == Wait || l.Kind == Elsewhere) {
					continue
				}
				if shown++; !r.DryRun && shown > maxLinesShown {
					continue
				}
				fmt.Fprintf(&w, "  %-9s %-40s %s", l.Kind, l.UserPrincipalName, l.Reason)
				if l.Outcome != "" {
					fmt.Fprintf(&w, " -> %s", l.Outcome)
				}
				w.WriteByte('\n')
			}
			if !r.DryRun && shown > maxLinesShown {
				fmt.Fprintf(&w, "  ... and %d more changes (GET /api/provisioning?agency=%s lists every member)\n", shown-maxLinesShown, a.Agency)
			}
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&w, "  note: %s\n", n)
	}
	if r.Progress != "" {
		fmt.Fprintf(&w, "%s\n", r.Progress)
	}
	_, err := io.WriteString(out, w.String())
	return err
}
