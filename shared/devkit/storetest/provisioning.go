package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// projectSku is the second SKU of the provisioning tests; the first is
// skuVisio.
const projectSku = "09015f9f-377f-4538-bbb5-f75ceb09358a"

// Member returns a member of agency's group for skuID, first seen n
// minutes after base, holding a seat.
func Member(agency, skuID string, n int) licensing.SeatMember {
	return licensing.SeatMember{Agency: agency, SkuID: skuID, UserID: fmt.Sprintf("user-%05d", n),
		UserPrincipalName: fmt.Sprintf("o'user.%d@%s.example.gov", n, lower(agency)),
		FirstSeen:         base.Add(time.Duration(n) * time.Minute), State: licensing.SeatAssigned}
}

// Grant returns a grant of skuID to user for agency.
func Grant(user, skuID, agency string) licensing.LicenseGrant {
	return licensing.LicenseGrant{UserID: user, SkuID: skuID, UserPrincipalName: user + "@example.gov", Agency: agency,
		GroupID: "6f1d2c3b-4a59-4e7f-8a1b-2c3d4e5f6a7b", State: licensing.GrantAssigning, Gen: 1, Since: base, Run: "run-1"}
}

var (
	byUserID        = cmpopts.SortSlices(func(a, b licensing.SeatMember) bool { return a.UserID < b.UserID })
	grantsByUser    = cmpopts.SortSlices(func(a, b licensing.LicenseGrant) bool { return a.UserID < b.UserID })
	ignoreGrantETag = cmpopts.IgnoreFields(licensing.LicenseGrant{}, "ETag")
)

type provisioningCase struct {
	name string
	run  func(t *testing.T, ctx context.Context, s licensing.ProvisioningStore)
}

// TestProvisioningStore runs the conformance tests of capped group
// provisioning's store; newStore returns an empty store for each.
func TestProvisioningStore(t *testing.T, newStore func(t *testing.T) licensing.ProvisioningStore) {
	tests := append(seatCases(), grantCases()...)
	tests = append(tests, noticeCases()...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			tt.run(t, ctx, newStore(t))
		})
	}
}

func seatCases() []provisioningCase {
	return []provisioningCase{
		{"members round trip, times in UTC to 100 ns", func(t *testing.T, ctx context.Context, s licensing.ProvisioningStore) {
			plain := Member("DOA", skuVisio, 1)
			waiting := Member("DOA", skuVisio, 2)
			waiting.UserPrincipalName = `Ünïcödé "x" 🚀 #1@example.gov`
			waiting.State, waiting.Error, waiting.Disabled = licensing.SeatFailed, licensing.ReasonUsageLocation, true
			// Another zone and a time finer than 100 ns.
			waiting.FirstSeen = time.Date(2026, 11, 23, 1, 30, 0, 123_456_789, time.FixedZone("CST", -6*3600))
			waiting.Since = base.Add(time.Hour)
			saveMembers(t, ctx, s, "DOA", skuVisio, []licensing.SeatMember{plain, waiting}, nil)

			want := waiting
			want.FirstSeen = time.Date(2026, 11, 23, 7, 30, 0, 123_456_700, time.UTC)
			got := members(t, ctx, s, "DOA", skuVisio)
			if diff := cmp.Diff([]licensing.SeatMember{plain, want}, got, byUserID); diff != "" {
				t.Errorf("SeatMembers (-want +got):\n%s", diff)
			}
			for _, m := range got {
				for _, at := range []time.Time{m.FirstSeen, m.Since} {
					if !at.IsZero() && at.Location() != time.UTC {
						t.Errorf("member %s: time %v is not in UTC", m.UserID, at)
					}
				}
				if m.UserID == plain.UserID && (!m.Since.IsZero() || m.Error != "") {
					t.Errorf("member %s: Since %v, Error %q; want zero and empty", m.UserID, m.Since, m.Error)
				}
			}
		}},
		{"an empty group lists nothing", func(t *testing.T, ctx context.Context, s licensing.ProvisioningStore) {
			if got := members(t, ctx, s, "DOA", skuVisio); len(got) != 0 {
				t.Errorf("SeatMembers of an empty group = %d members, want none", len(got))
			}
		}},
		{"replace and delete in one call, unknown ids ignored", func(t *testing.T, ctx context.Context, s licensing.ProvisioningStore) {
			a, b, c := Member("DOA", skuVisio, 1), Member("DOA", skuVisio, 2), Member("DOA", skuVisio, 3)
			saveMembers(t, ctx, s, "DOA", skuVisio, []licensing.SeatMember{a, b, c}, nil)
			b.State, b.Since = licensing.SeatWaiting, base.Add(time.Hour)
			d := Member("DOA", skuVisio, 4)
			saveMembers(t, ctx, s, "DOA", skuVisio, []licensing.SeatMember{b, d}, []string{a.UserID, "never-stored", a.UserID})
			if diff := cmp.Diff([]licensing.SeatMember{b, c, d}, members(t, ctx, s, "DOA", skuVisio), byUserID); diff != "" {
				t.Errorf("SeatMembers after the second save (-want +got):\n%s", diff)
			}
		}},
		{"deleting only unknown ids is no error", func(t *testing.T, ctx context.Context, s licensing.ProvisioningStore) {
			saveMembers(t, ctx, s, "DOA", skuVisio, nil, []string{"x", "y"})
			kept := Member("DOA", skuVisio, 1)
			saveMembers(t, ctx, s, "DOA", skuVisio, []licensing.SeatMember{kept}, nil)
			saveMembers(t, ctx, s, "DOA", skuVisio, nil, []string{"x", "y"})
			if diff := cmp.Diff([]licensing.SeatMember{kept}, members(t, ctx, s, "DOA", skuVisio)); diff != "" {
				t.Errorf("SeatMembers (-want +got):\n%s", diff)
			}
		}},
		{"250 members in one call, then 150 deleted among unknown ids", func(t *testing.T, ctx context.Context, s licensing.ProvisioningStore) {
			all := saveMany(t, ctx, s, 250)
			// Every chunk of deletes holds ids that are not stored.
			var gone []string
			for i := 0; i < 150; i++ {
				gone = append(gone, all[i].UserID, fmt.Sprintf("unknown-%03d", i))
			}
			saveMembers(t, ctx, s, "DOA", skuVisio, nil, gone)
			if diff := cmp.Diff(all[150:], members(t, ctx, s, "DOA", skuVisio), byUserID); diff != "" {
				t.Errorf("SeatMembers after deleting 150 (-want +got):\n%s", diff)
			}
		}},
		{"a group larger than a page of a listing comes back whole", func(t *testing.T, ctx context.Context, s licensing.ProvisioningStore) {
			saveMany(t, ctx, s, 1050)
		}},
		{"groups of other agencies and SKUs are kept apart", func(t *testing.T, ctx context.Context, s licensing.ProvisioningStore) {
			groups := [][2]string{{"DOA", skuVisio}, {"DOA", projectSku}, {"DET", skuVisio}}
			for _, g := range groups {
				saveMembers(t, ctx, s, g[0], g[1], []licensing.SeatMember{Member(g[0], g[1], 1), Member(g[0], g[1], 2)}, nil)
			}
			saveMembers(t, ctx, s, "DOA", skuVisio, nil, []string{Member("DOA", skuVisio, 1).UserID})
			want := map[[2]string][]licensing.SeatMember{
				groups[0]: {Member("DOA", skuVisio, 2)},
				groups[1]: {Member("DOA", projectSku, 1), Member("DOA", projectSku, 2)},
				groups[2]: {Member("DET", skuVisio, 1), Member("DET", skuVisio, 2)},
			}
			for _, g := range groups {
				if diff := cmp.Diff(want[g], members(t, ctx, s, g[0], g[1]), byUserID); diff != "" {
					t.Errorf("SeatMembers(%s, %s) (-want +got):\n%s", g[0], g[1], diff)
				}
			}
		}},
		{"bad members are refused and nothing is written", func(t *testing.T, ctx context.Context, s licensing.ProvisioningStore) {
			stored := Member("DOA", skuVisio, 1)
			saveMembers(t, ctx, s, "DOA", skuVisio, []licensing.SeatMember{stored}, nil)
			fresh := Member("DOA", skuVisio, 2)
			slash := Member("DOA", skuVisio, 3)
			slash.UserID = "a/b"
			other := Member("DET", skuVisio, 4)
			bad := []struct {
				what   string
				agency string
				sku    string
				put    []licensing.SeatMember
				gone   []string
			}{
				{"an empty agency", "", skuVisio, []licensing.SeatMember{fresh}, nil},
				{"a SKU id with '|'", "DOA", "a|b", []licensing.SeatMember{fresh}, nil},
				{"a user id with '/'", "DOA", skuVisio, []licensing.SeatMember{fresh, slash}, nil},
				{"an empty departed id", "DOA", skuVisio, []licensing.SeatMember{fresh}, []string{""}},
				{"a member twice", "DOA", skuVisio, []licensing.SeatMember{fresh, fresh}, nil},
				{"a member put and gone", "DOA", skuVisio, []licensing.SeatMember{fresh}, []string{stored.UserID, fresh.UserID}},
				{"a member of another agency", "DOA", skuVisio, []licensing.SeatMember{fresh, other}, nil},
			}
			for _, b := range bad {
				err := s.SaveSeatMembers(ctx, b.agency, b.sku, b.put, b.gone)
				wantCode(t, "SaveSeatMembers with "+b.what, err, licensing.Invalid)
			}
			if diff := cmp.Diff([]licensing.SeatMember{stored}, members(t, ctx, s, "DOA", skuVisio)); diff != "" {
				t.Errorf("SeatMembers after refused saves (-want +got):\n%s", diff)
			}
		}},
		{"a cancelled context is unavailable", func(t *testing.T, ctx context.Context, s licensing.ProvisioningStore) {
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			err := s.SaveSeatMembers(ctx, "DOA", skuVisio, []licensing.SeatMember{Member("DOA", skuVisio, 1)}, nil)
			wantCode(t, "SaveSeatMembers with a cancelled context", err, licensing.Unavailable)
			_, err = s.SeatMembers(ctx, "DOA", skuVisio)
			wantCode(t, "SeatMembers with a cancelled context", err, licensing.Unavailable)
			_, err = s.PutGrant(ctx, Grant("u1", skuVisio, "DOA"), licensing.Precondition{})
			wantCode(t, "PutGrant with a cancelled context", err, licensing.Unavailable)
		}},
	}
}

func grantCases() []provisioningCase {
	return []provisioningCase{
		{"insert only: a second insert is stale and changes nothing", func(t *testing.T, ctx context.Context, s licensing.ProvisioningStore) {
			first := putGrant(t, ctx, s, Grant("u1", skuVisio, "DOA"), licensing.Precondition{IfNoneMatch: true})
			if first.ETag == "" {
				t.Errorf("PutGrant returned no ETag")
			}
			_, err := s.PutGrant(ctx, Grant("u1", skuVisio, "DET"), licensing.Precondition{IfNoneMatch: true})
			wantCode(t, "second PutGrant(IfNoneMatch)", err, licensing.Stale)
			if diff := cmp.Diff([]licensing.LicenseGrant{first}, grants(t, ctx, s, skuVisio)); diff != "" {
				t.Errorf("Grants (-want +got):\n%s", diff)
			}
		}},
		{"If-Match is stale after another write, and on a missing grant", func(t *testing.T, ctx context.Context, s licensing.ProvisioningStore) {
			g := Grant("u1", skuVisio, "DOA")
			first := putGrant(t, ctx, s, g, licensing.Precondition{})
			g.State = licensing.GrantAssigned
			second := putGrant(t, ctx, s, g, licensing.Precondition{})
			if second.ETag == first.ETag {
				t.Errorf("ETag unchanged by a write: %s", second.ETag)
			}
			g.State = licensing.GrantRemoving
			_, err := s.PutGrant(ctx, g, licensing.Precondition{IfMatch: first.ETag})
			wantCode(t, "PutGrant(IfMatch old ETag)", err, licensing.Stale)
			for _, etag := range []string{`"abc"`, `W/"42"`, `W/"datetime'2000-01-01T00%3A00%3A00.0000000Z'"`} {
				_, err := s.PutGrant(ctx, g, licensing.Precondition{IfMatch: etag})
				wantCode(t, "PutGrant(IfMatch "+etag+")", err, licensing.Stale)
			}
			if diff := cmp.Diff([]licensing.LicenseGrant{second}, grants(t, ctx, s, skuVisio)); diff != "" {
				t.Errorf("Grants after refused writes (-want +got):\n%s", diff)
			}
			third := putGrant(t, ctx, s, g, licensing.Precondition{IfMatch: second.ETag})
			putGrant(t, ctx, s, g, licensing.Precondition{IfMatch: "*"})
			_, err = s.PutGrant(ctx, g, licensing.Precondition{IfMatch: third.ETag})
			wantCode(t, "PutGrant(IfMatch) after a write with *", err, licensing.Stale)
			missing := Grant("u2", skuVisio, "DOA")
			for _, etag := range []string{"*", second.ETag} {
				_, err = s.PutGrant(ctx, missing, licensing.Precondition{IfMatch: etag})
				wantCode(t, "PutGrant(IfMatch "+etag+") of a missing grant", err, licensing.Stale)
			}
			_, err = s.PutGrant(ctx, missing, licensing.Precondition{IfMatch: "*", IfNoneMatch: true})
			wantCode(t, "PutGrant(IfMatch and IfNoneMatch)", err, licensing.Invalid)
			if got := grants(t, ctx, s, skuVisio); len(got) != 1 {
				t.Errorf("Grants = %d grants, want 1: refused writes created one", len(got))
			}
		}},
		{"grants round trip and list by SKU", func(t *testing.T, ctx context.Context, s licensing.ProvisioningStore) {
			full := Grant("u1", skuVisio, "DOA")
			full.State, full.Gen, full.Detail = licensing.GrantEnded, 3, "MutuallyExclusiveViolation: it's \"odd\""
			full.Since = time.Date(2026, 11, 23, 0, 30, 0, 5_000_100, time.FixedZone("CST", -6*3600))
			bare := licensing.LicenseGrant{UserID: "u2", SkuID: skuVisio}
			var want []licensing.LicenseGrant
			for _, g := range []licensing.LicenseGrant{full, bare} {
				want = append(want, putGrant(t, ctx, s, g, licensing.Precondition{}))
			}
			putGrant(t, ctx, s, Grant("u1", projectSku, "DET"), licensing.Precondition{})
			if !want[0].Since.Equal(full.Since) || want[0].Since.Location() != time.UTC {
				t.Errorf("PutGrant returned Since %v, want %v in UTC", want[0].Since, full.Since)
			}
			got := grants(t, ctx, s, skuVisio)
			if diff := cmp.Diff(want, got, grantsByUser); diff != "" {
				t.Errorf("Grants(%s) (-want +got):\n%s", skuVisio, diff)
			}
			if diff := cmp.Diff([]licensing.LicenseGrant{Grant("u1", projectSku, "DET")}, grants(t, ctx, s, projectSku), ignoreGrantETag); diff != "" {
				t.Errorf("Grants(%s) (-want +got):\n%s", projectSku, diff)
			}
			if got := grants(t, ctx, s, "00000000-0000-0000-0000-000000000000"); len(got) != 0 {
				t.Errorf("Grants of a SKU without grants = %d, want none", len(got))
			}
		}},
		{"grants for one agency and its members", func(t *testing.T, ctx context.Context, s licensing.ProvisioningStore) {
			var want []licensing.LicenseGrant
			for _, g := range []licensing.LicenseGrant{Grant("u1", skuVisio, "DOA"), Grant("u2", skuVisio, "DOA"), Grant("u3", skuVisio, "DET")} {
				want = append(want, putGrant(t, ctx, s, g, licensing.Precondition{}))
			}
			putGrant(t, ctx, s, Grant("u4", skuVisio, "DET"), licensing.Precondition{})
			putGrant(t, ctx, s, Grant("u5", projectSku, "DOA"), licensing.Precondition{})
			// u1 is DOA's and listed (returned once), u3 another agency's
			// member, u9 has no grant; u4 is neither DOA's nor listed.
			got, err := s.GrantsFor(ctx, skuVisio, "DOA", []string{"u1", "u3", "u9", "u3"})
			if err != nil {
				t.Fatalf("GrantsFor: %v", err)
			}
			if diff := cmp.Diff(want, got, grantsByUser); diff != "" {
				t.Errorf("GrantsFor(%s, DOA) (-want +got):\n%s", skuVisio, diff)
			}
			if got, err := s.GrantsFor(ctx, projectSku, "DET", nil); err != nil || len(got) != 0 {
				t.Errorf("GrantsFor of an agency without grants = %+v, %v; want none", got, err)
			}
			_, err = s.GrantsFor(ctx, "", "DOA", nil)
			wantCode(t, "GrantsFor without a SKU", err, licensing.Invalid)
		}},
		{"concurrent inserts: exactly one wins", func(t *testing.T, ctx context.Context, s licensing.ProvisioningStore) {
			for round := 0; round < 5; round++ {
				user := fmt.Sprintf("u%d", round)
				var wg sync.WaitGroup
				results := make([]error, 2)
				written := make([]licensing.LicenseGrant, 2)
				for i := range results {
					wg.Add(1)
					go func(i int) {
						defer wg.Done()
						g := Grant(user, skuVisio, []string{"DOA", "DET"}[i])
						written[i], results[i] = s.PutGrant(ctx, g, licensing.Precondition{IfNoneMatch: true})
					}(i)
				}
				wg.Wait()
				var winner []licensing.LicenseGrant
				for i, err := range results {
					switch licensing.ErrorCode(err) {
					case "":
						winner = append(winner, written[i])
					case licensing.Stale:
					default:
						t.Errorf("round %d, writer %d: %v", round, i, err)
					}
				}
				if len(winner) != 1 {
					t.Fatalf("round %d: %d writers won, want exactly 1", round, len(winner))
				}
				var stored []licensing.LicenseGrant
				for _, g := range grants(t, ctx, s, skuVisio) {
					if g.UserID == user {
						stored = append(stored, g)
					}
				}
				if diff := cmp.Diff(winner, stored); diff != "" {
					t.Errorf("round %d: stored grant is not the winner's (-want +got):\n%s", round, diff)
				}
			}
		}},
		{"bad grants are refused", func(t *testing.T, ctx context.Context, s licensing.ProvisioningStore) {
			for _, g := range []licensing.LicenseGrant{Grant("", skuVisio, "DOA"), Grant("u1", "", "DOA"), Grant("u1", "a|b", "DOA"), Grant("a#b", skuVisio, "DOA")} {
				_, err := s.PutGrant(ctx, g, licensing.Precondition{})
				wantCode(t, fmt.Sprintf("PutGrant(user %q, SKU %q)", g.UserID, g.SkuID), err, licensing.Invalid)
			}
			_, err := s.Grants(ctx, "")
			wantCode(t, "Grants of an empty SKU id", err, licensing.Invalid)
		}},
	}
}

func noticeCases() []provisioningCase {
	notice := func(agency, kind string, seq int) licensing.ProvisioningNotice {
		return licensing.ProvisioningNotice{Agency: agency, Kind: kind, Seq: seq, Digest: strings.Repeat("ab", 32), Sent: base.Add(time.Duration(seq) * time.Hour)}
	}
	return []provisioningCase{
		{"notices round trip; a missing one is not found", func(t *testing.T, ctx context.Context, s licensing.ProvisioningStore) {
			_, err := s.GetNotice(ctx, "DOA", "waitlist")
			wantCode(t, "GetNotice before any", err, licensing.NotFound)
			first, err := s.PutNotice(ctx, notice("DOA", "waitlist", 1), licensing.Precondition{IfNoneMatch: true})
			if err != nil || first.ETag == "" {
				t.Fatalf("PutNotice = %+v, %v; want it with an ETag", first, err)
			}
			got, err := s.GetNotice(ctx, "DOA", "waitlist")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(first, got); diff != "" {
				t.Errorf("GetNotice (-want +got):\n%s", diff)
			}
			for _, k := range [][2]string{{"DOA", "errors"}, {"DET", "waitlist"}} {
				_, err := s.GetNotice(ctx, k[0], k[1])
				wantCode(t, "GetNotice("+k[0]+", "+k[1]+")", err, licensing.NotFound)
			}
			_, err = s.PutNotice(ctx, notice("DOA", "waitlist", 2), licensing.Precondition{IfNoneMatch: true})
			wantCode(t, "second PutNotice(IfNoneMatch)", err, licensing.Stale)
			second, err := s.PutNotice(ctx, notice("DOA", "waitlist", 2), licensing.Precondition{IfMatch: first.ETag})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.PutNotice(ctx, notice("DOA", "waitlist", 3), licensing.Precondition{IfMatch: first.ETag})
			wantCode(t, "PutNotice(IfMatch old ETag)", err, licensing.Stale)
			_, err = s.PutNotice(ctx, notice("DET", "errors", 1), licensing.Precondition{IfMatch: "*"})
			wantCode(t, "PutNotice(IfMatch *) of a missing notice", err, licensing.Stale)
			got, err = s.GetNotice(ctx, "DOA", "waitlist")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(second, got); diff != "" {
				t.Errorf("GetNotice after refused writes (-want +got):\n%s", diff)
			}
			_, err = s.GetNotice(ctx, "", "waitlist")
			wantCode(t, "GetNotice of an empty agency", err, licensing.Invalid)
		}},
	}
}

func saveMembers(t *testing.T, ctx context.Context, s licensing.ProvisioningStore, agency, skuID string, put []licensing.SeatMember, gone []string) {
	t.Helper()
	if err := s.SaveSeatMembers(ctx, agency, skuID, put, gone); err != nil {
		t.Fatalf("SaveSeatMembers(%s, %s, %d put, %d gone): %v", agency, skuID, len(put), len(gone), err)
	}
}

// saveMany saves n members of DOA's group for Visio in one call, checks
// that they list back and returns them.
func saveMany(t *testing.T, ctx context.Context, s licensing.ProvisioningStore, n int) []licensing.SeatMember {
	t.Helper()
	all := make([]licensing.SeatMember, n)
	for i := range all {
		all[i] = Member("DOA", skuVisio, i)
	}
	saveMembers(t, ctx, s, "DOA", skuVisio, all, nil)
	if diff := cmp.Diff(all, members(t, ctx, s, "DOA", skuVisio), byUserID); diff != "" {
		t.Errorf("SeatMembers after saving %d (-want +got):\n%s", n, diff)
	}
	return all
}

func members(t *testing.T, ctx context.Context, s licensing.ProvisioningStore, agency, skuID string) []licensing.SeatMember {
	t.Helper()
	got, err := s.SeatMembers(ctx, agency, skuID)
	if err != nil {
		t.Fatalf("SeatMembers(%s, %s): %v", agency, skuID, err)
	}
	return got
}

func putGrant(t *testing.T, ctx context.Context, s licensing.ProvisioningStore, g licensing.LicenseGrant, pre licensing.Precondition) licensing.LicenseGrant {
	t.Helper()
	stored, err := s.PutGrant(ctx, g, pre)
	if err != nil {
		t.Fatalf("PutGrant(%s, %s, %+v): %v", g.UserID, g.SkuID, pre, err)
	}
	return stored
}

func grants(t *testing.T, ctx context.Context, s licensing.ProvisioningStore, skuID string) []licensing.LicenseGrant {
	t.Helper()
	got, err := s.Grants(ctx, skuID)
	if err != nil {
		t.Fatalf("Grants(%s): %v", skuID, err)
	}
	return got
}
