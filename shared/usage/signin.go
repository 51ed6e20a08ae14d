package usage

import (
	"strings"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// signInUnavailable starts the snapshot note, and the line of every report,
// mail and run record made from the snapshot, that says sign-in activity
// could not be read and why.
const signInUnavailable = "sign-in activity not available: "

// signInUnavailableNote says why sign-in activity was asked for and not
// read. why is the directory's explanation; a leading clause of it that only
// repeats that sign-ins are not available ("Last sign-in dates are not
// available: ...") is dropped.
func signInUnavailableNote(why string) string {
	why = strings.TrimSpace(why)
	if i := strings.Index(why, ": "); i >= 0 && strings.Contains(strings.ToLower(why[:i]), "not available") {
		why = why[i+2:]
	}
	if why == "" {
		why = "the directory did not return it."
	}
	return signInUnavailable + why
}

// signInNote returns "" when snap holds sign-in activity, else the sentence
// saying why it does not: the note the snapshot recorded when the directory
// refused it, or that the snapshot holds none.
func signInNote(snap licensing.Snapshot) string {
	if snap.SignInAvailable {
		return ""
	}
	for _, n := range snap.Notes {
		if strings.HasPrefix(n, signInUnavailable) {
			return n
		}
	}
	return signInUnavailable + "snapshot " + snap.ID + " holds none: a full snapshot takes sign-ins from the latest sign-in pass, when one was read before it (the daily SignInPass check reads one when the latest is older than SIGNIN_PASS_DAYS; handler run snapshot --sign-in reads one first), and an incremental one takes none."
}

// signInMailText is the paragraph a report mail adds when sign-in activity
// is missing: which reclaim candidates it cannot show.
func signInMailText(note string) string {
	if note == "" {
		return ""
	}
	return "\nNote: " + note + "\nUsers who stopped signing in cannot be flagged as reclaim candidates; disabled accounts still are.\n"
}
