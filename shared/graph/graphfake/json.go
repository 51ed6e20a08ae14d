package graphfake

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// jsonWriter appends JSON to a buffer without building maps: a page of a
// thousand users is written field by field.
type jsonWriter struct {
	buf []byte
	// first tracks, per open object or array, whether a member was written.
	first []bool
}

func (w *jsonWriter) raw(s string) { w.buf = append(w.buf, s...) }

// open starts an object or array with the given bracket.
func (w *jsonWriter) open(bracket byte) {
	w.buf = append(w.buf, bracket)
	w.first = append(w.first, true)
}

// close ends the innermost object or array.
func (w *jsonWriter) close(bracket byte) {
	w.buf = append(w.buf, bracket)
	w.first = w.first[:len(w.first)-1]
}

// sep writes the comma before every member but the first.
func (w *jsonWriter) sep() {
	top := len(w.first) - 1
	if top < 0 {
		return
	}
	if !w.first[top] {
		w.buf = append(w.buf, ',')
	}
	w.first[top] = false
}

// key writes a member name.
func (w *jsonWriter) key(k string) {
	w.sep()
	w.str(k)
	w.buf = append(w.buf, ':')
}

// elem prepares for an array element.
func (w *jsonWriter) elem() { w.sep() }

// str writes s as a JSON string.
func (w *jsonWriter) str(s string) {
	w.buf = append(w.buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				w.buf = append(w.buf, '\\', c)
			case c < 0x20:
				w.buf = append(w.buf, `\u00`...)
				w.buf = append(w.buf, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
			default:
				w.buf = append(w.buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			w.buf = append(w.buf, `\ufffd`...)
		} else {
			w.buf = append(w.buf, s[i:i+size]...)
		}
		i += size
	}
	w.buf = append(w.buf, '"')
}

// strOrNull writes s, or null when it is empty: Graph sends null for unset
// string properties.
func (w *jsonWriter) strOrNull(s string) {
	if s == "" {
		w.raw("null")
		return
	}
	w.str(s)
}

// date writes t in Graph's date-time form, or null for the zero time. Graph
// never sends "" for a date-time, and the SDK rejects a page that does.
func (w *jsonWriter) date(t time.Time) {
	if t.IsZero() {
		w.raw("null")
		return
	}
	w.buf = append(w.buf, '"')
	w.buf = t.UTC().AppendFormat(w.buf, "2006-01-02T15:04:05Z")
	w.buf = append(w.buf, '"')
}

func (w *jsonWriter) datePtr(t *time.Time) {
	if t == nil {
		w.raw("null")
		return
	}
	w.date(*t)
}

func (w *jsonWriter) boolean(b bool) { w.buf = strconv.AppendBool(w.buf, b) }

func (w *jsonWriter) integer(n int) { w.buf = strconv.AppendInt(w.buf, int64(n), 10) }
