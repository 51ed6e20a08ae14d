package demo

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/blobstore"
	"github.com/shared-tenant/licensetrack/shared/devkit/demotenant"
	"github.com/shared-tenant/licensetrack/shared/graph/graphfake"
	"github.com/shared-tenant/licensetrack/shared/provisioning"
)

// provisioningAgency is the agency whose delegated group the tour follows.
const provisioningAgency = "DOA"

// waitLinesShown is how many waitlist lines the tour prints of a plan or a
// state; the rest are counted.
const waitLinesShown = 3

// demoProvisioning shows capped group provisioning on the demo tenant: the
// dry run's plan for one agency, the run over every delegated group (as the
// hourly timer makes it), then a delegate's change of the group (an
// assigned member leaves, a newcomer joins) and a second run through the
// API, in which the first member waiting gets the freed seat and the
// newcomer waits last; then the state through GET /api/provisioning and the
// waitlist mail the delegates got.
func demoProvisioning(ctx context.Context, a Env, api *demoClient, gen *demotenant.Generator, out io.Writer, step func(string, ...any)) error {
	if a.Provisioning == nil {
		return errors.New("the demo needs the provisioning service")
	}
	group, ok := delegatedGroup(gen, provisioningAgency)
	if !ok {
		return fmt.Errorf("the demo tenant gives %s no delegated group", provisioningAgency)
	}

	dry, err := a.Provisioning.Run(ctx, provisioning.Options{Agency: provisioningAgency, DryRun: true, Trigger: "demo"}, a.Log)
	if err != nil {
		return err
	}
	step("capped group provisioning: the dry run's plan for %s's delegated Visio group (handler run provision-groups --dry-run --agency %s)",
		provisioningAgency, provisioningAgency)
	if err := writeShortPlan(out, dry); err != nil {
		return err
	}

	res, err := a.Provisioning.Run(ctx, provisioning.Options{Trigger: "demo"}, a.Log)
	if err != nil {
		return err
	}
	step("the run over every agency's delegated groups, one piece per agency as the hourly ProvisionGroups timer sends them to WORK_QUEUE (here through a queue in this process):")
	if err := writeSummary(out, res); err != nil {
		return err
	}

	before, err := getProvisioning(ctx, api, provisioningAgency)
	if err != nil {
		return err
	}
	if len(before.Assigned) == 0 || len(before.Waitlist) == 0 {
		return fmt.Errorf("the demo needs %s's group to have assigned and waiting members; it has %d and %d",
			provisioningAgency, len(before.Assigned), len(before.Waitlist))
	}
	leaving, next := before.Assigned[0], before.Waitlist[0]
	newcomer, err := newMember(gen, a.Tenant.Tenant(), group)
	if err != nil {
		return err
	}
	group.Members = slices.DeleteFunc(group.Members, func(id string) bool { return strings.EqualFold(id, leaving.ID) })
	group.Members = append(group.Members, newcomer.ID)
	a.Tenant.Tenant().PutGroup(group)
	step("a delegate changes the group in Entra ID: %s leaves it, %s joins it; %s is first on the waitlist",
		leaving.UserPrincipalName, newcomer.UserPrincipalName, next.UserPrincipalName)

	var run runAnswer
	if err := api.decode(ctx, http.MethodPost, "/provisioning/run?agency="+provisioningAgency, &run); err != nil {
		return err
	}
	step("POST /api/provisioning/run?agency=%s -> 200: %d write requests, %d mails sent; the changes:", provisioningAgency, run.WriteBatches, run.Mailed)
	for _, ag := range run.Agencies {
		for _, p := range ag.Products {
			fmt.Fprintf(out, "    %s %s: cap %d, assigned %d, waitlisted %d, added %d, removed %d\n",
				ag.Agency, p.Sku, p.Cap, p.Assigned, p.Waitlisted, p.Added, p.Removed)
			for _, l := range p.Plan {
				if l.Action == provisioning.Assign || l.Action == provisioning.Remove {
					fmt.Fprintf(out, "      %-7s %-36s %s -> %s\n", l.Action, l.UserPrincipalName, l.Reason, l.Outcome)
				}
			}
		}
	}

	after, err := getProvisioning(ctx, api, provisioningAgency)
	if err != nil {
		return err
	}
	step("GET /api/provisioning?agency=%s -> cap %d, %d assigned, %d licensed elsewhere, %d errors, %d waiting:",
		provisioningAgency, after.Cap, len(after.Assigned), len(after.LicensedElsewhere), len(after.Errors), len(after.Waitlist))
	writeWaitlist(out, after.Waitlist)
	if !hasSeat(after.Assigned, next.ID) {
		return fmt.Errorf("%s, first on the waitlist, did not get the seat %s freed", next.UserPrincipalName, leaving.UserPrincipalName)
	}
	if n := len(after.Waitlist); n == 0 || after.Waitlist[n-1].ID != strings.ToLower(newcomer.ID) {
		return fmt.Errorf("the newcomer %s is not last on the waitlist", newcomer.UserPrincipalName)
	}
	fmt.Fprintf(out, "    %s got the seat %s freed; the newcomer %s waits last.\n",
		next.UserPrincipalName, leaving.UserPrincipalName, newcomer.UserPrincipalName)

	return printWaitlistMail(ctx, a.Blobs, run.AsOf, out, step)
}

// delegatedGroup returns the delegated group of agency in the demo tenant.
func delegatedGroup(gen *demotenant.Generator, agency string) (graphfake.Group, bool) {
	var id string
	for _, ag := range gen.Agencies() {
		if ag.ID == agency && len(ag.DelegatedGroups) > 0 {
			id = ag.DelegatedGroups[0].GroupID
		}
	}
	for _, g := range gen.DelegatedGroups() {
		if id != "" && strings.EqualFold(g.ID, id) {
			return g, true
		}
	}
	return graphfake.Group{}, false
}

// newMember finds a user of the agency's domain who is not in the group and
// could be licensed: enabled, with a usage location, not holding Visio.
func newMember(gen *demotenant.Generator, t *graphfake.Tenant, group graphfake.Group) (graphfake.User, error) {
	domain := ""
	for _, ag := range gen.Agencies() {
		if ag.ID == provisioningAgency {
			domain = "@" + ag.Domain
		}
	}
	in := map[string]bool{}
	for _, id := range group.Members {
		in[strings.ToLower(id)] = true
	}
	for i := gen.Len() - 2; i >= 0; i-- {
		u, ok := t.User(gen.UserID(i))
		if !ok || in[strings.ToLower(u.ID)] || !u.AccountEnabled || u.UsageLocation == "" || !strings.HasSuffix(u.UserPrincipalName, domain) {
			continue
		}
		if !slices.ContainsFunc(u.Licenses, func(l graphfake.LicenseState) bool { return strings.EqualFold(l.SkuID, demotenant.Visio.ID) }) {
			return u, nil
		}
	}
	return graphfake.User{}, fmt.Errorf("the demo tenant has no %s user to add to the group", provisioningAgency)
}

// writeShortPlan prints a plan with its first few waitlist lines and counts
// the others.
func writeShortPlan(out io.Writer, res provisioning.Result) error {
	short := res
	short.Agencies = nil
	hidden := 0
	for _, ag := range res.Agencies {
		sa := provisioning.AgencyResult{Agency: ag.Agency}
		for _, p := range ag.Products {
			waits := 0
			var plan []provisioning.Action
			for _, l := range p.Plan {
				if l.Kind == provisioning.Wait {
					if waits++; waits > waitLinesShown {
						hidden++
						continue
					}
				}
				plan = append(plan, l)
			}
			p.Plan = plan
			sa.Products = append(sa.Products, p)
		}
		short.Agencies = append(short.Agencies, sa)
	}
	if err := indent(out, short); err != nil {
		return err
	}
	if hidden > 0 {
		_, err := fmt.Fprintf(out, "      ... and %d more waiting, in the same order (the command prints every line)\n", hidden)
		return err
	}
	return nil
}

// writeSummary prints a run's summary: its first line and each group's
// counts, without the plan's lines.
func writeSummary(out io.Writer, res provisioning.Result) error {
	short := res
	short.Agencies = nil
	for _, ag := range res.Agencies {
		sa := provisioning.AgencyResult{Agency: ag.Agency}
		for _, p := range ag.Products {
			p.Plan = nil
			sa.Products = append(sa.Products, p)
		}
		short.Agencies = append(short.Agencies, sa)
	}
	return indent(out, short)
}

// indent prints a result's text four spaces in.
func indent(out io.Writer, res provisioning.Result) error {
	var b bytes.Buffer
	if err := res.WriteText(&b); err != nil {
		return err
	}
	sc := bufio.NewScanner(&b)
	for sc.Scan() {
		fmt.Fprintf(out, "    %s\n", sc.Text())
	}
	return sc.Err()
}

// writeWaitlist prints the first few members waiting and the last one.
func writeWaitlist(out io.Writer, list []seatAnswer) {
	for i, e := range list {
		if i >= waitLinesShown && i < len(list)-1 {
			if i == waitLinesShown {
				fmt.Fprintf(out, "      ...\n")
			}
			continue
		}
		since := ""
		if e.WaitingSince != nil {
			// Milliseconds: the demo's two runs are a second or less apart.
			since = e.WaitingSince.UTC().Format("2006-01-02 15:04:05.000 UTC")
		}
		fmt.Fprintf(out, "      %2d. %-36s waiting since %s\n", i+1, e.UserPrincipalName, since)
	}
}

func hasSeat(list []seatAnswer, id string) bool {
	return slices.ContainsFunc(list, func(e seatAnswer) bool { return strings.EqualFold(e.ID, id) })
}

// seatAnswer is a member in GET /api/provisioning.
type seatAnswer struct {
	ID                string     `json:"id"`
	UserPrincipalName string     `json:"userPrincipalName"`
	WaitingSince      *time.Time `json:"waitingSince"`
}

// groupAnswer is the part of GET /api/provisioning?agency= the demo uses:
// the agency's one delegated group.
type groupAnswer struct {
	Cap               int          `json:"cap"`
	Assigned          []seatAnswer `json:"assigned"`
	LicensedElsewhere []seatAnswer `json:"licensedElsewhere"`
	Waitlist          []seatAnswer `json:"waitlist"`
	Errors            []seatAnswer `json:"errors"`
}

// runAnswer is the part of POST /api/provisioning/run the demo prints.
type runAnswer struct {
	AsOf         time.Time `json:"asOf"`
	WriteBatches int       `json:"writeBatches"`
	Mailed       int       `json:"mailed"`
	Agencies     []struct {
		Agency   string `json:"agency"`
		Products []struct {
			Sku        string `json:"sku"`
			Cap        int    `json:"cap"`
			Assigned   int    `json:"assigned"`
			Waitlisted int    `json:"waitlisted"`
			Added      int    `json:"added"`
			Removed    int    `json:"removed"`
			Plan       []struct {
				Action            string `json:"action"`
				UserPrincipalName string `json:"userPrincipalName"`
				Reason            string `json:"reason"`
				Outcome           string `json:"outcome"`
			} `json:"plan"`
		} `json:"products"`
	} `json:"agencies"`
}

// getProvisioning reads the state of agency's delegated group through the
// API.
func getProvisioning(ctx context.Context, api *demoClient, agency string) (groupAnswer, error) {
	var st struct {
		Products []groupAnswer `json:"products"`
	}
	if err := api.decode(ctx, http.MethodGet, "/provisioning?agency="+agency, &st); err != nil {
		return groupAnswer{}, err
	}
	if len(st.Products) != 1 {
		return groupAnswer{}, fmt.Errorf("GET /api/provisioning?agency=%s lists %d groups, not 1", agency, len(st.Products))
	}
	return st.Products[0], nil
}

// printWaitlistMail prints the latest waitlist notice mailed to the
// agency's delegates (MAIL_MODE=outbox) on the day of asOf.
func printWaitlistMail(ctx context.Context, blobs *blobstore.Store, asOf time.Time, out io.Writer, step func(string, ...any)) error {
	var names []string
	day := asOf.UTC().Format(time.DateOnly)
	prefix := "outbox/" + day + "/provisioning." + provisioningAgency + ".waitlist."
	err := blobs.List(ctx, prefix, func(b blobstore.BlobInfo) error {
		names = append(names, b.Name)
		return nil
	})
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return fmt.Errorf("no waitlist mail under %s", prefix)
	}
	// The sequence number follows the agency in the name: the highest is
	// the latest.
	sort.Slice(names, func(i, j int) bool { return noticeSeq(names[i]) < noticeSeq(names[j]) })
	name := names[len(names)-1]
	msg, text, err := readMail(ctx, blobs, name)
	if err != nil {
		return err
	}
	step("the waitlist mail to %s's delegates (blob %s):", provisioningAgency, name)
	fmt.Fprintf(out, "    To: %s\n    Subject: %s\n\n", msg.Header.Get("To"), msg.Header.Get("Subject"))
	waits := 0
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if strings.HasPrefix(line, "  ") && strings.Contains(line, "waiting since") {
			if waits++; waits > waitLinesShown {
				if waits == waitLinesShown+1 {
					fmt.Fprintf(out, "      ...\n")
				}
				continue
			}
		}
		if line == "" {
			fmt.Fprintln(out)
			continue
		}
		fmt.Fprintf(out, "    %s\n", line)
	}
	return nil
}

// noticeSeq is the sequence number in a notice's file name,
// provisioning.{agency}.{kind}.{seq}.{digest}.eml.
func noticeSeq(name string) int {
	parts := strings.Split(name[strings.LastIndexByte(name, '/')+1:], ".")
	n := 0
	if len(parts) > 3 {
		fmt.Sscan(parts[3], &n)
	}
	return n
}

// readMail reads the plain-text message the outbox wrote to blob name: its
// header and its decoded text.
func readMail(ctx context.Context, blobs *blobstore.Store, name string) (*mail.Message, string, error) {
	rc, err := blobs.Open(ctx, name)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", name, err)
	}
	raw, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	rc.Close()
	if err != nil {
		return nil, "", err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", name, err)
	}
	text, err := plainText(msg)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", name, err)
	}
	return msg, text, nil
}

// plainText returns the decoded text/plain body of msg: the message itself,
// or its first text/plain part (the text of a multipart/alternative).
func plainText(msg *mail.Message) (string, error) {
	b, err := textPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	return strings.ReplaceAll(string(b), "\r\n", "\n"), err
}

// textPart reads the first text/plain entity of a body of type ct.
func textPart(ct, cte string, body io.Reader) ([]byte, error) {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, fmt.Errorf("content type %q: %w", ct, err)
	}
	switch {
	case mt == "text/plain":
		if strings.EqualFold(cte, "quoted-printable") {
			body = quotedprintable.NewReader(body)
		}
		return io.ReadAll(body)
	case strings.HasPrefix(mt, "multipart/"):
		mr := multipart.NewReader(body, params["boundary"])
		for {
			// NextPart decodes quoted-printable parts itself.
			p, err := mr.NextPart()
			if err != nil {
				return nil, fmt.Errorf("no text/plain part: %w", err)
			}
			if p.FileName() != "" {
				continue
			}
			if b, err := textPart(p.Header.Get("Content-Type"), "", p); err == nil {
				return b, nil
			}
		}
	}
	return nil, fmt.Errorf("not a text message (%s)", ct)
}
