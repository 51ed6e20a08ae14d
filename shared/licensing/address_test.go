package licensing

import (
	"strings"
	"testing"
)

func TestParseAddress(t *testing.T) {
	tests := []struct {
		in, wantName, wantAddr, wantErr string
	}{
		{in: "pat@doa.example.gov", wantAddr: "pat@doa.example.gov"},
		{in: "Pat Doe <pat@doa.example.gov>", wantName: "Pat Doe", wantAddr: "pat@doa.example.gov"},
		{in: "\tpat@doa.example.gov", wantAddr: "pat@doa.example.gov"},
		{in: "not an address", wantErr: `"not an address" is not an email address`},
		{in: "a@b.example, c@d.example", wantErr: "is not an email address"},
		{in: "<@>", wantErr: "is not an email address"},
		{in: "a@doa.example.gov\r\nBcc: spy@evil.example", wantErr: "line breaks or control characters"},
		{in: "\"Pat\nBcc: spy@evil.example\" <pat@doa.example.gov>", wantErr: "line breaks or control characters"},
		{in: "pat\x00@doa.example.gov", wantErr: "line breaks or control characters"},
	}
	for _, tt := range tests {
		a, err := ParseAddress(tt.in)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseAddress(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("ParseAddress(%q): %v", tt.in, err)
		case a.Name != tt.wantName || a.Address != tt.wantAddr:
			t.Errorf("ParseAddress(%q) = %q <%s>, want %q <%s>", tt.in, a.Name, a.Address, tt.wantName, tt.wantAddr)
		}
	}
}

func TestBareAndValidAddress(t *testing.T) {
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60) + "." + strings.Repeat("d", 60) + ".eee.gov" // 255 characters
	tests := []struct {
		in          string
		bare, valid bool
	}{
		{"pat@doa.example.gov", true, true},
		{"pat.doe+reports@doa.example.gov", true, true},
		{"pat@localhost", true, false},
		{"pat@DOA.example.gov", true, false}, // stored addresses are lower case
		{"pat@[192.0.2.1]", true, false},
		{long, true, false},
		{"Pat <pat@doa.example.gov>", false, false},
		{"<pat@doa.example.gov>", false, false},
		{`"pat"@doa.example.gov`, false, false},
		{`"pat doe"@doa.example.gov`, false, false},
		{"pat@doa.example.gov (Pat)", false, false},
		{" pat@doa.example.gov", false, false},
		{"pat@doa.example.gov\r\n", false, false},
		{"pat\u0085@doa.example.gov", false, false},
		{"<script>alert(1)</script>@x.gov", false, false},
		{"pat", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		if got := IsBareAddress(tt.in); got != tt.bare {
			t.Errorf("IsBareAddress(%q) = %v, want %v", tt.in, got, tt.bare)
		}
		if got := ValidAddress(tt.in); got != tt.valid {
			t.Errorf("ValidAddress(%q) = %v, want %v", tt.in, got, tt.valid)
		}
	}
}

func TestHasHeaderControl(t *testing.T) {
	for s, want := range map[string]bool{
		"Licenses for DOA": false,
		"tab\tkept":        false,
		"Hi\r\nBcc: x":     true,
		"Hi\nBcc: x":       true,
		"Hi\x00":           true,
		"Hi\u0085":         true,
	} {
		if got := HasHeaderControl(s); got != want {
			t.Errorf("HasHeaderControl(%q) = %v, want %v", s, got, want)
		}
	}
}
