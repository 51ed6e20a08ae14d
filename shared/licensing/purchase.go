package licensing

import (
	"context"
	"regexp"
	"sort"
	"time"
)

// Purchase sources.
const (
	SourceServiceRequest = "service-request"
	SourceImport         = "import"
	SourceCorrection     = "correction"
)

// Purchase is one line of the ledger: seats of one product an agency
// bought for a term. Lines are never changed or deleted; a correction is a
// new line (with a negative or positive quantity) that names the line it
// corrects, and a renewal names the lines it replaces from its term start.
// The only change a line sees is its activation: a line from a service
// request is pending until the seats appear in the tenant (or an admin
// confirms), and counts only from then on.
type Purchase struct {
	// ID is stable for what it records (a service request line, an import
	// row), so recording the same thing twice finds the existing line.
	ID     string `json:"id"`
	Agency string `json:"agency"`
	SkuID  string `json:"skuId"`
	// PartNumber is the SKU's part number when known.
	PartNumber string `json:"skuPartNumber,omitempty"`
	// Quantity is the number of seats; negative only on a correction.
	Quantity  int    `json:"quantity"`
	TermStart Date   `json:"termStart"`
	TermEnd   Date   `json:"termEnd"`
	PONumber  string `json:"poNumber"`
	Reseller  string `json:"reseller,omitempty"`
	Agreement string `json:"agreement,omitempty"`
	// UnitPrice is the price of one seat for one year as the purchase
	// order quotes it, in Currency (an ISO 4217 code); nil when unknown.
	// A correction without a price of its own costs the price of the line
	// it corrects.
	UnitPrice *Amount `json:"unitPrice,omitempty"`
	Currency  string  `json:"currency,omitempty"`
	// SRID is the service request the line comes from, if any.
	SRID   string `json:"serviceRequest,omitempty"`
	Source string `json:"source"`
	// Corrects is the id of the line a correction corrects.
	Corrects string `json:"corrects,omitempty"`
	// Replaces are the lines a renewal replaces: they stop counting on this
	// line's TermStart.
	Replaces []string `json:"replaces,omitempty"`
	// ActivatedAt is when the line came into force; nil while pending.
	ActivatedAt *time.Time `json:"activatedAt,omitempty"`
	Created     time.Time  `json:"created"`
	CreatedBy   string     `json:"createdBy"`
	// Reason says why the line was written (import file and row, the SR,
	// the correction's explanation).
	Reason string `json:"reason,omitempty"`
}

// AuditEntry records one change to the ledger: who, when, what and why.
type AuditEntry struct {
	At       time.Time `json:"at"`
	Who      string    `json:"who"`
	Action   string    `json:"action"`
	Agency   string    `json:"agency"`
	Purchase string    `json:"purchase"`
	Why      string    `json:"why,omitempty"`
	// Detail is the line as written, for the record.
	Detail string `json:"detail,omitempty"`
}

// PurchaseFilter narrows ListPurchases.
type PurchaseFilter struct {
	// Agency keeps one agency's lines when set.
	Agency string
	// SRID keeps one service request's lines when set.
	SRID string
}

// PurchaseStore keeps the ledger and its audit log.
type PurchaseStore interface {
	// AddPurchases writes new lines, each with its audit entry in the same
	// transaction. A line whose ID is already stored is left unchanged and
	// is not an error: added lists the ids actually written, so a retried
	// write records nothing twice. A line whose identity (LineIdentity)
	// another line holds, stored or earlier in lines, is refused with a
	// Conflict naming that line (IdentityTaken), also when the other line
	// is written at the same moment by another writer; a refusal found
	// before writing writes nothing, one found while writing (a concurrent
	// writer) returns the lines written before it in added.
	AddPurchases(ctx context.Context, lines []Purchase, who, why string) (added []string, err error)
	// AddCorrection writes correction c of line c.Corrects (a line of
	// c.Agency that is not a correction itself) with its audit entry, if
	// the line's total (its quantity plus all its corrections) stays at
	// zero or above. The check and the write are one conditional step:
	// concurrent corrections cannot together take a line below zero (the
	// loser of a race reads the line again and checks again, a bounded
	// number of times, then gives up with Stale). A total that would fall
	// below zero is Invalid (NegativeTotal) and nothing is written; an
	// unknown line is NotFound. When a line with c.ID is stored already,
	// nothing is written and that line is returned with created false, so
	// a retried correction is recorded once.
	AddCorrection(ctx context.Context, c Purchase, who, why string) (stored Purchase, created bool, err error)
	// ActivatePurchases puts pending lines of agency in force at at, with an
	// audit entry each; lines already active are left as they are. An
	// unknown id is NotFound.
	ActivatePurchases(ctx context.Context, agency string, ids []string, at time.Time, who, why string) error
	// ListPurchases returns lines in ledger order (SortLedger).
	ListPurchases(ctx context.Context, f PurchaseFilter) ([]Purchase, error)
	// PurchaseAudit returns an agency's audit entries, newest first.
	PurchaseAudit(ctx context.Context, agency string, limit int) ([]AuditEntry, error)
}

// SortLedger puts lines in ledger order: by agency, then term start, then
// id.
func SortLedger(lines []Purchase) {
	sort.Slice(lines, func(i, j int) bool {
		a, b := lines[i], lines[j]
		if a.Agency != b.Agency {
			return a.Agency < b.Agency
		}
		if !a.TermStart.Equal(b.TermStart) {
			return a.TermStart.Before(b.TermStart)
		}
		return a.ID < b.ID
	})
}

// SheetReader turns an uploaded spreadsheet (XLSX or CSV) into rows of
// cells, the first row being the header. Large files are refused with
// TooLarge, unreadable ones with Invalid.
type SheetReader interface {
	ReadRows(ctx context.Context, content []byte, fileName, contentType string) ([][]string, error)
}

// Limits of a purchase line, the same for intake, import and corrections.
const (
	// MaxQuantity is the largest quantity of one line.
	MaxQuantity = 100000
	// MaxTermYears is the longest term of one line.
	MaxTermYears = 5
)

// poPattern is the shape of a purchase order number.
var poPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$`)

// ValidPONumber reports whether s is shaped like a purchase order number:
// letters, digits and . _ / -, starting with a letter or digit, at most 40.
func ValidPONumber(s string) bool { return poPattern.MatchString(s) }

// Limits of a spreadsheet import, shared by the ledger and the spreadsheet
// reader.
const (
	// MaxImportBytes is the largest spreadsheet accepted (the request limit).
	MaxImportBytes = 20 << 20
	// MaxImportRows is the most data rows one import takes.
	MaxImportRows = 20000
)
