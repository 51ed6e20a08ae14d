package graphfake

import (
	"net/http"
	"strings"
)

// upnRange is a parsed $filter of /users: userPrincipalName ge 'from' and/or
// userPrincipalName le 'to', the only filter the fake serves. Ends are
// lower-cased: the directory compares user principal names without case.
type upnRange struct {
	from, to string
}

// active reports whether r restricts anything.
func (r upnRange) active() bool { return r.from != "" || r.to != "" }

// parseFilter parses $filter: empty, or one or two clauses
// "userPrincipalName ge|le '<literal>'" joined by "and", where a literal
// doubles its single quotes (OData). Anything else is answered as Graph
// answers a filter it does not support.
func parseFilter(raw string) (upnRange, *reply) {
	var r upnRange
	rest := strings.TrimSpace(raw)
	unsupported := func() (upnRange, *reply) {
		rep := errorReply(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported query: the fake serves $filter=userPrincipalName ge '...' and/or le '...' only, not "+raw+".")
		return upnRange{}, &rep
	}
	if rest == "" {
		return r, nil
	}
	seen := map[string]bool{}
	for first := true; rest != ""; first = false {
		if !first {
			word, after, ok := cutWord(rest)
			if !ok || !strings.EqualFold(word, "and") {
				return unsupported()
			}
			rest = after
		}
		prop, after, ok := cutWord(rest)
		if !ok || !strings.EqualFold(prop, "userPrincipalName") {
			return unsupported()
		}
		op, after, ok := cutWord(after)
		op = strings.ToLower(op)
		if !ok || (op != "ge" && op != "le") || seen[op] {
			return unsupported()
		}
		seen[op] = true
		lit, after, ok := cutLiteral(after)
		if !ok {
			return unsupported()
		}
		if op == "ge" {
			r.from = strings.ToLower(lit)
		} else {
			r.to = strings.ToLower(lit)
		}
		rest = strings.TrimSpace(after)
	}
	return r, nil
}

// cutWord returns the word s starts with (after spaces) and what follows it.
func cutWord(s string) (string, string, bool) {
	s = strings.TrimLeft(s, " ")
	end := strings.IndexAny(s, " '")
	if end < 0 {
		end = len(s)
	}
	return s[:end], s[end:], end > 0
}

// cutLiteral reads an OData string literal (quoted in single quotes, a
// quote inside doubled) at the start of s (after spaces) and returns its value and what follows it.
func cutLiteral(s string) (string, string, bool) {
	s = strings.TrimLeft(s, " ")
	if !strings.HasPrefix(s, "'") {
		return "", "", false
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != '\'' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		return b.String(), s[i+1:], true
	}
	return "", "", false
}
