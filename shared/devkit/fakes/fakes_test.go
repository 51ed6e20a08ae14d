package fakes_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

func TestDirectoryReadsFullThenDelta(t *testing.T) {
	ctx := context.Background()
	d := fakes.NewDirectory()
	var ids []string
	collect := func(u licensing.DirectoryUser) error { ids = append(ids, u.ID); return nil }
	full, err := d.ReadUsers(ctx, licensing.UserQuery{}, collect)
	if err != nil || !full.Full || full.Users != 8 || full.DeltaLink != "delta-1" {
		t.Fatalf("full read = %+v, %v", full, err)
	}
	d.Change("u03", []string{"department"}, func(u *licensing.DirectoryUser) { u.Department = "Technology" })
	d.Remove("u08")
	ids = nil
	delta, err := d.ReadUsers(ctx, licensing.UserQuery{DeltaLink: full.DeltaLink, Strict: true}, collect)
	if err != nil || delta.Full || delta.DeltaLink != "delta-2" {
		t.Fatalf("delta read = %+v, %v", delta, err)
	}
	if diff := cmp.Diff([]string{"u03", "u08"}, ids); diff != "" {
		t.Errorf("delta users (-want +got):\n%s", diff)
	}
	if d.Users["u03"].Department != "Technology" || len(d.Users) != 7 {
		t.Errorf("after the changes: u03 %+v, %d users", d.Users["u03"], len(d.Users))
	}
	d.Expired = true
	if _, err := d.ReadUsers(ctx, licensing.UserQuery{DeltaLink: delta.DeltaLink, Strict: true}, collect); licensing.ErrorCode(err) != licensing.Stale {
		t.Errorf("strict read of an expired link: %v, want stale", err)
	}
	if diff := cmp.Diff([]string{"full", "delta"}, d.Reads); diff != "" {
		t.Errorf("reads (-want +got):\n%s", diff)
	}
}

func TestMailboxKeepsOneCopyPerID(t *testing.T) {
	m := &fakes.Mailbox{}
	for _, msg := range []licensing.MailMessage{{ID: "b", Subject: "B"}, {ID: "a", Subject: "A"}, {ID: "b", Subject: "B"}} {
		if err := m.Send(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"A", "B"}, m.Subjects()); diff != "" || m.Sends != 3 {
		t.Errorf("subjects (-want +got):\n%s\n%d sends, want 3", diff, m.Sends)
	}
}

// read reads q to its end, one call per MaxPages pages, and returns the ids
// passed and the calls made.
func read(t *testing.T, d *fakes.Directory, q licensing.UserQuery) ([]string, []licensing.UserReadResult) {
	t.Helper()
	var ids []string
	var calls []licensing.UserReadResult
	for {
		res, err := d.ReadUsers(context.Background(), q, func(u licensing.DirectoryUser) error {
			ids = append(ids, u.ID)
			return nil
		})
		if err != nil {
			t.Fatalf("read %+v: %v", q, err)
		}
		calls = append(calls, res)
		if res.Cursor == "" {
			return ids, calls
		}
		q.Cursor = res.Cursor
	}
}

func TestDirectoryReadsSegmentsInPagesWithCursor(t *testing.T) {
	d := fakes.NewDirectory()
	d.PageSize = 1
	seg := licensing.UserSegment{From: "B@doa.example.gov", To: "f@X.example.gov"}
	ids, calls := read(t, d, licensing.UserQuery{Segment: seg, MaxPages: 2, NoDeltaLink: true})
	if diff := cmp.Diff([]string{"u02", "u03", "u04", "u05", "u06"}, ids); diff != "" {
		t.Errorf("segment users (-want +got):\n%s", diff)
	}
	if len(calls) != 3 || calls[0].Cursor == "" || calls[0].Pages != 2 || calls[0].DeltaLink != "" || calls[2].Full {
		t.Errorf("calls = %+v", calls)
	}
	if _, err := d.ReadUsers(context.Background(), licensing.UserQuery{Cursor: calls[0].Cursor},
		func(licensing.DirectoryUser) error { return nil }); licensing.ErrorCode(err) != licensing.Stale {
		t.Errorf("a cursor of another segment: %v, want stale", err)
	}
	if _, err := d.ReadUsers(context.Background(), licensing.UserQuery{DeltaLink: "delta-0", Segment: seg},
		func(licensing.DirectoryUser) error { return nil }); licensing.ErrorCode(err) != licensing.Invalid {
		t.Errorf("a delta link with a segment: %v, want invalid", err)
	}
	lower, _ := read(t, d, licensing.UserQuery{Segment: licensing.UserSegment{To: "b@doa.example.gov"}, NoDeltaLink: true})
	upper, _ := read(t, d, licensing.UserQuery{Segment: licensing.UserSegment{From: "b@doa.example.gov"}, NoDeltaLink: true})
	if diff := cmp.Diff([]string{"u01", "u02", "u02", "u03", "u04", "u05", "u06", "u07", "u08"}, append(lower, upper...)); diff != "" {
		t.Errorf("two segments sharing an end (-want +got):\n%s", diff)
	}
	if d.Round != 0 {
		t.Errorf("reads with NoDeltaLink took a link: round %d", d.Round)
	}
}

func TestDirectoryChangesBetweenPagesAreFollowedByTheLink(t *testing.T) {
	d := fakes.NewDirectory()
	d.PageSize = 3
	link, err := d.ReadUsers(context.Background(), licensing.UserQuery{LinkOnly: true}, func(licensing.DirectoryUser) error {
		t.Fatal("LinkOnly passed a user")
		return nil
	})
	if err != nil || link.DeltaLink != "delta-1" || link.Users != 0 {
		t.Fatalf("LinkOnly = %+v, %v", link, err)
	}
	d.BeforePage = func(page int) {
		if page == 2 {
			// u07 moves out of the segment, u02 moves into the part already read.
			d.Change("u07", []string{"userPrincipalName"}, func(u *licensing.DirectoryUser) { u.UserPrincipalName = "z@doa.example.gov" })
			d.Change("u02", []string{"userPrincipalName"}, func(u *licensing.DirectoryUser) { u.UserPrincipalName = "bb@doa.example.gov" })
		}
	}
	ids, _ := read(t, d, licensing.UserQuery{Segment: licensing.UserSegment{To: "h@doa.example.gov"}, MaxPages: 1, NoDeltaLink: true})
	if diff := cmp.Diff([]string{"u01", "u02", "u03", "u04", "u05", "u06", "u08"}, ids); diff != "" {
		t.Errorf("segment users (-want +got):\n%s", diff)
	}
	var changed []string
	if _, err := d.ReadUsers(context.Background(), licensing.UserQuery{DeltaLink: link.DeltaLink, Strict: true}, func(u licensing.DirectoryUser) error {
		changed = append(changed, u.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"u07", "u02"}, changed); diff != "" {
		t.Errorf("changes after the segmented read (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"link", "full", "continue", "continue", "delta"}, d.Reads); diff != "" {
		t.Errorf("reads (-want +got):\n%s", diff)
	}
}

func TestDirectorySignInOnly(t *testing.T) {
	d := fakes.NewDirectory()
	var got []licensing.DirectoryUser
	res, err := d.ReadUsers(context.Background(), licensing.UserQuery{SignInOnly: true}, func(u licensing.DirectoryUser) error {
		got = append(got, u)
		return nil
	})
	if err != nil || !res.SignInAvailable || res.DeltaLink != "" || res.Full || len(got) != 8 {
		t.Fatalf("sign-in pass = %+v (%d users), %v", res, len(got), err)
	}
	if got[0].LastSignIn == nil || got[0].UserPrincipalName != "" || got[0].Licenses != nil || got[1].LastSignIn != nil {
		t.Errorf("sign-in pass users: %+v, %+v", got[0], got[1])
	}
	d.NoSignIn = true
	res, err = d.ReadUsers(context.Background(), licensing.UserQuery{SignInOnly: true}, func(licensing.DirectoryUser) error {
		t.Fatal("a tenant without sign-in activity passed a user")
		return nil
	})
	if err != nil || res.SignInAvailable || res.SignInNote == "" {
		t.Errorf("sign-in pass without sign-in activity = %+v, %v", res, err)
	}
}
