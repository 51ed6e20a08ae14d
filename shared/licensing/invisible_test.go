package licensing

import "testing"

func TestHasInvisible(t *testing.T) {
	for s, want := range map[string]bool{
		"":                      false,
		"Pat O'Doe":             false,
		"Zoë Ångström 名前 😀":     false,
		"محمد":                  false,
		"x.pdf":                 false,
		"x.pdf\x00.exe":         true,
		"tab\there":             true,
		"line\nbreak":           true,
		"del\x7f":               true,
		"c1\u0085":              true,
		"x\u202Efdp.exe":        true,
		"zero\u200Bwidth":       true,
		"joiner\u200D":          true,
		"bom\uFEFF":             true,
		"soft\u00ADhyphen":      true,
		"isolate\u2067x\u2069":  true,
		"separator\u2028":       true,
		"bad\xffutf8":           true,
		"tag\U000E0041":         true,
		"Department of Revenue": false,
	} {
		if got := HasInvisible(s); got != want {
			t.Errorf("HasInvisible(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestAgencyNameRefusesInvisible(t *testing.T) {
	for _, name := range []string{"Department of \u202EnoitartsinimdA", "Revenue\u200B", "Health\x00"} {
		a := Agency{ID: "DOA", Name: name, Contacts: []string{"x@doa.example.gov"},
			Attribution: AttributionRule{Attribute: AttrDepartment, Values: []string{"DOA"}}}
		err := a.Validate()
		fields := ErrorFields(err)
		if len(fields) != 1 || fields[0].Field != "name" {
			t.Errorf("agency named %q: %v, want one error on name", name, err)
		}
	}
}
