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
