package licensing

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode"
)

// ParseAddress parses one e-mail address, bare ("pat@doa.example.gov") or
// with a display name ("Pat Doe <pat@doa.example.gov>"). A line break or
// any other control character but tab (header injection) is refused before
// parsing. The error is worded for a field message: "must not contain line
// breaks or control characters", or "%q is not an email address".
func ParseAddress(s string) (*mail.Address, error) {
	if HasHeaderControl(s) {
		return nil, errors.New("must not contain line breaks or control characters")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not an email address", s)
	}
	return a, nil
}

// IsBareAddress reports whether s is one e-mail address and nothing else:
// no display name, angle brackets, quotes or surrounding spaces.
func IsBareAddress(s string) bool {
	a, err := ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}

// ValidAddress reports whether s is a bare e-mail address (IsBareAddress)
// of at most 254 characters with a domain name after the @.
func ValidAddress(s string) bool {
	if len(s) > 254 || !IsBareAddress(s) {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && domainPattern.MatchString(s[at+1:])
}

// HasHeaderControl reports whether s holds a control character other than
// tab: in a mail header, CR and LF would end the line and start another.
func HasHeaderControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\t' }) >= 0
}
