package licensing

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// Terms are the rules that decide when purchases are in force.
type Terms struct {
	// GraceDays keeps a purchase in force this many days after its term end
	// (a-la-carte licenses end June 30 and are bought again for the fiscal
	// year starting August 1, so 31 days keeps them through July).
	GraceDays int
	// FiscalYearEndMonth and FiscalYearEndDay end an a-la-carte term by
	// default (June 30).
	FiscalYearEndMonth time.Month
	FiscalYearEndDay   int
	// EnterpriseYears is the length of an Enterprise Agreement term.
	EnterpriseYears int
}

// DefaultTerms are 31 grace days, a fiscal year ending June 30 and
// enterprise agreements of three years.
func DefaultTerms() Terms {
	return Terms{GraceDays: 31, FiscalYearEndMonth: time.June, FiscalYearEndDay: 30, EnterpriseYears: 3}
}

// RandomID returns 16 random bytes in hex: unguessable, and safe in table keys
// and blob names.
func RandomID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("licensing: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// Defaults fills in what a workflow service was not given: the clock
// (time.Now), the source of new ids (RandomID) and the terms
// (DefaultTerms).
func Defaults(now *func() time.Time, newID *func() string, terms *Terms) {
	if *now == nil {
		*now = time.Now
	}
	if *newID == nil {
		*newID = RandomID
	}
	if *terms == (Terms{}) {
		*terms = DefaultTerms()
	}
}
