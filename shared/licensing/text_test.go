package licensing

import "testing"

func TestFormulaSafe(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"Department of Administration", "Department of Administration"},
		{`=HYPERLINK("http://evil","x")`, `'=HYPERLINK("http://evil","x")`},
		{"=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"},
		{"+SUM(1)", "'+SUM(1)"},
		{"-2", "'-2"},
		{"@x", "'@x"},
		{"\tDirect", "'\tDirect"},
		{"\r=1", "'\r=1"},
		{"\n=1", "\n=1"},
		{"a=1", "a=1"},
		// Dropped characters cannot hide a formula.
		{"\x00\x0b=1+1", "'=1+1"},
		{"\x7f-1", "'-1"},
		{"a\x01b\x1fc\x7fd\uFFFEe\uFFFFf", "abcdef"},
		{"first\r\nsecond", "first\r\nsecond"},
		{"+SUM(1)\x00", "'+SUM(1)"},
		// One replacement character for each run of invalid bytes.
		{"bad\xff\xfebyte", "bad\uFFFDbyte"},
		{"\xff=1", "\uFFFD=1"},
		{"Zoë Ångström 名前 😀", "Zoë Ångström 名前 😀"},
	}
	for _, tt := range tests {
		if got := FormulaSafe(tt.in); got != tt.want {
			t.Errorf("FormulaSafe(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestStartsLikeFormula(t *testing.T) {
	for s, want := range map[string]bool{
		"": false, "Contoso": false, "a=1": false, " =1": false, "\n=1": false,
		"=1": true, "+1": true, "-1": true, "@SUM(A1)": true, "\tx": true, "\rx": true,
	} {
		if got := StartsLikeFormula(s); got != want {
			t.Errorf("StartsLikeFormula(%q) = %v, want %v", s, got, want)
		}
	}
}
