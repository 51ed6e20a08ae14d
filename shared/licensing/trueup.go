package licensing

import (
	"io"
	"time"
)

// True-up window states on a date.
const (
	WindowBefore = "before"
	WindowOpen   = "open"
	WindowClosed = "closed"
)

// Order line kinds of a true-up worksheet.
const (
	// LineIncrement: growth of a platform product since the last report.
	LineIncrement = "increment"
	// LineReservation: an online service reserved during the year.
	LineReservation = "reservation"
	// LineBridge: the bridge license for users of a reserved or transitioned
	// service.
	LineBridge = "bridge"
	// LineTransitionPeriod: a transitioned service, covered through the
	// anniversary.
	LineTransitionPeriod = "transition-period"
	// LineAnnual: the total of a product in a subscription enrollment's
	// annual order.
	LineAnnual = "annual"
	// LineSubscription: the full service license from the anniversary on
	// (after a transition).
	LineSubscription = "subscription"
	// LineReduction: a product's count lowered from the anniversary on.
	LineReduction = "reduction"
)

// Where a worksheet's current count comes from.
const (
	// CurrentPeak: the peak of licensed users across the usage snapshots
	// since the last anniversary.
	CurrentPeak = "peak"
	// CurrentGiven: the count given by the caller.
	CurrentGiven = "given"
)

// TrueUpWindow is when a true-up order is due: from 60 to 30 days before the
// anniversary.
type TrueUpWindow struct {
	Opens  Date   `json:"opens"`
	Closes Date   `json:"closes"`
	State  string `json:"state"`
}

// Window opening and closing, in days before the anniversary.
const (
	WindowOpensDays  = 60
	WindowClosesDays = 30
)

// WindowOf returns the true-up window of an enrollment with anniversary a, and
// its state on day on.
func WindowOf(a, on Date) TrueUpWindow {
	w := TrueUpWindow{Opens: a.AddDays(-WindowOpensDays), Closes: a.AddDays(-WindowClosesDays)}
	switch {
	case on.Before(w.Opens):
		w.State = WindowBefore
	case on.After(w.Closes):
		w.State = WindowClosed
	default:
		w.State = WindowOpen
	}
	return w
}

// OrderLine is one line of a true-up order: a product, a quantity (negative
// only for a reduction), its kind and the reasoning in one sentence.
type OrderLine struct {
	Product  string `json:"product"`
	Quantity int    `json:"quantity"`
	Kind     string `json:"kind"`
	Reason   string `json:"reason"`
}

// AgencyShare is one agency's part of the order: its peak of licensed users
// since the last anniversary and the share of the ordered count charged to
// it. Users no agency's rule matches (Unattributed) and users several match
// (Conflicted) have their own rows, so the shares add up to the order.
type AgencyShare struct {
	Agency string `json:"agency"`
	Name   string `json:"name,omitempty"`
	Peak   int    `json:"peak"`
	Share  int    `json:"share"`
}

// Uncovered is an agency whose purchases of a product were below its peak use
// of it since the last anniversary.
type Uncovered struct {
	Agency     string `json:"agency"`
	SkuID      string `json:"skuId"`
	PartNumber string `json:"skuPartNumber,omitempty"`
	Product    string `json:"product"`
	Peak       int    `json:"peak"`
	PeakOn     Date   `json:"peakOn"`
	Purchased  int    `json:"purchased"`
	Short      int    `json:"short"`
}

// TrueUpWorksheet is the preparation of one enrollment's true-up (or annual
// order) on a date: what to order, why, and how it splits across agencies.
type TrueUpWorksheet struct {
	Enrollment  string       `json:"enrollment"`
	Kind        string       `json:"kind"`
	Anniversary Date         `json:"anniversary"`
	On          Date         `json:"on"`
	Window      TrueUpWindow `json:"window"`
	// LastReported is the count of the last true-up; Current the count now
	// (CurrentFrom says whether it is the peak or given); Peak and PeakOn
	// the peak of licensed users across the snapshots since the last
	// anniversary, Latest the newest snapshot's count (0 with no snapshot).
	LastReported int    `json:"lastReported"`
	Current      int    `json:"current"`
	CurrentFrom  string `json:"currentFrom"`
	Peak         int    `json:"peak"`
	PeakOn       Date   `json:"peakOn"`
	Latest       int    `json:"latest"`
	LatestOn     Date   `json:"latestOn"`
	// Snapshots is how many usage snapshots the peak was drawn from.
	Snapshots int `json:"snapshots"`
	// Increment is current − lastReported, never below zero (enterprise);
	// for a subscription enrollment, the current total.
	Increment int `json:"increment"`
	// Order is due in the window; AfterAnniversary are the changes that take
	// effect at the anniversary (transitions' full licenses and bridges,
	// reductions of the covered products).
	Order            []OrderLine `json:"order"`
	AfterAnniversary []OrderLine `json:"afterAnniversary"`
	// UpdateStatement: nothing is ordered, and the signed update statement
	// (zero-usage order) is still due.
	UpdateStatement bool          `json:"updateStatement"`
	Agencies        []AgencyShare `json:"agencies"`
	Uncovered       []Uncovered   `json:"uncovered"`
	Notes           []string      `json:"notes,omitempty"`
	Prepared        time.Time     `json:"prepared"`
}

// TrueUpWriter renders a worksheet as a workbook a finance office can file.
type TrueUpWriter interface {
	WriteTrueUp(w io.Writer, ws TrueUpWorksheet) error
}
