package licensing

import (
	"unicode"
	"unicode/utf8"
)

// HasInvisible reports whether s holds a character that shows as something
// other than what it is, or as nothing: control characters (Unicode
// category Cc: NUL, escape, tab, line breaks), format characters (Cf: the
// bidirectional overrides and isolates such as U+202E that make
// "x\u202Efdp.exe" show as "xexe.pdf", zero-width spaces and joiners, the
// soft hyphen, the byte order mark), the line and paragraph separators
// U+2028 and U+2029, or bytes that are not UTF-8. Names that people read
// (requesters, resellers, agencies, file names) must not hold any: what
// they show would not be what is stored.
func HasInvisible(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if invisible(r) {
			return true
		}
	}
	return false
}

func invisible(r rune) bool {
	if r < utf8.RuneSelf {
		return r < 0x20 || r == 0x7F
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
}
