package provisioning

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Kinds of notices.
const (
	noticeWaitlist = "waitlist"
	noticeErrors   = "errors"
	// noticeRun remembers when a run last read the agency's groups.
	noticeRun = "run"
)

// settle finishes a run: reads back the groups whose licenses changed (the
// directory records some failures on the user only later), remembers every
// member, and mails each agency's notices that changed.
func (s *Service) settle(ctx context.Context, works []*work, res *Result, log *slog.Logger) error {
	for _, w := range works {
		if w.wrote.Load() {
			if err := s.readBack(ctx, w); err != nil {
				log.Warn("provisioning: group not read back", "agency", w.agency.ID, "group", w.in.groupID, "error", err)
			}
		}
		if err := s.saveSeats(ctx, w); err != nil {
			return err
		}
	}
	for i := 0; i < len(works); {
		j := i
		for j < len(works) && works[j].agency.ID == works[i].agency.ID {
			j++
		}
		if err := s.notify(ctx, works[i:j], res, log); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// readBack records the license errors the directory holds for the group's
// members.
func (s *Service) readBack(ctx context.Context, w *work) error {
	return s.cfg.Directory.GroupUserMembers(ctx, w.in.groupID, func(m licensing.GroupMember) error {
		i, ok := w.plan.index[m.ID]
		if !ok {
			return nil
		}
		seat := &w.plan.seats[i]
		if e := licensing.LicenseErrorOf(m.Licenses, w.in.sku.SkuID); e != "" {
			seat.Error = e
		} else if licensing.Holds(m.Licenses, w.in.sku.SkuID) {
			seat.Error = ""
		}
		return nil
	})
}

// saveSeats writes the members whose memory changed and forgets those who
// left.
func (s *Service) saveSeats(ctx context.Context, w *work) error {
	var put []licensing.SeatMember
	for _, m := range w.plan.seats {
		old, ok := w.in.known[m.UserID]
		if !ok || !sameSeat(old, m) {
			put = append(put, m)
		}
	}
	if len(put) == 0 && len(w.plan.gone) == 0 {
		return nil
	}
	return s.cfg.Seats.SaveSeatMembers(ctx, w.agency.ID, w.in.sku.SkuID, put, w.plan.gone)
}

func sameSeat(a, b licensing.SeatMember) bool {
	return a.UserPrincipalName == b.UserPrincipalName && a.FirstSeen.Equal(b.FirstSeen) && a.State == b.State &&
		a.Since.Equal(b.Since) && a.Error == b.Error && a.Disabled == b.Disabled
}

// notify mails an agency's delegates when its waitlist changed, and them
// and central IT when the set of licensing failures changed to one that is
// not empty. Each notice is an effect keyed by agency, kind, sequence and
// the digest of what it says, and the notice record moves on only after
// the mail: a rerun after a crash finds the same key and mails nothing
// twice.
func (s *Service) notify(ctx context.Context, ws []*work, res *Result, log *slog.Logger) error {
	a := ws[0].agency
	names := s.names(ctx)
	waitDigest, errDigest := digests(ws)
	to := recipients(a.Delegates)
	if len(to) == 0 {
		to = recipients(a.Contacts)
	}
	if err := s.notice(ctx, a.ID, noticeWaitlist, waitDigest, true, res, func() licensing.MailMessage {
		return waitlistMail(a, ws, names, to, res.AsOf)
	}); err != nil {
		return err
	}
	if err := s.notice(ctx, a.ID, noticeErrors, errDigest, errDigest != "", res, func() licensing.MailMessage {
		return errorsMail(a, ws, names, to, s.cfg.CentralIT, res.AsOf)
	}); err != nil {
		return err
	}
	_, err := s.putNotice(ctx, licensing.ProvisioningNotice{Agency: a.ID, Kind: noticeRun, Sent: res.AsOf}, licensing.Precondition{})
	return err
}

// notice mails compose() when digest differs from the one last recorded
// for agency and kind (and mail is set), then records digest.
func (s *Service) notice(ctx context.Context, agency, kind, digest string, mail bool, res *Result, compose func() licensing.MailMessage) error {
	n, err := s.cfg.Seats.GetNotice(ctx, agency, kind)
	pre := licensing.Precondition{IfMatch: n.ETag}
	switch {
	case licensing.ErrorCode(err) == licensing.NotFound:
		n, pre = licensing.ProvisioningNotice{Agency: agency, Kind: kind}, licensing.Precondition{IfNoneMatch: true}
	case err != nil:
		return err
	}
	if n.Digest == digest {
		return nil
	}
	if mail {
		m := compose()
		short := digest
		if short == "" {
			short = "none"
		}
		m.ID = fmt.Sprintf("provisioning.%s.%s.%d.%.16s", agency, kind, n.Seq+1, short)
		m.Date = res.AsOf
		if len(m.To) > 0 || len(m.Cc) > 0 {
			outcome, err := s.cfg.Effects.Once(ctx, "mail:"+m.ID, nil, func(ctx context.Context) error { return s.cfg.Mailer.Send(ctx, m) })
			switch {
			case err != nil:
				return err
			case outcome == licensing.Performed:
				res.Mailed++
			case outcome == licensing.Unconfirmed:
				res.Notes = append(res.Notes, "the mail "+m.ID+" may not have been sent (unconfirmed)")
			}
		}
		n.Seq++
		n.Sent = res.AsOf
	}
	n.Digest = digest
	_, err = s.putNotice(ctx, n, pre)
	return err
}

// putNotice writes n; a record another run moved on meanwhile is left as
// it is.
func (s *Service) putNotice(ctx context.Context, n licensing.ProvisioningNotice, pre licensing.Precondition) (licensing.ProvisioningNotice, error) {
	out, err := s.cfg.Seats.PutNotice(ctx, n, pre)
	if licensing.ErrorCode(err) == licensing.Stale {
		return out, nil
	}
	return out, err
}

// digests identify an agency's waitlist (who waits for what, in order) and
// its licensing failures; "" when there is none.
func digests(ws []*work) (waitlist, failures string) {
	var wb, fb strings.Builder
	for _, w := range ws {
		for _, m := range w.plan.seats {
			if m.State == licensing.SeatWaiting {
				fmt.Fprintf(&wb, "%s %s\n", w.in.sku.SkuID, m.UserID)
			}
			if m.Error != "" {
				fmt.Fprintf(&fb, "%s %s %s\n", w.in.sku.SkuID, m.UserID, m.Error)
			}
		}
	}
	return digest(wb.String()), digest(fb.String())
}

func digest(s string) string {
	if s == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// recipients keeps the entries that are mail addresses (delegates may be
// listed by object id).
func recipients(list []string) []string {
	var out []string
	for _, e := range list {
		if a := strings.ToLower(strings.TrimSpace(e)); licensing.ValidAddress(a) {
			out = append(out, a)
		}
	}
	return out
}
