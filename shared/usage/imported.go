package usage

import (
	"strings"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// importedFrom names the file and row a line imported from the legacy
// tracking sheet came from ("license-tracking.csv row 12"), read from the
// Reason the import records ("Imported from license-tracking.csv, row 12");
// "" for a line of any other source.
func importedFrom(p licensing.Purchase) string {
	if p.Source != licensing.SourceImport {
		return ""
	}
	from, ok := strings.CutPrefix(p.Reason, "Imported from ")
	if !ok || from == "" {
		return "the legacy tracking sheet"
	}
	if i := strings.LastIndex(from, ", row "); i >= 0 {
		from = from[:i] + from[i+1:]
	}
	return from
}
