package licensing

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Amount is an exact sum of money in ten-thousandths of a currency unit
// (12.5 is 125000). Money is never a float: prices are read from decimal
// text and every computation is on integers.
type Amount int64

// AmountScale is the number of Amount units in one currency unit.
const AmountScale = 10000

// amountDecimals is the most decimals an Amount holds.
const amountDecimals = 4

// MaxUnitPrice is the largest unit price a purchase line takes: a million
// per seat per year.
const MaxUnitPrice Amount = 1_000_000 * AmountScale

// ParseAmount reads a non-negative decimal such as 12, 12.5 or 0.1234 (a
// point as the decimal separator, no thousands separators, at most four
// decimals) exactly.
func ParseAmount(s string) (Amount, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("%q is not a price: write a number such as 12.50 (a point for decimals, no currency sign or thousands separators)", Truncate(s))
	if s == "" {
		return 0, bad
	}
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("%q is negative: a price is zero or more", Truncate(s))
	}
	whole, frac, dotted := strings.Cut(s, ".")
	if whole == "" || (dotted && frac == "") || !allDigits(whole) || !allDigits(frac) {
		return 0, bad
	}
	if len(frac) > amountDecimals {
		return 0, fmt.Errorf("%q has more than %d decimals: round it to at most %d", Truncate(s), amountDecimals, amountDecimals)
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 7 {
		return 0, fmt.Errorf("%q is more than %s, the largest price taken", Truncate(s), MaxUnitPrice)
	}
	w, _ := strconv.ParseInt("0"+whole, 10, 64)
	f, _ := strconv.ParseInt((frac + "0000")[:amountDecimals], 10, 64)
	a := Amount(w*AmountScale + f)
	if a > MaxUnitPrice {
		return 0, fmt.Errorf("%q is more than %s, the largest price taken", Truncate(s), MaxUnitPrice)
	}
	return a, nil
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// String writes a with two decimals, or more when it has them: 12.50,
// 0.1234, -3.00.
func (a Amount) String() string {
	sign, v := "", int64(a)
	if v < 0 {
		sign, v = "-", -v
	}
	frac := fmt.Sprintf("%04d", v%AmountScale)
	frac = strings.TrimRight(frac[2:], "0")
	return sign + strconv.FormatInt(v/AmountScale, 10) + "." + fmt.Sprintf("%02d", (v%AmountScale)/100) + frac
}

// Decimal writes a with all four decimals, as a spreadsheet's number
// cell holds it: 12.5000.
func (a Amount) Decimal() string {
	sign, v := "", int64(a)
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%04d", sign, v/AmountScale, v%AmountScale)
}

// MarshalJSON writes a as a decimal string ("12.50"), so that no reader
// turns it into a float.
func (a Amount) MarshalJSON() ([]byte, error) { return json.Marshal(a.String()) }

// UnmarshalJSON reads a decimal string or a JSON number, exactly, as
// ParseAmount does.
func (a *Amount) UnmarshalJSON(b []byte) error {
	v, err := ParseAmount(strings.Trim(string(b), `"`))
	*a = v
	return err
}

// MulSeats returns a × seats.
func (a Amount) MulSeats(seats int) Amount { return a * Amount(seats) }

// RoundCents rounds a to a hundredth, halves away from zero.
func (a Amount) RoundCents() Amount {
	const cent = AmountScale / 100
	if a < 0 {
		return -(-a).RoundCents()
	}
	return (a + cent/2) / cent * cent
}

// Money is an amount in a currency.
type Money struct {
	Amount   Amount `json:"amount"`
	Currency string `json:"currency"`
}

// String writes "1,234.50 USD".
func (m Money) String() string { return GroupThousands(m.Amount.String()) + " " + m.Currency }

// GroupThousands puts commas between the thousands of a decimal's whole
// part: 1234567.50 becomes 1,234,567.50.
func GroupThousands(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, dotted := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if dotted {
		return sign + b.String() + "." + frac
	}
	return sign + b.String()
}

// iso4217 lists the active ISO 4217 currency codes.
const iso4217 = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD " +
	"CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD " +
	"HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD " +
	"MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG " +
	"QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD " +
	"TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG"

// ValidCurrency reports whether s is an ISO 4217 currency code, in upper
// case (USD, EUR).
func ValidCurrency(s string) bool {
	if len(s) != 3 || strings.ToUpper(s) != s {
		return false
	}
	for _, c := range strings.Fields(iso4217) {
		if c == s {
			return true
		}
	}
	return false
}

// ParsePrice reads a purchase line's unit price and currency as typed
// (either may be empty: a line without a price). A price needs a currency
// and a currency a price; the currency is upper-cased. Problems are added
// to fe under field+".unitPrice" and field+".currency" (or "unitPrice" and
// "currency" when field is empty).
func ParsePrice(price, currency, field string, fe *FieldErrors) (*Amount, string) {
	name := func(f string) string {
		if field == "" {
			return f
		}
		return field + "." + f
	}
	price, currency = strings.TrimSpace(price), strings.ToUpper(strings.TrimSpace(currency))
	switch {
	case price == "" && currency == "":
		return nil, ""
	case price == "":
		fe.Add(name("unitPrice"), "is missing: a currency (%s) is given, so give the price of one seat for one year, or leave both empty", Truncate(currency))
		return nil, ""
	case currency == "":
		fe.Add(name("currency"), "is missing: a unit price is given, so give its currency as an ISO 4217 code such as USD")
		return nil, ""
	}
	a, err := ParseAmount(price)
	if err != nil {
		fe.Add(name("unitPrice"), "%v", err)
	}
	if !ValidCurrency(currency) {
		fe.Add(name("currency"), "%q is not an ISO 4217 currency code: use three letters such as USD or EUR", Truncate(currency))
		return nil, ""
	}
	if err != nil {
		return nil, ""
	}
	return &a, currency
}
