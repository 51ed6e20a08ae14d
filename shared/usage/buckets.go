package usage

import (
	"sort"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// buckets are the licensed users no agency answers for: those matching no
// agency's attribution rule, and those matching several.
var buckets = []string{licensing.Unattributed, licensing.Conflicted}

// bucketLines returns a bucket's products, by name. Nobody bought seats for
// these users, so every line is over, even when all its assignments are in
// error (none in use).
func (rd *reportData) bucketLines(bucket string) []licensing.ProductLine {
	lines := []licensing.ProductLine{}
	for sku, u := range rd.usage[bucket] {
		p := rd.productOf(sku)
		line := licensing.ProductLine{SkuID: sku, PartNumber: p.PartNumber, Name: p.Name, InUse: u.Users, Disabled: u.Disabled,
			Inactive: rd.inactive[bucket][sku]}
		line.Tally()
		line.Status = licensing.ProductOver
		lines = append(lines, line)
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i].Name < lines[j].Name })
	return lines
}

// bucketKind is how the ad-hoc report marks a bucket: "unattributed" or
// "conflict".
func bucketKind(bucket string) string {
	if bucket == licensing.Unattributed {
		return "unattributed"
	}
	return "conflict"
}

// bucketNote says what a bucket is and what to do about it.
func bucketNote(bucket string) string {
	if bucket == licensing.Unattributed {
		return "Licensed users matching no agency's attribution rule: no agency paid for their seats. Fix their attributes or an agency's rule."
	}
	return "Licensed users matching several agencies' rules: counted for none of them. Make the rules exclusive or fix the users' attributes."
}

func bucketName(b string) string {
	if b == licensing.Unattributed {
		return "Users matching no agency"
	}
	return "Users matching several agencies"
}
