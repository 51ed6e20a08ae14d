package usage

import (
	"bytes"
	"context"
	"log/slog"
	"sort"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// passEntry is one user of a sign-in pass held by a merge: the GUID's 16
// bytes and the sign-in in Unix nanoseconds (0 for never), 24 bytes a user.
type passEntry struct {
	key [16]byte
	at  int64
}

// passIndex is a published sign-in pass loaded for lookups by user id.
type passIndex struct {
	licensing.SignInPass
	entries []passEntry
	other   map[string]int64
}

func (p *passIndex) lookup(id string) *time.Time {
	at, ok := int64(0), false
	if k, isGUID := guidKey(id); isGUID {
		i := sort.Search(len(p.entries), func(i int) bool { return bytes.Compare(p.entries[i].key[:], k[:]) >= 0 })
		if i < len(p.entries) && p.entries[i].key == k {
			at, ok = p.entries[i].at, true
		}
	} else {
		at, ok = p.other[id]
	}
	if !ok || at == 0 {
		return nil
	}
	t := time.Unix(0, at).UTC()
	return &t
}

// addLine adds a user, keeping the later sign-in of two copies.
func (p *passIndex) addLine(l signInLine) {
	var at int64
	if l.SignIn != nil {
		at = l.SignIn.UnixNano()
	}
	if k, ok := guidKey(l.ID); ok {
		p.entries = append(p.entries, passEntry{key: k, at: at})
		return
	}
	if cur, ok := p.other[l.ID]; !ok || at > cur {
		p.other[l.ID] = at
	}
}

// sortEntries orders the entries by key and keeps one per key (the later
// sign-in).
func (p *passIndex) sortEntries() {
	sort.Slice(p.entries, func(i, j int) bool {
		if c := bytes.Compare(p.entries[i].key[:], p.entries[j].key[:]); c != 0 {
			return c < 0
		}
		return p.entries[i].at > p.entries[j].at
	})
	out := p.entries[:0]
	for i, e := range p.entries {
		if i == 0 || e.key != p.entries[i-1].key {
			out = append(out, e)
		}
	}
	p.entries = out
}

// loadPass returns the latest published sign-in pass with its users, nil
// when there is none (or no job store).
func (s *Service) loadPass(ctx context.Context) (*passIndex, error) {
	if s.cfg.Split.Jobs == nil {
		return nil, nil
	}
	pass, err := s.cfg.Split.Jobs.LatestSignInPass(ctx)
	if licensing.ErrorCode(err) == licensing.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p := &passIndex{SignInPass: pass, other: map[string]int64{}}
	if !pass.Available {
		return p, nil
	}
	err = readLines(ctx, s.cfg.Files, pass.File, func(l signInLine) error {
		p.addLine(l)
		return nil
	})
	if err != nil {
		return nil, err
	}
	p.sortEntries()
	return p, nil
}

// mergeSignIns reads the pass's parts into signins/{id}.gz, sorted by id
// and one line a user, and publishes the pass.
func (s *Service) mergeSignIns(ctx context.Context, job licensing.SnapJob, segs []licensing.SnapSegment, log *slog.Logger) error {
	pass := licensing.SignInPass{ID: job.ID, Taken: job.Started, File: "signins/" + job.ID + ".gz", Available: true}
	for _, g := range segs {
		if g.Note != "" {
			pass.Available, pass.Note = false, g.Note
		}
	}
	p := &passIndex{other: map[string]int64{}}
	for _, g := range segs {
		for _, part := range g.Parts {
			if err := readLines(ctx, s.cfg.Files, part, func(l signInLine) error { p.addLine(l); return nil }); err != nil {
				return err
			}
		}
	}
	p.sortEntries()
	w, err := s.cfg.Files.Create(ctx, pass.File, "application/x-ndjson+gzip")
	if err != nil {
		return err
	}
	lw := newLineWriter(w)
	put := func(id string, at int64) error {
		l := signInLine{ID: id}
		if at != 0 {
			t := time.Unix(0, at).UTC()
			l.SignIn = &t
		}
		pass.Users++
		return lw.put(l)
	}
	for _, e := range p.entries {
		if err = put(formatGUID(e.key), e.at); err != nil {
			break
		}
	}
	others := make([]string, 0, len(p.other))
	for id := range p.other {
		others = append(others, id)
	}
	sort.Strings(others)
	for _, id := range others {
		if err == nil {
			err = put(id, p.other[id])
		}
	}
	if err == nil {
		err = lw.close()
	}
	if err != nil {
		w.Abort(err)
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := s.cfg.Split.Jobs.PublishSignInPass(ctx, pass); err != nil {
		return err
	}
	log.Info("sign-in pass published", "id", pass.ID, "users", pass.Users, "available", pass.Available, "note", pass.Note)
	return nil
}

// formatGUID writes k as a lower-case GUID with dashes.
func formatGUID(k [16]byte) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 0, 36)
	for i, c := range k {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, digits[c>>4], digits[c&15])
	}
	return string(b)
}

// SignInPassCheck starts a sign-in pass when the latest published one is
// older than Split.SignInPassDays (or there is none), and records the run.
// It returns the id of the pass started, "" when none was due.
func (s *Service) SignInPassCheck(ctx context.Context, trigger string, log *slog.Logger) (string, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	run := s.cfg.Runs.Start(ctx, "SignInPass", trigger, log)
	days := s.cfg.Split.SignInPassDays
	if days < 1 {
		days = 7
	}
	latest, err := s.cfg.Split.Jobs.LatestSignInPass(ctx)
	if err == nil && s.now().Sub(latest.Taken) < time.Duration(days)*24*time.Hour {
		why := "the latest sign-in pass " + latest.ID + " is recent enough"
		run.Finish(ctx, nil, true, why)
		return "", nil
	}
	if err != nil && licensing.ErrorCode(err) != licensing.NotFound {
		run.Finish(ctx, err, false, "")
		return "", err
	}
	today := licensing.DateOf(s.now(), s.cfg.Reporting.Calendar.Location).String()
	if s.cfg.Effects != nil {
		release, busy, err := s.cfg.Effects.HoldRun(ctx, "run:SignInPass:"+today, log)
		if err != nil || busy != "" {
			run.Finish(ctx, err, true, busy)
			return "", err
		}
		defer release()
	}
	job, err := s.StartSignInPass(ctx, StartOptions{}, log)
	run.Add("segments", job.Segments)
	run.Finish(ctx, err, false, "sign-in pass "+job.ID+" started")
	return job.ID, err
}
