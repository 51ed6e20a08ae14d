package licensing

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// soundEnrollment uses every field, each at a value Validate accepts.
func soundEnrollment() Enrollment {
	return Enrollment{
		Number:      "EA-1234567",
		Anniversary: NewDate(2027, 3, 1),
		Kind:        EnrollmentEnterprise,
		PlatformProducts: []PlatformProduct{
			{Name: "Office Professional Plus", CoveredBy: []string{"Office 365 E3", "Microsoft 365 E3"}},
			{Name: "Core CAL", CoveredBy: []string{"Microsoft 365 E3"}, Bridge: "Core CAL Bridge for Office 365"},
			{Name: "Windows OS Upgrade"},
		},
		LastReported: 12000,
		// The first and the last day of the year being trued up.
		Reservations: []ServiceChange{{Service: "Office 365 E3", Quantity: 250, Date: NewDate(2026, 3, 1)}},
		Transitions:  []ServiceChange{{Service: "Microsoft 365 E3", Quantity: 40, Date: NewDate(2027, 2, 28)}},
		Reductions:   []Reduction{{Product: "Windows OS Upgrade", Quantity: 30, Date: NewDate(2027, 3, 1)}},
	}
}

func TestEnrollmentValidate(t *testing.T) {
	long := strings.Repeat("x", maxProductNameLen+1)
	names := func(n int, prefix string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s %d", prefix, i)
		}
		return out
	}
	changes := func(n int) []ServiceChange {
		out := make([]ServiceChange, n)
		for i := range out {
			out[i] = ServiceChange{Service: "Office 365 E3", Quantity: 1, Date: NewDate(2026, 6, 1)}
		}
		return out
	}
	tests := []struct {
		name   string
		change func(e *Enrollment)
		fields []string // nil: valid
	}{
		{"sound", func(e *Enrollment) {}, nil},
		{"subscription, nothing reported yet, no changes", func(e *Enrollment) {
			e.Kind, e.LastReported, e.Reservations, e.Transitions, e.Reductions = EnrollmentSubscription, 0, nil, nil, nil
		}, nil},
		{"largest count", func(e *Enrollment) { e.LastReported = MaxQualifiedCount }, nil},
		{"number of 40, digits only", func(e *Enrollment) { e.Number = strings.Repeat("7", 40) }, nil},
		{"names of 100 characters that are not ASCII", func(e *Enrollment) {
			e.PlatformProducts[0].Name = strings.Repeat("é", maxProductNameLen)
			e.Reservations[0].Service = strings.Repeat("日", maxProductNameLen)
		}, nil},

		{"no number", func(e *Enrollment) { e.Number = "" }, []string{"number"}},
		{"number with a space", func(e *Enrollment) { e.Number = "EA 1234567" }, []string{"number"}},
		{"number starting with a dash", func(e *Enrollment) { e.Number = "-1234567" }, []string{"number"}},
		{"number of 41", func(e *Enrollment) { e.Number = strings.Repeat("7", 41) }, []string{"number"}},
		{"number with a slash", func(e *Enrollment) { e.Number = "EA/1" }, []string{"number"}},
		{"no anniversary", func(e *Enrollment) { e.Anniversary = Date{} }, []string{"anniversary"}},
		{"no kind", func(e *Enrollment) { e.Kind = "" }, []string{"kind"}},
		{"unknown kind", func(e *Enrollment) { e.Kind = "Enterprise" }, []string{"kind"}},
		{"negative count", func(e *Enrollment) { e.LastReported = -1 }, []string{"lastReported"}},
		{"count too large", func(e *Enrollment) { e.LastReported = MaxQualifiedCount + 1 }, []string{"lastReported"}},

		{"no platform products", func(e *Enrollment) { e.PlatformProducts = nil }, []string{"platformProducts"}},
		{"empty platform products", func(e *Enrollment) { e.PlatformProducts = []PlatformProduct{} }, []string{"platformProducts"}},
		{"too many platform products", func(e *Enrollment) {
			e.PlatformProducts = nil
			for _, n := range names(maxPlatformProducts+1, "Product") {
				e.PlatformProducts = append(e.PlatformProducts, PlatformProduct{Name: n})
			}
		}, []string{"platformProducts"}},
		{"product listed twice, other case and spaces", func(e *Enrollment) { e.PlatformProducts[2].Name = "  core cal " }, []string{"platformProducts[2].name"}},
		{"product without a name", func(e *Enrollment) { e.PlatformProducts[1].Name = "" }, []string{"platformProducts[1].name"}},
		{"product name of spaces", func(e *Enrollment) { e.PlatformProducts[1].Name = "   " }, []string{"platformProducts[1].name"}},
		{"product name too long", func(e *Enrollment) { e.PlatformProducts[0].Name = long }, []string{"platformProducts[0].name"}},
		{"product name with a control character", func(e *Enrollment) { e.PlatformProducts[0].Name = "Office\x00" }, []string{"platformProducts[0].name"}},
		{"product name with a right-to-left override", func(e *Enrollment) { e.PlatformProducts[0].Name = "Office \u202eLAC" }, []string{"platformProducts[0].name"}},
		{"product name with a zero-width space", func(e *Enrollment) { e.PlatformProducts[2].Name = "Windows\u200bOS" }, []string{"platformProducts[2].name"}},
		{"too many covering services", func(e *Enrollment) { e.PlatformProducts[0].CoveredBy = names(maxCoveredBy+1, "Service") }, []string{"platformProducts[0].coveredBy"}},
		{"bad covering service", func(e *Enrollment) { e.PlatformProducts[0].CoveredBy[1] = "" }, []string{"platformProducts[0].coveredBy[1]"}},
		{"bad bridge", func(e *Enrollment) { e.PlatformProducts[1].Bridge = long }, []string{"platformProducts[1].bridge"}},
		{"bridge without coveredBy", func(e *Enrollment) { e.PlatformProducts[1].CoveredBy = nil }, []string{"platformProducts[1].bridge"}},

		{"reservation without service", func(e *Enrollment) { e.Reservations[0].Service = " " }, []string{"reservations[0].service"}},
		{"reservation of nothing", func(e *Enrollment) { e.Reservations[0].Quantity = 0 }, []string{"reservations[0].quantity"}},
		{"reservation too large", func(e *Enrollment) { e.Reservations[0].Quantity = MaxQuantity + 1 }, []string{"reservations[0].quantity"}},
		{"reservation without date", func(e *Enrollment) { e.Reservations[0].Date = Date{} }, []string{"reservations[0].date"}},
		{"reservation before the last anniversary", func(e *Enrollment) { e.Reservations[0].Date = NewDate(2026, 2, 28) }, []string{"reservations[0].date"}},
		{"reservation on the anniversary", func(e *Enrollment) { e.Reservations[0].Date = NewDate(2027, 3, 1) }, []string{"reservations[0].date"}},
		{"too many reservations", func(e *Enrollment) { e.Reservations = changes(maxServiceChanges + 1) }, []string{"reservations"}},
		{"transition without service", func(e *Enrollment) { e.Transitions[0].Service = "" }, []string{"transitions[0].service"}},
		{"transition of a negative quantity", func(e *Enrollment) { e.Transitions[0].Quantity = -5 }, []string{"transitions[0].quantity"}},
		{"transition without date", func(e *Enrollment) { e.Transitions[0].Date = Date{} }, []string{"transitions[0].date"}},
		{"transition after the anniversary", func(e *Enrollment) { e.Transitions[0].Date = NewDate(2027, 5, 1) }, []string{"transitions[0].date"}},
		{"too many transitions", func(e *Enrollment) { e.Transitions = changes(maxServiceChanges + 1) }, []string{"transitions"}},
		{"reduction without product", func(e *Enrollment) { e.Reductions[0].Product = "" }, []string{"reductions[0].product"}},
		{"reduction of nothing", func(e *Enrollment) { e.Reductions[0].Quantity = 0 }, []string{"reductions[0].quantity"}},
		{"reduction without date", func(e *Enrollment) { e.Reductions[0].Date = Date{} }, []string{"reductions[0].date"}},
		{"too many reductions", func(e *Enrollment) {
			e.Reductions = make([]Reduction, maxServiceChanges+1)
			for i := range e.Reductions {
				e.Reductions[i] = Reduction{Product: "Core CAL", Quantity: 1, Date: e.Anniversary}
			}
		}, []string{"reductions"}},

		{"every problem at once, in field order", func(e *Enrollment) {
			*e = Enrollment{
				Kind: "ea", LastReported: -1,
				PlatformProducts: []PlatformProduct{{Name: "Core CAL", Bridge: "Bridge"}, {Name: "core cal", CoveredBy: []string{"\t"}}},
				Reservations:     []ServiceChange{{}},
				Transitions:      []ServiceChange{{Service: "E3", Quantity: 1}},
				Reductions:       []Reduction{{Quantity: MaxQuantity + 1}},
			}
		}, []string{"number", "anniversary", "kind", "lastReported", "platformProducts[0].bridge", "platformProducts[1].name", "platformProducts[1].coveredBy[0]",
			"reservations[0].service", "reservations[0].quantity", "reservations[0].date", "transitions[0].date",
			"reductions[0].product", "reductions[0].quantity", "reductions[0].date"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := soundEnrollment()
			tt.change(&e)
			err := e.Validate()
			var got []string
			for _, f := range ErrorFields(err) {
				got = append(got, f.Field)
				if len(f.Message) < 10 {
					t.Errorf("field %s: message %q says too little", f.Field, f.Message)
				}
			}
			if diff := cmp.Diff(tt.fields, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s\nerror: %v", diff, err)
			}
			if tt.fields == nil {
				return
			}
			if ErrorCode(err) != Invalid {
				t.Errorf("code %q, want invalid", ErrorCode(err))
			}
			if want := "The enrollment has " + Plural(len(tt.fields), "problem") + "; see fields."; err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v does not say %q", err, want)
			}
		})
	}
}

// TestEnrollmentChangeDateMessages says, for a date outside the year being
// trued up, which side it falls on and what to do.
func TestEnrollmentChangeDateMessages(t *testing.T) {
	tests := []struct {
		date Date
		want []string
	}{
		{NewDate(2026, 2, 28), []string{"before 2026-03-01", "reconciled at that anniversary"}},
		{NewDate(2027, 3, 1), []string{"on or after 2027-03-01", "next anniversary's true-up"}},
	}
	for _, tt := range tests {
		e := soundEnrollment()
		e.Transitions[0].Date = tt.date
		fields := ErrorFields(e.Validate())
		if len(fields) != 1 {
			t.Fatalf("date %s: fields %v, want one", tt.date, fields)
		}
		for _, w := range tt.want {
			if !strings.Contains(fields[0].Message, w) {
				t.Errorf("date %s: message %q does not say %q", tt.date, fields[0].Message, w)
			}
		}
	}
}
